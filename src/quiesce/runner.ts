/**
 * The quiesce loop's shell: it carries out the machine's commands through narrow ports
 * and feeds each outcome back as an event. Every new state is persisted before the
 * next command, so a crash at any instant leaves an open run that `recover()` finishes.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { backupInFlight, startRun, transition, type Command, type Event, type Run } from './machine.ts';
import type { RunStore, StoredRun } from './store.ts';

/** The app stacks, as the loop sees them. */
export interface StackPort {
  /** Stacks running now that a backup may stop (never the controller, never stopped-for-storage ones). */
  quiescable(): Promise<string[]>;
  stop(stacks: string[]): Promise<void>;
  /** Starts them (idempotent); returns those that failed to start. */
  start(stacks: string[]): Promise<string[]>;
}

export interface BackupPort {
  requestBackup(reason: 'scheduled' | 'manual'): Promise<{ id: string }>;
  backupStatus(id: string): Promise<{ phase: string; error: string | null }>;
}

export interface RunnerOptions {
  maxQuiesceMs: number;
  pollIntervalMs: number;
  /** First wait before retrying stacks that failed to start; doubles up to 60 s, forever. */
  restartBackoffMs: number;
}

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

export class QuiesceRunner {
  readonly #deps: RunnerDeps;
  #active: Promise<StoredRun> | null = null;
  #shutdown = new AbortController();

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /**
   * Starts a run unless one is open (here or left by an earlier process): returns null
   * then. The marker is written before anything is stopped.
   */
  async trigger(trigger: Run['trigger']): Promise<{ run: StoredRun; done: Promise<StoredRun> } | null> {
    if (this.#active || this.#deps.store.open()) return null;
    const stacks = await this.#deps.stacks.quiescable();
    const { run, commands } = startRun({ id: randomUUID(), trigger, stacks });
    let stored: StoredRun;
    try {
      stored = this.#deps.store.create(run, new Date(this.#deps.clock.now().getTime() + this.#deps.options.maxQuiesceMs));
    } catch {
      return null;
    }
    this.#deps.logger.info({ run: run.id, trigger, stacks }, 'quiesce: stopping apps for a backup');
    const done = this.#drive(stored, commands);
    return { run: stored, done };
  }

  /**
   * At start, before anything else: finishes a run a crash left open. `resumed` settles
   * once its stacks run again (serve after that); `done` when the run is closed.
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
    try {
      while (queue.length > 0) {
        const command = queue.shift()!;
        if (command === 'close') break;
        const event = await this.#execute(command, run);
        if (command === 'restart_stacks') onResumed?.();
        if (!event) continue;
        const next = transition(run, event);
        run = this.#deps.store.save(next.run);
        queue = next.commands;
      }
    } catch (error) {
      // Something unforeseen (the database, a bug): the apps come first. The run stays
      // open as the marker, and the next start of the controller finishes it.
      this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: the loop failed; starting the apps again');
      await this.#deps.stacks.start(run.stacks).catch(() => []);
      onResumed?.();
      return run;
    }
    this.#closeAudit(run);
    return run;
  }

  /** Runs one command and says what happened, as the machine's event. */
  async #execute(command: Exclude<Command, 'close'>, run: StoredRun): Promise<Event | null> {
    const interruption = this.#interruption(run);
    if (interruption && command !== 'restart_stacks' && run.phase !== 'tracking' && run.phase !== 'resuming') return interruption;
    switch (command) {
      case 'stop_stacks':
        await this.#deps.stacks.stop(run.stacks).catch((error: unknown) => {
          this.#deps.logger.error({ err: error, run: run.id }, 'quiesce: stopping the apps failed; the restart is guaranteed');
        });
        // While resuming, a stop only settles stops a dead process left in flight.
        if (run.phase === 'resuming') return null;
        return this.#interruption(run) ?? { type: 'stacks_stopped' };
      case 'request_backup':
        try {
          return { type: 'backup_accepted', backupId: (await this.#deps.backups.requestBackup(run.trigger)).id };
        } catch (error) {
          return { type: 'request_failed', error: errorMessage(error) };
        }
      case 'poll_backup':
        return this.#poll(run);
      case 'restart_stacks':
        // Given up only when the process is stopping: the run stays open, the next start restarts.
        if (!(await this.#restart(run))) return null;
        return run.phase === 'tracking' ? null : { type: 'stacks_restarted' };
    }
  }

  async #poll(run: StoredRun): Promise<Event> {
    if (run.phase !== 'tracking' || backupInFlight(run)) {
      try {
        await this.#deps.sleep(this.#deps.options.pollIntervalMs, this.#shutdown.signal);
      } catch {
        // Woken by a shutdown: answered below.
      }
    }
    const interruption = this.#interruption(run);
    if (interruption && run.phase !== 'tracking') return interruption;
    if (this.#shutdown.signal.aborted) return { type: 'shutdown' };
    try {
      const status = await this.#deps.backups.backupStatus(run.backupId!);
      return { type: 'backup_phase', phase: status.phase, error: status.error };
    } catch (error) {
      return { type: 'poll_failed', error: errorMessage(error) };
    }
  }

  /**
   * Restarts exactly the run's stacks, retrying with backoff until every one runs; never
   * gives up while the process lives. False only when a shutdown interrupts the retries.
   */
  async #restart(run: StoredRun): Promise<boolean> {
    let wait = this.#deps.options.restartBackoffMs;
    for (;;) {
      const failed = await this.#deps.stacks.start(run.stacks).catch(() => run.stacks);
      if (failed.length === 0) return true;
      this.#deps.logger.error({ run: run.id, failed }, 'quiesce: apps did not start again; retrying');
      this.#deps.audit.record({ actor: 'controller', action: 'backup.restart_failed', target: failed.join(','), outcome: 'failed', details: { run: run.id } });
      try {
        await this.#deps.sleep(wait, this.#shutdown.signal);
      } catch {
        return false;
      }
      wait = Math.min(wait * 2, 60_000);
    }
  }

  #interruption(run: StoredRun): Event | null {
    if (this.#shutdown.signal.aborted) return { type: 'shutdown' };
    if (this.#deps.clock.now().getTime() >= Date.parse(run.deadlineAt)) return { type: 'deadline' };
    return null;
  }

  #closeAudit(run: StoredRun): void {
    if (run.phase !== 'closed') return;
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
