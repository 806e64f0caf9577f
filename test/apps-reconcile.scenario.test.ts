/**
 * What only real processes show: the controller killed with SIGKILL in the middle of an
 * install, then started again, and what it finds in Docker at start.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { devAgent } from './helpers/controller.ts';
import { docker } from './helpers/deployment.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { testLogs } from './helpers/log.ts';
import { apiToken, call, CALL_TIMEOUT_MS, INSTALL_TIMEOUT_MS, installAndWait, startController } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

const IMAGE = 'felhom-test/webapp:scenario';
/**
 * An install, or a start that re-creates or restarts an app, on a loaded 2-core CI
 * machine (5–10 times slower than a developer's); the app's web server starts 4 s late.
 */
/** Each test installs and restarts the controller: 10–20 s here, minutes when loaded. */
const SCENARIO = { timeout: 300_000 };

function slowApp(id: string, port: number) {
  return {
    manifest: `schema: felhom.app/v1
id: ${id}
name: Slow starter
version: "1.0.0"
compose: compose.yml
health_timeout_seconds: 60
volumes:
  site: { class: hot }
`,
    // The web server starts 4 s late, so the install spends seconds waiting for health.
    compose: `services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "sleep 4; exec httpd -f -p 8080 -h /srv/www"]
    ports: ["127.0.0.1:${port}:8080"]
    volumes: ["site:/srv/www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      retries: 30
volumes:
  site:
`,
  };
}

/** Waits until the app runs; returns what the API says of it. */
function appRunning(url: string, token: string, id: string, explain: () => Promise<string>): Promise<Record<string, any>> {
  return until(async () => (await call(url, token, 'GET', `/api/v1/apps/${id}`)).body, {
    what: `app ${id} running`,
    done: (app) => app.state === 'running',
    timeoutMs: INSTALL_TIMEOUT_MS,
    intervalMs: 250,
    explain,
  });
}

describe('the controller killed and started again', () => {
  before(() => buildWebImageIfEngine(IMAGE, 'scenario'));

  for (const killAt of ['start', 'wait_healthy'] as const) {
    it(`when it is killed at step "${killAt}" of an install, then the next start finishes the install without a second snapshot`, SCENARIO, async (t) => {
      if (!(await requireDocker(t))) return;
      const explain = testLogs(t).explain;
      const agent = await devAgent(t);
      const dataDir = tempDir(t, 'felhom-scenario-');
      const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath };
      const token = apiToken(dataDir);
      const id = `crash-${process.pid % 1000}-${killAt.length}`;
      cleanUpProject(t, id);
      const app = slowApp(id, 21000 + (process.pid % 1000) + killAt.length);

      const first = await startController(t, env);
      const started = await call(first.url, token, 'POST', '/api/v1/apps', app);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const operationId = started.body.operation.id;
      // Polled often: the step must be caught while it runs; an install that ended first fails below.
      const atStep = await until(async () => (await call(first.url, token, 'GET', `/api/v1/operations/${operationId}`)).body.operation, {
        what: `the install at step ${killAt}`,
        done: (operation) => operation.step === killAt || operation.state !== 'running',
        timeoutMs: INSTALL_TIMEOUT_MS,
        intervalMs: 50,
        explain,
      });
      assert.equal(atStep.state, 'running', JSON.stringify(atStep));
      first.child.kill('SIGKILL');
      await first.whenExited();

      const second = await startController(t, env);
      const app2 = await appRunning(second.url, token, id, explain);
      assert.equal(app2.operation.kind, 'resume-install');
      assert.equal(app2.operation.state, 'succeeded');
      assert.equal(app2.snapshots.length, 1, 'the resumed install took no second snapshot');
      const interrupted = (await call(second.url, token, 'GET', `/api/v1/operations/${operationId}`)).body.operation;
      assert.equal(interrupted.state, 'failed');
      assert.match(interrupted.error, /the controller stopped while this was running/);
      const served = await fetch(`http://127.0.0.1:${21000 + (process.pid % 1000) + killAt.length}/`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      assert.equal((await served.text()).trim(), 'scenario');
      second.child.kill('SIGTERM');
      assert.equal(await second.whenExited(), 0);
    });
  }

  it('when its app containers vanished and a stranger project runs, then the next start re-creates the app and reports the stranger', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const explain = testLogs(t).explain;
    const agent = await devAgent(t);
    const dataDir = tempDir(t, 'felhom-scenario-');
    const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath };
    const token = apiToken(dataDir);
    const id = `vanish-${process.pid % 1000}`;
    const stranger = `stranger-${process.pid % 1000}`;
    cleanUpProject(t, id);
    cleanUpProject(t, stranger);

    const first = await startController(t, env);
    await installAndWait(first.url, token, slowApp(id, 22000 + (process.pid % 1000)), explain);
    first.child.kill('SIGTERM');
    await first.whenExited();

    docker('rm', '-f', ...docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${id}`).split('\n').filter(Boolean));
    docker('run', '-d', '--label', `com.docker.compose.project=${stranger}`, 'felhom-test/busybox:latest', 'sleep', '3600');

    const second = await startController(t, env);
    const list = (await call(second.url, token, 'GET', '/api/v1/apps')).body;
    assert.ok(list.unmanaged_projects.includes(stranger), JSON.stringify(list));
    assert.deepEqual(list.reconciled_at_start.recreated, [id], 'the start reports what it found and did');
    await appRunning(second.url, token, id, explain);
    assert.notEqual(docker('ps', '-q', '--filter', `label=com.docker.compose.project=${stranger}`), '', 'the stranger was not touched');
  });

  it('when its storage went away while it was down, then the next start does not start the app, and starts it when the storage is back', SCENARIO, async (t) => {
    if (!(await requireDocker(t))) return;
    const explain = testLogs(t).explain;
    const agent = await devAgent(t);
    const dataDir = tempDir(t, 'felhom-scenario-');
    const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath, FELHOM_STORAGE_CHECK_MS: '300' };
    const token = apiToken(dataDir);
    const id = `nodisk-${process.pid % 1000}`;
    cleanUpProject(t, id);

    const first = await startController(t, env);
    await installAndWait(first.url, token, slowApp(id, 24000 + (process.pid % 1000)), explain);
    first.child.kill('SIGTERM');
    await first.whenExited();
    // The guest rebooted with the drive gone: the app's containers are down.
    docker('stop', '-t', '1', ...docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`).split('\n').filter(Boolean));
    agent.setMountState('local-fast', 'disconnected');

    const second = await startController(t, env);
    const list = (await call(second.url, token, 'GET', '/api/v1/apps')).body;
    assert.deepEqual(list.reconciled_at_start.started, [], 'nothing was started onto missing storage');
    assert.equal((await call(second.url, token, 'GET', `/api/v1/apps/${id}`)).body.state, 'stopped_for_storage');
    assert.equal(docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`), '');

    agent.setMountState('local-fast', 'attached');
    await appRunning(second.url, token, id, explain);
  });
});
