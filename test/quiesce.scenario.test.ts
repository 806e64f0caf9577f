/**
 * The quiesce guarantee with real processes: the controller killed with SIGKILL, or
 * stopped with SIGTERM, while the apps are down for a backup.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, it, type TestContext } from 'node:test';
import { devAgent } from './helpers/controller.ts';
import { docker } from './helpers/deployment.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { testLogs } from './helpers/log.ts';
import { apiToken, call, installAndWait, spawnController, startController } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

const IMAGE = 'felhom-test/webapp:quiesce-scenario';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const running = (id: string) => docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`) !== '';

/**
 * Bounds for a loaded 2-core CI machine (5–10 times slower than a developer's): a
 * backup run to its end (the agent's phases take about 7 s here, and the
 * apps start again), a container starting, a line the controller logs as it starts.
 */
const RUN_MS = 90_000;
const CONTAINER_MS = 90_000;
const LOG_LINE_MS = 60_000;
/** Each test installs, backs up, kills and restarts the controller: 15–25 s here, minutes when loaded. */
const SCENARIO = { timeout: 300_000 };

async function setup(t: TestContext, name: string, killAt = 'waiting', slowStop = false) {
  const explain = testLogs(t).explain;
  const agent = await devAgent(t, { backup: { mode: 'snapshot', queuedMs: 300, runningMs: 2_500, snapshottedMs: 4_000 } });
  const dataDir = tempDir(t, 'felhom-quiesce-');
  const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath };
  const token = apiToken(dataDir);
  const id = `${name}-${process.pid % 1000}`;
  cleanUpProject(t, id);
  const first = await startController(t, env);
  await installAndWait(
    first.url,
    token,
    {
      manifest: `schema: felhom.app/v1\nid: ${id}\nname: Q\nversion: "1"\ncompose: compose.yml\nvolumes:\n  site: { class: hot }\n`,
      // Without init the web server ignores SIGTERM, so stopping takes Docker's 10 s: time to be killed in.
      compose: `services:\n  web:\n    image: ${IMAGE}\n    init: ${!slowStop}\n    volumes: ["site:/srv/www"]\nvolumes:\n  site:\n`,
    },
    explain,
  );
  assert.ok(running(id));
  // Slow to answer: the request is in flight for seconds.
  if (killAt === 'requesting') agent.injectFault({ method: 'POST', path: '/backup', delayMs: 3_000 });
  const started = await call(first.url, token, 'POST', '/api/v1/backups');
  assert.equal(started.status, 202);
  // Each phase lasts seconds: polled often enough not to miss one.
  await until(async () => (await call(first.url, token, 'GET', '/api/v1/backups/current')).body.run, {
    what: `the run at phase ${killAt}`,
    done: (run) => run?.phase === killAt,
    timeoutMs: RUN_MS,
    intervalMs: 50,
    explain,
  });
  return { agent, env, token, id, first, runId: started.body.run.id as string, explain };
}

/** Where the app's `site` volume lives on the agent's fast mount. */
async function siteFolder(s: { first: { url: string }; token: string; id: string }): Promise<string> {
  const storage = (await call(s.first.url, s.token, 'GET', '/api/v1/storage')).body.mounts.find((m: { id: string }) => m.id === 'local-fast');
  return `${storage.path}/felhom/apps/${s.id}/site`;
}

