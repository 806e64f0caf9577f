/** The activity page: the audit log, filterable by app, action and time. */
import { Router } from 'express';
import type { Ui } from '../ui/index.ts';
import type { AuditLog } from './log.ts';

const DAY_MS = 24 * 3600_000;
export const activityPeriods = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS } as const;

export function activityPage(deps: { audit: AuditLog; now: () => Date; ui: Ui }): Router {
  const router = Router();
  router.get('/activity', (req, res) => {
    const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string).trim() : '');
    const filter = { app: text('app'), action: text('action'), period: text('period') };
    // Own keys only: `constructor` or `__proto__` in the query must not reach Object.prototype.
    const periodMs = Object.hasOwn(activityPeriods, filter.period) ? activityPeriods[filter.period as keyof typeof activityPeriods] : undefined;
    const entries = deps.audit.list({
      ...(filter.app ? { app: filter.app } : {}),
      ...(filter.action ? { action: filter.action } : {}),
      ...(periodMs ? { since: new Date(deps.now().getTime() - periodMs) } : {}),
      limit: 200,
    });
    deps.ui.page(res, 'activity/page', { title: res.locals.ui.t('nav.activity'), entries, filter, actions: deps.audit.actions(), periods: Object.keys(activityPeriods) });
  });
  return router;
}
