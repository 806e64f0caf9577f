/**
 * The proof that a quiesced backup is app-consistent, on real databases (PostgreSQL 15
 * and MariaDB 10.11 from Debian's packages) with a writer committing a row every few
 * milliseconds: the development agent copies the guest's covered mounts at `snapshotted`
 * (what a storage snapshot holds), the copy is restored into a scratch folder and the
 * database started on it. Quiesced: no crash recovery, every acknowledged row there.
 * Taken while the database runs (the agent's own backup, no quiesce): crash recovery,
 * so the check can fail.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { call, readBootstrap } from '../dev-agent/testing.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { DATA_PATHS, DATABASE_IMAGES, DB_WRITER_IMAGE, readAck, requireDatabaseImages, startOnCopy, type DatabaseKind } from './helpers/databases.ts';
import { cleanUpProject } from './helpers/docker.ts';
import { installAndWait } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

/** The database on a hot volume, and the writer with its acknowledgements on another. */
function appFiles(id: string, kind: DatabaseKind) {
  return {
    manifest: `schema: felhom.app/v1\nid: ${id}\nname: ${kind} with a writer\nversion: "1"\ncompose: compose.yml\nvolumes:\n  db: { class: hot }\n  ack: { class: hot }\n`,
    compose: [
      'services:',
      '  db:',
      `    image: ${DATABASE_IMAGES[kind]}`,
      `    volumes: ["db:${DATA_PATHS[kind]}"]`,
      '  writer:',
      `    image: ${DB_WRITER_IMAGE}`,
      `    environment: { DB_KIND: ${kind}, DB_HOST: db, INTERVAL_MS: "5" }`,
      '    volumes: ["ack:/ack"]',
      'volumes:',
      '  db:',
      '  ack:',
      '',
    ].join('\n'),
  };
}

async function setUp(t: TestContext, kind: DatabaseKind) {
  const agent = await devAgent(t, { backup: { mode: 'snapshot', queuedMs: 200, runningMs: 800, snapshottedMs: 1_000 } });
  const { controller: running, token } = await controller(t, { bootstrapPath: agent.bootstrapPath });
  const id = `consistent-${kind}-${process.pid % 1000}`;
  cleanUpProject(t, id);
  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${running.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  await installAndWait(running.url, token, appFiles(id, kind));
  const fast = (await api('GET', '/storage')).body.mounts.find((m: { in_guest_backup: boolean }) => m.in_guest_backup);
  const appFolder = (base: string) => path.join(base, 'felhom', 'apps', id);
  const liveAck = () => readAck(path.join(appFolder(fast.path), 'ack'));
  await until(() => (liveAck() ?? 0) > 200, { what: 'the writer to commit 200 rows', timeoutMs: 90_000 });

  /** The backup's copy of the app: its database restored into a scratch folder, and the writer's last acknowledgement. */
  const restored = (backupId: string) => {
    const copy = appFolder(path.join(agent.backupCopy(backupId), fast.id));
    const scratch = tempDir(t, `felhom-restore-${kind}-`);
    // cp -a: the database refuses a data folder that is not its user's.
    execFileSync('cp', ['-a', `${path.join(copy, 'db')}/.`, scratch]);
    return { scratch, ack: readAck(path.join(copy, 'ack')) };
  };
  return { agent, api, liveAck, restored };
}

describe('a quiesced backup of a real database', () => {
  for (const kind of ['postgres', 'mariadb'] as const) {
    it(`when ${kind} is backed up quiesced, then its copy starts without crash recovery with every acknowledged row; copied while it runs, it needs crash recovery`, { timeout: 360_000 }, async (t) => {
      if (!(await requireDatabaseImages(t))) return;
      const s = await setUp(t, kind);

      const started = await s.api('POST', '/backups');
      assert.equal(started.status, 202);
      const run = await until(
        async () => (await s.api('GET', '/backups')).body.runs.find((r: { id: string; phase: string }) => r.id === started.body.run.id && r.phase === 'closed'),
        { what: 'the quiesced backup to close', timeoutMs: 90_000 },
      );
      assert.equal(run.outcome, 'succeeded', JSON.stringify(run));
      assert.equal(run.resume_reason, 'snapshotted');
      assert.equal(run.consistency, 'app');

      const quiesced = s.restored(run.backup_id);
      assert.ok(quiesced.ack !== null && quiesced.ack > 0, 'the writer had acknowledged rows before the stop');
      const clean = await startOnCopy(kind, quiesced.scratch);
      t.after(() => clean.remove());
      assert.equal(clean.crashRecovery, false, `no crash recovery on a quiesced copy:\n${clean.log}`);
      if (kind === 'postgres') assert.equal(clean.cleanShutdownSeen, true, `PostgreSQL says it was shut down:\n${clean.log}`);
      assert.equal(await clean.countUpTo(quiesced.ack!), quiesced.ack, 'every row acknowledged before the stop is in the backup');
      // The app runs again after the backup and goes on writing.
      await until(() => (s.liveAck() ?? 0) > quiesced.ack!, { what: 'the writer to go on after the backup', timeoutMs: 60_000 });

      // The same backup without the quiesce: the agent's own, while the database writes.
      const { token } = (await readBootstrap(s.agent.bootstrapPath)).local_api;
      const own = await call(s.agent.endpoint, 'POST', '/backup', { token, body: { reason: 'manual' } });
      assert.equal(own.status, 202, JSON.stringify(own.body));
      await until(
        async () => (await call(s.agent.endpoint, 'GET', `/backup/status?id=${own.body.backup.id}`, { token })).body.backup.phase === 'done',
        { what: "the agent's own backup to finish", timeoutMs: 60_000 },
      );
      const live = s.restored(own.body.backup.id);
      // A file-by-file copy of a running PostgreSQL can even be torn past repair (a
      // checkpoint between copying pg_wal and pg_control): it then refuses to start,
      // which is no clean start either.
      const crashed = await startOnCopy(kind, live.scratch).catch((error: Error) => error);
      if (crashed instanceof Error) {
        assert.match(crashed.message, /PANIC|could not locate a valid checkpoint/, crashed.message);
        return;
      }
      t.after(() => crashed.remove());
      assert.equal(crashed.crashRecovery, true, `a copy of the running database needs crash recovery:\n${crashed.log}`);
    });
  }
});
