/**
 * Running a CLI child (compose) to its end, bounded. A child reads files an app wrote,
 * so what it may cost is bounded here: a time limit, and optionally a memory limit on
 * its whole process tree (compose v2 runs as a plugin process under `docker`), checked
 * from /proc while it runs, since the de-privileged controller can set no cgroup for
 * it, and a limit on what it prints, which the controller holds and parses. Past the
 * time limit the tree gets SIGTERM, then SIGKILL after a grace; past the others, SIGKILL.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { AppError } from '../errors.ts';
import { lineSplitter } from './lines.ts';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the child was stopped, when it was: it ran past its time, memory or output bound. */
  stopped: StopReason | null;
  stdout: string;
  stderrTail: string[];
}

export type StopReason = 'timeout' | 'memory' | 'output' | 'cancelled';

export interface ChildOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** The most resident memory the child and its descendants may use together. */
  maxRssBytes?: number | undefined;
  /** The most the child may print on stdout, which is kept in memory for the caller. */
  maxOutputBytes?: number | undefined;
  onLine?: ((line: string) => void) | undefined;
  /** Whether stdout is also kept whole for the result; a long stream (restic's progress) is only read line by line. */
  keepStdout?: boolean | undefined;
  /** Aborting stops the child with SIGINT (restic then removes its lock), SIGKILL after a grace. */
  cancel?: AbortSignal | undefined;
  /** Called once the child runs, with its pid (recorded so a crash can tell its leftovers). */
  onSpawn?: ((pid: number) => void) | undefined;
}

const STDERR_TAIL_LINES = 20;
/** After SIGTERM, how long the child gets to stop cleanly before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** How often the memory of the tree is read: an alias bomb grows by hundreds of MB a second. */
const MEMORY_CHECK_MS = 50;

/** Runs a child to its end; rejects only when it cannot be started at all. */
export function runChild(argv: string[], options: ChildOptions): Promise<ChildResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new AppError('internal', { key: 'error.empty_command' }));
  return new Promise((resolve, reject) => {
    // Its own process group, so stopping it also ends what it started.
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let stdout = '';
    const stderrTail: string[] = [];
    const outLines = lineSplitter((line) => options.onLine?.(line));
    const errLines = lineSplitter((line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      options.onLine?.(line);
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stopped) return;
      if (options.keepStdout !== false) stdout += chunk;
      if (options.maxOutputBytes !== undefined && stdout.length > options.maxOutputBytes) return stop('output');
      outLines.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => errLines.push(chunk));

    let stopped: StopReason | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: StopReason) => {
      if (stopped) return;
      stopped = why;
      killGroup(why === 'timeout' ? 'SIGTERM' : why === 'cancelled' ? 'SIGINT' : 'SIGKILL');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onCancel = () => stop('cancelled');
    if (options.cancel?.aborted) onCancel();
    else options.cancel?.addEventListener('abort', onCancel, { once: true });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const { maxRssBytes } = options;
    const memoryWatch =
      maxRssBytes === undefined || child.pid === undefined
        ? undefined
        : setInterval(() => {
            if (groupRssBytes(child.pid!) > maxRssBytes) stop('memory');
          }, MEMORY_CHECK_MS);
    const settle = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearInterval(memoryWatch);
      options.cancel?.removeEventListener('abort', onCancel);
    };

    child.on('error', (error) => {
      settle();
      reject(new AppError('upstream', { key: 'error.cannot_run', params: { command: argv.join(' '), cause: error.message } }, { cause: error }));
    });
    child.on('close', (code, signal) => {
      settle();
      outLines.end();
      errLines.end();
      resolve({ code, signal, stopped, stdout, stderrTail });
    });
  });
}

/**
 * Resident memory of a process group (the child leads its own), from /proc; processes
 * that cannot be read count 0. /proc/<pid>/task/<tid>/children would be cheaper, but
 * not every kernel has it (CONFIG_PROC_CHILDREN), so the group is found by a scan.
 */
export function groupRssBytes(group: number): number {
  let total = 0;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = safeRead(`/proc/${entry}/stat`);
    // Fields after the command name, which may hold spaces and parentheses: state ppid pgrp.
    const pgrp = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== group) continue;
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(safeRead(`/proc/${entry}/status`) ?? '');
    if (match) total += Number(match[1]) * 1024;
  }
  return total;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
