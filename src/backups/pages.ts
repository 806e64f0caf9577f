/**
 * The backups pages: the guest backup (now, history, the agent's targets and restore
 * test) and the bulk backups (targets, each `own` volume's coverage and runs, back up
 * now with live progress, snapshots and restores, the restore test). The recovery code
 * of a new target is shown once, on the answer to its creation, until acknowledged.
 */
import { Router, type Request, type Response } from 'express';
import { consistencyOf } from '../quiesce/index.ts';
import { formField, pageError, worded, type Ui } from '../ui/index.ts';
import type { Backups } from './backups.ts';
import type { Job } from './store.ts';

const ACTOR = 'customer';

const jobView = (backups: Backups, job: Job | null) =>
  job && { ...job, live: backups.bulk.live(job.id), runs: job.kind === 'backup' ? backups.runsOfJob(job.id) : [] };

export function backupPages(deps: { backups: Backups; ui: Ui }): Router {
  const router = Router();
  const { backups, ui } = deps;
  const { guest, bulk } = backups;
  const field = (req: Request, name: string) => formField(req, name).trim();

  async function data() {
    const jobs = bulk.jobs({ limit: 10 });
    const volumes = await backups.coverage(backups.placedVolumes().filter((v) => v.class === 'bulk'));
    return {
      mounts: ((await bulk.mounts()) ?? []).filter((m) => m.state === 'attached'),
      current: guest.current(),
      runs: guest.runs(20).map((run) => ({ ...run, consistency: consistencyOf(run) })),
      agent: await guest.agentView(),
      bulk: {
        availability: await bulk.availability(),
        targets: bulk.targets(),
        volumes,
        currentJob: jobView(backups, jobs.find((j) => j.state === 'running' || j.state === 'queued') ?? null),
        lastJob: jobView(backups, jobs.find((j) => j.kind === 'backup' && j.state !== 'running' && j.state !== 'queued') ?? null),
        restoreTest: bulk.jobs({ kind: 'check', limit: 1 })[0] ?? null,
        recentRuns: backups.runsOfRecent(15),
      },
    };
  }

  router.get('/backups', async (req, res) => {
    ui.page(res, 'backups/page', { title: res.locals.ui.t('nav.backups'), started: req.query.started === '1', busy: req.query.busy === '1', notice: typeof req.query.notice === 'string' ? req.query.notice : null, ...(await data()) });
  });
  router.get('/backups/live', async (_req, res) => {
    ui.fragment(res, 'backups/live', await data());
  });
  router.post('/backups/now', async (_req, res) => {
    const run = await guest.trigger(ACTOR);
    res.redirect(303, run ? '/backups?started=1' : '/backups?busy=1');
  });

  // The app page's backup part: which backup covers each of its folders, and a running backup of them.
  router.get('/backups/apps/:app', async (req, res) => {
    const volumes = await backups.coverage(backups.placedVolumes(req.params.app));
    const running = bulk.jobs({ limit: 5 }).find((j) => j.state === 'running' && bulk.live(j.id)?.app === req.params.app) ?? null;
    ui.fragment(res, 'backups/app', { app: req.params.app, volumes, available: (await bulk.availability()).available, currentJob: jobView(backups, running) });
  });

  router.post('/backups/targets', async (req, res) => {
    const kind = field(req, 'kind');
    const code = field(req, 'recovery_code');
    const input =
      kind === 'disk'
        ? { kind, mount: field(req, 'mount'), ...(code ? { recovery_code: code } : {}) }
        : { kind, url: field(req, 'url'), ...(field(req, 'username') ? { username: field(req, 'username') } : {}), ...(formField(req, 'password') ? { password: formField(req, 'password') } : {}), ...(code ? { recovery_code: code } : {}) };
    const { target, recoveryCode } = await bulk.createTarget(input, ACTOR, { acknowledged: code !== '' });
    if (!recoveryCode) return res.redirect(303, '/backups?notice=target_added');
    // The one time the code is shown: this answer is not cached, and no page shows it again.
    res.set('Cache-Control', 'no-store');
    ui.page(res, 'backups/recovery-code', { title: res.locals.ui.t('bulk.code_title'), target, code: recoveryCode.reveal() });
  });
  router.post('/backups/targets/:id/acknowledge', (req, res) => {
    bulk.acknowledge(req.params.id, ACTOR);
    res.redirect(303, '/backups?notice=target_added');
  });
  router.post('/backups/targets/:id/delete', async (req, res) => {
    await bulk.deleteTarget(req.params.id, ACTOR);
    res.redirect(303, '/backups?notice=target_removed');
  });

  router.post('/backups/volumes/run', async (req, res) => {
    const app = field(req, 'app');
    const volume = field(req, 'volume');
    const job = await bulk.backUp({ ...(app ? { app } : {}), ...(app && volume ? { volume } : {}) }, ACTOR);
    res.redirect(303, req.get('hx-request') ? '/backups/live' : `/backups?notice=job_started&job=${job.id}`);
  });
  router.post('/backups/volumes/target', (req, res) => {
    bulk.chooseTarget(field(req, 'app'), field(req, 'volume'), field(req, 'target'), ACTOR);
    res.redirect(303, '/backups?notice=target_chosen');
  });
  router.post('/backups/check', async (_req, res) => {
    await bulk.restoreTest(ACTOR);
    res.redirect(303, '/backups?notice=check_started');
  });

  const volumePage = async (req: Request, res: Response) => {
    const { app, volume } = req.params as { app: string; volume: string };
    const own = bulk.volumes().find((v) => v.appId === app && v.volume === volume);
    if (!own) throw pageError('not_found', 'bulk.no_such_volume', { app, volume });
    let snapshots: Awaited<ReturnType<typeof bulk.snapshots>> = [];
    let problem: string | null = null;
    try {
      // A target that does not answer shows as a problem on the page after a few seconds, not as a page that hangs.
      const listed = await Promise.race([bulk.snapshots(app, volume), new Promise<null>((resolve) => setTimeout(resolve, 5_000, null).unref())]);
      if (listed === null) problem = res.locals.ui.t('bulk.target_slow');
      else snapshots = listed;
    } catch (error) {
      problem = worded(res.locals.ui.t, error);
    }
    const jobs = bulk.jobs({ kind: 'restore', limit: 20 }).filter((j) => j.request.app === app && j.request.volume === volume);
    ui.page(res, 'backups/volume', {
      title: `${own?.appName ?? app} · ${volume}`,
      own,
      snapshots,
      problem,
      kept: await bulk.keptFolders(app, volume),
      targets: bulk.targets().filter((t) => t.acknowledgedAt !== null && !(t.kind === 'disk' && t.mountId === own?.mountId)),
      restores: jobs.slice(0, 5).map((j) => jobView(backups, j)),
      notice: typeof req.query.notice === 'string' ? req.query.notice : null,
    });
  };
  router.get('/backups/volumes/:app/:volume', volumePage);
  router.get('/backups/volumes/:app/:volume/live', async (req, res) => {
    const { app, volume } = req.params;
    const jobs = bulk.jobs({ kind: 'restore', limit: 20 }).filter((j) => j.request.app === app && j.request.volume === volume);
    // The folders a restore leaves beside the volume come with it (out of band), so the list is not stale after it.
    const own = bulk.volumes().find((v) => v.appId === app && v.volume === volume) ?? null;
    const kept = own ? await bulk.keptFolders(app, volume) : [];
    ui.fragment(res, 'backups/restores', { restores: jobs.slice(0, 5).map((j) => jobView(backups, j)), own, kept, outOfBandAt: Date.now() });
  });
  router.post('/backups/volumes/:app/:volume/restore', async (req, res) => {
    const { app, volume } = req.params;
    await bulk.restore(app, volume, { snapshot: field(req, 'snapshot'), mode: field(req, 'mode') }, ACTOR);
    res.redirect(303, `/backups/volumes/${encodeURIComponent(app)}/${encodeURIComponent(volume)}?notice=restore_started`);
  });
  router.post('/backups/volumes/:app/:volume/kept/delete', async (req, res) => {
    const { app, volume } = req.params;
    await bulk.deleteKeptFolder(app, volume, field(req, 'name'), ACTOR);
    res.redirect(303, `/backups/volumes/${encodeURIComponent(app)}/${encodeURIComponent(volume)}?notice=kept_deleted`);
  });
  return router;
}
