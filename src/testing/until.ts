/**
 * How the tests wait: every wait has a bound, and one that runs out says what it waited
 * for, for how long, what it saw last and, through `explain`, what the processes
 * involved logged meanwhile (see testLogs in log.ts). A red run then explains itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, in words that complete "waiting for …". */
  what: string;
  timeoutMs: number;
  /** Context for a timeout: the recent log lines of the controller and the agent. */
  explain?: () => string | Promise<string>;
}

export interface UntilOptions extends WaitOptions {
  /** Default 100 ms. */
  intervalMs?: number;
}

/** A wait that ran out; `explained` when its message already carries the log lines. */
export class WaitTimedOut extends Error {
  readonly explained: boolean;

  constructor(message: string, explained: boolean) {
    super(message);
    this.name = 'WaitTimedOut';
    this.explained = explained;
  }
}

type Answer<T> = { value: T } | { error: unknown } | 'no answer';

/** What `work` settles to by `deadline`; an answer later than that is no answer. */
async function answerBy<T>(work: () => T | Promise<T>, deadline: number): Promise<Answer<T>> {
  const controller = new AbortController();
  const late = sleep(Math.max(0, deadline - Date.now()), 'no answer' as const, { signal: controller.signal });
  try {
    return await Promise.race([Promise.resolve().then(work).then((value) => ({ value }), (error: unknown) => ({ error })), late]);
  } finally {
    controller.abort();
    late.catch(() => undefined);
  }
}

/** An answer in a line or so: a long one keeps its start (ids, state, step) and its end (the latest events). */
function describe(answer: Answer<unknown>): string {
  if (answer === 'no answer') return 'nothing: the check itself was still running at the deadline';
  if ('error' in answer) return `an error: ${answer.error instanceof Error ? answer.error.message : String(answer.error)}`;
  const text = JSON.stringify(answer.value) ?? String(answer.value);
  return text.length > 1_200 ? `${text.slice(0, 700)} … ${text.slice(-500)}` : text;
}

async function timedOut(options: WaitOptions, lastSeen: string): Promise<WaitTimedOut> {
  let explanation = '';
  try {
    explanation = (await options.explain?.()) ?? '';
  } catch (error) {
    explanation = `(the logs could not be gathered: ${error instanceof Error ? error.message : String(error)})`;
  }
  const message = `timed out after ${options.timeoutMs / 1000} s waiting for ${options.what}; last seen: ${lastSeen}`;
  return new WaitTimedOut(explanation ? `${message}\n${explanation}` : message, explanation !== '');
}

/**
 * Polls `check` until its value is `done` (by default: truthy), and returns that value.
 * With `done`, the check returns what it sees (an app, a run), so a timeout can say
 * what that was last. A check that throws is tried again (a controller starting up
 * refuses connections for a moment) and its error is reported if the wait runs out; a
 * check that hangs is cut off at the deadline.
 */
export function until<T>(check: () => T | Promise<T>, options: UntilOptions & { done: (value: T) => boolean }): Promise<T>;
export function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: UntilOptions): Promise<T>;
export async function until(check: () => unknown, options: UntilOptions & { done?: (value: unknown) => boolean }): Promise<unknown> {
  const done = options.done ?? Boolean;
  const deadline = Date.now() + options.timeoutMs;
  let lastSeen: Answer<unknown> = 'no answer';
  for (;;) {
    const answer = await answerBy(async () => {
      const value = await check();
      return { value, done: done(value) };
    }, deadline);
    // Cut off at the deadline: the answer before it is what was seen last.
    if (answer === 'no answer') break;
    if ('error' in answer) lastSeen = answer;
    else if (answer.value.done) return answer.value.value;
    else lastSeen = { value: answer.value.value };
    if (Date.now() >= deadline) break;
    await sleep(Math.min(options.intervalMs ?? 100, deadline - Date.now()));
  }
  throw await timedOut(options, describe(lastSeen));
}

/** Awaits one event (a process listening, or exiting) within a bound: its error if it fails, an explained timeout if it takes too long. */
export async function within<T>(event: Promise<T>, options: WaitOptions): Promise<T> {
  const answer = await answerBy(() => event, Date.now() + options.timeoutMs);
  if (answer === 'no answer') throw await timedOut(options, 'nothing');
  if ('error' in answer) throw answer.error;
  return answer.value;
}
