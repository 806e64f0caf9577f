/**
 * The bulk backups' job queue at start and on its schedule, with restic and the apps
 * faked and a real SQLite file: what a crash left is closed and finished.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../clock.ts';
import { Secret } from '../secret.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { BulkBackups } from './bulk.ts';
import type { OwnVolume } from './jobs.ts';
import { restoreFolders } from './restore.ts';
import type { Restic } from './restic.ts';
import { createBulkStore } from './store.ts';
import { until } from '../testing/until.ts';

function harness(schedule = '0 3 * * *') {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bulkq-'));
  const db = openDatabase(path.join(root, 'c.db'), { logger: silentLogger() });
  const store = createBulkStore(db, systemClock);
  const volume: OwnVolume = { appId: 'photos', appName: 'Photos', volume: 'library', mountId: 'media', mountLabel: 'Media', path: path.join(root, 'media', 'felhom', 'apps', 'photos', 'library'), since: '' };
  const started: string[] = [];
  const bulk = new BulkBackups({
    store,
    restic: { probe: async () => ({ version: '0.14.0' }), locks: async () => [] } as unknown as Restic,
    apps: {
      ownVolumes: () => [volume],
      busy: () => null,
      whileStopped: async (_a, _b, work) => work(),
      startIfWanted: async (id) => void started.push(id),
      whileReading: () => () => undefined,
    },
    storage: async () => [],
    storageSoon: async () => [],
    audit: { record: () => undefined } as never,
    logger: silentLogger(),
    clock: systemClock,
    settings: { keep: { last: 0, daily: 7, weekly: 4, monthly: 6 }, readDataSubset: '5%', storageCheckMs: 50 },
    schedules: { backup: schedule, prune: '30 4 * * 0', restoreTest: '0 5 * * 0' },
  });
  return { root, store, bulk, volume, started };
}

describe('the bulk backups at start', () => {
  it('closes a job a crash cut short as interrupted, and a queued one too', async () => {
    const h = harness();
    const running = h.store.addJob('backup', 'controller', { trigger: 'scheduled' }, null);
    h.store.startJob(running.id, 'elsewhere');
    const run = h.store.startRun(running.id, 'photos', 'library', null);
    const queued = h.store.addJob('check', 'customer', {}, null);
    await h.bulk.recover();
    assert.equal(h.store.job(running.id)!.state, 'interrupted');
    assert.equal(h.store.job(running.id)!.error, 'the controller stopped while it ran');
    assert.equal(h.store.runs({ jobId: running.id }).find((r) => r.id === run)!.outcome, 'interrupted');
    assert.equal(h.store.job(queued.id)!.state, 'interrupted');
    assert.equal(h.store.job(queued.id)!.error, 'the controller stopped before it ran');
    await h.bulk.close();
  });

  it('finishes a replace cut short between its renames once the disk is back: the live folder is put back and the app started', async () => {
    const h = harness();
    const request = { app: 'photos', volume: 'library', snapshot: 'abcdef12', mode: 'replace', ...restoreFolders(h.volume, 'abcdef12', 'replace', new Date()) };
    const job = h.store.addJob('restore', 'customer', request, null);
    h.store.startJob(job.id, 'host');
    // The disk is not there at start: nothing can be seen, so nothing is decided.
    await h.bulk.recover();
    assert.deepEqual(h.store.job(job.id)!.result, { recovery: 'pending' });
    assert.deepEqual(h.started, []);
    // The disk comes back as the crash left it: live folder moved aside, staging complete.
    fs.mkdirSync(request.kept!, { recursive: true });
    fs.writeFileSync(path.join(request.kept!, 'family.jpg'), 'the live data');
    fs.mkdirSync(request.staging!);
    await until(() => h.store.job(job.id)!.result, { what: 'the recovery to be done', done: (result) => result?.recovery === 'done', timeoutMs: 5_000, intervalMs: 20 });
    assert.equal(fs.readFileSync(path.join(h.volume.path, 'family.jpg'), 'utf8'), 'the live data');
    assert.equal(fs.existsSync(request.staging!), false);
    assert.deepEqual(h.started, ['photos']);
    await h.bulk.close();
  });

  it('removes a copy a crash cut short: an incomplete copy must not pass for the snapshot', async () => {
    const h = harness();
    const request = { app: 'photos', volume: 'library', snapshot: 'abcdef12', mode: 'copy', ...restoreFolders(h.volume, 'abcdef12', 'copy', new Date()) };
    fs.mkdirSync(request.folder, { recursive: true });
    fs.writeFileSync(path.join(request.folder, 'half.jpg'), 'x');
    const job = h.store.addJob('restore', 'customer', request, null);
    h.store.startJob(job.id, 'host');
    await h.bulk.recover();
    assert.equal(fs.existsSync(request.folder), false);
    await h.bulk.close();
  });
});

describe('the schedule', () => {
  it('knows how far apart its backups are: a last success older than twice that is late', () => {
    assert.equal(harness('0 3 * * *').bulk.backupIntervalMs(), 24 * 3_600_000);
    assert.equal(harness('0 3 * * 0').bulk.backupIntervalMs(), 7 * 24 * 3_600_000);
    assert.equal(harness('0 */6 * * *').bulk.backupIntervalMs(), 6 * 3_600_000);
  });
});

describe('the schedules', () => {
  it('start a backup of every folder as the controller, once there is a target', async () => {
    const h = harness('* * * * * *');
    h.bulk.startSchedule();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual(h.store.jobs(), [], 'no target yet: nothing to do');
    h.store.addTarget({ kind: 'rest', label: 'nas', mountId: null, url: 'http://nas.local/', username: null, restPassword: null, repoPassword: new Secret('x'), adopted: false });
    const [job] = await until(() => h.store.jobs({ kind: 'backup' }), { what: 'a scheduled backup job', done: (jobs) => jobs.length > 0, timeoutMs: 5_000, intervalMs: 50 });
    assert.equal(job?.actor, 'controller');
    assert.equal(job?.request.trigger, 'scheduled');
    await h.bulk.close();
  });
});