async function closedRun(url: string, s: { token: string; runId: string; explain: () => Promise<string> }) {
  return until(async () => (await call(url, s.token, 'GET', '/api/v1/backups')).body.runs.find((r: { id: string }) => r.id === s.runId), {
    what: `run ${s.runId} to close`,
    done: (run) => run?.phase === 'closed',
    timeoutMs: RUN_MS,
    explain: s.explain,
  });
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
    it(`when it is killed with SIGKILL at ${step}, then the next start runs the app before serving, requests no second backup, and closes the run ${outcome}`, SCENARIO, async (t) => {
      if (!(await requireDocker(t))) return;
      const s = await setup(t, `qk${step.slice(0, 4)}`, step, slowStop);
      const killedAt = Date.now();
      s.first.child.kill('SIGKILL');
      await s.first.whenExited();

      const second = await startController(t, s.env);
      assert.ok(running(s.id), 'running again by the time the controller serves');
      const run = await closedRun(second.url, s);
      assert.equal(run.resume_reason, reason);
      assert.equal(run.outcome, outcome);
      assert.ok(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length <= 1, 'no second backup');
      // A stop Docker was still carrying out when the controller died must not win in the end.
      await sleep(Math.max(0, killedAt + 12_000 - Date.now()));
      assert.ok(running(s.id), 'still running after any stop in flight would have completed');
    });
  }

  it('when it gets SIGTERM while the apps are down, then it starts them before it exits, and the next start finishes tracking', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qterm');
    s.first.child.kill('SIGTERM');
    assert.equal(await s.first.whenExited(), 0);
    assert.ok(running(s.id), 'started again before the controller exited');

    const second = await startController(t, s.env);
    const run = await closedRun(second.url, s);
    assert.equal(run.resume_reason, 'shutdown');
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });

  it('when it gets SIGTERM while its start restarts the apps a crash left down, then it finishes starting them and exits cleanly', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qtstart', 'waiting');
    s.first.child.kill('SIGKILL');
    await s.first.whenExited();
    assert.ok(!running(s.id), 'down for the backup when the controller died');

    const second = spawnController(t, s.env);
    await until(() => second.output().includes('finishing a run interrupted by a restart'), {
      what: 'the second controller to resume the run',
      timeoutMs: LOG_LINE_MS,
      intervalMs: 25,
      explain: s.explain,
    });
    second.child.kill('SIGTERM');
    assert.equal(await second.whenExited(), 0, 'a clean exit, not death by signal');
    assert.match(second.output(), /stopping once startup has finished/);
    assert.ok(running(s.id), 'the app runs after the controller has gone');

    const third = await startController(t, s.env);
    const run = await closedRun(third.url, s);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1, 'no second backup');
  });

  it('when it gets a second signal while its start restarts the apps, then it leaves at once, and the next start still runs the app and closes the run', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qtwice', 'waiting');
    s.first.child.kill('SIGKILL');
    await s.first.whenExited();

    const second = spawnController(t, s.env);
    await until(() => second.output().includes('finishing a run interrupted by a restart'), {
      what: 'the second controller to resume the run',
      timeoutMs: LOG_LINE_MS,
      intervalMs: 25,
      explain: s.explain,
    });
    second.child.kill('SIGINT');
    await until(() => second.output().includes('stopping once startup has finished'), {
      what: 'the controller to take the first signal',
      timeoutMs: LOG_LINE_MS,
      intervalMs: 10,
      explain: s.explain,
    });
    second.child.kill('SIGINT');
    assert.equal(await second.whenExited(), 1);
    assert.match(second.output(), /stopping at once/);

    const third = await startController(t, s.env);
    assert.ok(running(s.id), 'running again by the time the controller serves');
    const run = await closedRun(third.url, s);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1, 'no second backup');
  });

  it('when it is killed with SIGKILL while resuming (a stack that will not start yet), then the next start runs it and closes the run', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qkres', 'waiting');
    // The app's volume folder goes missing: Docker cannot start it, the runner keeps retrying.
    const site = await siteFolder(s);
    fs.renameSync(site, `${site}.away`);
    // The stack that does not start is named once its first start failed, for the UI to show.
    const current = await until(async () => (await call(s.first.url, s.token, 'GET', '/api/v1/backups/current')).body.run, {
      what: 'the run resuming, with a failed restart',
      done: (run) => run?.phase === 'resuming' && run.failed_restarts?.length > 0,
      timeoutMs: RUN_MS,
      intervalMs: 50,
      explain: s.explain,
    });
    assert.deepEqual(current.failed_restarts, [s.id]);
    assert.deepEqual((await call(s.first.url, s.token, 'GET', '/api/v1/backups')).body.runs[0].failed_restarts, [s.id]);
    s.first.child.kill('SIGKILL');
    await s.first.whenExited();
    fs.renameSync(`${site}.away`, site);

    const second = await startController(t, s.env);
    assert.ok(running(s.id), 'running again by the time the controller serves');
    const run = await closedRun(second.url, s);
    assert.equal(run.outcome, 'succeeded');
    assert.deepEqual(run.failed_restarts, [], 'recorded, and cleared once it ran');
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });

  it('when it restarts and a stack cannot start because its disk is gone, then it serves after the first attempt, the storage watch takes the app, and the run closes', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t, 'qkdisk', 'waiting');
    const site = await siteFolder(s);
    s.first.child.kill('SIGKILL');
    await s.first.whenExited();
    // The guest rebooted without the drive: Docker cannot start the app, the agent says the mount is gone.
    fs.renameSync(site, `${site}.away`);
    s.agent.setMountState('local-fast', 'disconnected');

    // A start that waited for the disk to come back would never serve: startController's bound fails it.
    const second = await startController(t, { ...s.env, FELHOM_STORAGE_CHECK_MS: '300' });
    assert.equal((await call(second.url, s.token, 'GET', `/api/v1/apps/${s.id}`)).body.state, 'stopped_for_storage');
    const run = await closedRun(second.url, s);
    assert.equal(run.resume_reason, 'crash_recovery');
    assert.deepEqual(run.failed_restarts, [], 'the storage watch owns the app now: not a failed restart');
    assert.equal(running(s.id), false);

    // The drive is back: the storage watch starts the app.
    fs.renameSync(`${site}.away`, site);
    s.agent.setMountState('local-fast', 'attached');
    await until(() => running(s.id), { what: 'the storage watch to start the app again', timeoutMs: CONTAINER_MS, intervalMs: 250, explain: s.explain });
    assert.equal(s.agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 1);
  });
});
