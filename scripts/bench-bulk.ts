/**
 * Benchmark (not a test): the controller's restic backups of a bulk volume, against
 * restic run by hand on the same data. Prints, per round and as medians:
 *
 * 1. the first backup into a fresh repository, through the controller (the run's
 *    duration_ms and the wall clock from the request to the job seen finished) and by
 *    hand (`restic backup` with the controller's arguments, environment and cache
 *    folder, into a second fresh repository on the same target disk), and their ratio;
 * 2. an incremental run after rewriting 1 % of the files: duration, files new and
 *    changed, bytes added (and the same by hand);
 * 3. a restore (mode copy) of the first snapshot through the controller (and by hand),
 *    made before the incremental run, whose retention (daily=7: one a day) forgets it.
 *
 *   source scripts/toolchain.sh && node scripts/bench-bulk.ts [--rounds 4]
 *
 * Each round uses fresh repositories, and by hand and the controller take turns going
 * first: the second backup of a pair tends to cost more (kernel time), so an even number
 * of rounds balances the order. On a busy machine one run varies by tens of percent; more
 * rounds give steadier medians, and restic's user CPU time is printed as a figure that
 * load disturbs less than the wall clock.
 *
 * BENCH_BULK_MB (MiB, default 2000) and BENCH_BULK_FILES (default 2000) size the volume:
 * that many files of random, incompressible bytes. Needs a Docker engine
 * (scripts/engine.sh) and restic; builds the test image from the host's busybox if it is
 * missing (no registry). Everything lives in one temp folder, removed at the end with
 * the app's compose project. The controller runs in this process with the deployment's
 * defaults: only FELHOM_PULL=never and a listen address on loopback are set.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApiTokens } from '../src/auth/index.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { startDevAgent, type DevAgent } from '../dev-agent/index.ts';
import { silentLogger } from '../src/log.ts';
import { startController, type RunningController } from '../src/main.ts';
import { api as apiClient, assignBackupDisk, installPhotoApp, TEST_IMAGE, type Api } from '../test/helpers/bulk.ts';
import { removeProject } from '../test/helpers/docker.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '4' } } });
const rounds = Number(values.rounds);
const totalMiB = Number(process.env.BENCH_BULK_MB ?? 2000);
const fileCount = Number(process.env.BENCH_BULK_FILES ?? 2000);
if (!(rounds >= 1 && totalMiB > 0 && fileCount >= 1)) throw new Error('--rounds, BENCH_BULK_MB and BENCH_BULK_FILES must be positive numbers');
const MiB = 1024 * 1024;
const fileBytes = Math.floor((totalMiB * MiB) / fileCount);
const changedCount = Math.max(1, Math.round(fileCount / 100));
const APP = `bench-bulk-${process.pid % 1000}`;
const TAGS = ['felhom', `app:${APP}`, 'volume:photos'];
const HOST = 'felhom';
/** The controller's retention step with its default policy (FELHOM_BULK_KEEP=daily=7,weekly=4,monthly=6). */
const FORGET = ['forget', '--json', '--tag', TAGS.join(','), '--group-by', 'tags', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '6'];
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
/** Before each timed step: what the previous step wrote is on disk, so its writeback does not land in the next one's time. */
const settle = () => spawnSync('sync');
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');

/**
 * CPU time of this process's waited-for children (restic, run by hand or by the controller):
 * user (restic's own work: chunking, hashing, encrypting) and system (the kernel's, which
 * also varies with the state of the page cache).
 */
function childCpu(): { user: number; sys: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(3) ... cutime(16) cstime(17); fields[0] is field 3.
  return { user: (Number(fields[13]) * 1000) / CLK_TCK, sys: (Number(fields[14]) * 1000) / CLK_TCK };
}
const cpuSince = (start: { user: number; sys: number }) => {
  const now = childCpu();
  return { user: now.user - start.user, sys: now.sys - start.sys };
};
type Cpu = ReturnType<typeof cpuSince>;
/** CPU of this process itself: the controller (parsing restic's output) and this script. */
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function requireTools(): void {
  const missing: string[] = [];
  if (spawnSync('docker', ['version'], { stdio: 'ignore' }).status !== 0) missing.push('a Docker engine (docker version failed; run scripts/engine.sh)');
  if (spawnSync('restic', ['version'], { stdio: 'ignore' }).status !== 0) missing.push('restic (not on PATH; scripts/engine.sh installs it)');
  if (missing.length) {
    console.error(`bench-bulk needs ${missing.join(' and ')}.`);
    process.exit(1);
  }
  if (spawnSync('docker', ['image', 'inspect', TEST_IMAGE], { stdio: 'ignore' }).status !== 0) {
    execFileSync(path.join(import.meta.dirname, 'test-images.sh'), { stdio: 'inherit' });
  }
}

