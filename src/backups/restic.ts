/**
 * restic, driven as a CLI. Every argument restic is given is built in this file, and
 * only flags and JSON output that restic 0.14 (Debian bookworm, this machine) and
 * current restic (0.17, 0.18: the production image) both have are used: `--json` of
 * backup/snapshots/ls/forget/stats, `--no-lock`, `--host`, `--tag`, `--group-by`,
 * `--keep-last|daily|weekly|monthly`, `--read-data-subset`, `restore --target --include`, `cat config|lock`,
 * `list locks`, `unlock`. restore has no --json in 0.14, so a restore reports no progress.
 *
 * Secrets never reach a command line: the repository (a REST URL may carry a password)
 * and its password go by environment, which only this user can read, and any text restic
 * prints is scrubbed of them before it is logged or shown.
 */
import { AppError } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import { Secret } from '../secret.ts';
import { runChild, type ChildResult } from '../stacks/index.ts';

export interface Repository {
  /** RESTIC_REPOSITORY: a folder, or `rest:https://user:password@host/path`. */
  location: Secret;
  password: Secret;
}

export interface BackupProgress {
  percent: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  secondsElapsed: number;
  secondsRemaining: number | null;
}

export interface BackupSummary {
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesTotal: number;
  bytesAdded: number;
  bytesTotal: number;
  /** Files restic could not read (exit code 3): the snapshot exists but is missing them. */
  unreadable: string[];
}

export interface Snapshot {
  id: string;
  shortId: string;
  time: string;
  tags: string[];
  paths: string[];
}

export interface FileEntry {
  path: string;
  type: string;
  size: number;
}

export interface Lock {
  id: string;
  hostname: string;
  pid: number;
  time: string;
  exclusive: boolean;
}

export type Keep = { last: number; daily: number; weekly: number; monthly: number };

/** Why restic failed, for the caller to turn into the right answer. */
export type ResticFailure = 'wrong_password' | 'no_repository' | 'exists' | 'locked' | 'refused' | 'unreachable' | 'damaged' | 'cancelled' | 'failed';

export class ResticError extends AppError {
  readonly failure: ResticFailure;

  constructor(failure: ResticFailure, message: Message) {
    // What the customer gave (a code, a location, a password) is wrong: a 4xx; the rest is restic's or the target's.
    const asked = failure === 'wrong_password' || failure === 'no_repository' || failure === 'exists' || failure === 'refused' || failure === 'unreachable';
    super(asked ? 'validation' : failure === 'locked' ? 'conflict' : 'upstream', message);
    this.failure = failure;
  }
}

export interface RunOptions {
  cancel?: AbortSignal | undefined;
  onSpawn?: ((pid: number) => void) | undefined;
}

export interface Restic {
  /** `restic version`; null with the reason when restic is missing or older than 0.14. */
  probe(): Promise<{ version: string } | { reason: string }>;
  init(repo: Repository): Promise<void>;
  /** Opens the repository with its password: the check that a recovery code is right. */
  verify(repo: Repository): Promise<void>;
  backup(repo: Repository, source: { dir: string; host: string; tags: string[] }, onProgress: (p: BackupProgress) => void, options?: RunOptions): Promise<BackupSummary>;
  snapshots(repo: Repository, tags: string[]): Promise<Snapshot[]>;
  /** Applies the retention policy to the snapshots with all these tags; returns the ids it removed. */
  forget(repo: Repository, tags: string[], keep: Keep): Promise<string[]>;
  prune(repo: Repository, options?: RunOptions): Promise<void>;
  /** `restic check`, reading this share of the data; resolves with what restic reported. */
  check(repo: Repository, readDataSubset: string, options?: RunOptions): Promise<{ ok: boolean; output: string[] }>;
  ls(repo: Repository, snapshotId: string): Promise<FileEntry[]>;
  /** Restores the snapshot (or only `include`) into `target`, which must exist. */
  restore(repo: Repository, snapshotId: string, target: string, include?: string[], options?: RunOptions): Promise<void>;
  stats(repo: Repository, snapshotId: string): Promise<{ files: number; bytes: number }>;
  locks(repo: Repository): Promise<Lock[]>;
  /** Removes stale locks only: restic never breaks a live lock of another process or host. */
  unlock(repo: Repository): Promise<void>;
}

const MINUTE = 60_000;
/** What a person waits for (open, list, init): a REST server that stops answering must not hold a page. */
const ASKED_MS = MINUTE;
/** Maintenance steps that read the index (forget, unlock). */
const QUICK_MS = 10 * MINUTE;
/** Backups, restores, checks, prunes: bounded by progress instead (a backup that moves nothing is stopped). */
const LONG_MS = 24 * 60 * MINUTE;
/** A backup whose files and bytes do not move for this long is stalled: its target stopped answering. */
const STALL_MS = 10 * MINUTE;
const OLDEST = [0, 14];

