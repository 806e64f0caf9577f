/** /api/v1 routes of the backups domain: the guest backup and the bulk volume backups. */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { consistencyOf, type StoredRun } from '../quiesce/index.ts';
import type { BulkBackups } from './bulk.ts';
import type { Backups } from './backups.ts';
import type { Job, Target, VolumeRun } from './store.ts';

function presentRun(run: StoredRun | null) {
  return (
    run && {
      id: run.id,
      trigger: run.trigger,
      stacks: run.stacks,
      // Stacks whose last restart failed (retried until they run): empty when all run again.
      failed_restarts: run.failedRestarts,
      phase: run.phase,
      backup_id: run.backupId,
      backup_phase: run.backupPhase,
      resume_reason: run.resumeReason,
      outcome: run.outcome,
      // Whether the backup holds the apps stopped cleanly (`app`) or running (`crash`).
      consistency: consistencyOf(run),
      error: run.error,
      started_at: run.startedAt,
      stopped_at: run.stoppedAt,
      requested_at: run.requestedAt,
      snapshotted_at: run.snapshottedAt,
      resumed_at: run.resumedAt,
      finished_at: run.finishedAt,
      downtime_ms: run.downtimeMs,
    }
  );
}

/** A target as the API shows it: never its passwords. */
export function presentTarget(target: Target) {
  return {
    id: target.id,
    kind: target.kind,
    label: target.label,
    mount: target.mountId,
    url: target.url,
    username: target.username,
    adopted: target.adopted,
    recovery_code_acknowledged: target.acknowledgedAt !== null,
    created_at: target.createdAt,
  };
}

export function presentVolumeRun(run: VolumeRun | null) {
  return (
    run && {
      job: run.jobId,
      app: run.appId,
      volume: run.volume,
      target: run.targetId,
      outcome: run.outcome,
      reason: run.reason,
      snapshot: run.snapshotId,
      files_new: run.filesNew,
      files_changed: run.filesChanged,
      files_total: run.filesTotal,
      bytes_added: run.bytesAdded,
      bytes_total: run.bytesTotal,
      duration_ms: run.durationMs,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
    }
  );
}

export function presentJob(bulk: BulkBackups, job: Job | null, runs: VolumeRun[] = []) {
  if (!job) return null;
  const { folder, kept, staging: _staging, ...request } = job.request;
  const live = bulk.live(job.id);
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    actor: job.actor,
    request: { ...request, ...(folder ? { folder } : {}), ...(kept ? { kept } : {}) },
    progress: live && {
      app: live.app ?? null,
      volume: live.volume ?? null,
      step: live.step,
      files_done: live.filesDone ?? null,
      total_files: live.totalFiles ?? null,
      bytes_done: live.bytesDone ?? null,
      total_bytes: live.totalBytes ?? null,
      bytes_per_second: live.bytesPerSecond ?? null,
      seconds_remaining: live.secondsRemaining ?? null,
    },
    result: job.result,
    error: job.error,
    runs: runs.map(presentVolumeRun),
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
}

const runBody = z.union([
  z.object({}).strict(),
  z.object({ app: z.string().min(1) }).strict(),
  z.object({ app: z.string().min(1), volume: z.string().min(1) }).strict(),
]);
const restoreBody = z.object({ snapshot: z.string(), mode: z.string() }).strict();
const chooseBody = z.object({ target: z.string().min(1) }).strict();

