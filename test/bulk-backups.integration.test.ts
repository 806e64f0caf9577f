/**
 * Bulk volumes marked `backup: own`, backed up by the controller with real restic: to a
 * repository on the development agent's second disk, and through a restic REST server
 * on loopback (`rclone serve restic`). Every property is shown on the good case and, where
 * it is a check, failing on the bad one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { until } from './helpers/until.ts';
import { recordingLogger } from './helpers/log.ts';
import { signUp } from './helpers/ui.ts';
import {
  api,
  assignBackupDisk,
  backUp,
  BACKUP_DISK,
  checksums,
  finishedJob,
  installPhotoApp,
  requireRestic,
  resticOf,
  RESTIC_VERSIONS,
  restServer,
  resticByHand,
  writeFiles,
} from './helpers/bulk.ts';

async function setup(t: TestContext, name: string, env: Record<string, string> = {}) {
  const agent = await devAgent(t);
  const recording = recordingLogger('debug');
  const c = await controller(t, {
    bootstrapPath: agent.bootstrapPath,
    logger: recording.logger,
    env: { FELHOM_STORAGE_CHECK_MS: '300', FELHOM_BULK_KEEP: 'last=10', ...env },
  });
  const request = api(c.controller.url, c.token);
  const id = `${name}-${process.pid % 1000}`;
  cleanUpProject(t, id);
  return { agent, c, request, id, logs: recording.lines };
}

const running = async (request: ReturnType<typeof api>, id: string) =>
  ((await request('GET', `/api/v1/apps/${id}`)).body.services as Array<{ state: string }>).every((s) => s.state === 'running');

describe('bulk backups with restic', () => {
  for (const [v, version] of RESTIC_VERSIONS.entries()) {
    describe(`with ${version.name}`, () => {
      it('backs up a running app\'s bulk volume to another disk, adds only the change the second time, and restores by copy and by replace byte for byte', async (t) => {
        const restic = resticOf(t, version);
        if (!restic || !(await requireDocker(t))) return;
        const { request, id, c } = await setup(t, `bulkdisk${v}`, { FELHOM_RESTIC: restic });
        const disk = await assignBackupDisk(request);
        const folder = await installPhotoApp(request, id);
        writeFiles(folder, 40, 256 * 1024);

        const created = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
        assert.equal(created.status, 201);
        const code: string = created.body.recovery_code;
        assert.match(code, /^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/, 'a recovery code of 160 bits in groups of four');
        assert.ok(fs.existsSync(path.join(disk.path, 'felhom', 'backups', 'config')), 'the repository lives in <mount>/felhom/backups');
        // The same disk as the volume is never a target for it; ours is the other disk.
        const coverage = (await request('GET', '/api/v1/volume-backups')).body;
        assert.equal(coverage.available, true);
        assert.equal(coverage.volumes[0].target.id, created.body.target.id, 'the only target is the default');

        const first = await backUp(request, { app: id, volume: 'photos' });
        assert.equal(first.state, 'succeeded', JSON.stringify(first));
        const [run1] = first.runs;
        assert.equal(run1.outcome, 'succeeded');
        assert.equal(run1.files_new, 40);
        assert.ok(await running(request, id), 'the app kept running while its volume was backed up');
        const atFirst = checksums(folder);

        // Change one file, delete one, add one: the second snapshot adds only that.
        writeFiles(path.join(folder, 'album'), 1, 256 * 1024, 'changed');
        fs.rmSync(path.join(folder, 'photo-1.jpg'));
        fs.writeFileSync(path.join(folder, 'photo-2.jpg'), 'edited in place');
        const second = await backUp(request, { app: id, volume: 'photos' });
        const [run2] = second.runs;
        assert.equal(run2.outcome, 'succeeded');
        assert.equal(run2.files_new, 1);
        assert.equal(run2.files_changed, 1);
        assert.ok(run2.bytes_added < run1.bytes_added / 10, `the second run added ${run2.bytes_added} bytes, the first ${run1.bytes_added}`);
        const atSecond = checksums(folder);

        const snapshots = (await request('GET', `/api/v1/apps/${id}/volumes/photos/snapshots`)).body.snapshots;
        assert.equal(snapshots.length, 2);
        const older = snapshots[1];
        assert.equal(older.files, 40);

        // Copy: a new folder beside the volume, the live data untouched.
        const copy = await request('POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: older.id, mode: 'copy' });
        assert.equal(copy.status, 202);
        const copied = await finishedJob(request, copy.body.job.id);
        assert.equal(copied.state, 'succeeded', JSON.stringify(copied));
        assert.deepEqual(checksums(copied.result.folder), atFirst, 'the copy is the older snapshot, byte for byte');
        assert.equal(path.dirname(copied.result.folder), path.dirname(folder), 'beside the volume');
        assert.deepEqual(checksums(folder), atSecond, 'the live folder was not touched');

        // Replace: the app stops, the folder is swapped, the old data is kept, the app starts.
        const replace = await request('POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: older.id, mode: 'replace' });
        const replaced = await finishedJob(request, replace.body.job.id);
        assert.equal(replaced.state, 'succeeded', JSON.stringify(replaced));
        assert.deepEqual(checksums(folder), atFirst, 'the live folder is the older snapshot, byte for byte');
        assert.match(path.basename(replaced.result.kept), /^photos\.before-restore-\d{8}T\d{6}Z$/);
        assert.deepEqual(checksums(replaced.result.kept), atSecond, 'what was replaced is kept');
        await until(() => running(request, id), { what: 'the app to run again', timeoutMs: 30_000, intervalMs: 200 });
        const app = (await request('GET', `/api/v1/apps/${id}`)).body;
        const inContainer = app.services[0];
        assert.equal(inContainer.state, 'running');

        // The kept folder goes when the customer deletes it.
        const kept = (await request('GET', `/api/v1/apps/${id}/volumes/photos/kept`)).body.folders;
        assert.deepEqual(kept.map((k: { kind: string }) => k.kind).sort(), ['before-restore', 'copy']);
        const name = path.basename(replaced.result.kept);
        assert.equal((await request('DELETE', `/api/v1/apps/${id}/volumes/photos/kept/${name}`)).status, 204);
        assert.equal(fs.existsSync(replaced.result.kept), false);
        assert.equal((await request('DELETE', `/api/v1/apps/${id}/volumes/photos/kept/..%2F..%2Fetc`)).status, 404);

        // The app page says which backup covers the folder and how it stands.
        const { agent: browser } = await signUp(c.controller.url, c.dataDir);
        const fragment = (await browser.get(`/backups/apps/${id}`).expect(200)).text;
        assert.match(fragment, /data-volume="photos" data-coverage="own"/);
        assert.match(fragment, /Backed up to Backup disk/);
        assert.match(fragment, /ago\)/, 'the last success with its age');
        assert.match(fragment, /<td>2<\/td>/, 'two snapshots kept');

        // Every run and restore is audited with who asked.
        const audit = c.controller.db.prepare('SELECT actor, action FROM audit_log').all() as Array<{ action: string; actor: string }>;
        for (const action of ['backup_target.create', 'volume_backup.backup', 'volume_backup.run', 'volume_backup.restore', 'volume_backup.delete_kept']) {
          assert.ok(audit.some((e) => e.action === action && e.actor.startsWith('api-token:')), `audited with the actor: ${action}`);
        }
      });

      it('applies the retention policy after each run: the newest snapshots stay, the oldest are forgotten', async (t) => {
        const restic = resticOf(t, version);
        if (!restic || !(await requireDocker(t))) return;
        const { request, id, c } = await setup(t, `bulkkeep${v}`, { FELHOM_RESTIC: restic, FELHOM_BULK_KEEP: 'last=2' });
        const disk = await assignBackupDisk(request);
        const folder = await installPhotoApp(request, id);
        await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
        const made: string[] = [];
        for (let i = 0; i < 3; i++) {
          // Each round replaces the folder's content: what only the first snapshot holds can be pruned.
          for (const file of fs.readdirSync(folder)) fs.rmSync(path.join(folder, file), { recursive: true });
          writeFiles(folder, 4, 512 * 1024, `round${i}`);
          made.push((await backUp(request)).runs[0].snapshot);
        }
        const left = (await request('GET', `/api/v1/apps/${id}/volumes/photos/snapshots`)).body.snapshots.map((s: { short_id: string }) => s.short_id);
        assert.deepEqual(left.sort(), made.slice(1).map((s) => s.slice(0, 8)).sort(), 'keep last=2: the first snapshot was forgotten');

        // Prune (on its slower schedule) frees what only forgotten snapshots held.
        const repo = path.join(disk.path, 'felhom', 'backups');
        const size = () => fs.readdirSync(path.join(repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
        const before = size();
        const pruned = await finishedJob(request, (await c.controller.backups.bulk.prune('test')).id);
        assert.equal(pruned.state, 'succeeded', JSON.stringify(pruned));
        assert.ok(size() < before - 1024 * 1024, `pruned ${before} to ${size()} bytes`);
        assert.equal((await request('GET', `/api/v1/apps/${id}/volumes/photos/snapshots`)).body.snapshots.length, 2);
      });

      it('backs up through a restic REST server with basic auth, adopts the repository with its code, refuses a wrong code, and never shows a secret again', async (t) => {
        const restic = resticOf(t, version);
        if (!restic || !(await requireDocker(t)) || !requireRestic(t, ['rclone'])) return;
        const { request, id, logs, c } = await setup(t, `bulkrest${v}`, { FELHOM_RESTIC: restic });
        const folder = await installPhotoApp(request, id);
        writeFiles(folder, 12, 64 * 1024);
        const rest = await restServer(t);
        const answers: string[] = [];
        const recorded = async (method: string, route: string, body?: unknown) => {
          const answer = await request(method, route, body);
          answers.push(JSON.stringify(answer.body));
          return answer;
        };

        const wrongAuth = await request('POST', '/api/v1/backup-targets', { kind: 'rest', url: rest.url, username: rest.user, password: 'not-the-password' });
        assert.equal(wrongAuth.status, 400, JSON.stringify(wrongAuth.body));
        assert.match(wrongAuth.body.error.message, /could not be reached|restic/);
        const withCreds = await request('POST', '/api/v1/backup-targets', { kind: 'rest', url: `http://${rest.user}:${rest.pass}@127.0.0.1/` });
        assert.equal(withCreds.status, 400, 'credentials go in their own fields, never in the URL');

        // Two creations at once (a double click): one target, and the code it shows opens the repository.
        const both = await Promise.all([0, 1].map(() => request('POST', '/api/v1/backup-targets', { kind: 'rest', url: rest.url, username: rest.user, password: rest.pass })));
        assert.deepEqual(both.map((r) => r.status).sort(), [201, 409], JSON.stringify(both.map((r) => r.body)));
        const created = both.find((r) => r.status === 201)!;
        const code: string = created.body.recovery_code;
        assert.equal((await request('GET', '/api/v1/backup-targets')).body.targets.length, 1);
        const done = await backUp(request);
        assert.equal(done.state, 'succeeded', JSON.stringify(done));
        const snapshot = done.runs[0].snapshot;

        // The repository opens with the code by hand, as it would on a replacement server.
        const byHand = resticByHand(`rest:http://${rest.user}:${rest.pass}@${new URL(rest.url).host}/`, code, ['snapshots', '--json']);
        assert.equal(byHand.status, 0, byHand.stderr);
        assert.equal(JSON.parse(byHand.stdout).length, 1);

        // A second controller (a replaced server) adopts it: a wrong code is a clear 400, the right one continues it.
        const other = await setup(t, `bulkrest2${v}`, { FELHOM_RESTIC: restic });
        const wrong = await other.request('POST', '/api/v1/backup-targets', { kind: 'rest', url: rest.url, username: rest.user, password: rest.pass, recovery_code: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH' });
        assert.equal(wrong.status, 400);
        assert.match(wrong.body.error.message, /recovery code does not open/);
        const adopted = await other.request('POST', '/api/v1/backup-targets', { kind: 'rest', url: rest.url, username: rest.user, password: rest.pass, recovery_code: code.toLowerCase().replaceAll('-', ' ') });
        assert.equal(adopted.status, 201, JSON.stringify(adopted.body));
        assert.equal(adopted.body.recovery_code, undefined, 'an adopted repository\'s code is the customer\'s, never echoed');
        assert.equal(adopted.body.target.adopted, true);

        // Restore from the REST server: byte for byte.
        const copy = await request('POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot, mode: 'copy' });
        const copied = await finishedJob(request, copy.body.job.id);
        assert.deepEqual(checksums(copied.result.folder), checksums(folder));

        // After its one showing the code appears nowhere: API answers, pages, logs, the audit, the data folder's logs.
        for (const route of ['/api/v1/backup-targets', '/api/v1/volume-backups', `/api/v1/volume-backups/jobs/${done.id}`, `/api/v1/apps/${id}/volumes/photos/snapshots`]) {
          await recorded('GET', route);
        }
        const audit = [c, other.c].flatMap((x) => x.controller.db.prepare('SELECT * FROM audit_log').all().map((row) => JSON.stringify(row)));
        const everything = [...answers, ...audit, ...logs.map((l) => JSON.stringify(l)), ...other.logs.map((l) => JSON.stringify(l))].join('\n');
        for (const secret of [code, code.replaceAll('-', ''), rest.pass]) assert.equal(everything.includes(secret), false, `a secret leaked: ${secret.slice(0, 4)}…`);
      });

      it('a restore test passes on a sound repository and catches a damaged pack file; a damaged repository is a clear error', async (t) => {
        const restic = resticOf(t, version);
        if (!restic || !(await requireDocker(t))) return;
        const { request, id } = await setup(t, `bulkcheck${v}`, { FELHOM_RESTIC: restic, FELHOM_RESTORE_TEST_READ_DATA: '100%' });
        const disk = await assignBackupDisk(request);
        const folder = await installPhotoApp(request, id);
        const nothing = await request('POST', '/api/v1/volume-backups/check', {});
        assert.equal(nothing.status, 409, 'a test that would check nothing is not run (it would read as a pass)');
        // Names restic would read as glob patterns: the sample must restore exactly these files.
        writeFiles(folder, 10, 128 * 1024, 'IMG_0 [edited]*?');
        await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
        assert.equal((await backUp(request)).state, 'succeeded');

        const good = await request('POST', '/api/v1/volume-backups/check', {});
        assert.equal(good.status, 202);
        const passed = await finishedJob(request, good.body.job.id);
        assert.equal(passed.state, 'succeeded', JSON.stringify(passed));
        assert.equal(passed.result.targets[0].ok, true);
        assert.equal(passed.result.volumes[0].files.length, 3);
        assert.ok(passed.result.volumes[0].files.every((f: { ok: boolean; size: number; restoredSize: number }) => f.ok && f.size === f.restoredSize));

        // One byte flipped in a pack file: restic's own hash no longer matches.
        const repo = path.join(disk.path, 'felhom', 'backups');
        const packs = fs.readdirSync(path.join(repo, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
        const largest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
        const bytes = fs.readFileSync(largest);
        bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
        fs.chmodSync(largest, 0o644);
        fs.writeFileSync(largest, bytes);
        const bad = await request('POST', '/api/v1/volume-backups/check', {});
        const failed = await finishedJob(request, bad.body.job.id);
        assert.equal(failed.state, 'failed');
        assert.equal(failed.result.targets[0].ok, false);
        assert.match(failed.result.targets[0].output.join('\n'), /pack|hash|error/i);

        // A replace that fails half-way (restic cannot read the damaged pack) leaves the live folder as it was, and the app running.
        const live = checksums(folder);
        const snapshot = (await request('GET', `/api/v1/apps/${id}/volumes/photos/snapshots`)).body.snapshots[0].id;
        const replace = await request('POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot, mode: 'replace' });
        const replaceFailed = await finishedJob(request, replace.body.job.id);
        assert.equal(replaceFailed.state, 'failed', JSON.stringify(replaceFailed));
        assert.deepEqual(checksums(folder), live, 'the live folder is as it was');
        assert.deepEqual(fs.readdirSync(path.dirname(folder)).filter((n) => n.startsWith('photos.')).filter((n) => n !== 'photos.seeded'), [], 'no staging or kept folder is left');
        await until(() => running(request, id), { what: 'the app to run again', timeoutMs: 30_000, intervalMs: 200 });

        // A repository whose config is gone: a clear error, not a crash.
        fs.renameSync(path.join(repo, 'config'), path.join(repo, 'config.moved'));
        const snapshots = await request('GET', `/api/v1/apps/${id}/volumes/photos/snapshots`);
        assert.equal(snapshots.status, 400);
        assert.match(snapshots.body.error.message, /no restic repository at this target/);
        const broken = await backUp(request);
        assert.equal(broken.state, 'failed');
        assert.match(broken.runs[0].reason, /no restic repository at this target/);
      });

      it('a target disk disconnected mid-run fails that run with the reason, later runs skip it, and it resumes when the disk is back; an eject cancels the backup cleanly', async (t) => {
        const restic = resticOf(t, version);
        if (!restic || !(await requireDocker(t))) return;
        const { request, id, agent } = await setup(t, `bulkdrop${v}`, { FELHOM_RESTIC: restic });
        const disk = await assignBackupDisk(request);
        const folder = await installPhotoApp(request, id);
        writeFiles(folder, 30, 8 * 1024 * 1024);
        await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });

        const started = await request('POST', '/api/v1/volume-backups/run', {});
        await until(async () => (await request('GET', `/api/v1/volume-backups/jobs/${started.body.job.id}`)).body.job.progress?.step === 'backup', { what: 'the backup to make progress', timeoutMs: 30_000, intervalMs: 20 });
        agent.setMountState(disk.id, 'disconnected');
        const dropped = await finishedJob(request, started.body.job.id);
        assert.equal(dropped.runs[0].outcome, 'failed', JSON.stringify(dropped.runs));
        assert.match(dropped.runs[0].reason, /disconnected while the job ran/);

        const skipped = await backUp(request);
        assert.equal(skipped.runs[0].outcome, 'skipped');
        assert.match(skipped.runs[0].reason, /cannot be reached .*disconnected/);

        agent.setMountState(disk.id, 'attached');
        const resumed = await backUp(request);
        assert.equal(resumed.runs[0].outcome, 'succeeded', JSON.stringify(resumed.runs));

        // An eject waits for the volume's backup to stop, and says so.
        writeFiles(folder, 30, 8 * 1024 * 1024, 'more');
        const again = await request('POST', '/api/v1/volume-backups/run', {});
        await until(async () => (await request('GET', `/api/v1/volume-backups/jobs/${again.body.job.id}`)).body.job.progress?.step === 'backup', { what: 'the backup to make progress', timeoutMs: 30_000, intervalMs: 20 });
        const ejected = await request('POST', '/api/v1/disks/eject', { disk: BACKUP_DISK });
        assert.equal(ejected.status, 200, JSON.stringify(ejected.body));
        assert.deepEqual(ejected.body.cancelled_backups, [`${id}/photos`]);
        const cancelled = await finishedJob(request, again.body.job.id);
        assert.equal(cancelled.runs[0].outcome, 'cancelled');
        assert.match(cancelled.runs[0].reason, /being ejected/);
        // restic got SIGINT and removed its lock.
        assert.deepEqual(fs.readdirSync(path.join(disk.path, 'felhom', 'backups', 'locks')), []);
      });
    });
  }

  it('when restic is missing, bulk backups are off with the reason, and everything else works', async (t) => {
    if (!(await requireDocker(t))) return;
    const { request, c } = await setup(t, 'bulknone', { FELHOM_RESTIC: '/nonexistent/restic' });
    const view = (await request('GET', '/api/v1/volume-backups')).body;
    assert.equal(view.available, false);
    assert.match(view.reason, /restic is not installed/);
    const run = await request('POST', '/api/v1/volume-backups/run', {});
    assert.equal(run.status, 409);
    assert.match(run.body.error.message, /bulk backups are disabled: restic is not installed/);
    assert.equal((await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: BACKUP_DISK })).status, 409);
    assert.equal((await request('GET', '/api/v1/apps')).status, 200);
    assert.equal((await request('GET', '/api/v1/backups')).status, 200);
    const { agent } = await signUp(c.controller.url, c.dataDir);
    const page = (await agent.get('/backups').expect(200)).text;
    assert.match(page, /Media backups are turned off: restic is not installed or cannot be run \(\/nonexistent\/restic\)/);
    assert.ok(!page.includes('action="/backups/targets"'), 'no form that could only fail');
  });

  it('"back up now" of the guest backup through the API is audited with the token that asked', async (t) => {
    if (!(await requireDocker(t))) return;
    const { request, c } = await setup(t, 'guestactor');
    const started = await request('POST', '/api/v1/backups');
    assert.equal(started.status, 202);
    const entry = c.controller.db.prepare("SELECT actor FROM audit_log WHERE action = 'backup.request'").get() as { actor: string };
    assert.match(entry.actor, /^api-token:test-/);
    await until(async () => (await request('GET', '/api/v1/backups/current')).body.run === null, { what: 'the run to close', timeoutMs: 30_000, intervalMs: 200 });
  });

  it('an update of the app stops its running backup first; deleting its data also deletes the restored copies beside it', async (t) => {
    if (!(await requireDocker(t)) || !requireRestic(t)) return;
    const { request, id } = await setup(t, 'bulkupd');
    const disk = await assignBackupDisk(request);
    const folder = await installPhotoApp(request, id);
    writeFiles(folder, 4, 64 * 1024);
    await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
    const first = await backUp(request);
    const copy = await request('POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: first.runs[0].snapshot, mode: 'copy' });
    const copied = await finishedJob(request, copy.body.job.id);

    writeFiles(folder, 30, 8 * 1024 * 1024, 'big');
    const running = await request('POST', '/api/v1/volume-backups/run', {});
    await until(async () => (await request('GET', `/api/v1/volume-backups/jobs/${running.body.job.id}`)).body.job.progress?.step === 'backup', { what: 'the backup to make progress', timeoutMs: 30_000, intervalMs: 20 });
    const update = await request('POST', `/api/v1/apps/${id}/update`);
    assert.equal(update.status, 202, JSON.stringify(update.body));
    const stopped = await finishedJob(request, running.body.job.id);
    assert.equal(stopped.runs[0].outcome, 'cancelled');
    assert.match(stopped.runs[0].reason, /the app is being updated/);
    assert.deepEqual(fs.readdirSync(path.join(disk.path, 'felhom', 'backups', 'locks')), [], 'restic stopped cleanly');
    await until(async () => (await request('GET', `/api/v1/operations/${update.body.operation.id}`)).body.operation.state !== 'running', { what: 'the update to finish', timeoutMs: 120_000, intervalMs: 250 });

    const refused = await request('DELETE', `/api/v1/apps/${id}?delete_data=true`);
    const confirm = /confirm=([0-9a-f]+)/.exec(refused.body.error.message)![1]!;
    const removed = await request('DELETE', `/api/v1/apps/${id}?delete_data=true&confirm=${confirm}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(fs.existsSync(copied.result.folder), false, 'the restored copy went with the data');
    assert.ok(removed.body.deleted_paths.includes(copied.result.folder), 'and the answer names it');
  });

  it('refuses what it cannot do with a clear 4xx', async (t) => {
    if (!(await requireDocker(t)) || !requireRestic(t)) return;
    const { request, id, c } = await setup(t, 'bulkbad');
    await installPhotoApp(request, id);
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/api/v1/backup-targets', { kind: 'tape' }, 400],
      ['POST', '/api/v1/backup-targets', { kind: 'disk', mount: 'no-such-mount' }, 400],
      ['POST', '/api/v1/backup-targets', { kind: 'rest', url: 'file:///etc' }, 400],
      ['POST', '/api/v1/backup-targets', { kind: 'rest', url: 'http://127.0.0.1:1/' }, 400],
      ['POST', '/api/v1/volume-backups/run', { app: 'nope' }, 404],
      ['POST', '/api/v1/volume-backups/run', { volume: 'photos' }, 400],
      ['POST', '/api/v1/volume-backups/run', { app: id, volume: 'photos', extra: 1 }, 400],
      ['POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: 'zz', mode: 'copy' }, 400],
      ['POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: 'abcdef12', mode: 'merge' }, 400],
      ['POST', `/api/v1/apps/${id}/volumes/photos/restore`, { snapshot: 'abcdef12', mode: 'copy' }, 409],
      ['GET', `/api/v1/apps/${id}/volumes/nope/snapshots`, undefined, 404],
      ['DELETE', '/api/v1/backup-targets/t-nope', undefined, 404],
      ['GET', '/api/v1/volume-backups/jobs/nope', undefined, 404],
      ['POST', '/api/v1/volume-backups/check', { now: true }, 400],
      ['POST', '/api/v1/backup-targets', { kind: 'rest', url: 'http://127.0.0.1:1/', recovery_code: 'AAAA\u0000' }, 400],
      ['POST', '/api/v1/backup-targets', { kind: 'rest', url: 'http://127.0.0.1:1/', password: 'a\nb' }, 400],
    ];
    for (const [method, route, body, status] of cases) {
      const answer = await request(method, route, body);
      assert.equal(answer.status, status, `${method} ${route} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
    }
    // The same disk as the volume: refused as a target for it.
    const own = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: 'usb-9f3a27c1' });
    assert.equal(own.status, 201);
    const volumes = (await request('GET', '/api/v1/volume-backups')).body.volumes;
    assert.equal(volumes[0].target, null, 'a target on the volume\'s own disk is never its default');
    const chosen = await request('PUT', `/api/v1/apps/${id}/volumes/photos/backup-target`, { target: own.body.target.id });
    assert.equal(chosen.status, 400);
    // A target in use cannot be removed.
    const disk = await assignBackupDisk(request);
    const other = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
    assert.equal((await request('GET', '/api/v1/volume-backups')).body.volumes[0].target.id, other.body.target.id);
    assert.equal((await request('DELETE', `/api/v1/backup-targets/${other.body.target.id}`)).status, 409);
    assert.equal((await request('DELETE', `/api/v1/backup-targets/${own.body.target.id}`)).status, 204);
    assert.ok(fs.existsSync(path.join(disk.path, '..', 'usb-9f3a27c1', 'felhom', 'backups', 'config')), 'an acknowledged repository is kept when its target goes');

    // A target made on the page whose code was never acknowledged was never used: removing it
    // removes its empty repository, so the disk can be added again (the code may be lost).
    await c.controller.backups.bulk.createTarget({ kind: 'disk', mount: 'local-fast' }, 'customer', { acknowledged: false });
    const unacknowledged = (await request('GET', '/api/v1/backup-targets')).body.targets.find((x: { mount: string }) => x.mount === 'local-fast');
    assert.equal(unacknowledged.recovery_code_acknowledged, false);
    assert.equal((await request('GET', '/api/v1/volume-backups')).body.volumes[0].target.id, other.body.target.id, 'an unacknowledged target is never chosen');
    assert.equal((await request('DELETE', `/api/v1/backup-targets/${unacknowledged.id}`)).status, 204);
    const again = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: 'local-fast' });
    assert.equal(again.status, 201, JSON.stringify(again.body));

    // The customer's choice of target is kept, and the runs follow it.
    const moved = await request('PUT', `/api/v1/apps/${id}/volumes/photos/backup-target`, { target: again.body.target.id });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal((await request('GET', '/api/v1/volume-backups')).body.volumes[0].target.id, again.body.target.id);
    const run = await backUp(request);
    assert.equal(run.runs[0].target, again.body.target.id);
    assert.equal(run.runs[0].outcome, 'succeeded', JSON.stringify(run.runs));
    assert.equal((await request('DELETE', `/api/v1/backup-targets/${other.body.target.id}`)).status, 204, 'no longer in use');

    // The removed target's repository stayed on its disk: it is added back only with its code (a replaced server).
    const bare = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
    assert.equal(bare.status, 409);
    assert.match(bare.body.error.message, /already holds a Felhom backup repository; add it with its recovery code/);
    const wrong = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id, recovery_code: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH' });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.error.message, /recovery code does not open this repository/);
    const adopted = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id, recovery_code: other.body.recovery_code });
    assert.equal(adopted.status, 201, JSON.stringify(adopted.body));
    assert.equal(adopted.body.target.adopted, true);
    assert.equal(adopted.body.recovery_code, undefined);
  });
});