export function parseVersion(output: string): { version: string } | { reason: string } {
  const match = /^restic (\d+)\.(\d+)\.(\d+)/m.exec(output);
  if (!match) return { reason: `restic printed no version: ${output.slice(0, 200)}` };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const version = `${match[1]}.${match[2]}.${match[3]}`;
  if (major < OLDEST[0]! || (major === OLDEST[0] && minor < OLDEST[1]!)) return { reason: `restic ${version} is older than 0.14, the oldest this controller drives` };
  return { version };
}

/** What the output of a failed run says went wrong, in restic's words (0.14 to 0.18). */
export function classifyFailure(code: number | null, text: string): ResticFailure {
  if (code === 12 || /wrong password|no key found/i.test(text)) return 'wrong_password';
  if (code === 10 || /repository does not exist|unable to open config file|Is there a repository at the following location/i.test(text)) return 'no_repository';
  if (/config file already exists|repository master key and config already initialized/i.test(text)) return 'exists';
  if (code === 11 || /repository is already locked|unable to create lock/i.test(text)) return 'locked';
  if (/\b(401 Unauthorized|403 Forbidden)\b|unexpected HTTP response \((401|403)\)/i.test(text)) return 'refused';
  if (/connection refused|no such host|i\/o timeout|dial tcp|context deadline exceeded|unexpected HTTP response \(5\d\d\)|\b5\d\d (Internal Server Error|Bad Gateway|Service Unavailable)/i.test(text)) return 'unreachable';
  if (/pack .* (contains|is damaged|does not match)|ciphertext verification failed|Fatal: repository contains errors|error for tree|checksum/i.test(text)) return 'damaged';
  return 'failed';
}

