/**
 * A bulk backup and a dying controller, with real processes: killed with SIGKILL while
 * restic writes (as a container's death kills both), the next start closes the run as
 * interrupted, removes the stale lock only because it is its own, and backs up again.
 * A lock another host left is never touched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { api, assignBackupDisk, backUp, finishedJob, installPhotoApp, RESTIC_VERSIONS, resticByHand, resticOf, writeFiles } from './helpers/bulk.ts';
import { testLogs } from './helpers/log.ts';
import { alive, apiToken, startController } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until, within } from './helpers/until.ts';

/**
 * Bounds for a loaded 2-core CI machine (5–10 times slower than a developer's): restic
 * writing its first bytes of 320 MB, a lock appearing or going, a killed process gone.
 */
const RESTIC_MS = 90_000;
const PROCESS_GONE_MS = 30_000;
/**
 * An install, 320 MB written, a backup killed and one run whole, a restart: about 30 s
 * here, minutes on a loaded machine; the waits inside have bounds of their own.
 */
const SCENARIO = { timeout: 480_000 };

const locksOf = (repo: string) => fs.readdirSync(path.join(repo, 'locks'));

describe('a bulk backup when the controller is killed', () => {
  for (const [v, version] of RESTIC_VERSIONS.entries()) {
    it(`with ${version.name}: closes the run as interrupted at the next start, removes only its own stale lock, and the next run succeeds`, SCENARIO, async (t) => {
      const restic = resticOf(t, version);
      if (!restic || !(await requireDocker(t))) return;
      const explain = testLogs(t).explain;
      const agent = await devAgent(t);
      const dataDir = tempDir(t, 'felhom-bulk-kill-');
      const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath, FELHOM_STORAGE_CHECK_MS: '500', FELHOM_RESTIC: restic };
      const token = apiToken(dataDir);
      const id = `bulkkill${v}-${process.pid % 1000}`;
      cleanUpProject(t, id);
      const first = await startController(t, env);
      const request = api(first.url, token);
      const disk = await assignBackupDisk(request);
      const folder = await installPhotoApp(request, id);
      writeFiles(folder, 40, 8 * 1024 * 1024);
      const created = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
      const code: string = created.body.recovery_code;
      const repo = path.join(disk.path, 'felhom', 'backups');

      // Another host's lock, left by a restic killed there: it must survive our recovery.
      let foreignLock: string | null = null;
      if (process.getuid?.() === 0 && spawnSync('unshare', ['--version']).status === 0) {
        const other = spawn('unshare', ['--uts', 'sh', '-c', 'hostname other-host && exec restic backup --host other-host /usr/bin'], {
          env: { PATH: process.env.PATH, HOME: '/tmp', RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: code, RESTIC_CACHE_DIR: path.join(dataDir, 'other-cache') },
          stdio: 'ignore',
        });
        const otherExited = once(other, 'exit');
        // Its lock, once written whole (restic writes the file, then we can read it back).
        const [lockId, lock] = await until(
          () => {
            const id = locksOf(repo)[0];
            const cat = id ? resticByHand(repo, code, ['cat', 'lock', id, '--no-lock']) : null;
            return cat?.status === 0 && cat.stdout.trim() ? ([id!, JSON.parse(cat.stdout) as { hostname: string }] as const) : null;
          },
          { what: "the other host's lock", timeoutMs: RESTIC_MS, intervalMs: 20, explain },
        );
        other.kill('SIGKILL');
        await within(otherExited, { what: "the other host's restic to exit", timeoutMs: PROCESS_GONE_MS, explain });
        assert.equal(lock.hostname, 'other-host');
        foreignLock = lockId;
      }

      const started = await request('POST', '/api/v1/volume-backups/run', {});
      assert.equal(started.status, 202);
      const jobId: string = started.body.job.id;
      const writing = await until(async () => (await request('GET', `/api/v1/volume-backups/jobs/${jobId}`)).body.job, {
        what: 'restic to be writing, or the job to end',
        done: (job) => job.progress?.bytes_done > 0 || !['queued', 'running'].includes(job.state),
        timeoutMs: RESTIC_MS,
        intervalMs: 20,
        explain,
      });
      assert.equal(writing.state, 'running', JSON.stringify(writing));
      const db = new Database(path.join(dataDir, 'controller.db'), { readonly: true });
      const { restic_pid: resticPid } = db.prepare('SELECT restic_pid FROM bulk_jobs WHERE id = ?').get(jobId) as { restic_pid: number };
      db.close();
      assert.ok(resticPid > 0 && alive(resticPid), 'the job recorded the pid of the restic it runs');

      // A container's death: the controller and its restic, both SIGKILL.
      first.child.kill('SIGKILL');
      process.kill(resticPid, 'SIGKILL');
      await first.whenExited();
      await until(() => !alive(resticPid), { what: 'restic to be gone', timeoutMs: PROCESS_GONE_MS, intervalMs: 20, explain });
      const ours = locksOf(repo).filter((lock) => lock !== foreignLock);
      assert.equal(ours.length, 1, 'the killed restic left its lock');

      const second = await startController(t, env);
      const again = api(second.url, token);
      const interrupted = await finishedJob(again, jobId);
      assert.equal(interrupted.state, 'interrupted');
      assert.equal(interrupted.runs[0].outcome, 'interrupted');
      assert.match(interrupted.runs[0].reason, /controller stopped while it ran/);
      await until(() => !locksOf(repo).includes(ours[0]!), { what: 'our stale lock to be removed', timeoutMs: RESTIC_MS, explain });
      if (foreignLock) assert.ok(locksOf(repo).includes(foreignLock), 'the other host\'s lock was left alone');

      // The next run: restic refuses only an exclusive lock, so the foreign one does not stop a backup.
      const next = await backUp(again);
      assert.equal(next.state, 'succeeded', JSON.stringify(next));
      assert.equal(next.runs[0].outcome, 'succeeded');
    });
  }
});
