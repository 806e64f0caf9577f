import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDevAgent } from './agent.ts';
import { call, readBootstrap, startTestAgent, tempStateDir } from './testing.ts';
import { until } from '../src/testing/until.ts';
import type { Answer, TestAgent } from './testing.ts';

/** Polls a backup to its end, returning every distinct phase seen and the last status. */
async function walk(api: TestAgent['api'], id: string): Promise<{ phases: string[]; last: Answer }> {
  const phases: string[] = [];
  const last = await until(async () => {
    const status = await api('GET', `/backup/status?id=${id}`);
    assert.equal(status.status, 200);
    const phase: string = status.body.backup.phase;
    if (phases.at(-1) !== phase) phases.push(phase);
    return phase === 'done' || phase === 'failed' ? status : undefined;
  }, { what: 'the backup to end', timeoutMs: 3000, intervalMs: 5 });
  return { phases, last };
}

test('snapshot mode walks queued → running → snapshotted → done and records the success', async (t) => {
  const { api } = await startTestAgent(t);
  const accepted = await api('POST', '/backup', { body: { reason: 'manual' } });
  assert.equal(accepted.status, 202);
  assert.equal(accepted.headers['x-felhom-agent-version'], '0.15.0-dev');
  const backup = accepted.body.backup;
  assert.match(backup.id, /^bk-101-\d{8}T\d{6}$/);
  assert.deepEqual({ ...backup, id: undefined, updated_at: undefined }, {
    id: undefined, phase: 'queued', mode: 'snapshot', reason: 'manual', started_at: null, updated_at: undefined, finished_at: null, error: null,
  });

  const { phases, last } = await walk(api, backup.id);
  assert.deepEqual(phases, ['queued', 'running', 'snapshotted', 'done']);
  const done = last.body;
  assert.match(done.backup.started_at, /Z$/);
  assert.match(done.backup.finished_at, /Z$/);
  assert.equal(done.last_success.id, backup.id);
  assert.ok(Number.isInteger(done.last_success.size_bytes) && done.last_success.size_bytes > 0);
  assert.deepEqual(done.targets.map((target: { id: string; state: string }) => [target.id, target.state]), [['local-vzdump', 'ok']]);
  assert.equal(done.targets[0].last_success_at, done.backup.finished_at);

  const due = (await api('GET', '/backup/due')).body;
  assert.equal(due.due, false);
  assert.equal(due.reason, 'not_due');
  assert.equal(due.last_success_at, done.backup.finished_at);
});

test('stop mode walks queued → running → done with mode stop', async (t) => {
  const { api } = await startTestAgent(t, { backup: { mode: 'stop' } });
  const backup = (await api('POST', '/backup', { body: { reason: 'scheduled' } })).body.backup;
  assert.equal(backup.mode, 'stop');
  const { phases, last } = await walk(api, backup.id);
  assert.deepEqual(phases, ['queued', 'running', 'done']);
  assert.equal(last.body.backup.reason, 'scheduled');
});

test('failNextBackup ends the next backup failed; /backup/due turns to retry', async (t) => {
  const { agent, api } = await startTestAgent(t, { backup: { retryAfterSeconds: 0, dueEverySeconds: 3600 } });
  assert.equal((await api('GET', '/backup/due')).body.due, false);
  agent.failNextBackup({ atPhase: 'running', error: 'vzdump: storage local-vzdump: no space left on device' });
  const backup = (await api('POST', '/backup', { body: { reason: 'scheduled' } })).body.backup;
  const { phases, last } = await walk(api, backup.id);
  assert.deepEqual(phases, ['queued', 'running', 'failed']);
  assert.equal(last.body.backup.error, 'vzdump: storage local-vzdump: no space left on device');
  assert.match(last.body.backup.finished_at, /Z$/);
  assert.equal(last.body.last_success, null);
  assert.equal(last.body.targets[0].state, 'failing');

  const due = (await api('GET', '/backup/due')).body;
  assert.deepEqual([due.due, due.reason], [true, 'retry']);
  // Due stays true until a backup is accepted, and the failure was for one backup only.
  const retry = (await api('POST', '/backup', { body: { reason: 'scheduled' } })).body.backup;
  assert.equal((await api('GET', '/backup/due')).body.due, false);
  assert.equal((await walk(api, retry.id)).phases.at(-1), 'done');
  assert.equal((await api('GET', '/backup/status')).body.targets[0].state, 'ok');
});