export function createRestic(options: { command: string; cacheDir: string; stallMs?: number }): Restic {
  const environment = (repo: Repository | null): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: options.cacheDir,
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    RESTIC_CACHE_DIR: options.cacheDir,
    RESTIC_PROGRESS_FPS: '1',
    ...(repo ? { RESTIC_REPOSITORY: repo.location.reveal(), RESTIC_PASSWORD: repo.password.reveal() } : {}),
  });

  /** Every secret the text could hold, and its URL-encoded form, replaced. */
  const scrub = (repo: Repository | null, text: string): string => {
    if (!repo) return text;
    const secrets = [repo.password.reveal(), repo.location.reveal(), ...credentialsOf(repo.location.reveal())].filter((s) => s.length >= 4);
    let clean = text;
    for (const secret of secrets) for (const form of new Set([secret, encodeURIComponent(secret)])) clean = clean.split(form).join('[redacted]');
    return clean;
  };

  async function run(
    repo: Repository | null,
    args: string[],
    how: { timeoutMs: number; cwd?: string; onLine?: (line: string) => void; keepStdout?: boolean } & RunOptions,
  ): Promise<ChildResult> {
    const result = await runChild([options.command, ...args], {
      cwd: how.cwd ?? options.cacheDir,
      env: environment(repo),
      timeoutMs: how.timeoutMs,
      keepStdout: how.keepStdout,
      onLine: how.onLine,
      cancel: how.cancel,
      onSpawn: how.onSpawn,
    }).catch((error: unknown) => {
      // Node's refusal may quote the environment (a NUL in a password): scrubbed like restic's own words.
      throw new ResticError('failed', { key: 'error.restic_not_run', params: { command: options.command, cause: scrub(repo, (error as Error).message).slice(0, 400) } });
    });
    return { ...result, stderrTail: result.stderrTail.map((line) => scrub(repo, line)) };
  }

  function fail(repo: Repository | null, what: string, result: ChildResult): never {
    const text = result.stderrTail.join('\n');
    const failure = result.stopped === 'cancelled' ? 'cancelled' : classifyFailure(result.code, text);
    const detail = scrub(repo, result.stderrTail.filter((l) => l.trim() && !l.startsWith('{')).slice(-4).join(' ').trim());
    // Why, in the catalogs (restic_failure.*); restic's own last words stay as they are.
    const stopped: Message | '' = result.stopped && result.stopped !== 'cancelled' ? { key: 'error.restic_stopped', params: { how: result.stopped } } : '';
    const said = detail && failure !== 'cancelled' ? `: ${detail.slice(0, 600)}` : '';
    throw new ResticError(failure, { key: 'error.restic', params: { what, failure: { key: `restic_failure.${failure}` }, stopped, said } });
  }

  async function simple(repo: Repository, args: string[], what: string, how: { timeoutMs?: number } & RunOptions = {}): Promise<string> {
    const result = await run(repo, args, { timeoutMs: how.timeoutMs ?? QUICK_MS, cancel: how.cancel, onSpawn: how.onSpawn });
    if (result.code !== 0) fail(repo, what, result);
    return result.stdout;
  }

  const json = <T>(repo: Repository, text: string, what: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ResticError('failed', { key: 'error.restic_bad_json', params: { what, output: scrub(repo, text.slice(0, 200)) } });
    }
  };

  return {
    async probe() {
      try {
        const result = await run(null, ['version'], { timeoutMs: 30_000 });
        if (result.code !== 0) return { reason: `restic version failed: ${result.stderrTail.join(' ').slice(0, 200)}` };
        return parseVersion(result.stdout);
      } catch (error) {
        return { reason: `restic is not installed or cannot be run (${options.command}): ${(error as Error).message}` };
      }
    },

    async init(repo) {
      await simple(repo, ['init'], 'init', { timeoutMs: ASKED_MS });
    },

    async verify(repo) {
      await simple(repo, ['cat', 'config', '--no-lock'], 'open', { timeoutMs: ASKED_MS });
    },

    async backup(repo, source, onProgress, how = {}) {
      let summary: Record<string, unknown> | null = null;
      const unreadable: string[] = [];
      // restic prints its status every second even when nothing moves: a target that hangs shows as no change.
      const stall = new AbortController();
      let moved = Date.now();
      let last = '';
      const stallWatch = setInterval(() => {
        if (Date.now() - moved > (options.stallMs ?? STALL_MS)) stall.abort();
      }, Math.min(30_000, options.stallMs ?? STALL_MS)).unref();
      const cancel = how.cancel ? AbortSignal.any([how.cancel, stall.signal]) : stall.signal;
      const result = await run(repo, ['backup', '--json', '--host', source.host, ...source.tags.flatMap((tag) => ['--tag', tag]), '.'], {
        cwd: source.dir,
        timeoutMs: LONG_MS,
        keepStdout: false,
        cancel,
        onSpawn: how.onSpawn,
        onLine(line) {
          if (!line.startsWith('{')) return;
          let message: Record<string, unknown>;
          try {
            message = JSON.parse(line) as Record<string, unknown>;
          } catch {
            return;
          }
          if (message.message_type === 'status') {
            const now = `${String(message.files_done)}/${String(message.bytes_done)}/${String(message.total_files)}`;
            if (now !== last) [last, moved] = [now, Date.now()];
            onProgress(progressOf(message));
          } else if (message.message_type === 'summary') summary = message;
          else if (message.message_type === 'error' && typeof message.item === 'string') unreadable.push(message.item);
        },
      }).finally(() => clearInterval(stallWatch));
      if (stall.signal.aborted && !how.cancel?.aborted) {
        throw new ResticError('unreachable', { key: 'error.restic_stalled', params: { minutes: Math.round((options.stallMs ?? STALL_MS) / 60_000) } });
      }
      // 3: the snapshot was written, but some files could not be read.
      if ((result.code !== 0 && result.code !== 3) || summary === null) fail(repo, 'backup', result);
      if (result.code === 3 && unreadable.length === 0) unreadable.push(...result.stderrTail.filter((l) => /^error: /i.test(l)).map((l) => l.replace(/^error: /i, '')));
      const s = summary as Record<string, unknown>;
      const number = (key: string) => (typeof s[key] === 'number' ? (s[key] as number) : 0);
      return {
        snapshotId: String(s.snapshot_id ?? ''),
        filesNew: number('files_new'),
        filesChanged: number('files_changed'),
        filesTotal: number('total_files_processed'),
        bytesAdded: number('data_added'),
        bytesTotal: number('total_bytes_processed'),
        unreadable: unreadable.slice(0, 50),
      };
    },

    async snapshots(repo, tags) {
      const output = await simple(repo, ['snapshots', '--json', '--no-lock', ...(tags.length ? ['--tag', tags.join(',')] : [])], 'snapshots', { timeoutMs: ASKED_MS });
      const list = json<Array<Record<string, unknown>>>(repo, output.trim() || '[]', 'snapshots') ?? [];
      return list
        .map((s) => ({ id: String(s.id), shortId: String(s.short_id ?? String(s.id).slice(0, 8)), time: String(s.time), tags: (s.tags as string[] | undefined) ?? [], paths: (s.paths as string[] | undefined) ?? [] }))
        .sort((a, b) => b.time.localeCompare(a.time));
    },

    async forget(repo, tags, keep) {
      const rules = (Object.entries(keep) as Array<[keyof Keep, number]>).filter(([, n]) => n > 0).flatMap(([period, n]) => [`--keep-${period}`, String(n)]);
      // No rule would forget everything: refuse rather than empty the repository.
      if (rules.length === 0) throw new ResticError('failed', { key: 'error.restic_no_retention' });
      const output = await simple(repo, ['forget', '--json', '--tag', tags.join(','), '--group-by', 'tags', ...rules], 'forget');
      const groups = json<Array<{ remove: Array<{ id: string }> | null }> | null>(repo, output.trim() || '[]', 'forget') ?? [];
      return groups.flatMap((group) => (group.remove ?? []).map((s) => s.id));
    },

    async prune(repo, how = {}) {
      await simple(repo, ['prune'], 'prune', { timeoutMs: LONG_MS, ...how });
    },

    async check(repo, readDataSubset, how = {}) {
      const result = await run(repo, ['check', `--read-data-subset=${readDataSubset}`], { timeoutMs: LONG_MS, ...how });
      if (result.stopped === 'cancelled') fail(repo, 'check', result);
      const output = [...result.stdout.split('\n'), ...result.stderrTail].map((line) => scrub(repo, line)).filter((line) => line.trim());
      if (result.code === 0) return { ok: true, output: output.slice(-20) };
      const failure = classifyFailure(result.code, output.join('\n'));
      // A repository that cannot be opened is not a finding about its data.
      if (failure === 'wrong_password' || failure === 'no_repository' || failure === 'unreachable' || failure === 'locked') fail(repo, 'check', result);
      return { ok: false, output: output.slice(-20) };
    },

    async ls(repo, snapshotId) {
      const output = await simple(repo, ['ls', '--json', '--no-lock', snapshotId], 'ls');
      return output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((node) => node.struct_type === 'node' || (node.struct_type === undefined && typeof node.path === 'string'))
        .map((node) => ({ path: String(node.path), type: String(node.type), size: typeof node.size === 'number' ? node.size : 0 }));
    },

    async restore(repo, snapshotId, target, include = [], how = {}) {
      await simple(repo, ['restore', snapshotId, '--target', target, ...include.flatMap((path) => ['--include', literalPattern(path)])], 'restore', { timeoutMs: LONG_MS, ...how });
    },

    async stats(repo, snapshotId) {
      const output = await simple(repo, ['stats', '--json', '--no-lock', '--mode', 'restore-size', snapshotId], 'stats', { timeoutMs: ASKED_MS });
      const stats = json<{ total_size?: number; total_file_count?: number }>(repo, output, 'stats');
      return { files: stats.total_file_count ?? 0, bytes: stats.total_size ?? 0 };
    },

    async locks(repo) {
      const ids = (await simple(repo, ['list', 'locks', '--no-lock'], 'list locks', { timeoutMs: ASKED_MS })).split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
      const locks: Lock[] = [];
      for (const id of ids) {
        // A lock may go away between the list and the read: its owner finished.
        const result = await run(repo, ['cat', 'lock', id, '--no-lock'], { timeoutMs: ASKED_MS });
        if (result.code !== 0) continue;
        const lock = json<{ hostname?: string; pid?: number; time?: string; exclusive?: boolean }>(repo, result.stdout, 'cat lock');
        locks.push({ id, hostname: lock.hostname ?? '', pid: lock.pid ?? 0, time: lock.time ?? '', exclusive: lock.exclusive ?? false });
      }
      return locks;
    },

    async unlock(repo) {
      await simple(repo, ['unlock'], 'unlock');
    },
  };
}