const fileName = (i: number) => path.join(i % 3 === 0 ? 'album' : '', `photo-${i}.jpg`);

function writeFile(dir: string, i: number): void {
  const file = path.join(dir, fileName(i));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, randomBytes(fileBytes));
}

interface Env {
  cacheDir: string;
}

/** restic by hand, with the environment the controller gives it (src/backups/restic.ts). */
function restic(env: Env, repository: string, password: string, args: string[], cwd: string): Promise<{ ms: number; cpu: Cpu; selfCpuMs: number; summary: Record<string, any> | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cpu0 = childCpu();
    const self0 = selfCpuMs();
    const started = performance.now();
    const child = spawn('restic', args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: env.cacheDir,
        TMPDIR: process.env.TMPDIR ?? '/tmp',
        RESTIC_CACHE_DIR: env.cacheDir,
        RESTIC_PROGRESS_FPS: '1',
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: password,
      },
    });
    // Only the tail is kept: the summary is restic's last JSON line.
    let tail = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-16_384);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8_192);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`restic ${args[0]} exited ${code}: ${stderr.trim().slice(-600)}`));
      const last = tail.trim().split('\n').reverse().find((line) => line.includes('"message_type":"summary"'));
      resolve({ ms, cpu: cpuSince(cpu0), selfCpuMs: selfCpuMs() - self0, summary: last ? (JSON.parse(last) as Record<string, any>) : null, stderr });
    });
  });
}

/**
 * The job, polled every 250 ms until it is no longer queued or running; with the wall clock
 * from `started`. Polling faster costs the controller's process CPU (each GET reads SQLite)
 * that restic would otherwise have on this 2-core machine; duration_ms does not depend on it.
 */
async function awaitJob(request: Api, jobId: string, started: number): Promise<{ job: Record<string, any>; wallMs: number }> {
  for (;;) {
    const job = (await request('GET', `/api/v1/volume-backups/jobs/${jobId}`)).body.job;
    if (job && job.state !== 'running' && job.state !== 'queued') return { job, wallMs: performance.now() - started };
    await sleep(250);
  }
}

async function controllerBackup(request: Api): Promise<{ run: Record<string, any>; wallMs: number; cpu: Cpu; selfCpuMs: number }> {
  settle();
  const cpu0 = childCpu();
  const self0 = selfCpuMs();
  const started = performance.now();
  const answer = await request('POST', '/api/v1/volume-backups/run', { app: APP, volume: 'photos' });
  if (answer.status !== 202) throw new Error(`volume-backups/run: ${answer.status} ${JSON.stringify(answer.body)}`);
  const { job, wallMs } = await awaitJob(request, answer.body.job.id, started);
  const run = job.runs?.[0];
  if (job.state !== 'succeeded' || run?.outcome !== 'succeeded') throw new Error(`the controller's backup did not succeed: ${JSON.stringify(job)}`);
  return { run, wallMs, cpu: cpuSince(cpu0), selfCpuMs: selfCpuMs() - self0 };
}

interface Round {
  order: string;
  hand: { ms: number; forgetMs: number; cpu: Cpu };
  ctl: { durationMs: number; wallMs: number; cpu: Cpu; nodeCpuMs: number };
  incr: { durationMs: number; wallMs: number; filesNew: number; filesChanged: number; bytesAdded: number; handMs: number; handForgetMs: number; handFilesNew: number; handFilesChanged: number; handBytesAdded: number };
  restore: { jobMs: number; wallMs: number; handMs: number };
}

