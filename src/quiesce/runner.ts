/**
 * The quiesce loop's shell: it carries out the machine's commands through narrow ports
 * and feeds each outcome back as an event. Every new state is persisted before the
 * next command, so a crash at any instant leaves an open run that `recover()` finishes.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { AppError, errorText } from '../errors.ts';
import type { Logger } from '../log.ts';
import { appsHeldDown, interruptsBefore, startRun, transition, type Command, type Event, type Run } from './machine.ts';
import type { RunStore, StoredRun } from './store.ts';

/** The app stacks, as the loop sees them. */
export interface StackPort {
  /**
   * Stacks running now that a backup may stop (never the controller, never
   * stopped-for-storage ones), each with the names of its containers running now.
   */
  quiescable(): Promise<Record<string, string[]>>;
  /**
   * Stops them; throws when any of them could not be stopped. Returns the containers
   * Docker had to kill because they did not stop within their grace period.
   */
  stop(stacks: string[]): Promise<string[]>;
  /**
   * Starts again, of each stack, the containers that ran before the stop (`containers`;
   * null for a run recorded without them: the whole stack), idempotently. Returns the
   * stacks whose containers do not all run again (a one-shot step that exited 0 counts
   * as done). Stacks uninstalled, stopped for storage or stopped by the customer meanwhile
   * are left alone and are not failures.
   */
  start(stacks: string[], containers: Record<string, string[]> | null): Promise<string[]>;
}

export interface BackupPort {
  requestBackup(reason: 'scheduled' | 'manual'): Promise<{ id: string }>;
  /** One read of the backup's status, not retried; null when the agent does not know the backup. */
  backupStatus(id: string): Promise<{ phase: string; error: string | null } | null>;
}

export interface RunnerOptions {
  maxQuiesceMs: number;
  /**
   * Between status polls while the apps are down: this interval is the controller's own
   * share of the downtime (half of it on average), so it is short. Polls keep to a fixed
   * rate (one started per interval at most, one in flight at a time), so the agent sees
   * at most 1000 / interval requests a second, for at most the max-quiesce bound.
   */
  pollIntervalMs: number;
  /** Between status polls once the apps run again and only the outcome is awaited. */
  trackingPollIntervalMs: number;
  /** First wait before retrying stacks that failed to start; doubles up to 60 s, forever. */
  restartBackoffMs: number;
  /**
   * How long after its start a run may still be tracking its backup (the apps already
   * run) before it is closed `unknown`, so single flight never blocks later backups for
   * good. Default TRACKING_LIMIT_FACTOR × maxQuiesceMs.
   */
  trackingLimitMs?: number;
}

/** The tracking bound, as a multiple of the max-quiesce bound (6 h with the default 600 s). */
export const TRACKING_LIMIT_FACTOR = 36;

export interface RunnerDeps {
  stacks: StackPort;
  backups: BackupPort;
  store: RunStore;
  clock: Clock;
  audit: AuditLog;
  logger: Logger;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  options: RunnerOptions;
}

type Step = { event: Event | null; run: StoredRun };

const sameStacks = (a: string[], b: string[]) => a.length === b.length && a.every((s, i) => s === b[i]);