function progressOf(message: Record<string, unknown>): BackupProgress {
  const n = (key: string) => (typeof message[key] === 'number' ? (message[key] as number) : 0);
  return {
    percent: n('percent_done'),
    filesDone: n('files_done'),
    totalFiles: n('total_files'),
    bytesDone: n('bytes_done'),
    totalBytes: n('total_bytes'),
    secondsElapsed: n('seconds_elapsed'),
    secondsRemaining: typeof message.seconds_remaining === 'number' ? message.seconds_remaining : null,
  };
}

/**
 * An include pattern that matches exactly this path: restic reads `--include` as a glob
 * (`[`, `]`, `*`, `?`, and `\\` escaping), and a photo may be called `IMG_0 [edited].jpg`.
 */
export function literalPattern(path: string): string {
  return path.replace(/[[\]*?\\]/g, (c) => `\\${c}`);
}

/** The user and password in a REST URL, so they can be scrubbed too. */
function credentialsOf(location: string): string[] {
  const match = /^rest:(https?:\/\/[^/]+)/.exec(location);
  if (!match) return [];
  try {
    const url = new URL(match[1]!);
    return [decodeURIComponent(url.password), url.password].filter(Boolean);
  } catch {
    return [];
  }
}

/** The RESTIC_REPOSITORY for a REST server, credentials included (it only ever goes by environment). */
export function restLocation(url: string, username: string | null, password: Secret | null): Secret {
  const parsed = new URL(url);
  if (username) parsed.username = encodeURIComponent(username);
  if (password) parsed.password = encodeURIComponent(password.reveal());
  return new Secret(`rest:${parsed.toString()}`);
}
