/**
 * Real databases for the backup tests: a copy of a data folder is started in a
 * throwaway container, which tells whether the copy was taken of a cleanly stopped
 * server or needed crash recovery, and how many of the writer's rows it holds.
 *
 * The images (scripts/test-images.sh builds them, no registry needed) are combined as
 * two services of one app:
 *   db      felhom-test/postgres:15 with its data volume at /var/lib/postgresql/data,
 *           or felhom-test/mariadb:10.11 with it at /var/lib/mysql; an empty volume
 *           is initialised with a database `felhom` that anyone may use without a
 *           password (trust auth / skipped grant tables).
 *   writer  felhom-test/db-writer:latest with DB_KIND=postgres|mariadb, DB_HOST=db and
 *           a volume or bind mount at /ack (optional: DB_NAME, INTERVAL_MS, ACK_FILE).
 *           It inserts n = 1, 2, 3, ... into `ticks`, one row per transaction, and
 *           writes n to /ack/last only after its commit succeeded; it waits for the
 *           database and reconnects by itself, and stops at once on SIGTERM.
 * So any copy of the data folder taken after the ack file said N must hold every row
 * n <= N: `countUpTo(N) === N`. The images stop as their upstream ones do (postgres:
 * SIGINT, a fast shutdown; mariadb: SIGTERM), so `docker stop` leaves a clean folder.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { requireDocker } from './docker.ts';
import { until } from './until.ts';

const run = promisify(execFile);

export type DatabaseKind = 'postgres' | 'mariadb';

export const POSTGRES_IMAGE = 'felhom-test/postgres:15';
export const MARIADB_IMAGE = 'felhom-test/mariadb:10.11';
export const DB_WRITER_IMAGE = 'felhom-test/db-writer:latest';
export const DATABASE_IMAGES: Record<DatabaseKind, string> = { postgres: POSTGRES_IMAGE, mariadb: MARIADB_IMAGE };
/** Where each database image keeps its data (a VOLUME). */
export const DATA_PATHS: Record<DatabaseKind, string> = { postgres: '/var/lib/postgresql/data', mariadb: '/var/lib/mysql' };
/** The writer's ack folder inside its container, and the file in it. */
export const WRITER_ACK_DIR = '/ack';
export const ACK_FILE_NAME = 'last';
export const DATABASE_NAME = 'felhom';

interface Flavour {
  /** A client command inside the database's own container, printing bare values. */
  query(sql: string): string[];
  /** Logged once the server accepts connections: the startup lines are all in the log by then. */
  ready: RegExp;
  crashRecovery: RegExp;
  cleanShutdown(log: string): boolean;
}

// MariaDB 10.11 replaying its redo log says
//   InnoDB: Starting crash recovery from checkpoint LSN=44760
//   InnoDB: To recover: 233 pages
// Its checkpoint lags while it runs, so a running copy shows these, unless the server
// had been idle with every page flushed and checkpointed (seen with
// innodb_max_dirty_pages_pct=0): then there is nothing to redo, but the copy still holds
// the temporary tablespace that a clean shutdown deletes, and startup says
//   InnoDB: Removed temporary tablespace data file: "./ibtmp1"
const MARIADB_NOT_SHUT_DOWN = /InnoDB: Starting crash recovery from checkpoint|InnoDB: Removed temporary tablespace data file/;

const FLAVOURS: Record<DatabaseKind, Flavour> = {
  postgres: {
    query: (sql) => ['psql', '-U', 'postgres', '-d', DATABASE_NAME, '-Atc', sql],
    ready: /database system is ready to accept connections/,
    // A folder copied while the server ran says, in postgres 15:
    //   database system was interrupted; last known up at ...
    //   database system was not properly shut down; automatic recovery in progress
    //   redo starts at 0/191FD38   (or "redo is not required" with no WAL after the checkpoint)
    crashRecovery: /redo starts|not properly shut down|automatic recovery in progress/,
    // ...and one of a server stopped by `docker stop`: "database system was shut down at <time>".
    cleanShutdown: (log) => /database system was shut down/.test(log),
  },
  mariadb: {
    query: (sql) => ['mariadb', '-N', '-B', '-D', DATABASE_NAME, '-e', sql],
    ready: /mariadbd: ready for connections/,
    crashRecovery: MARIADB_NOT_SHUT_DOWN,
    // A clean start names no previous shutdown; what it has is InnoDB's startup summary
    // ("InnoDB: log sequence number 282206; transaction id 1337") without either line
    // above. Requiring the summary makes sure the InnoDB lines were in the log at all.
    cleanShutdown: (log) => /InnoDB: log sequence number \d+; transaction id \d+/.test(log) && !MARIADB_NOT_SHUT_DOWN.test(log),
  },
};

