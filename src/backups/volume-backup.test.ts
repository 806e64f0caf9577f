/**
 * Which volume is backed up now and which is skipped, and why: the decisions of a backup
 * job, with the ports faked (restic included) and a real SQLite file for the records.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Mount } from '../agent/index.ts';
import type { Message } from '../i18n/index.ts';
import type { AuditEntry } from '../audit/index.ts';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { Secret } from '../secret.ts';
import { Cancelled, type JobContext, type OwnVolume } from './jobs.ts';
import type { Restic } from './restic.ts';
import { createBulkStore } from './store.ts';
import { runBackupJob } from './volume-backup.ts';

const mount = (id: string, state: Mount['state'] = 'attached'): Mount =>
  ({ id, label: id, path: `/mnt/${id}`, class: 'slow', role: 'bulk-data', state, total_bytes: 1, free_bytes: 1, in_guest_backup: false }) as Mount;

function harness(options: { mounts?: Mount[] | null; busy?: Message | null; held?: string[]; folderExists?: boolean; backup?: Restic['backup'] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bulk-'));
  const db = openDatabase(path.join(dir, 'c.db'), { logger: silentLogger() });
  const store = createBulkStore(db, systemClock);
  const folder = path.join(dir, 'photos');
  if (options.folderExists !== false) {
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'photo.jpg'), 'x');
  }
  const volume: OwnVolume = { appId: 'photos', appName: 'Photos', volume: 'library', mountId: 'media', mountLabel: 'Media disk', path: folder, since: '' };
  const backups: string[] = [];
  const audit: AuditEntry[] = [];
  const restic = {
    backup:
      options.backup ??
      (async (_repo, source) => {
        backups.push(source.dir);
        return { snapshotId: 'abcdef12', filesNew: 3, filesChanged: 0, filesTotal: 3, bytesAdded: 30, bytesTotal: 30, unreadable: [] };
      }),
    forget: async () => [],
  } as unknown as Restic;
  const job = store.addJob('backup', 'customer', {}, null);
  const ctx: JobContext = {
    job,
    store,
    restic,
    apps: { ownVolumes: () => [volume], busy: () => options.busy ?? null, whileStopped: async (_a, _b, work) => work(), startIfWanted: async () => undefined, whileReading: () => () => undefined },
    audit: { record: (entry: AuditEntry) => void audit.push(entry), list: () => [] } as unknown as JobContext['audit'],
    logger: silentLogger(),
    clock: systemClock,
    settings: { keep: { last: 0, daily: 7, weekly: 4, monthly: 6 }, readDataSubset: '5%', storageCheckMs: 1000 },
    mounts: async () => (options.mounts === undefined ? [mount('media'), mount('backup')] : options.mounts),
    heldMounts: new Set(options.held ?? []),
    progress: () => undefined,
    guard: async (_mounts, _reading, step) => step({ cancel: new AbortController().signal, onSpawn: () => undefined }),
  };
  const diskTarget = (mountId: string) => store.addTarget({ kind: 'disk', label: mountId, mountId, url: null, username: null, restPassword: null, repoPassword: new Secret('x'), adopted: false }).id;
  return { ctx, store, backups, audit, diskTarget, volume };
}

async function outcomeOf(h: ReturnType<typeof harness>, targetId: string | null) {
  await runBackupJob(h.ctx, { trigger: 'manual' }, () => targetId);
  const [run] = h.store.runs();
  return { outcome: run!.outcome, reason: run!.reason ?? '', key: run!.reasonKey };
}

describe('a backup job decides per volume', () => {
  it('backs up a volume whose disk and target are there, into its own snapshot, and records it', async () => {
    const h = harness();
    const run = await outcomeOf(h, h.diskTarget('backup'));
    assert.equal(run.outcome, 'succeeded');
    assert.deepEqual(h.backups, [h.volume.path]);
    assert.equal(h.store.runs()[0]!.snapshotId, 'abcdef12');
    assert.ok(h.audit.some((e) => e.action === 'volume_backup.run' && e.outcome === 'ok' && e.actor === 'customer'));
  });

  const skips: Array<[string, Parameters<typeof harness>[0], string | null, RegExp, string]> = [
    ['it has no target', {}, null, /No backup target/, 'bulk_reason.no_target'],
    ['its app is being installed, updated or restored', { busy: { key: 'error.busy_restoring', params: { app: 'Photos' } } }, 'backup', /being restored/, 'bulk_reason.app_busy'],
    ['its own disk is gone', { mounts: [mount('backup')] }, 'backup', /folder’s disk “Media disk” is not connected/, 'bulk_reason.volume_disk_gone'],
    ['its own disk is disconnected', { mounts: [mount('media', 'disconnected'), mount('backup')] }, 'backup', /not connected/, 'bulk_reason.volume_disk_gone'],
    ['its own disk is being ejected', { held: ['media'] }, 'backup', /not connected/, 'bulk_reason.volume_disk_gone'],
    ['the target disk is disconnected', { mounts: [mount('media'), mount('backup', 'disconnected')] }, 'backup', /cannot be reached .*disconnected/, 'bulk_reason.target_gone'],
    ['the target disk is being ejected', { held: ['backup'] }, 'backup', /being ejected/, 'bulk_reason.target_ejecting'],
    ['the target is on the volume\'s own disk', {}, 'media', /same disk/, 'bulk_reason.same_disk'],
    ['the agent does not answer', { mounts: null }, 'backup', /did not answer/, 'bulk_reason.agent_silent'],
    ['its folder does not exist', { folderExists: false }, 'backup', /does not exist/, 'bulk_reason.no_folder'],
  ];
  for (const [why, options, target, reason, key] of skips) {
    it(`skips a volume when ${why}, saying so, and runs no restic`, async () => {
      const h = harness(options);
      const run = await outcomeOf(h, target === null ? null : h.diskTarget(target));
      assert.equal(run.outcome, 'skipped');
      assert.match(run.reason, reason);
      assert.equal(run.key, key, 'the page words it in the customer\'s language');
      assert.deepEqual(h.backups, []);
    });
  }

  it('counts an empty folder as backed up without asking restic (which refuses an empty snapshot)', async () => {
    const h = harness();
    fs.rmSync(h.volume.path, { recursive: true });
    fs.mkdirSync(h.volume.path);
    const run = await outcomeOf(h, h.diskTarget('backup'));
    assert.equal(run.outcome, 'succeeded');
    assert.equal(run.key, 'bulk_reason.empty');
    assert.deepEqual(h.backups, []);
  });

  it('records files restic could not read as a partial run, naming them', async () => {
    const h = harness({
      backup: async () => ({ snapshotId: 'abcdef12', filesNew: 1, filesChanged: 0, filesTotal: 2, bytesAdded: 1, bytesTotal: 2, unreadable: ['/photos/private.jpg'] }),
    });
    const run = await outcomeOf(h, h.diskTarget('backup'));
    assert.equal(run.outcome, 'partial');
    assert.match(run.reason, /1 file\(s\) could not be read .*private\.jpg/);
  });

  it('records a run a disk pulled from under it as failed, and one an eject stopped as cancelled', async () => {
    const cases: Array<[outcome: 'failed' | 'cancelled', message: string, reason: Message]> = [
      ['failed', 'the disk backup was disconnected while the job ran', { key: 'error.job_disk_disconnected', params: { disk: 'backup' } }],
      ['cancelled', 'the disk is being ejected', { key: 'error.job_disk_ejected' }],
    ];
    for (const [outcome, message, reason] of cases) {
      const h = harness({ backup: async () => Promise.reject(new Cancelled(reason, outcome)) });
      const run = await outcomeOf(h, h.diskTarget('backup'));
      assert.equal(run.outcome, outcome);
      assert.equal(run.reason, message);
    }
  });
});
