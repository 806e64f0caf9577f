/**
 * The customer's drives, as the agent presents them. The agent classifies and executes
 * (format, assign, eject); the controller's part is to stop the apps whose storage is
 * about to go before it asks for an eject.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { AgentClient } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { AppError, errorMessage } from '../errors.ts';

export interface DisksDeps {
  agent: Pick<AgentClient, 'listDisks' | 'ejectDisk'>;
  apps: Pick<Apps, 'whileMountHeld'>;
  audit: AuditLog;
}

export async function ejectDisk(deps: DisksDeps, diskId: string, actor: string) {
  const disk = (await deps.agent.listDisks()).find((candidate) => candidate.id === diskId);
  if (!disk) throw new AppError('not_found', `the agent lists no drive "${diskId}"`);
  const eject = async (stoppedApps: string[]) => {
    try {
      const result = await deps.agent.ejectDisk(diskId);
      deps.audit.record({ actor, action: 'disk.eject', target: diskId, outcome: 'ok', details: { stopped_apps: stoppedApps } });
      return { ...result, stopped_apps: stoppedApps };
    } catch (error) {
      deps.audit.record({ actor, action: 'disk.eject', target: diskId, outcome: 'failed', details: { reason: errorMessage(error), stopped_apps: stoppedApps } });
      throw error;
    }
  };
  return disk.mount ? deps.apps.whileMountHeld(disk.mount.id, actor, eject) : eject([]);
}

const ejectBody = z.object({ disk: z.string().min(1) });

export function disksApi(deps: DisksDeps): Router {
  const router = Router();
  router.get('/disks', async (_req, res) => {
    res.json({ disks: await deps.agent.listDisks() });
  });
  router.post('/disks/eject', async (req, res) => {
    const parsed = ejectBody.safeParse(req.body);
    if (!parsed.success) throw new AppError('validation', 'send {"disk": "<drive id>"}');
    res.json(await ejectDisk(deps, parsed.data.disk, String(res.locals.actor ?? 'unknown')));
  });
  return router;
}
