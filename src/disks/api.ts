/** /api/v1 routes of the disks domain. */
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { assignDisk, ejectDisk, formatDisk, type DisksDeps } from './disks.ts';

const ejectBody = z.object({ disk: z.string().min(1) });

export function disksApi(deps: DisksDeps): Router {
  const router = Router();
  router.get('/disks', async (_req, res) => {
    res.json({ disks: await deps.agent.listDisks() });
  });
  router.post('/disks/eject', async (req, res) => {
    const parsed = ejectBody.safeParse(req.body);
    if (!parsed.success) throw new AppError('validation', { key: 'error.send_disk' });
    res.json(await ejectDisk(deps, parsed.data.disk, String(res.locals.actor ?? 'unknown')));
  });
  router.post('/disks/assign', async (req, res) => {
    res.json({ mount: await assignDisk(deps, req.body, String(res.locals.actor ?? 'unknown')) });
  });
  router.post('/disks/format', async (req, res) => {
    res.json(await formatDisk(deps, req.body, String(res.locals.actor ?? 'unknown')));
  });
  return router;
}