export interface StartedCopy {
  crashRecovery: boolean;
  cleanShutdownSeen: boolean;
  /** The server's log up to "ready". */
  log: string;
  /** How many rows n <= `n` the copy holds: `n` when no acknowledged row was lost. */
  countUpTo(n: number): Promise<number>;
  /** The highest n in the copy, null when `ticks` is empty. */
  maxTick(): Promise<number | null>;
  remove(): Promise<void>;
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Both streams: the servers log to stderr, which `docker logs` replays on its stderr. */
async function containerLog(name: string, tail?: number): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', ...(tail ? ['--tail', String(tail)] : []), name], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout + stderr;
}

/**
 * Starts the database on a copy of its data folder, with no network, and waits until
 * it answers queries (bounded: a copy that cannot recover must fail the test, not hang
 * it). The entrypoint makes the folder the image's service user's (mode 0700 for
 * postgres), so only root removes it afterwards.
 */
export async function startOnCopy(kind: DatabaseKind, dataFolder: string, opts: { timeoutMs?: number } = {}): Promise<StartedCopy> {
  const flavour = FLAVOURS[kind];
  const name = `felhom-db-copy-${randomBytes(4).toString('hex')}`;
  const remove = async (): Promise<void> => {
    await docker('rm', '-f', '-v', name).catch(() => undefined);
  };
  await docker('run', '-d', '--name', name, '--network', 'none', '--label', 'org.felhom.test=db-copy', '-v', `${path.resolve(dataFolder)}:${DATA_PATHS[kind]}`, DATABASE_IMAGES[kind]).catch(
    (error: Error) => {
      throw new Error(`could not start ${DATABASE_IMAGES[kind]} (scripts/test-images.sh builds it): ${error.message}`);
    },
  );
  const query = async (sql: string): Promise<string> => docker('exec', name, ...flavour.query(sql));

  const lastLines = async () => (await containerLog(name, 40).catch((error: Error) => error.message)).trimEnd();
  // Ready means both: the log has the server's "ready" line (so the recovery lines are in
  // what we classify), and a query gets through. A server that exited never will be.
  const seen = await until(
    async () => {
      const log = await containerLog(name);
      const ready = flavour.ready.test(log) && (await query('SELECT 1').then(() => true, () => false));
      const running = ready || (await docker('inspect', '-f', '{{.State.Running}}', name).catch(() => 'false')) === 'true';
      return { ready, running, log };
    },
    {
      what: `${kind} on a copy of ${dataFolder} to accept queries`,
      done: ({ ready, running }) => ready || !running,
      timeoutMs: opts.timeoutMs ?? 60_000,
      intervalMs: 250,
      explain: async () => `its last log lines:\n${await lastLines()}`,
    },
  ).catch(async (error: unknown) => {
    await remove();
    throw error;
  });
  if (!seen.ready) {
    const last = await lastLines();
    await remove();
    throw new Error(`${kind} on a copy of ${dataFolder} exited; its last log lines:\n${last}`);
  }
  const { log } = seen;

  return {
    crashRecovery: flavour.crashRecovery.test(log),
    cleanShutdownSeen: flavour.cleanShutdown(log),
    log,
    async countUpTo(n) {
      if (!Number.isSafeInteger(n)) throw new Error(`countUpTo: ${n} is not an integer`);
      return Number(await query(`SELECT count(*) FROM ticks WHERE n <= ${n}`));
    },
    async maxTick() {
      const value = await query('SELECT max(n) FROM ticks');
      // psql -A prints SQL NULL as nothing, the mariadb client as "NULL".
      return value === '' || value === 'NULL' ? null : Number(value);
    },
    remove,
  };
}

/** The writer's last acknowledged n, from the folder mounted at its /ack; null before its first commit. */
export function readAck(ackFolder: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(ackFolder, ACK_FILE_NAME), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const n = Number(text.trim());
  // The writer replaces the file by rename, so a half-written number would be a bug.
  if (!Number.isSafeInteger(n) || text.trim() === '') throw new Error(`unreadable ack in ${ackFolder}: ${JSON.stringify(text)}`);
  return n;
}

/**
 * For a test's start: false (and the test skipped, loudly) when Docker or the database
 * images are missing; under CI=true that fails instead, as requireDocker does.
 */
export async function requireDatabaseImages(t: TestContext): Promise<boolean> {
  if (!(await requireDocker(t))) return false;
  const missing = [POSTGRES_IMAGE, MARIADB_IMAGE, DB_WRITER_IMAGE].filter((image) => {
    try {
      execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return true;
  const message = `the database test images are missing (${missing.join(', ')}): build them with scripts/test-images.sh (as root)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true, so they must be there`);
  process.stderr.write(`\n*** SKIPPING "${t.name}": ${message}. ***\n\n`);
  t.skip(message);
  return false;
}
