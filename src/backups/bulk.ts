/**
 * The controller's own backups of bulk volumes marked `own` (docs/backups.md): targets,
 * which target each volume goes to, and the restic jobs (backup, restore, restore test,
 * prune) with their schedules. The jobs run through the job queue (job-queue.ts); a job
 * a crash cut short is closed as interrupted at the next start, and only this
 * controller's own stale lock is removed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTask, schedule, type ScheduledTask } from 'node-cron';
import type { Mount } from '../agent/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { AppError, errorMessage } from '../errors.ts';
import { inEnglish, type Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { JobQueue } from './job-queue.ts';
import type { BulkApps, JobSettings, LiveProgress, OwnVolume } from './jobs.ts';
import { deleteKeptFolder, keptFolders, recoverReplace, restoreFolders, runRestoreJob, type RestoreMode, type RestoreRequest } from './restore.ts';
import { runRestoreTest } from './restore-test.ts';
import type { Repository, Restic, Snapshot } from './restic.ts';
import type { BulkStore, Job, JobKind, Target } from './store.ts';
import { createTarget, locate, parseCreateTarget } from './targets.ts';
import { runBackupJob, volumeTags, type BackupJobRequest } from './volume-backup.ts';

export interface BulkDeps {
  store: BulkStore;
  restic: Restic;
  apps: BulkApps;
  /** The agent's mounts now (jobs), or null when it does not answer. */
  storage: () => Promise<Mount[] | null>;
  /** The same for a request: recent, and never waiting long. */
  storageSoon: () => Promise<Mount[] | null>;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
  settings: JobSettings;
  schedules: { backup: string; prune: string; restoreTest: string };
}

export type Availability = { available: true; version: string } | { available: false; reason: string };

export interface SnapshotView {
  id: string;
  shortId: string;
  time: string;
  files: number | null;
  bytes: number | null;
}

export class BulkBackups {
  readonly #deps: BulkDeps;
  #availability: Promise<Availability> | null = null;
  #tasks: ScheduledTask[] = [];
  #intervalMs: number | null = null;
  #unavailableSince: number | null = null;
  #pendingTimer: NodeJS.Timeout | null = null;
  #finishing: Promise<void> | null = null;
  /** Target creations, one at a time: two at once would initialise one repository twice. */
  #creating: Promise<unknown> = Promise.resolve();
  readonly hostname = os.hostname();
  readonly #jobs: JobQueue;

  constructor(deps: BulkDeps) {
    this.#deps = deps;
    this.#jobs = new JobQueue({ ...deps, hostname: this.hostname, beforeEachJob: () => this.#finishPendingReplaces() });
  }