test('a failure planned at snapshotted strikes at the end of running in stop mode', async (t) => {
  const { agent, api } = await startTestAgent(t, { backup: { mode: 'stop' } });
  agent.failNextBackup({ atPhase: 'snapshotted' });
  const backup = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup;
  const { phases, last } = await walk(api, backup.id);
  assert.deepEqual(phases, ['queued', 'running', 'failed']);
  assert.match(last.body.backup.error, /simulated failure/);
});

test('after a failure /backup/due waits for the back-off before asking for a retry', async (t) => {
  const { agent, api } = await startTestAgent(t, { backup: { retryAfterSeconds: 3600 } });
  agent.failNextBackup({ atPhase: 'queued' });
  const backup = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup;
  const { last } = await walk(api, backup.id);
  assert.equal(last.body.backup.started_at, null);
  const due = (await api('GET', '/backup/due')).body;
  assert.deepEqual([due.due, due.reason], [false, 'not_due']);
  assert.equal(Date.parse(due.next_due_at) - Date.parse(last.body.backup.finished_at), 3600 * 1000);
});

test('the policy makes a backup due a period after the agent first started', async (t) => {
  const { api } = await startTestAgent(t, { backup: { dueEverySeconds: 1 } });
  const due = await until(async () => {
    const body = (await api('GET', '/backup/due')).body;
    return body.due ? body : undefined;
  }, { what: 'a backup to be due', timeoutMs: 2500, intervalMs: 5 });
  assert.equal(due.reason, 'policy');
  assert.equal(due.last_success_at, null);
  assert.ok(Date.parse(due.next_due_at) <= Date.now());
  assert.deepEqual(Object.keys(due.policy), ['schedule', 'timezone', 'keep_daily', 'keep_weekly']);
  await api('POST', '/backup', { body: { reason: 'scheduled' } });
  assert.equal((await api('GET', '/backup/due')).body.due, false);
});

test('while a backup is in flight, backup, snapshot, snapshot delete and rollback answer 409', async (t) => {
  const { api } = await startTestAgent(t, { backup: { queuedMs: 300 } });
  assert.equal((await api('POST', '/snapshot', { body: { name: 'before-backup', description: 'x' } })).status, 200);
  const backup = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup;

  const second = await api('POST', '/backup', { body: { reason: 'manual' } });
  assert.equal(second.status, 409);
  assert.equal(second.body.error.code, 'conflict');
  assert.equal(second.body.error.backup_id, backup.id);
  for (const [method, path, body] of [
    ['POST', '/snapshot', { name: 'during-backup' }],
    ['DELETE', '/snapshots/before-backup', undefined],
    ['POST', '/rollback', { snapshot: 'before-backup' }],
  ] as const) {
    const answer = await api(method, path, { body });
    assert.equal(answer.status, 409, `${method} ${path}`);
    assert.equal(answer.body.error.code, 'conflict');
  }
  // The conflicts changed nothing.
  const names = (await api('GET', '/snapshots')).body.snapshots.map((snapshot: { name: string }) => snapshot.name);
  assert.deepEqual(names, ['before-backup', 'agent-pre-controller-0-1-0']);

  await walk(api, backup.id);
  assert.equal((await api('DELETE', '/snapshots/before-backup')).status, 200);
});

test('/backup/status: never backed up, unknown id, the in-flight one without an id', async (t) => {
  const { api } = await startTestAgent(t, { backup: { runningMs: 300 } });
  const never = (await api('GET', '/backup/status')).body;
  assert.deepEqual(never, {
    backup: null,
    last_success: null,
    targets: [{ id: 'local-vzdump', kind: 'vzdump', label: 'Second disk', state: 'ok', last_success_at: null, last_size_bytes: null }],
  });
  const missing = await api('GET', '/backup/status?id=bk-101-20200101T000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');

  const backup = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup;
  assert.equal((await api('GET', '/backup/status')).body.backup.id, backup.id);
});

test('POST /backup validates reason', async (t) => {
  const { api } = await startTestAgent(t);
  const missing = await api('POST', '/backup', { body: {} });
  assert.equal(missing.status, 400);
  assert.match(missing.body.error.message, /reason/);
  const wrong = await api('POST', '/backup', { body: { reason: 'agent' } });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.error.message, /reason must be one of scheduled, manual/);
});

