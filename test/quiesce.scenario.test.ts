/**
 * The quiesce guarantee with real processes: the controller killed with SIGKILL, or
 * stopped with SIGTERM, while the apps are down for a backup.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { before, describe, it, type TestContext } from 'node:test';
import { devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { apiToken, call, spawnController, startController } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';

const IMAGE = 'felhom-test/webapp:quiesce-scenario';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const running = (id: string) => docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`) !== '';

async function setup(t: TestContext, name: string, killAt = 'waiting', slowStop = false) {
  const agent = await devAgent(t, { backup: { mode: 'snapshot', queuedMs: 300, runningMs: 2_500, snapshottedMs: 4_000 } });
  const dataDir = tempDir(t, 'felhom-quiesce-');
  const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath, FELHOM_QUIESCE_POLL_MS: '100' };
  const token = apiToken(dataDir);
  const id = `${name}-${process.pid % 1000}`;
  cleanUpProject(t, id);
  const first = await startController(t, env);
  const installed = await call(first.url, token, 'POST', '/api/v1/apps', {
    manifest: `schema: felhom.app/v1\nid: ${id}\nname: Q\nversion: "1"\ncompose: compose.yml\nvolumes:\n  site: { class: hot }\n`,
    // Without init the web server ignores SIGTERM, so stopping takes Docker's 10 s: time to be killed in.
    compose: `services:\n  web:\n    image: ${IMAGE}\n    init: ${!slowStop}\n    volumes: ["site:/srv/www"]\nvolumes:\n  site:\n`,
  });
  for (let i = 0; i < 120; i++) {
    if ((await call(first.url, token, 'GET', `/api/v1/operations/${installed.body.operation.id}`)).body.operation.state !== 'running') break;
    await sleep(250);
  }
  assert.ok(running(id));
  // Slow to answer: the request is in flight for seconds.
  if (killAt === 'requesting') agent.injectFault({ method: 'POST', path: '/backup', delayMs: 3_000 });
  const started = await call(first.url, token, 'POST', '/api/v1/backups');
  assert.equal(started.status, 202);
  let phase = '';
  for (let i = 0; i < 300 && phase !== killAt; i++) {
    phase = (await call(first.url, token, 'GET', '/api/v1/backups/current')).body.run?.phase;
    await sleep(50);
  }
  assert.equal(phase, killAt);
  return { agent, env, token, id, first, runId: started.body.run.id as string };
}

/** Where the app's `site` volume lives on the agent's fast mount. */
async function siteFolder(s: { first: { url: string }; token: string; id: string }): Promise<string> {
  const storage = (await call(s.first.url, s.token, 'GET', '/api/v1/storage')).body.mounts.find((m: { id: string }) => m.id === 'local-fast');
  return `${storage.path}/felhom/apps/${s.id}/site`;
}

async function closedRun(url: string, token: string, runId: string) {
  for (let i = 0; i < 150; i++) {
    const run = (await call(url, token, 'GET', '/api/v1/backups')).body.runs.find((r: { id: string }) => r.id === runId);
    if (run.phase === 'closed') return run;
    await sleep(100);
  }
  assert.fail('the run did not close');
}

