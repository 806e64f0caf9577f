/** A real pino logger whose lines a test can read back (parsed JSON, in order). */
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../../src/log.ts';
import { WaitTimedOut } from './until.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function recordingLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

/** pino's level number for error and above. */
export const ERROR_LEVEL = 50;

/** How many of each process's last log lines a failure shows. */
export const RECENT_LINES = 60;

/** A process's last `count` log lines, oldest first. */
export type LogTail = (count: number) => string[] | Promise<string[]>;

/**
 * Lines that differ from the one before only in their time become one, the latest, with
 * a count: a poll every 300 ms (the storage watch, a backup's status) would otherwise
 * fill the whole tail and hide what came before it.
 */
function withoutRepeats(lines: string[]): string[] {
  const sameButTime = (line: string) => line.replace(/"time":\d+,?/, '');
  const kept: Array<{ line: string; times: number }> = [];
  for (const line of lines) {
    const last = kept.at(-1);
    if (last && sameButTime(last.line) === sameButTime(line)) kept[kept.length - 1] = { line, times: last.times + 1 };
    else kept.push({ line, times: 1 });
  }
  return kept.map(({ line, times }) => (times > 1 ? `${line} (×${times})` : line));
}

/** The tail of a recording logger's lines, one JSON line each, as the process would print them. */
export const recordedTail =
  (lines: LogLine[]): LogTail =>
  (count) =>
    withoutRepeats(lines.map((line) => JSON.stringify(line))).slice(-count);

/** The tail of a process's whole output. */
export const outputTail =
  (output: () => string): LogTail =>
  (count) =>
    withoutRepeats(output().split('\n').filter(Boolean)).slice(-count);

/**
 * API tokens (fct_), the agent's guest token (flt_) and its control token (fdc_) never
 * reach test output, whoever logged them: the controller redacts its own, this guards
 * the rest (the development agent's lines, a process's stray output).
 */
export function withoutSecrets(text: string): string {
  return text.replace(/\b(fct|flt|fdc)_[A-Za-z0-9_-]+/g, '$1_[redacted]');
}

export interface TestLogs {
  /** Adds a process whose recent lines a failure of this test shows; a second of a name is "name #2". */
  add(name: string, tail: LogTail): void;
  /** The recent lines of every process added so far: the `explain` of a wait. */
  explain(): Promise<string>;
}

const logsOfTest = new WeakMap<TestContext, TestLogs>();

/**
 * Node 24 tells a hook whether its test passed (t.passed, t.error); @types/node declares
 * them on SuiteContext only. `passed` is false for a failure and for a timeout.
 */
type Outcome = { passed?: boolean; error?: { cause?: unknown } | null };

/**
 * The logs of this test's processes (helpers add the controllers and agents they start).
 * When the test fails, for a wait that timed out or a plain assertion, an after hook
 * prints their recent lines under it, unless the failure's message already has them.
 * Call it before registering cleanup that deletes logs (a container's `compose down`):
 * the hook is registered on the first call and hooks run in order.
 */
export function testLogs(t: TestContext): TestLogs {
  const known = logsOfTest.get(t);
  if (known) return known;
  const tails = new Map<string, LogTail>();
  const logs: TestLogs = {
    add(name, tail) {
      let unique = name;
      for (let n = 2; tails.has(unique); n++) unique = `${name} #${n}`;
      tails.set(unique, tail);
    },
    async explain() {
      const parts = await Promise.all(
        [...tails].map(async ([name, tail]) => {
          const lines = await Promise.resolve()
            .then(() => tail(RECENT_LINES))
            .catch((error: unknown) => [`(could not read its log: ${error instanceof Error ? error.message : String(error)})`]);
          return `--- ${name}: last ${lines.length} log lines ---\n${lines.join('\n')}`;
        }),
      );
      return withoutSecrets(parts.join('\n'));
    },
  };
  logsOfTest.set(t, logs);
  t.after(async () => {
    const outcome = t as TestContext & Outcome;
    if (outcome.passed !== false || tails.size === 0) return;
    const failure = outcome.error?.cause;
    if (failure instanceof WaitTimedOut && failure.explained) return;
    t.diagnostic(`the test failed; what its processes logged last:\n${await logs.explain()}`);
  });
  return logs;
}
