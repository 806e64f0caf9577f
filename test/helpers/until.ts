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

/** Whatever `work` settles to by `deadline`: an answer later than that is no answer. */
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

function describe(answer: Answer<unknown>): string {
  if (answer === 'no answer') return 'the check itself was still running at the deadline';
  if ('error' in answer) return `an error: ${answer.error instanceof Error ? answer.error.message : String(answer.error)}`;
  const text = JSON.stringify(answer.value) ?? String(answer.value);
  return text.length > 1_000 ? `${text.slice(0, 1_000)}… (${text.length} characters)` : text;
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
 * Polls `check` until it returns a truthy value, and returns that. A check that throws
 * is tried again (a controller starting up refuses connections for a moment) and its
 * error is reported if the wait runs out; a check that hangs is cut off at the deadline.
 */
export async function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: UntilOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const answer = await answerBy(check, deadline);
    if (answer !== 'no answer' && 'value' in answer && answer.value) return answer.value;
    const left = deadline - Date.now();
    if (answer === 'no answer' || left <= 0) throw await timedOut(options, describe(answer));
    await sleep(Math.min(options.intervalMs ?? 100, left));
  }
}

/** Awaits one event (a process listening, or exiting) within a bound: its error if it fails, an explained timeout if it takes too long. */
export async function within<T>(event: Promise<T>, options: WaitOptions): Promise<T> {
  const answer = await answerBy(() => event, Date.now() + options.timeoutMs);
  if (answer === 'no answer') throw await timedOut(options, 'nothing');
  if ('error' in answer) throw answer.error;
  return answer.value;
}