describe('the quiesce loop and a dying controller', () => {
  before(() => buildWebImageIfEngine(IMAGE, 'quiesce'));

  const steps: Array<[string, boolean, string, string]> = [
    ['stopping', true, 'crash_recovery', 'failed'],
    ['requesting', false, 'crash_recovery', 'unknown'],
    ['waiting', false, 'crash_recovery', 'succeeded'],
    ['tracking', false, 'snapshotted', 'succeeded'],
  ];
  for (const [step, slowStop, reason, outcome] of steps) {
    it(`when it is killed with SIGKILL at ${step}, then the next start runs the app before serving, requests no second backup, and closes the run ${outcome}`, async (t) => {
      if (!(await requireDocker(t))) return;
      const s = await setup(t, `qk${step.slice(0, 4)}`, step, slowStop);
      const killedAt = Date.now();
      s.first.child.kill('SIGKILL');
      await s.first.exited;

      const second = await startController(t, s.env);
      assert.ok(running(s.id), 'running again by the time the controller serves');
      const run = await closedRun(second.url, s.token, s.runId);
      assert.equal(run.resume_reason, reason);
      assert.equal(run.outcome, outcome);
      assert.ok(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length <= 1, 'no second backup');
      // A stop Docker was still carrying out when the controller died must not win in the end.
      await sleep(Math.max(0, killedAt + 12_000 - Date.now()));
      assert.ok(running(s.id), 'still running after any stop in flight would have completed');
    });
  }

  it('when it gets SIGTERM while the apps are down, then it starts them before it exits, and the next start finishes tracking', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qterm');
    s.first.child.kill('SIGTERM');
    assert.equal(await s.first.exited, 0);
    assert.ok(running(s.id), 'started again before the controller exited');

    const second = await startController(t, s.env);
    const run = await closedRun(second.url, s.token, s.runId);
    assert.equal(run.resume_reason, 'shutdown');
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });

  it('when it gets SIGTERM while its start restarts the apps a crash left down, then it finishes starting them and exits cleanly', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qtstart', 'waiting');
    s.first.child.kill('SIGKILL');
    await s.first.exited;
    assert.ok(!running(s.id), 'down for the backup when the controller died');

    const second = spawnController(t, s.env);
    for (let i = 0; i < 200 && !second.output().includes('finishing a run interrupted by a restart'); i++) await sleep(25);
    assert.match(second.output(), /finishing a run interrupted by a restart/);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, `a clean exit, not death by signal:\n${second.output()}`);
    assert.match(second.output(), /stopping once startup has finished/);
    assert.ok(running(s.id), 'the app runs after the controller has gone');

    const third = await startController(t, s.env);
    const run = await closedRun(third.url, s.token, s.runId);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1, 'no second backup');
  });

  it('when it gets a second signal while its start restarts the apps, then it leaves at once, and the next start still runs the app and closes the run', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qtwice', 'waiting');
    s.first.child.kill('SIGKILL');
    await s.first.exited;

    const second = spawnController(t, s.env);
    for (let i = 0; i < 200 && !second.output().includes('finishing a run interrupted by a restart'); i++) await sleep(25);
    second.child.kill('SIGINT');
    for (let i = 0; i < 100 && !second.output().includes('stopping once startup has finished'); i++) await sleep(10);
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 1, second.output());
    assert.match(second.output(), /stopping at once/);

    const third = await startController(t, s.env);
    assert.ok(running(s.id), 'running again by the time the controller serves');
    const run = await closedRun(third.url, s.token, s.runId);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1, 'no second backup');
  });

  it('when it is killed with SIGKILL while resuming (a stack that will not start yet), then the next start runs it and closes the run', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qkres', 'waiting');
    // The app's volume folder goes missing: Docker cannot start it, the runner keeps retrying.
    const site = await siteFolder(s);
    fs.renameSync(site, `${site}.away`);
    let phase = '';
    for (let i = 0; i < 200 && phase !== 'resuming'; i++) {
      phase = (await call(s.first.url, s.token, 'GET', '/api/v1/backups/current')).body.run?.phase;
      await sleep(50);
    }
    assert.equal(phase, 'resuming');
    await sleep(1_500);
    // The stack that does not start is named, for the UI to show.
    const current = (await call(s.first.url, s.token, 'GET', '/api/v1/backups/current')).body.run;
    assert.deepEqual(current.failed_restarts, [s.id]);
    assert.deepEqual((await call(s.first.url, s.token, 'GET', '/api/v1/backups')).body.runs[0].failed_restarts, [s.id]);
    s.first.child.kill('SIGKILL');
    await s.first.exited;
    fs.renameSync(`${site}.away`, site);

    const second = await startController(t, s.env);
    assert.ok(running(s.id), 'running again by the time the controller serves');
    const run = await closedRun(second.url, s.token, s.runId);
    assert.equal(run.outcome, 'succeeded');
    assert.deepEqual(run.failed_restarts, [], 'recorded, and cleared once it ran');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });

  it('when it restarts and a stack cannot start because its disk is gone, then it serves after the first attempt, the storage watch takes the app, and the run closes', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qkdisk', 'waiting');
    const site = await siteFolder(s);
    s.first.child.kill('SIGKILL');
    await s.first.exited;
    // The guest rebooted without the drive: Docker cannot start the app, the agent says the mount is gone.
    fs.renameSync(site, `${site}.away`);
    s.agent.setMountState('local-fast', 'disconnected');

    const env = { ...s.env, FELHOM_STORAGE_CHECK_MS: '300' };
    let timer: NodeJS.Timeout | undefined;
    const second = await Promise.race([
      startController(t, env),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the controller did not serve within 30 s')), 30_000))),
    ]).finally(() => clearTimeout(timer));
    assert.equal((await call(second.url, s.token, 'GET', `/api/v1/apps/${s.id}`)).body.state, 'stopped_for_storage');
    const run = await closedRun(second.url, s.token, s.runId);
    assert.equal(run.resume_reason, 'crash_recovery');
    assert.deepEqual(run.failed_restarts, [], 'the storage watch owns the app now: not a failed restart');
    assert.equal(running(s.id), false);

    // The drive is back: the storage watch starts the app.
    fs.renameSync(`${site}.away`, site);
    s.agent.setMountState('local-fast', 'attached');
    for (let i = 0; i < 80 && !running(s.id); i++) await sleep(250);
    assert.ok(running(s.id), 'started again with its storage');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });
});
