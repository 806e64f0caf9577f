/**
 * The bulk backups' job queue: jobs run one at a time, in the order asked, each persisted
 * before it starts. A running step is guarded: it is cancelled when a disk it uses is
 * ejected or disconnected, when an update of the app it reads wants the data, or when the
 * controller stops; a cancelled restic removes its own lock.
 */
import { AppError, errorText } from '../errors.ts';
import { inEnglish, type Message } from '../i18n/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Mount } from '../agent/index.ts';
import { Cancelled, type BulkApps, type JobContext, type JobSettings, type LiveProgress } from './jobs.ts';
import type { Restic } from './restic.ts';
import type { BulkStore, Job, JobKind } from './store.ts';

export interface JobQueueDeps {
  store: BulkStore;
  restic: Restic;
  apps: BulkApps;
  /** The agent's mounts now, or null when it does not answer. */
  storage: () => Promise<Mount[] | null>;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
  settings: JobSettings;
  /** This controller's host name, recorded with each job for the lock check after a crash. */
  hostname: string;
  /** Runs before each job starts (finishing a replace a crash cut short). */
  beforeEachJob: () => Promise<void>;
}

export class JobQueue {
  readonly #deps: JobQueueDeps;
  readonly #held = new Set<string>();
  /** The step running now and the mounts it uses, so an eject can cancel exactly it. */
  #step: { mounts: string[]; abort: AbortController; reason: Message | null; failed: boolean; done: Promise<unknown> } | null = null;
  #queue: Promise<void> = Promise.resolve();
  #live = new Map<string, LiveProgress>();
  #closing = false;

  constructor(deps: JobQueueDeps) {
    this.#deps = deps;
  }

  /** What the job is doing right now (files and bytes), while it runs. */
  live(jobId: string): LiveProgress | null {
    return this.#live.get(jobId) ?? null;
  }

  /** Work that must finish before any job queued after it (the recovery at start). */
  after(work: Promise<void>): void {
    this.#queue = this.#queue.then(() => work);
  }

