import { Router } from 'express';
import type { AuditLog } from '../audit/index.ts';
import type { Quiesce } from '../quiesce/index.ts';
import type { Ui } from '../web/ui.ts';
import type { Backups } from './index.ts';

export function backupPages(deps: { backups: Backups; quiesce: Pick<Quiesce, 'runner' | 'store'>; audit: AuditLog; ui: Ui }): Router {
  const router = Router();
  const data = async () => ({
    current: deps.quiesce.store.open(),
    runs: deps.quiesce.store.list(20),
    agent: await deps.backups.agentView(),
  });
  router.get('/backups', async (req, res) => {
    deps.ui.page(res, 'backups/page', { title: res.locals.ui.t('nav.backups'), started: req.query.started === '1', busy: req.query.busy === '1', ...(await data()) });
  });
  router.get('/backups/live', async (_req, res) => {
    deps.ui.fragment(res, 'backups/live', await data());
  });
  router.post('/backups/now', async (_req, res) => {
    const started = await deps.quiesce.runner.trigger('manual');
    deps.audit.record({ actor: 'customer', action: 'backup.request', outcome: started ? 'ok' : 'refused', details: started ? { run: started.run.id, stacks: started.run.stacks } : { reason: 'a backup is already in progress' } });
    res.redirect(303, started ? '/backups?started=1' : '/backups?busy=1');
  });
  return router;
}