  /** Whether restic is here and recent enough; asked once. */
  availability(): Promise<Availability> {
    // Asked once when it works; when it does not, asked again a minute later (restic may be installed meanwhile).
    if (this.#availability === null || (this.#unavailableSince !== null && this.#deps.clock.now().getTime() - this.#unavailableSince > 60_000)) {
      this.#unavailableSince = null;
      this.#availability = this.#deps.restic.probe().then((probe) => {
        if ('version' in probe) return { available: true, version: probe.version };
        this.#unavailableSince = this.#deps.clock.now().getTime();
        return { available: false, reason: probe.reason };
      });
    }
    return this.#availability;
  }

  async #requireRestic(): Promise<void> {
    const availability = await this.availability();
    if (!availability.available) throw new AppError('conflict', { key: 'error.bulk_disabled', params: { reason: availability.reason } });
  }

  // Targets.

  /** The agent's mounts, or null when it does not answer. */
  mounts(): Promise<Mount[] | null> {
    return this.#deps.storageSoon();
  }

  targets(): Target[] {
    return this.#deps.store.targets();
  }

  async createTarget(input: unknown, actor: string, options: { acknowledged: boolean }) {
    await this.#requireRestic();
    const request = parseCreateTarget(input);
    // Asked now: the disk may have been assigned a moment ago.
    const mounts = request.kind === 'disk' ? await this.#deps.storage() : [];
    if (mounts === null) throw new AppError('agent_unreachable', { key: 'error.agent_no_disks' });
    const details = request.kind === 'disk' ? { kind: 'disk', mount: request.mount } : { kind: 'rest', url: request.url };
    const creation = this.#creating.then(() => createTarget(this.#deps, request, mounts));
    this.#creating = creation.catch(() => undefined);
    try {
      const created = await creation;
      if (options.acknowledged) this.#deps.store.acknowledge(created.target.id);
      this.#deps.audit.record({ actor, action: 'backup_target.create', target: created.target.id, outcome: 'ok', details: { ...details, adopted: created.target.adopted } });
      this.#assignDefaults();
      return created;
    } catch (error) {
      this.#deps.audit.record({ actor, action: 'backup_target.create', target: null, outcome: error instanceof AppError && error.code !== 'upstream' ? 'refused' : 'failed', details: { ...details, reason: errorMessage(error) } });
      throw error;
    }
  }

  acknowledge(id: string, actor: string): void {
    this.#requireTarget(id);
    this.#deps.store.acknowledge(id);
    this.#deps.audit.record({ actor, action: 'backup_target.acknowledge', target: id, outcome: 'ok' });
    this.#assignDefaults();
  }

  async deleteTarget(id: string, actor: string): Promise<void> {
    const target = this.#requireTarget(id);
    const users = this.#deps.store.assignments().filter((a) => a.targetId === id && this.#ownVolumes().some((v) => v.appId === a.appId && v.volume === a.volume));
    const busy = this.#deps.store.jobs({ limit: 20 }).some((job) => job.state === 'running' && job.targetId === id);
    if (users.length > 0 || busy) {
      const refusal = new AppError(
        'conflict',
        busy ? { key: 'error.target_in_use_by_job' } : { key: 'error.target_in_use', params: { volumes: users.map((u) => `${u.appId}/${u.volume}`).join(', ') } },
      );
      this.#deps.audit.record({ actor, action: 'backup_target.delete', target: id, outcome: 'refused', details: { reason: refusal.message } });
      throw refusal;
    }
    for (const a of this.#deps.store.assignments().filter((a) => a.targetId === id)) this.#deps.store.unassign(a.appId, a.volume);
    this.#deps.store.removeTarget(id);
    const removed = await this.#removeUnusedRepository(target);
    this.#deps.audit.record({ actor, action: 'backup_target.delete', target: id, outcome: 'ok', details: { label: target.label, repository: removed ? 'removed: it was never used' : 'kept where it is' } });
  }

  /**
   * A new disk repository whose recovery code was never acknowledged was never used, and
   * its code may be lost with the page that showed it: removed with the target, so the
   * disk can be added again. Any other repository is kept.
   */
  async #removeUnusedRepository(target: Target): Promise<boolean> {
    if (target.kind !== 'disk' || target.adopted || target.acknowledgedAt !== null) return false;
    const located = locate(target, await this.#deps.storageSoon());
    if (!located.ok) return false;
    const folder = located.repo.location.reveal();
    const snapshots = await fs.readdir(path.join(folder, 'snapshots')).catch(() => ['unknown']);
    if (snapshots.length > 0) return false;
    await fs.rm(folder, { recursive: true, force: true });
    return true;
  }

  // Volumes.

  #ownVolumes(): OwnVolume[] {
    return this.#deps.apps.ownVolumes();
  }

  /** The volume's target: the customer's choice, or the default persisted the first time there is one. */
  targetOf(volume: Pick<OwnVolume, 'appId' | 'volume'>): string | null {
    return this.#deps.store.assignments().find((a) => a.appId === volume.appId && a.volume === volume.volume)?.targetId ?? null;
  }

  /**
   * Gives each own volume without a target the sensible default: the only usable target,
   * else the first on another disk. Targets whose recovery code was not acknowledged are
   * not used: the customer may not have the code yet.
   */
  #assignDefaults(): void {
    const usable = this.#deps.store.targets().filter((t) => t.acknowledgedAt !== null);
    for (const volume of this.#ownVolumes()) {
      if (this.targetOf(volume)) continue;
      const candidates = usable.filter((t) => !(t.kind === 'disk' && t.mountId === volume.mountId));
      const chosen = candidates.length === 1 ? candidates[0] : (candidates.find((t) => t.kind === 'disk') ?? candidates[0]);
      if (chosen) this.#deps.store.assign(volume.appId, volume.volume, chosen.id, 'default');
    }
  }

  chooseTarget(appId: string, volume: string, targetId: string, actor: string): void {
    const own = this.#requireVolume(appId, volume);
    const target = this.#requireTarget(targetId);
    if (target.kind === 'disk' && target.mountId === own.mountId) throw new AppError('validation', { key: 'error.target_is_own_disk', params: { disk: target.label } });
    if (!target.acknowledgedAt) throw new AppError('conflict', { key: 'error.acknowledge_code_first' });
    this.#deps.store.assign(appId, volume, targetId, 'customer');
    this.#deps.audit.record({ actor, action: 'volume_backup.target', target: `${appId}/${volume}`, outcome: 'ok', details: { target: targetId } });
  }

  volumes(): Array<OwnVolume & { targetId: string | null }> {
    this.#assignDefaults();
    return this.#ownVolumes().map((v) => ({ ...v, targetId: this.targetOf(v) }));
  }

  #requireVolume(appId: string, volume: string): OwnVolume {
    const own = this.#ownVolumes().find((v) => v.appId === appId && v.volume === volume);
    if (!own) throw new AppError('not_found', { key: 'error.no_own_volume', params: { app: appId, volume } });
    return own;
  }

  #requireTarget(id: string): Target {
    const target = this.#deps.store.target(id);
    if (!target) throw new AppError('not_found', { key: 'error.no_target', params: { id } });
    return target;
  }

  // Snapshots and restores.

  async snapshots(appId: string, volume: string): Promise<SnapshotView[]> {
    await this.#requireRestic();
    const own = this.#requireVolume(appId, volume);
    const targetId = this.targetOf(own);
    if (!targetId) return [];
    const located = locate(this.#requireTarget(targetId), await this.#deps.storageSoon());
    if (!located.ok) throw new AppError('conflict', located.reason);
    const list = await this.#deps.restic.snapshots(located.repo, volumeTags(appId, volume));
    return list.map((s: Snapshot) => {
      const run = this.#deps.store.runBySnapshot(s.shortId) ?? this.#deps.store.runBySnapshot(s.id);
      return { id: s.id, shortId: s.shortId, time: s.time, files: run?.filesTotal ?? null, bytes: run?.bytesTotal ?? null };
    });
  }

  async restore(appId: string, volume: string, input: { snapshot: unknown; mode: unknown }, actor: string): Promise<Job> {
    await this.#requireRestic();
    const own = this.#requireVolume(appId, volume);
    if (typeof input.snapshot !== 'string' || !/^[0-9a-f]{8,64}$/.test(input.snapshot)) throw new AppError('validation', { key: 'error.snapshot_id_invalid' });
    if (input.mode !== 'copy' && input.mode !== 'replace') throw new AppError('validation', { key: 'error.restore_mode_invalid' });
    const targetId = this.targetOf(own);
    if (!targetId) throw new AppError('conflict', { key: 'error.volume_has_no_target' });
    const snapshots = await this.snapshots(appId, volume);
    const snapshot = snapshots.find((s) => s.id === input.snapshot || s.shortId === input.snapshot || s.id.startsWith(input.snapshot as string));
    if (!snapshot) throw new AppError('not_found', { key: 'error.no_volume_snapshot', params: { snapshot: input.snapshot } });
    const mode = input.mode as RestoreMode;
    const busy = this.#deps.apps.busy(appId);
    if (mode === 'replace' && busy) throw new AppError('conflict', busy);
    const free = (await this.#deps.storageSoon())?.find((m) => m.id === own.mountId)?.free_bytes;
    if (snapshot.bytes !== null && free !== undefined && snapshot.bytes > free) {
      throw new AppError('conflict', { key: 'error.restore_no_space', params: { needed: snapshot.bytes, free } });
    }
    const request: RestoreRequest = { app: appId, volume, snapshot: snapshot.id, mode, ...restoreFolders(own, snapshot.id, mode, this.#deps.clock.now()) };
    return this.#jobs.enqueue('restore', actor, request as unknown as Record<string, unknown>, targetId, async (ctx) => runRestoreJob(ctx, request, own, targetId));
  }

  /** Every snapshot this controller made in the repository. */
  listSnapshots(repo: Repository): Promise<Snapshot[]> {
    return this.#deps.restic.snapshots(repo, ['felhom']);
  }

  async keptFolders(appId: string, volume: string) {
    await this.#finishPendingReplaces();
    return keptFolders(this.#requireVolume(appId, volume));
  }

  async deleteKeptFolder(appId: string, volume: string, name: string, actor: string): Promise<void> {
    const own = this.#requireVolume(appId, volume);
    // A kept folder may still be the live data of a replace a crash cut short: put back first.
    await this.#finishPendingReplaces();
    const deleted = await deleteKeptFolder(own, name);
    this.#deps.audit.record({ actor, action: 'volume_backup.delete_kept', target: `${appId}/${volume}`, outcome: 'ok', details: { folder: deleted } });
  }

  // Jobs.

  async backUp(request: Omit<BackupJobRequest, 'trigger'>, actor: string, trigger: BackupJobRequest['trigger'] = 'manual'): Promise<Job> {
    await this.#requireRestic();
    if (request.app !== undefined || request.volume !== undefined) {
      const matching = this.#ownVolumes().filter((v) => v.appId === request.app && (request.volume === undefined || v.volume === request.volume));
      if (matching.length === 0) {
        const app = String(request.app);
        throw new AppError('not_found', request.volume ? { key: 'error.no_own_volume', params: { app, volume: request.volume } } : { key: 'error.no_own_volumes', params: { app } });
      }
    }
    this.#assignDefaults();
    return this.#jobs.enqueue('backup', actor, { ...request, trigger }, null, async (ctx) => {
      const counts = await runBackupJob(ctx, { ...request, trigger }, (v) => this.targetOf(v));
      if (counts.failed > 0) throw new AppError('upstream', { key: 'error.volume_backups_failed', params: { count: counts.failed } }, { details: counts });
      return counts;
    });
  }

  async restoreTest(actor: string): Promise<Job> {
    await this.#requireRestic();
    // A test that checks nothing must not read as a pass (nor clear an earlier failure).
    if (!this.volumes().some((v) => v.targetId !== null)) throw new AppError('conflict', { key: 'error.nothing_to_test' });
    return this.#jobs.enqueue('check', actor, {}, null, async (ctx) => {
      const result = await runRestoreTest(ctx, (v) => this.targetOf(v));
      if (result.targets.length === 0) throw new AppError('conflict', { key: 'error.nothing_tested' }, { details: result as unknown as Record<string, unknown> });
      if (!result.ok) throw new AppError('upstream', { key: 'error.restore_test_problem' }, { details: result as unknown as Record<string, unknown> });
      return result as unknown as Record<string, unknown>;
    });
  }

  async prune(actor: string): Promise<Job> {
    await this.#requireRestic();
    return this.#jobs.enqueue('prune', actor, {}, null, async (ctx) => {
      const mounts = await ctx.mounts();
      const pruned: string[] = [];
      for (const target of this.#deps.store.targets()) {
        const located = locate(target, mounts);
        if (!located.ok) continue;
        ctx.store.setJobTarget(ctx.job.id, target.id);
        ctx.progress({ step: 'prune' });
        await ctx.guard(target.mountId ? [target.mountId] : [], {}, ({ cancel, onSpawn }) => this.#deps.restic.prune(located.repo, { cancel, onSpawn }));
        pruned.push(target.id);
      }
      return { pruned };
    });
  }

  /** What the job is doing right now (files and bytes), while it runs. */
  live(jobId: string): LiveProgress | null {
    return this.#jobs.live(jobId);
  }

  /**
   * Holds a mount for an eject: nothing new starts on it, and the step using it now is
   * cancelled and awaited (restic removes its lock). Returns what was cancelled.
   */
  whileMountHeld<T>(mountId: string, work: (cancelled: string[]) => Promise<T>): Promise<T> {
    return this.#jobs.whileMountHeld(mountId, work);
  }

  job(id: string): Job | null {
    return this.#deps.store.job(id);
  }

  jobs(filter: { kind?: JobKind; limit?: number } = {}): Job[] {
    return this.#deps.store.jobs(filter);
  }

  // Start, schedule and stop.

  /**
   * At start: jobs a crash cut short are closed as interrupted; a replace is rolled back
   * to the live folder; and a lock the killed restic left is removed, only when the
   * lock is this controller's own (its host name, the pid it recorded, no such process).
   * Runs before any new job.
   */
  recover(): Promise<void> {
    const done = (async () => {
      for (const job of this.#deps.store.unfinishedJobs()) {
        const reason: Message = { key: job.state === 'running' ? 'error.job_interrupted_running' : 'error.job_interrupted_queued' };
        this.#deps.store.interruptRuns(job.id, reason);
        const replace = job.kind === 'restore' && job.state === 'running' && job.request.mode === 'replace';
        // A copy cut short is incomplete: it must not be taken for the snapshot.
        if (job.kind === 'restore' && job.state === 'running' && job.request.mode === 'copy') await fs.rm(String(job.request.folder), { recursive: true, force: true });
        this.#deps.store.finishJob(job.id, 'interrupted', replace ? { recovery: 'pending' } : null, reason);
        this.#deps.audit.record({ actor: 'controller', action: `volume_backup.${job.kind}.finish`, target: job.id, outcome: 'failed', details: { reason: inEnglish(reason) } });
        if (job.state === 'running') await this.#removeOwnLock(job);
      }
      await this.#finishPendingReplaces();
    })().catch((error: unknown) => this.#deps.logger.error({ err: error }, 'could not close the backup jobs a crash left open'));
    this.#jobs.after(done);
    // A replace cut short on a disk that is not back yet is finished when it is.
    this.#pendingTimer ??= setInterval(() => void this.#finishPendingReplaces(), this.#deps.settings.storageCheckMs).unref();
    return done;
  }

  /**
   * Replaces a crash cut short between their two renames: the live folder is put back and
   * the app started. One whose disk is not there yet stays pending (its folder cannot be
   * seen) and is tried again on every storage check and before every job. One pass at a
   * time: two overlapping would both see a job pending and finish it twice.
   */
  #finishPendingReplaces(): Promise<void> {
    this.#finishing ??= this.#finishPendingReplacesNow().finally(() => (this.#finishing = null));
    return this.#finishing;
  }

  async #finishPendingReplacesNow(): Promise<void> {
    for (const job of this.#deps.store.jobs({ kind: 'restore', limit: 50 }).filter((j) => j.result?.recovery === 'pending')) {
      const request = job.request as unknown as RestoreRequest;
      if (!(await fs.access(path.dirname(request.folder)).then(() => true, () => false))) continue;
      const note = await recoverReplace(request).catch((error: unknown) => `could not tidy the restore: ${errorMessage(error)}`);
      this.#deps.store.finishJob(job.id, 'interrupted', { recovery: 'done', ...(note ? { recovered: note } : {}) }, job.errorText ?? (job.error ? { key: 'error.cause', params: { cause: job.error } } : null));
      this.#deps.audit.record({ actor: 'controller', action: 'volume_backup.restore.recover', target: job.id, outcome: 'ok', details: { recovered: note ?? 'nothing to undo' } });
      await this.#deps.apps.startIfWanted(request.app).catch(() => undefined);
    }
  }

  async #removeOwnLock(job: Job): Promise<void> {
    if (!job.targetId || !job.resticPid || job.hostname !== this.hostname) return;
    const target = this.#deps.store.target(job.targetId);
    if (!target || !(await this.availability()).available) return;
    const located = locate(target, await this.#deps.storage());
    if (!located.ok) return;
    try {
      const locks = await this.#deps.restic.locks(located.repo);
      const ours = locks.filter((lock) => lock.hostname === this.hostname && lock.pid === job.resticPid && !processAlive(lock.pid));
      if (ours.length === 0) return;
      // `restic unlock` removes stale locks only: ours is (this host, a dead pid); a live lock of anyone is left.
      await this.#deps.restic.unlock(located.repo);
      this.#deps.audit.record({ actor: 'controller', action: 'volume_backup.unlock', target: target.id, outcome: 'ok', details: { job: job.id, locks: ours.map((l) => l.id.slice(0, 8)) } });
    } catch (error) {
      this.#deps.logger.warn({ err: error, target: target.id }, 'could not remove the lock an interrupted backup left');
    }
  }

  startSchedule(): void {
    if (this.#tasks.length > 0) return;
    const { schedules } = this.#deps;
    const quietly = (what: string, start: () => Promise<unknown>) => async () => {
      if (this.#deps.store.targets().length === 0) return;
      await start().catch((error: unknown) => this.#deps.logger.warn({ err: error }, `could not start the scheduled ${what}`));
    };
    this.#tasks = [
      schedule(schedules.backup, quietly('bulk backup', () => this.backUp({}, 'controller', 'scheduled')), { noOverlap: true }),
      schedule(schedules.prune, quietly('prune', () => this.prune('controller')), { noOverlap: true }),
      schedule(schedules.restoreTest, quietly('restore test', () => this.restoreTest('controller')), { noOverlap: true }),
    ];
  }

  /** The time between two scheduled backups: a last success older than twice this is late. */
  backupIntervalMs(): number {
    if (this.#intervalMs === null) {
      const probe = createTask(this.#deps.schedules.backup, () => undefined);
      const [a, b] = probe.getNextRuns(2);
      void probe.destroy();
      this.#intervalMs = a && b ? b.getTime() - a.getTime() : 24 * 3_600_000;
    }
    return this.#intervalMs;
  }

  /** Stops the schedules, cancels the step running now (restic removes its lock) and waits for the queue. */
  async close(): Promise<void> {
    if (this.#pendingTimer) clearInterval(this.#pendingTimer);
    this.#pendingTimer = null;
    await Promise.all(this.#tasks.map((task) => task.stop()));
    this.#tasks = [];
    await this.#jobs.close();
  }

  /** Waits for the jobs queued now (tests). */
  settled(): Promise<void> {
    return this.#jobs.settled();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