export class QuiesceRunner {
  readonly #deps: RunnerDeps;
  #active: Promise<StoredRun> | null = null;
  #shutdown = new AbortController();
  /** When the last status poll was sent (clock ms), to keep polls to a fixed rate. */
  #lastPollAt: number | null = null;
  /** When the first failed poll of the current streak was sent; null after a success. */
  #failingSince: number | null = null;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /**
   * Starts a run unless one is open (here or left by an earlier process): returns null
   * then. The marker is written before anything is stopped. Throws AppError
   * `unavailable` once the controller is shutting down, and any other failure to write
   * the marker as it is.
   */
  async trigger(trigger: Run['trigger']): Promise<{ run: StoredRun; done: Promise<StoredRun> } | null> {
    this.#refuseWhileClosing();
    if (this.#active || this.#deps.store.open()) return null;
    const containers = await this.#deps.stacks.quiescable();
    this.#refuseWhileClosing();
    if (this.#active) return null;
    const stacks = Object.keys(containers).sort();
    const { run, commands } = startRun({ id: randomUUID(), trigger, stacks, containers });
    let stored: StoredRun;
    try {
      stored = this.#deps.store.create(run, new Date(this.#deps.clock.now().getTime() + this.#deps.options.maxQuiesceMs));
    } catch (error) {
      // Only the single-flight refusal means "already in progress"; anything else is a real failure.
      if (error instanceof AppError && error.code === 'conflict') return null;
      throw error;
    }
    this.#deps.logger.info({ run: run.id, trigger, stacks }, 'quiesce: stopping apps for a backup');
    const done = this.#drive(stored, commands);
    return { run: stored, done };
  }

  /**
   * At start, before anything else: finishes a run a crash left open. `resumed` settles
   * once the first attempt to start its stacks again has been made (serve after that);
   * stacks that did not start are retried in the background with backoff, each failure
   * logged and audited. `done` settles when the run is closed (or given up at shutdown).
   */
  recover(): { resumed: Promise<void>; done: Promise<StoredRun> } | null {
    const open = this.#deps.store.open();
    if (!open) return null;
    this.#deps.logger.warn({ run: open.id, phase: open.phase, stacks: open.stacks }, 'quiesce: finishing a run interrupted by a restart');
    const { run, commands } = transition(open, { type: 'crash_recovered' });
    let resumed!: () => void;
    const whenResumed = new Promise<void>((resolve) => (resumed = resolve));
    const done = this.#drive(this.#deps.store.save(run), commands, resumed);
    return { resumed: Promise.race([whenResumed, done.then(() => {})]), done };
  }

  /** SIGTERM/SIGINT: the stacks of an active run are started again before this resolves. */
  async shutdown(): Promise<void> {
    this.#shutdown.abort();
    await this.#active?.catch(() => {});
  }

  /** The run in progress in this process, if any. */
  get busy(): boolean {
    return this.#active !== null;
  }

  #refuseWhileClosing(): void {
    if (this.#shutdown.signal.aborted) throw new AppError('unavailable', { key: 'error.shutting_down_no_backup' });
  }

  #drive(initial: StoredRun, commands: Command[], onResumed?: () => void): Promise<StoredRun> {
    const work = this.#loop(initial, commands, onResumed).finally(() => {
      this.#active = null;
    });
    this.#active = work;
    return work;
  }

  async #loop(initial: StoredRun, initialCommands: Command[], onResumed?: () => void): Promise<StoredRun> {
    let run: StoredRun = initial;
    let queue = [...initialCommands];
    let closed = false;
    try {
      while (queue.length > 0) {
        const command = queue.shift()!;
        if (command === 'close') {
          closed = true;
          break;
        }
        const step = await this.#execute(command, run, onResumed);
        run = step.run;
        if (!step.event) continue;
        const next = transition(run, step.event);
        run = this.#deps.store.save(next.run);
        queue = next.commands;
      }
    } catch (error) {
      // Something unforeseen (the database, a bug): the apps come first, through the
      // normal restart (retried with backoff, each failure audited). The run stays open
      // as the marker, and the next start of the controller finishes it.
      this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: the loop failed; starting the apps again');
      try {
        run = (await this.#restart(run, onResumed)).run;
      } catch (restartError) {
        this.#deps.logger.error({ err: restartError, run: run.id }, 'quiesce: starting the apps after a loop failure failed');
      }
      onResumed?.();
      return run;
    }
    if (closed) this.#closeAudit(run);
    return run;
  }

  /** Runs one command and says what happened, as the machine's event. */
  async #execute(command: Exclude<Command, 'close'>, run: StoredRun, onResumed?: () => void): Promise<Step> {
    const interruption = this.#interruption(run);
    if (interruption && interruptsBefore(run.phase, command)) return { event: interruption, run };
    switch (command) {
      case 'stop_stacks':
        let killed: string[];
        try {
          killed = await this.#deps.stacks.stop(run.stacks);
        } catch (error) {
          this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: stopping the apps failed; starting them again, no backup is asked for');
          return { event: { type: 'stop_failed', error: { key: 'error.quiesce_stop_failed', params: { cause: errorText(error) } } }, run };
        }
        if (killed.length > 0) this.#deps.logger.warn({ run: run.id, killed }, 'quiesce: Docker had to kill containers that did not stop in time; this backup is only crash-consistent');
        return { event: this.#interruption(run) ?? { type: 'stacks_stopped', killed }, run };
      case 'settle_stops':
        await this.#deps.stacks.stop(run.stacks).catch((error: unknown) => {
          this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: finishing the stops of the interrupted run failed; starting the apps again');
        });
        return { event: null, run };
      case 'request_backup':
        try {
          const accepted = await this.#deps.backups.requestBackup(run.trigger);
          // The request counts as the last one: the first poll comes an interval after it.
          this.#lastPollAt = this.#deps.clock.now().getTime();
          this.#failingSince = null;
          return { event: { type: 'backup_accepted', backupId: accepted.id }, run };
        } catch (error) {
          return { event: { type: 'request_failed', error: errorText(error) }, run };
        }
      case 'poll_backup':
        return { event: await this.#poll(run), run };
      case 'restart_stacks': {
        const restart = await this.#restart(run, onResumed);
        // Given up only when the process is stopping: the run stays open, the next start restarts.
        return { event: restart.restarted ? { type: 'stacks_restarted' } : null, run: restart.run };
      }
    }
  }

  /**
   * One status poll, an interval after the previous one was sent (the fast interval while
   * the apps are down, the slow one while tracking). The poll is not retried (the loop has
   * its own bounds) and is raced against the run's bound and a shutdown, so an agent that
   * hangs cannot hold the apps down past the max-quiesce bound.
   */
  async #poll(run: StoredRun): Promise<Event> {
    const now = this.#deps.clock.now().getTime();
    const interval = appsHeldDown(run.phase) ? this.#deps.options.pollIntervalMs : this.#deps.options.trackingPollIntervalMs;
    const untilNext = (this.#lastPollAt ?? now) + interval - now;
    const untilBound = this.#bound(run).at - now;
    try {
      await this.#deps.sleep(Math.max(0, Math.min(untilNext, untilBound)), this.#shutdown.signal);
    } catch {
      // Woken by a shutdown: answered below.
    }
    const interruption = this.#interruption(run);
    if (interruption) return interruption;
    const id = run.backupId!;
    const sentAt = this.#deps.clock.now().getTime();
    this.#lastPollAt = sentAt;
    const polled: Promise<Event> = this.#deps.backups.backupStatus(id).then(
      (status): Event => {
        this.#failingSince = null;
        return status === null
          ? { type: 'backup_missing', error: { key: 'error.quiesce_backup_missing', params: { id } } }
          : // The agent's own words on a failed backup stay as they are.
            { type: 'backup_phase', phase: status.phase, error: status.error === null ? null : { key: 'error.cause', params: { cause: status.error } } };
      },
      (error: unknown): Event => {
        this.#failingSince ??= sentAt;
        return { type: 'poll_failed', error: errorText(error), failingForMs: this.#deps.clock.now().getTime() - this.#failingSince };
      },
    );
    const race = new AbortController();
    const bound = this.#bound(run);
    const cutOff: Promise<Event> = this.#deps
      .sleep(Math.max(0, bound.at - this.#deps.clock.now().getTime()), AbortSignal.any([race.signal, this.#shutdown.signal]))
      .then(
        () => this.#interruption(run) ?? bound.event,
        () => (this.#shutdown.signal.aborted ? { type: 'shutdown' } : new Promise<Event>(() => {})),
      );
    try {
      return await Promise.race([polled, cutOff]);
    } finally {
      race.abort();
    }
  }

  /**
   * Starts the run's stacks again (their containers that ran before the stop), retrying
   * with backoff until every one runs; never gives up while the process lives. The
   * stacks that failed the last attempt are kept on the run. `restarted` is false only
   * when a shutdown interrupts the retries. `onFirstAttempt` is told after the first try.
   */
  async #restart(initial: StoredRun, onFirstAttempt?: () => void): Promise<{ run: StoredRun; restarted: boolean }> {
    let run = initial;
    let wait = this.#deps.options.restartBackoffMs;
    for (;;) {
      const failed = await this.#deps.stacks.start(run.stacks, run.containers).catch((error: unknown) => {
        this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: starting the apps failed');
        return run.stacks;
      });
      run = this.#noteFailedRestarts(run, failed);
      onFirstAttempt?.();
      onFirstAttempt = undefined;
      if (failed.length === 0) return { run, restarted: true };
      this.#deps.logger.error({ run: run.id, failed }, 'quiesce: apps did not start again; retrying');
      this.#deps.audit.record({ actor: 'controller', action: 'backup.restart_failed', target: failed.join(','), outcome: 'failed', details: { run: run.id } });
      try {
        await this.#deps.sleep(wait, this.#shutdown.signal);
      } catch {
        return { run, restarted: false };
      }
      wait = Math.min(wait * 2, 60_000);
    }
  }

  /** Keeps which stacks failed their last restart on the run, for the API; a failed write does not stop the restarts. */
  #noteFailedRestarts(run: StoredRun, failed: string[]): StoredRun {
    const sorted = [...failed].sort();
    if (sameStacks(run.failedRestarts, sorted)) return run;
    try {
      return this.#deps.store.save({ ...run, failedRestarts: sorted });
    } catch (error) {
      this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: could not record which apps failed to start');
      return { ...run, failedRestarts: sorted };
    }
  }

  /** The bound of the run's phase: the max-quiesce deadline while the apps are down, the tracking limit after. */
  #bound(run: StoredRun): { at: number; event: Event } {
    if (appsHeldDown(run.phase)) return { at: Date.parse(run.deadlineAt), event: { type: 'deadline' } };
    const limitMs = this.#deps.options.trackingLimitMs ?? TRACKING_LIMIT_FACTOR * this.#deps.options.maxQuiesceMs;
    const minutes = Math.round(limitMs / 60_000);
    return {
      at: Date.parse(run.startedAt) + limitMs,
      event: {
        type: 'tracking_expired',
        error: { key: 'error.quiesce_tracking_expired', params: { id: String(run.backupId), minutes } },
      },
    };
  }

  #interruption(run: StoredRun): Event | null {
    if (this.#shutdown.signal.aborted) return { type: 'shutdown' };
    const bound = this.#bound(run);
    if (this.#deps.clock.now().getTime() >= bound.at) return bound.event;
    return null;
  }

  #closeAudit(run: StoredRun): void {
    this.#deps.audit.record({
      actor: 'controller',
      action: 'backup.quiesced',
      target: run.backupId,
      outcome: run.outcome === 'succeeded' ? 'ok' : 'failed',
      details: { run: run.id, trigger: run.trigger, stacks: run.stacks, resume_reason: run.resumeReason, downtime_ms: run.downtimeMs, error: run.error },
    });
    this.#deps.logger.info({ run: run.id, outcome: run.outcome, downtimeMs: run.downtimeMs, reason: run.resumeReason }, 'quiesce: run closed');
  }
}