  /** Persists the job, audits it, and runs it after the jobs queued before it. */
  enqueue(kind: JobKind, actor: string, request: Record<string, unknown>, targetId: string | null, work: (ctx: JobContext) => Promise<Record<string, unknown>>): Job {
    if (this.#closing) throw new AppError('unavailable', { key: 'error.controller_stopping' });
    const job = this.#deps.store.addJob(kind, actor, request, targetId);
    this.#deps.audit.record({ actor, action: `volume_backup.${kind}`, target: job.id, outcome: 'ok', details: { request: summarize(request) } });
    this.#queue = this.#queue.then(() => this.#run(job, work));
    return job;
  }

  async #run(queued: Job, work: (ctx: JobContext) => Promise<Record<string, unknown>>): Promise<void> {
    const { store, audit, logger } = this.#deps;
    if (this.#closing) {
      store.finishJob(queued.id, 'cancelled', null, { key: 'error.job_controller_stopping' });
      return;
    }
    await this.#deps.beforeEachJob();
    store.startJob(queued.id, this.#deps.hostname);
    const job = store.job(queued.id)!;
    let state: 'succeeded' | 'failed' | 'cancelled' = 'succeeded';
    let result: Record<string, unknown> | null = null;
    let error: Message | null = null;
    try {
      result = await work(this.#context(job));
    } catch (caught) {
      state = caught instanceof Cancelled ? caught.outcome : 'failed';
      error = errorText(caught);
      const details = caught instanceof AppError ? caught.details : undefined;
      result = details ?? null;
      logger.warn({ job: job.id, kind: job.kind, reason: inEnglish(error) }, 'a backup job did not succeed');
    } finally {
      this.#live.delete(job.id);
    }
    store.finishJob(job.id, state, result, error);
    audit.record({ actor: job.actor, action: `volume_backup.${job.kind}.finish`, target: job.id, outcome: state === 'succeeded' ? 'ok' : 'failed', details: error ? { reason: inEnglish(error) } : {} });
  }

  #context(job: Job): JobContext {
    const deps = this.#deps;
    return {
      job,
      store: deps.store,
      restic: deps.restic,
      apps: deps.apps,
      audit: deps.audit,
      logger: deps.logger,
      clock: deps.clock,
      settings: deps.settings,
      mounts: deps.storage,
      heldMounts: this.#held,
      progress: (progress) => (progress ? this.#live.set(job.id, progress) : this.#live.delete(job.id)),
      guard: (mounts, reading, step) => this.#guard(job, mounts, reading, step),
    };
  }

  async #guard<T>(job: Job, mounts: string[], reading: { app?: string }, step: (options: { cancel: AbortSignal; onSpawn: (pid: number) => void }) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    const running = { mounts, abort, reason: null as Message | null, failed: false, done: Promise.resolve() as Promise<unknown> };
    const failedBecause = (reason: Message) => {
      if (running.reason === null) {
        running.reason = reason;
        running.failed = true;
      }
      abort.abort();
    };
    if (this.#closing) throw new Cancelled({ key: 'error.job_controller_stopping' });
    const blocked = mounts.find((m) => this.#held.has(m));
    if (blocked) throw new Cancelled({ key: 'error.job_disk_ejecting', params: { disk: blocked } });
    // A disk pulled while restic works on it: restic would see an empty mount point.
    const watch = setInterval(() => {
      void this.#deps.storage().then((now) => {
        if (!now) return;
        const gone = mounts.find((id) => now.find((m) => m.id === id)?.state !== 'attached');
        if (gone) failedBecause({ key: 'error.job_disk_disconnected', params: { disk: gone } });
      });
    }, this.#deps.settings.storageCheckMs);
    watch.unref();
    const promise = step({ cancel: abort.signal, onSpawn: (pid) => this.#deps.store.recordPid(job.id, pid) });
    running.done = promise.catch(() => undefined);
    this.#step = running;
    // An update or uninstall of the app waits for this step to stop, instead of changing the data under it.
    const release = reading.app
      ? this.#deps.apps.whileReading(reading.app, async (reason) => {
          running.reason ??= reason;
          abort.abort();
          await running.done;
        })
      : () => undefined;
    try {
      return await promise;
    } catch (error) {
      if (abort.signal.aborted) throw new Cancelled(running.reason ?? { key: 'error.job_cancelled' }, running.failed ? 'failed' : 'cancelled');
      throw error;
    } finally {
      release();
      clearInterval(watch);
      if (this.#step === running) this.#step = null;
    }
  }

  /**
   * Holds a mount for an eject: nothing new starts on it, and the step using it now is
   * cancelled and awaited (restic removes its lock). Returns what was cancelled.
   */
  async whileMountHeld<T>(mountId: string, work: (cancelled: string[]) => Promise<T>): Promise<T> {
    this.#held.add(mountId);
    try {
      const cancelled: string[] = [];
      const step = this.#step;
      if (step && step.mounts.includes(mountId)) {
        // Named before it stops: its progress goes with it.
        cancelled.push(...[...this.#live.values()].map((p) => [p.app, p.volume].filter(Boolean).join('/') || p.step));
        if (cancelled.length === 0) cancelled.push('a backup job');
        step.reason ??= { key: 'error.job_disk_ejected' };
        step.abort.abort();
        await step.done;
      }
      return await work(cancelled);
    } finally {
      this.#held.delete(mountId);
    }
  }

  /** Cancels the step running now (restic removes its lock) and waits for the queue. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#step) {
      this.#step.reason ??= { key: 'error.job_controller_stopping' };
      this.#step.abort.abort();
    }
    await this.#queue;
  }

  async settled(): Promise<void> {
    await this.#queue;
  }
}

/** What the audit log keeps of a request: not the folders, which only repeat the app and volume. */
function summarize(request: Record<string, unknown>): Record<string, unknown> {
  const { folder: _folder, staging: _staging, kept: _kept, ...rest } = request;
  return rest;
}