function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  const parsed = schema.safeParse(req.body ?? {});
  if (!parsed.success) throw new AppError('validation', { key: 'error.invalid_body', params: { issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') } });
  return parsed.data;
}

const actorOf = (res: { locals: Record<string, unknown> }) => String(res.locals.actor ?? 'unknown');
const jobLocation = (job: Job) => `/api/v1/volume-backups/jobs/${job.id}`;

export function backupsApi(backups: Backups): Router {
  const router = Router();
  const { guest, bulk } = backups;

  router.get('/backups', async (_req, res) => {
    const view = await guest.agentNow();
    const fromAgent = <T>(a: { ok: true; value: T } | { ok: false; error: string }) => (a.ok ? a.value : { error: a.error });
    res.json({ current: presentRun(guest.current()), runs: guest.runs().map(presentRun), agent: { status: fromAgent(view.status), restore_test: fromAgent(view.restoreTest) } });
  });
  router.get('/backups/current', (_req, res) => {
    res.json({ run: presentRun(guest.current()) });
  });
  router.post('/backups', async (_req, res) => {
    const run = await guest.trigger(actorOf(res));
    if (!run) throw new AppError('conflict', { key: 'error.backup_in_progress_follow' });
    res.status(202).json({ run: presentRun(run) });
  });

  router.get('/backup-targets', (_req, res) => {
    res.json({ targets: bulk.targets().map(presentTarget) });
  });
  router.post('/backup-targets', async (req, res) => {
    // The API client receives the code in this answer: that is its one showing.
    const { target, recoveryCode } = await bulk.createTarget(req.body ?? {}, actorOf(res), { acknowledged: true });
    res.status(201).json({ target: presentTarget(target), ...(recoveryCode ? { recovery_code: recoveryCode.reveal() } : {}) });
  });
  router.delete('/backup-targets/:id', async (req, res) => {
    await bulk.deleteTarget(req.params.id, actorOf(res));
    res.status(204).end();
  });

  router.get('/volume-backups', async (_req, res) => {
    const availability = await bulk.availability();
    const volumes = await backups.coverage(backups.placedVolumes().filter((v) => v.class === 'bulk'));
    const running = bulk.jobs({ limit: 5 }).find((job) => job.state === 'running' || job.state === 'queued') ?? null;
    res.json({
      ...availability,
      volumes: volumes.map((v) => ({
        app: v.app,
        volume: v.volume,
        coverage: v.coverage,
        target: v.target,
        last_success: presentVolumeRun(v.lastSuccess),
        last_run: presentVolumeRun(v.lastRun),
        snapshot_count: v.snapshotCount,
        target_free_bytes: v.targetFreeBytes,
        late: v.late,
      })),
      current_job: presentJob(bulk, running),
      restore_test: presentJob(bulk, bulk.jobs({ kind: 'check', limit: 1 })[0] ?? null),
    });
  });
  router.post('/volume-backups/run', async (req, res) => {
    const job = await bulk.backUp(parseBody(runBody, req), actorOf(res));
    res.status(202).location(jobLocation(job)).json({ job: presentJob(bulk, job) });
  });
  router.post('/volume-backups/check', async (req, res) => {
    parseBody(z.object({}).strict(), req);
    const job = await bulk.restoreTest(actorOf(res));
    res.status(202).location(jobLocation(job)).json({ job: presentJob(bulk, job) });
  });
  router.get('/volume-backups/jobs/:id', (req, res) => {
    const job = bulk.job(req.params.id);
    if (!job) throw new AppError('not_found', { key: 'error.no_backup_job', params: { id: req.params.id } });
    res.json({ job: presentJob(bulk, job, backups.runsOfJob(job.id)) });
  });

  router.put('/apps/:id/volumes/:volume/backup-target', (req, res) => {
    bulk.chooseTarget(req.params.id, req.params.volume, parseBody(chooseBody, req).target, actorOf(res));
    res.json({ app: req.params.id, volume: req.params.volume, target: parseBody(chooseBody, req).target });
  });
  router.get('/apps/:id/volumes/:volume/snapshots', async (req, res) => {
    const snapshots = await bulk.snapshots(req.params.id, req.params.volume);
    res.json({ snapshots: snapshots.map((s) => ({ id: s.id, short_id: s.shortId, time: s.time, files: s.files, bytes: s.bytes })) });
  });
  router.post('/apps/:id/volumes/:volume/restore', async (req, res) => {
    const job = await bulk.restore(req.params.id, req.params.volume, parseBody(restoreBody, req), actorOf(res));
    res.status(202).location(jobLocation(job)).json({ job: presentJob(bulk, job) });
  });
  router.get('/apps/:id/volumes/:volume/kept', async (req, res) => {
    res.json({ folders: await bulk.keptFolders(req.params.id, req.params.volume) });
  });
  router.delete('/apps/:id/volumes/:volume/kept/:name', async (req, res) => {
    await bulk.deleteKeptFolder(req.params.id, req.params.volume, req.params.name, actorOf(res));
    res.status(204).end();
  });
  return router;
}
