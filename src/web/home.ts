/**
 * The home page: every installed app as a card, the host in a few numbers, the last and
 * next backup, and the alerts. Each source is read once per render (Docker with a single
 * list call), so the page stays fast with many apps.
 */
import { Router, type Request } from 'express';
import type { AgentClient, Mount } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Backups } from '../backups/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import type { Host } from '../host/index.ts';
import type { Quiesce } from '../quiesce/index.ts';
import { bulkWithoutBackupAccepted, type Settings } from '../settings/index.ts';
import type { StatusService } from '../status/index.ts';
import { collectAlerts } from './alerts.ts';
import { formField, pageError, type Ui } from '../ui/index.ts';

export interface HomeDeps {
  apps: Pick<Apps, 'overview' | 'volumes'>;
  agent: Pick<AgentClient, 'getStorage'>;
  status: StatusService;
  host: Pick<Host, 'latest'>;
  backups: Backups;
  quiesce: Pick<Quiesce, 'runs'>;
  settings: Settings;
  audit: AuditLog;
  clock: Clock;
  ui: Ui;
}

const isUnbackedBulk = (p: { class: string; backup: string; inGuestBackup: boolean }) => p.class === 'bulk' && p.backup === 'none' && !p.inGuestBackup;

/** The address of the app's web UI, on the host name the customer used to reach us. */
function webLink(req: Request, webPort: number | null): string | null {
  // Express keeps an IPv6 host in brackets; an HTTP/1.0 request may have no host at all.
  const hostname = req.hostname as string | undefined;
  if (webPort === null || !hostname) return null;
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `http://${host}:${webPort}/`;
}

export function homePage(deps: HomeDeps): Router {
  const router = Router();
  const mounts = cachedProbe(deps.clock, 5_000, () => '', () => deps.agent.getStorage().then((s): Mount[] | null => s.mounts, () => null));

  async function data(req: Request) {
    const [overview, status, storage, agentBackup] = await Promise.all([deps.apps.overview(), deps.status.get(), mounts(), deps.backups.guest.agentView()]);
    const apps = overview.apps.map(({ webPort, ...app }) => ({ ...app, link: webLink(req, webPort) }));
    const bulkWithoutBackup = deps.apps
      .volumes()
      .filter((v) => isUnbackedBulk(v) && !deps.settings.get(bulkWithoutBackupAccepted(v.appId, v.volume)))
      .map((v) => ({ app: v.appId, appName: v.appName, volume: v.volume }));
    const lastRun = deps.quiesce.runs(1)[0] ?? null;
    const ownVolumes = await deps.backups.coverage(deps.backups.placedVolumes().filter((v) => v.class === 'bulk' && v.backup === 'own' && !v.inGuestBackup));
    const availability = ownVolumes.length > 0 ? await deps.backups.bulk.availability() : null;
    const restoreTest = deps.backups.bulk.jobs({ kind: 'check', limit: 5 }).find((job) => job.state === 'succeeded' || job.state === 'failed') ?? null;
    return {
      apps,
      dockerDown: overview.dockerDown,
      host: deps.host.latest(),
      lastRun,
      agentBackup,
      alerts: collectAlerts({
        status,
        apps,
        mounts: storage,
        lastRun,
        agentBackup,
        bulkWithoutBackup,
        ownVolumes,
        bulkUnavailable: availability && !availability.available ? availability.reason : null,
        bulkRestoreTestFailed: restoreTest?.state === 'failed' ? (restoreTest.errorText ?? restoreTest.error ?? '') : null,
      }),
    };
  }

  router.get('/', async (req, res) => {
    // After "Check all apps for updates": the check runs on, the page says it started.
    const checkStarted = req.query.done === 'update_check';
    deps.ui.page(res, 'home/page', { title: res.locals.ui.t('nav.home'), checkStarted, ...(await data(req)) });
  });
  router.get('/home/live', async (req, res) => {
    deps.ui.fragment(res, 'home/live', await data(req));
  });
  router.post('/alerts/acknowledge', (req, res) => {
    const subject = formField(req, 'subject');
    // Only what the alert names: exactly app/volume, a bulk volume that nothing backs up.
    const [app, volume, ...rest] = subject.split('/');
    if (!app || !volume || rest.length > 0 || !deps.apps.volumes(app).some((v) => v.volume === volume && isUnbackedBulk(v))) {
      throw pageError('not_found', 'page_error.no_volume', { subject });
    }
    deps.settings.setByCustomer(bulkWithoutBackupAccepted(app, volume), 'accepted');
    deps.audit.record({ actor: 'customer', action: 'backup.bulk_without_backup_accepted', target: subject, outcome: 'ok' });
    res.redirect(303, '/');
  });
  return router;
}
