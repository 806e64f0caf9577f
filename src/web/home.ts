/**
 * The home page: every installed app as a card, the host in a few numbers, the last and
 * next backup, and the alerts. Each source is read once per render (Docker with a single
 * list call), so the page stays fast with many apps.
 */
import { Router, type Request } from 'express';
import type { Mount } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import { deriveState } from '../apps/view.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Backups } from '../backups/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import type { Host } from '../host/index.ts';
import type { Quiesce } from '../quiesce/index.ts';
import type { Settings } from '../settings/index.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import type { StatusService } from '../status/index.ts';
import { collectAlerts } from './alerts.ts';
import { formField } from './forms.ts';
import { pageError, type Ui } from './ui.ts';

export interface HomeDeps {
  apps: Pick<Apps, 'store' | 'docker' | 'agent'>;
  status: StatusService;
  host: Pick<Host, 'latest'>;
  backups: Backups;
  quiesce: Pick<Quiesce, 'store'>;
  settings: Settings;
  audit: AuditLog;
  clock: Clock;
  ui: Ui;
}

const ACK_PREFIX = 'alerts.bulk_no_backup.acknowledged:';
const isUnbackedBulk = (p: { class: string; backup: string; inGuestBackup: boolean }) => p.class === 'bulk' && p.backup === 'none' && !p.inGuestBackup;

/** The address of the app's web UI, on the host name the customer used to reach us. */
function webLink(req: Request, web: { service: string; port: number } | null, containers: ContainerInfo[]): string | null {
  if (!web) return null;
  const published = containers.filter((c) => c.service === web.service).flatMap((c) => c.ports).find((p) => p.target === web.port && p.protocol === 'tcp');
  // Express keeps an IPv6 host in brackets; an HTTP/1.0 request may have no host at all.
  const hostname = req.hostname as string | undefined;
  if (!published || !hostname) return null;
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `http://${host}:${published.published}/`;
}

export function homePage(deps: HomeDeps): Router {
  const router = Router();
  const { store } = deps.apps;
  const mounts = cachedProbe(deps.clock, 5_000, () => '', () => deps.apps.agent.getStorage().then((s): Mount[] | null => s.mounts, () => null));

  async function data(req: Request) {
    const [containers, status, storage, agentBackup] = await Promise.all([
      deps.apps.docker.allContainers().catch(() => null),
      deps.status.get(),
      mounts(),
      deps.backups.guest.agentView(),
    ]);
    const records = store.list();
    const apps = records.map((app) => {
      const own = containers?.get(app.id) ?? [];
      return { id: app.id, name: app.name, version: app.version, state: containers ? deriveState(app, own) : 'unknown', error: app.error, errorText: app.errorText, link: webLink(req, app.web, own), stoppedForStorage: app.stoppedForStorage };
    });
    const bulkWithoutBackup = records.flatMap((app) =>
      store
        .placements(app.id)
        .filter((p) => isUnbackedBulk(p) && !deps.settings.get(`${ACK_PREFIX}${app.id}/${p.volume}`))
        .map((p) => ({ app: app.id, appName: app.name, volume: p.volume })),
    );
    const lastRun = deps.quiesce.store.list(1)[0] ?? null;
    const ownVolumes = await deps.backups.coverage(deps.backups.placedVolumes().filter((v) => v.class === 'bulk' && v.backup === 'own' && !v.inGuestBackup));
    const availability = ownVolumes.length > 0 ? await deps.backups.bulk.availability() : null;
    const restoreTest = deps.backups.bulk.jobs({ kind: 'check', limit: 5 }).find((job) => job.state === 'succeeded' || job.state === 'failed') ?? null;
    return {
      apps,
      dockerDown: containers === null,
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
        bulkRestoreTestFailed: restoreTest?.state === 'failed' ? (restoreTest.error ?? '') : null,
      }),
    };
  }

  router.get('/', async (req, res) => {
    deps.ui.page(res, 'home/page', { title: res.locals.ui.t('nav.home'), ...(await data(req)) });
  });
  router.get('/home/live', async (req, res) => {
    deps.ui.fragment(res, 'home/live', await data(req));
  });
  router.post('/alerts/acknowledge', (req, res) => {
    const subject = formField(req, 'subject');
    // Only what the alert names: exactly app/volume, a bulk volume that nothing backs up.
    const [app, volume, ...rest] = subject.split('/');
    if (!app || !volume || rest.length > 0 || !store.placements(app).some((p) => p.volume === volume && isUnbackedBulk(p))) {
      throw pageError('not_found', 'page_error.no_volume', { subject });
    }
    deps.settings.setByCustomer(`${ACK_PREFIX}${subject}`, 'accepted');
    deps.audit.record({ actor: 'customer', action: 'backup.bulk_without_backup_accepted', target: subject, outcome: 'ok' });
    res.redirect(303, '/');
  });
  return router;
}
