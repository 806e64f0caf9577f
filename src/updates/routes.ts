import { Router } from 'express';
import { z } from 'zod';
import type { Apps } from '../apps/index.ts';
import { AppError } from '../errors.ts';
import type { UpdatesCore } from './core.ts';

const autoUpdateBody = z.object({ enabled: z.boolean() });
const actorOf = (res: { locals: Record<string, unknown> }) => String(res.locals.actor ?? 'unknown');

/** /api/v1 routes of update availability and automatic updates (docs/updates.md). */
export function updatesApi(updates: UpdatesCore, apps: Pick<Apps, 'records' | 'record'>): Router {
  const router = Router();
  const requireApp = (id: string) => {
    if (!apps.record(id)) throw new AppError('not_found', { key: 'error.app_not_installed', params: { id } });
  };
  const everyApp = () => ({ apps: apps.records().map((app) => ({ id: app.id, name: app.name, update: updates.state(app.id) })) });

  router.get('/updates', (_req, res) => {
    res.json(everyApp());
  });
  router.post('/updates/check', async (_req, res) => {
    await updates.check();
    res.json(everyApp());
  });
  router.post('/apps/:id/check-update', async (req, res) => {
    requireApp(req.params.id);
    await updates.check(req.params.id);
    res.json({ app_id: req.params.id, update: updates.state(req.params.id) });
  });
  router.put('/apps/:id/auto-update', (req, res) => {
    requireApp(req.params.id);
    const parsed = autoUpdateBody.safeParse(req.body);
    if (!parsed.success) {
      throw new AppError('validation', { key: 'error.invalid_body', params: { issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') } });
    }
    updates.setAutomatic(req.params.id, parsed.data.enabled, actorOf(res));
    res.json({ app_id: req.params.id, update: updates.state(req.params.id) });
  });
  return router;
}