async function main(): Promise<void> {
  requireTools();
  const resticVersion = execFileSync('restic', ['version'], { encoding: 'utf8' }).trim();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bench-bulk-'));
  let agent: DevAgent | undefined;
  let controller: RunningController | undefined;
  let request: Api | undefined;
  let installed = false;
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    if (installed && request) await request('DELETE', `/api/v1/apps/${APP}`).catch(() => undefined);
    await controller?.close().catch(() => undefined);
    await agent?.close().catch(() => undefined);
    try {
      removeProject(APP);
    } catch (error) {
      console.error(`could not remove every part of the compose project ${APP}: ${(error as Error).message}`);
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    console.error('\ninterrupted: cleaning up');
    void cleanUp().finally(() => process.exit(130));
  });

  try {
    agent = await startDevAgent({ stateDir: path.join(root, 'agent'), port: 0, logger: silentLogger() });
    const dataDir = path.join(root, 'data');
    controller = await startController(
      loadConfig({
        FELHOM_DATA_DIR: dataDir,
        FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath,
        FELHOM_LISTEN: '127.0.0.1:0',
        FELHOM_PULL: 'never',
        ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      }),
      { logger: silentLogger() },
    );
    request = apiClient(controller.url, createApiTokens(controller.db, systemClock).create('bench').token);
    const env: Env = { cacheDir: path.join(dataDir, 'cache', 'restic') };

    const disk = await assignBackupDisk(request);
    installed = true;
    const folder = await installPhotoApp(request, APP);
    const created = await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id });
    if (created.status !== 201) throw new Error(`backup-targets: ${created.status} ${JSON.stringify(created.body)}`);
    const code: string = created.body.recovery_code;
    const controllerRepo = path.join(disk.path, 'felhom', 'backups');
    const handRepo = path.join(disk.path, 'bench-by-hand');
    const handRestore = path.join(path.dirname(folder), 'bench-restore-by-hand');
    if (path.relative(disk.path, folder).split(path.sep)[0] !== '..') throw new Error(`the volume was placed on the target disk (${folder})`);

    const startLoad = load();
    const writing = performance.now();
    for (let i = 0; i < fileCount; i++) writeFile(folder, i);
    const totalBytes = fileCount * fileBytes;
    console.log(`bulk volume: ${fileCount} files of ${mib(fileBytes)} random bytes, ${mib(totalBytes)} in all (written in ${sec(performance.now() - writing)})`);
    console.log(`${resticVersion}; ${os.cpus().length} cores; ${rounds} round(s), each with fresh repositories on the target disk; by hand and controller alternate who goes first`);
    console.log('volume and target disk are folders of the development agent on the same filesystem; the data is in the page cache (RAM), so this is mostly CPU\n');

    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      // Fresh repositories: the controller's is re-created with its recovery code, as `restic init` (what the controller runs).
      if (r > 0) {
        fs.rmSync(controllerRepo, { recursive: true, force: true });
        await restic(env, controllerRepo, code, ['init'], env.cacheDir);
      }
      fs.rmSync(handRepo, { recursive: true, force: true });
      await restic(env, handRepo, code, ['init'], env.cacheDir);

      const handFirst = r % 2 === 0;
      const byHand = async () => {
        settle();
        const backup = await restic(env, handRepo, code, ['backup', '--json', '--host', HOST, ...TAGS.flatMap((t) => ['--tag', t]), '.'], folder);
        const forget = await restic(env, handRepo, code, FORGET, env.cacheDir);
        if (backup.summary?.total_files_processed !== fileCount) throw new Error(`by hand: restic backed up ${backup.summary?.total_files_processed} files`);
        return { backup, forget };
      };
      let hand!: Awaited<ReturnType<typeof byHand>>;
      let ctl!: Awaited<ReturnType<typeof controllerBackup>>;
      if (handFirst) {
        hand = await byHand();
        ctl = await controllerBackup(request);
      } else {
        ctl = await controllerBackup(request);
        hand = await byHand();
      }
      if (ctl.run.files_total !== fileCount) throw new Error(`the controller backed up ${ctl.run.files_total} files`);
      const firstSnapshot: string = ctl.run.snapshot;
      const handSnapshot: string = hand.backup.summary!.snapshot_id;

      // Restore of the first snapshot, before the incremental run: its retention (daily=7 by default) forgets an
      // older snapshot of the same day. Through the controller (a copy beside the volume), and by hand beside it.
      const restoreByController = async () => {
        settle();
        const started = performance.now();
        const answer = await request!('POST', `/api/v1/apps/${APP}/volumes/photos/restore`, { snapshot: firstSnapshot, mode: 'copy' });
        if (answer.status !== 202) throw new Error(`restore: ${answer.status} ${JSON.stringify(answer.body)}`);
        const done = await awaitJob(request!, answer.body.job.id, started);
        if (done.job.state !== 'succeeded') throw new Error(`the restore did not succeed: ${JSON.stringify(done.job)}`);
        fs.rmSync(done.job.result.folder, { recursive: true, force: true });
        return done;
      };
      const restoreByHand = async () => {
        fs.rmSync(handRestore, { recursive: true, force: true });
        fs.mkdirSync(handRestore);
        settle();
        const done = await restic(env, handRepo, code, ['restore', handSnapshot, '--target', handRestore], env.cacheDir);
        fs.rmSync(handRestore, { recursive: true, force: true });
        return done;
      };
      let restored!: Awaited<ReturnType<typeof restoreByController>>;
      let handRestored!: Awaited<ReturnType<typeof restoreByHand>>;
      if (handFirst) {
        handRestored = await restoreByHand();
        restored = await restoreByController();
      } else {
        restored = await restoreByController();
        handRestored = await restoreByHand();
      }

      // 1 % of the files rewritten with new bytes: a different 1 % each round.
      const step = Math.max(1, Math.floor(fileCount / changedCount));
      for (let k = 0; k < changedCount; k++) writeFile(folder, (k * step + r) % fileCount);
      const incr = await controllerBackup(request);
      settle();
      const handIncr = await restic(env, handRepo, code, ['backup', '--json', '--host', HOST, ...TAGS.flatMap((t) => ['--tag', t]), '.'], folder);
      const handIncrForget = await restic(env, handRepo, code, FORGET, env.cacheDir);

      const round: Round = {
        order: handFirst ? 'by hand first' : 'controller first',
        hand: { ms: hand.backup.ms, forgetMs: hand.forget.ms, cpu: { user: hand.backup.cpu.user + hand.forget.cpu.user, sys: hand.backup.cpu.sys + hand.forget.cpu.sys } },
        ctl: { durationMs: ctl.run.duration_ms, wallMs: ctl.wallMs, cpu: ctl.cpu, nodeCpuMs: ctl.selfCpuMs },
        incr: {
          durationMs: incr.run.duration_ms,
          wallMs: incr.wallMs,
          filesNew: incr.run.files_new,
          filesChanged: incr.run.files_changed,
          bytesAdded: incr.run.bytes_added,
          handMs: handIncr.ms,
          handForgetMs: handIncrForget.ms,
          handFilesNew: handIncr.summary?.files_new,
          handFilesChanged: handIncr.summary?.files_changed,
          handBytesAdded: handIncr.summary?.data_added,
        },
        restore: { jobMs: Date.parse(restored.job.finished_at) - Date.parse(restored.job.started_at), wallMs: restored.wallMs, handMs: handRestored.ms },
      };
      results.push(round);
      console.log(
        `round ${r + 1} (${round.order}): first backup by hand ${sec(round.hand.ms)} (+ forget ${sec(round.hand.forgetMs)}), controller run ${sec(round.ctl.durationMs)}, wall ${sec(round.ctl.wallMs)}; ` +
          `restic CPU (backup + forget, user/sys) by hand ${sec(round.hand.cpu.user)}/${sec(round.hand.cpu.sys)}, controller ${sec(round.ctl.cpu.user)}/${sec(round.ctl.cpu.sys)} (controller's node ${sec(round.ctl.nodeCpuMs)}); ` +
          `incremental ${sec(round.incr.durationMs)} (by hand ${sec(round.incr.handMs)} + forget ${sec(round.incr.handForgetMs)}); restore ${sec(round.restore.jobMs)} (by hand ${sec(round.restore.handMs)})`,
      );
    }

    const m = (pick: (r: Round) => number) => median(results.map(pick));
    const handMs = m((r) => r.hand.ms);
    const handForgetMs = m((r) => r.hand.ms + r.hand.forgetMs);
    const ctlMs = m((r) => r.ctl.durationMs);
    const ctlWallMs = m((r) => r.ctl.wallMs);
    const ratios = (pick: (r: Round) => number, base: (r: Round) => number) => median(results.map((r) => base(r) / pick(r)));
    console.log(`\n1. first backup of ${mib(totalBytes)} in ${fileCount} files (medians of ${rounds}):`);
    console.log(`   by hand, restic backup                  ${sec(handMs).padStart(9)}  ${rate(totalBytes, handMs).padStart(13)}`);
    console.log(`   by hand, restic backup + forget         ${sec(handForgetMs).padStart(9)}  ${rate(totalBytes, handForgetMs).padStart(13)}`);
    console.log(`   controller, the run's duration_ms       ${sec(ctlMs).padStart(9)}  ${rate(totalBytes, ctlMs).padStart(13)}`);
    console.log(`   controller, wall clock (request→done)   ${sec(ctlWallMs).padStart(9)}  ${rate(totalBytes, ctlWallMs).padStart(13)}`);
    console.log(`   ratio controller/by hand (MiB/s, median of per-round ratios; 1 = same speed):`);
    console.log(`     duration_ms vs restic backup ${ratios((r) => r.ctl.durationMs, (r) => r.hand.ms).toFixed(3)}, vs backup + forget ${ratios((r) => r.ctl.durationMs, (r) => r.hand.ms + r.hand.forgetMs).toFixed(3)}; wall clock vs restic backup ${ratios((r) => r.ctl.wallMs, (r) => r.hand.ms).toFixed(3)}`);
    console.log(`   controller's time beyond by-hand backup + forget (median of per-round differences): ${sec(m((r) => r.ctl.durationMs - r.hand.ms - r.hand.forgetMs))}`);
    console.log(`   restic's user CPU (backup + forget; its own work, steadier than the wall clock): by hand ${sec(m((r) => r.hand.cpu.user))}, under the controller ${sec(m((r) => r.ctl.cpu.user))}, controller/by hand ${ratios((r) => r.hand.cpu.user, (r) => r.ctl.cpu.user).toFixed(3)}`);
    console.log(`   restic's system CPU: by hand ${sec(m((r) => r.hand.cpu.sys))}, under the controller ${sec(m((r) => r.ctl.cpu.sys))} (the kernel's; higher for whichever of the pair runs second)`);
    console.log(`   the controller's own process CPU during its run: ${sec(m((r) => r.ctl.nodeCpuMs))} (mostly answering this script's polls; restic's progress lines, 1 a second, cost next to nothing)`);
    const last = results[results.length - 1]!.incr;
    console.log(`\n2. incremental run after rewriting ${changedCount} files (${((changedCount / fileCount) * 100).toFixed(1)} %), medians of ${rounds}:`);
    console.log(`   controller: duration_ms ${sec(m((r) => r.incr.durationMs))} (backup + forget), wall ${sec(m((r) => r.incr.wallMs))}; files new ${last.filesNew}, changed ${last.filesChanged}, added ${mib(m((r) => r.incr.bytesAdded))} (last round)`);
    console.log(`   by hand:    restic backup ${sec(m((r) => r.incr.handMs))}, + forget ${sec(m((r) => r.incr.handMs + r.incr.handForgetMs))}; files new ${last.handFilesNew}, changed ${last.handFilesChanged}, added ${mib(m((r) => r.incr.handBytesAdded))}`);
    const restoreMs = m((r) => r.restore.jobMs);
    console.log(`\n3. restore (mode copy) of the first snapshot, ${mib(totalBytes)}, medians of ${rounds}:`);
    console.log(`   controller, job started→finished        ${sec(restoreMs).padStart(9)}  ${rate(totalBytes, restoreMs).padStart(13)}`);
    console.log(`   controller, wall clock (request→done)   ${sec(m((r) => r.restore.wallMs)).padStart(9)}  ${rate(totalBytes, m((r) => r.restore.wallMs)).padStart(13)}`);
    console.log(`   by hand, restic restore                 ${sec(m((r) => r.restore.handMs)).padStart(9)}  ${rate(totalBytes, m((r) => r.restore.handMs)).padStart(13)}`);
    console.log(`   ratio controller/by hand (MiB/s): ${ratios((r) => r.restore.jobMs, (r) => r.restore.handMs).toFixed(3)} by the job's time, ${ratios((r) => r.restore.wallMs, (r) => r.restore.handMs).toFixed(3)} by the wall clock (which adds the snapshot listing the request does)`);
    console.log(`\nload average at the start ${startLoad}, at the end ${load()} (1, 5, 15 min; ${os.cpus().length} cores): other work on the machine makes single runs noisy`);
  } finally {
    await cleanUp();
  }
}

await main();
