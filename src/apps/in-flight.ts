/**
 * What each app is busy with in this process: a deploy, an uninstall, a restore. One
 * piece of work per app at a time, so that no two change one stack at once.
 *
 * Shutdown waits for the work, but not forever: past a deadline (long enough for
 * `compose down` to give each container its SIGTERM grace) the work is cancelled through
 * `signal`, which stops the compose children it runs. What a crash would leave is then
 * left on purpose: an interrupted deploy's operation stays `running`, and the next
 * start resumes it (reconcile.ts), as after a crash.
 */
import { AppError } from '../errors.ts';

export type WorkKind = 'change' | 'restore';

/** How long shutdown waits for work to end by itself. */
export const SHUTDOWN_DEADLINE_MS = 20_000;
/** After cancelling, how long the children get to end (the CLI runner's SIGKILL follows its SIGINT within 5 s). */
export const CANCEL_GRACE_MS = 6_000;

export class InFlight {
  readonly #work = new Map<string, { kind: WorkKind; done: Promise<unknown> }>();
  readonly #cancel = new AbortController();

  /** Aborted when shutdown cancels the work: handed to the compose CLI and checked between steps. */
  get signal(): AbortSignal {
    return this.#cancel.signal;
  }

  /** Runs `work` as what app `id` is busy with, until it ends. */
  run<T>(id: string, kind: WorkKind, work: () => Promise<T>): Promise<T> {
    const done = work().finally(() => {
      if (this.#work.get(id)?.done === done) this.#work.delete(id);
    });
    this.#work.set(id, { kind, done });
    return done;
  }

  /** What the app is busy with, or null. */
  busyWith(id: string): WorkKind | null {
    return this.#work.get(id)?.kind ?? null;
  }

  assertIdle(id: string): void {
    const kind = this.busyWith(id);
    if (kind === 'restore') throw new AppError('conflict', { key: 'error.app_restoring', params: { id } });
    if (kind === 'change') throw new AppError('conflict', { key: 'error.app_busy', params: { id } });
  }

  /** Waits for all work to end (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#pending());
  }

  /**
   * Waits for the work up to `deadlineMs`, then cancels what still runs and gives it
   * `graceMs` to end. Returns the apps whose work was cancelled.
   */
  async shutdown(deadlineMs = SHUTDOWN_DEADLINE_MS, graceMs = CANCEL_GRACE_MS): Promise<string[]> {
    if (await within(this.settled(), deadlineMs)) return [];
    const cancelled = [...this.#work.keys()];
    this.#cancel.abort(new AppError('unavailable', { key: 'error.controller_stopping' }));
    await within(this.settled(), graceMs);
    return cancelled;
  }

  #pending(): Array<Promise<unknown>> {
    return [...this.#work.values()].map((work) => work.done);
  }
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
