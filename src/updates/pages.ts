/**
 * The forms of the app and home pages about updates: check now, and automatic updates
 * on or off. The badge itself is drawn by the pages from the app's `update` field.
 */
import { Router } from 'express';
import type { Apps } from '../apps/index.ts';
import { formField, pageError } from '../ui/index.ts';
import type { UpdatesCore } from './core.ts';

const ACTOR = 'customer';

export function updatePages(updates: UpdatesCore, apps: Pick<Apps, 'record'>): Router {
  const router = Router();
  const requireApp = (id: string) => {
    if (!apps.record(id)) throw pageError('not_found', 'page_error.no_app', { id });
  };
  const appPage = (id: string, done: string) => `/apps/${encodeURIComponent(id)}?done=${done}`;

  // The page answers at once and the check runs on: a slow registry would otherwise keep
  // the browser waiting for minutes. The page says the check started; its result shows
  // on the pages when it is done (a check that fails is logged by the updates domain).
  const inBackground = (appId?: string) => void updates.check(appId).catch(() => {});
  router.post('/updates/check', (_req, res) => {
    inBackground();
    res.redirect(303, '/?done=update_check');
  });
  router.post('/apps/:id/check-update', (req, res) => {
    requireApp(req.params.id);
    inBackground(req.params.id);
    res.redirect(303, appPage(req.params.id, 'check_update'));
  });
  router.post('/apps/:id/auto-update', (req, res) => {
    requireApp(req.params.id);
    const enabled = formField(req, 'enabled') === 'on';
    updates.setAutomatic(req.params.id, enabled, ACTOR);
    res.redirect(303, appPage(req.params.id, enabled ? 'auto_update_on' : 'auto_update_off'));
  });
  return router;
}