test('backup ids survive a restart, and a backup in flight carries on afterwards', async () => {
  const stateDir = await tempStateDir();
  const backup = { queuedMs: 30, runningMs: 150, snapshottedMs: 30 };
  const first = await startDevAgent({ stateDir, port: 0, backup });
  const port = first.port;
  const token = (await readBootstrap(first.bootstrapPath)).local_api.token;
  const api = (method: string, path: string, body?: unknown) => call(first.endpoint, method, path, { token, body });
  const finished = (await api('POST', '/backup', { reason: 'manual' })).body.backup.id;
  await until(async () => (await api('GET', `/backup/status?id=${finished}`)).body.backup.phase === 'done', { what: 'the first backup to be done', timeoutMs: 3000, intervalMs: 5 });
  const interrupted = (await api('POST', '/backup', { reason: 'manual' })).body.backup.id;
  assert.notEqual(interrupted, finished);
  await until(async () => (await api('GET', `/backup/status?id=${interrupted}`)).body.backup.phase === 'running', { what: 'the second backup to be running', timeoutMs: 3000, intervalMs: 5 });
  await first.close();

  const second = await startDevAgent({ stateDir, port, backup });
  try {
    const again = (method: string, path: string) => call(second.endpoint, method, path, { token });
    assert.equal((await again('GET', `/backup/status?id=${finished}`)).body.backup.phase, 'done');
    const phases: string[] = [];
    await until(async () => {
      const phase = (await again('GET', `/backup/status?id=${interrupted}`)).body.backup.phase;
      if (phases.at(-1) !== phase) phases.push(phase);
      return phase === 'done' ? true : undefined;
    }, { what: 'the interrupted backup to be done', timeoutMs: 3000, intervalMs: 5 });
    assert.deepEqual(phases, ['running', 'snapshotted', 'done']);
  } finally {
    await second.close();
  }
});

test('two backups in the same second get distinct ids', async (t) => {
  const { api } = await startTestAgent(t, { backup: { queuedMs: 0, runningMs: 0, snapshottedMs: 0 } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup.id;
    ids.push(id);
    await walk(api, id);
  }
  assert.equal(new Set(ids).size, 3);
});

test('a backup holds the covered mounts as they were at snapshotted, and nothing written after it', async (t) => {
  const { agent, api } = await startTestAgent(t, { backup: { runningMs: 50, snapshottedMs: 400 } });
  const storage = (await api('GET', '/storage')).body.mounts as Array<{ id: string; path: string; in_guest_backup: boolean }>;
  const covered = storage.find((m) => m.in_guest_backup)!;
  const bulk = storage.find((m) => !m.in_guest_backup)!;
  const db = join(covered.path, 'felhom', 'apps', 'notes', 'db');
  await mkdir(db, { recursive: true });
  await writeFile(join(db, 'table'), 'row 1\n', { mode: 0o600 });
  await chmod(db, 0o700);
  await symlink('table', join(db, 'current'));
  await writeFile(join(bulk.path, 'film.mkv'), 'bulk');

  const backup = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup;
  await until(async () => (await api('GET', `/backup/status?id=${backup.id}`)).body.backup.phase === 'snapshotted', { what: 'the backup to be snapshotted', timeoutMs: 3000, intervalMs: 5 });
  // After the snapshot: a file changed in place and a new one must not reach the backup.
  await appendFile(join(db, 'table'), 'row 2\n');
  await writeFile(join(db, 'later'), 'x');

  const copy = join(agent.backupCopy(backup.id), covered.id, 'felhom', 'apps', 'notes', 'db');
  assert.equal(await readFile(join(copy, 'table'), 'utf8'), 'row 1\n');
  assert.equal(existsSync(join(copy, 'later')), false);
  assert.equal(await readlink(join(copy, 'current')), 'table');
  assert.equal((await stat(join(copy, 'table'))).mode & 0o777, 0o600, 'modes are kept');
  assert.equal((await stat(copy)).mode & 0o777, 0o700);
  assert.equal(existsSync(join(agent.backupCopy(backup.id), bulk.id)), false, 'a bulk mount is not in the guest backup');
});

test('only the newest backups keep their copies, and with copying off there are none', async (t) => {
  const { agent, api } = await startTestAgent(t, { backup: { keepCopies: 2 } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup.id as string;
    await walkToEnd(api, id);
    ids.push(id);
  }
  assert.deepEqual(ids.map((id) => existsSync(agent.backupCopy(id))), [false, true, true]);

  const off = await startTestAgent(t, { backup: { copyMounts: false } });
  const id = (await off.api('POST', '/backup', { body: { reason: 'manual' } })).body.backup.id as string;
  assert.equal((await walkToEnd(off.api, id)).body.backup.phase, 'done');
  assert.equal(existsSync(off.agent.backupCopy(id)), false);
});

async function walkToEnd(api: TestAgent['api'], id: string): Promise<Answer> {
  return (await walk(api, id)).last;
}
