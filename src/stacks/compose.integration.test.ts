/**
 * The compose driver and the dockerode adapter against a real engine and the compose
 * found on this machine (v1 in development, v2 in production images): both must pass.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { AppError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { dockerHost, requireDocker } from '../testing/docker.ts';
import { tempDir } from '../testing/temp.ts';
import { until } from '../testing/until.ts';
import { createCompose, type ComposeSpec } from './compose.ts';
import { createDockerPort } from './docker.ts';
import type { ProjectEvent } from './events.ts';
import { BUSYBOX, cleanUpAfter, testDocker, uniqueName } from './testing.ts';
import { createVolumes } from './volumes.ts';

const logger = silentLogger();
const compose = createCompose({ dockerHost, logger });
const docker = createDockerPort(dockerHost, 10_000, logger);
const volumes = createVolumes({ dockerHost, logger });

/**
 * Two services the way app-store files write them (an `x-` anchor merged in), `init`
 * so that stop signals reach busybox, and the data volume as an external volume by
 * `name` (the form the apps domain generates; v1 accepts it, and v2 must too).
 */
const twoServices = (app: string, moreServices = '') => `
x-base: &base
  image: ${BUSYBOX}
  init: true
  stop_grace_period: 2s
  labels:
    org.felhom.test: "true"
services:
  web:
    <<: *base
    command: ["httpd", "-f", "-p", "8080", "-h", "/data"]
    ports: ["127.0.0.1::8080"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]
      interval: 1s
      timeout: 2s
      retries: 30
  worker:
    <<: *base
    command: ["sh", "-c", "echo worker started; echo worker warns >&2; while true; do sleep 1; done"]
${moreServices}
volumes:
  data:
    external: true
    name: felhom_${app}_data
`;

/** An app folder with the compose file and its data volume (holding an index page). */
async function setUpApp(t: TestContext, composeText?: (app: string) => string): Promise<{ spec: ComposeSpec; dataDir: string }> {
  const app = uniqueName();
  cleanUpAfter(t, app);
  const root = tempDir(t, 'felhom-compose-');
  const dir = path.join(root, 'app');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'compose.yml'), (composeText ?? twoServices)(app));
  const dataDir = path.join(root, 'felhom', 'apps', app, 'data');
  await volumes.ensureVolume({ app, volume: 'data', dir: dataDir });
  fs.writeFileSync(path.join(dataDir, 'index.html'), 'hello from the volume\n');
  return { spec: { project: app, dir, files: ['compose.yml'] }, dataDir };
}

const states = async (project: string) => (await docker.listContainers(project)).map((c) => `${c.service}:${c.state}`).sort();

test('when config runs, then anchors and merge keys come back resolved', async (t) => {
  if (!(await requireDocker(t))) return;
  const { spec } = await setUpApp(t);
  const config = await compose.config(spec);
  assert.deepEqual(config.services.map((service) => service.name).sort(), ['web', 'worker']);
  for (const service of config.services) {
    assert.equal(service.image, BUSYBOX);
    assert.ok(service.keys.includes('init'), service.keys.join(' '));
    assert.deepEqual(service.labels, { 'org.felhom.test': 'true' });
  }
  assert.deepEqual(config.volumes, [{ key: 'data', driver: null, driverOpts: null, external: true, name: `felhom_${spec.project}_data` }]);
});

test('when a two-service app goes up and through stop, start, restart and down, then Docker shows each step and the data stays', async (t) => {
  if (!(await requireDocker(t))) return;
  const { spec, dataDir } = await setUpApp(t);
  const progress: string[] = [];
  await compose.up(spec, (line) => progress.push(line));
  assert.ok(progress.some((line) => /web/.test(line)), `progress lines: ${progress.join(' | ')}`);

  const health = await docker.waitHealthy(spec.project, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(health.healthy, true, health.reason);
  const web = health.containers.find((c) => c.service === 'web');
  assert.equal(web?.health, 'healthy');
  assert.equal(web?.image, BUSYBOX);
  assert.equal(web?.ports.length, 1);
  assert.ok(web!.ports[0]!.published > 0 && web!.ports[0]!.target === 8080 && web!.ports[0]!.protocol === 'tcp');
  assert.equal(health.containers.find((c) => c.service === 'worker')?.health, null);
  assert.ok((await docker.projects()).includes(spec.project));

  const logs = await docker.logs(spec.project, { tail: 50 });
  // Docker stamps stdout and stderr as it reads their pipes, so their order may differ from the writes.
  assert.deepEqual(logs.filter((l) => l.service === 'worker').map((l) => l.line).sort(), ['worker started', 'worker warns']);
  assert.deepEqual(await docker.logs(spec.project, { service: 'web', tail: 50 }), []);

  await compose.stop(spec);
  assert.deepEqual(await states(spec.project), ['web:exited', 'worker:exited']);
  await compose.start(spec);
  assert.deepEqual(await states(spec.project), ['web:running', 'worker:running']);
  const before = (await docker.listContainers(spec.project)).map((c) => c.startedAt);
  await compose.restart(spec);
  const after = await docker.listContainers(spec.project);
  assert.deepEqual(after.map((c) => c.state), ['running', 'running']);
  after.forEach((c, i) => assert.notEqual(c.startedAt, before[i], `${c.service} was restarted`));

  await compose.down(spec);
  assert.deepEqual(await docker.listContainers(spec.project), []);
  assert.equal(fs.readFileSync(path.join(dataDir, 'index.html'), 'utf8'), 'hello from the volume\n');
  assert.equal((await testDocker().getVolume(`felhom_${spec.project}_data`).inspect()).Options?.device, dataDir, 'down left the volume');
});

test('when a project is stopped and started through dockerode, then it says what it did and events report it', async (t) => {
  if (!(await requireDocker(t))) return;
  const { spec } = await setUpApp(t);
  await compose.up(spec);
  const events: ProjectEvent[] = [];
  const unsubscribe = docker.onProjectEvents((event) => {
    if (event.project === spec.project) events.push(event);
  });
  t.after(unsubscribe);
  // The subscription is asynchronous; a moment lets it reach the engine.
  await new Promise((resolve) => setTimeout(resolve, 300));

  const stopped = await docker.stopProject(spec.project);
  assert.deepEqual(stopped.map((c) => c.service).sort(), ['web', 'worker']);
  assert.deepEqual(await states(spec.project), ['web:exited', 'worker:exited']);
  assert.deepEqual(await docker.stopProject(spec.project), [], 'nothing left to stop');

  const started = await docker.startProject(spec.project);
  assert.deepEqual(started.map((c) => c.service).sort(), ['web', 'worker']);
  assert.deepEqual(await docker.startProject(spec.project), [], 'starting a running project is harmless');
  assert.equal((await docker.waitHealthy(spec.project, { timeoutMs: 60_000, intervalMs: 250 })).healthy, true);

  const has = (action: string, service: string) => events.some((e) => e.action === action && e.service === service);
  await until(() => events.map((e) => `${e.action}:${e.service}`), {
    what: "the worker's die and start and the web's health status",
    done: () => has('die', 'worker') && has('start', 'worker') && has('health_status', 'web'),
    timeoutMs: 10_000,
    intervalMs: 100,
  });
  assert.ok(has('stop', 'web') && has('die', 'worker') && has('start', 'worker'), events.map((e) => `${e.action}:${e.service}`).join(' '));
  assert.equal(events.find((e) => e.action === 'health_status' && e.service === 'web')?.health, 'healthy');
});

test('when an image cannot be found, then up fails with an upstream error carrying compose stderr', async (t) => {
  if (!(await requireDocker(t))) return;
  const { spec } = await setUpApp(t, (app) => twoServices(app, '  broken:\n    image: 127.0.0.1:9/felhom-test/does-not-exist:latest'));
  await assert.rejects(compose.up(spec), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'upstream');
    assert.match(error.message, /up failed \(exit \d+\) for project ft-[0-9a-f]+: /);
    assert.match(error.message, /does-not-exist/);
    return true;
  });
});

test('when a service fails its healthcheck, then waitHealthy fails fast and names it', async (t) => {
  if (!(await requireDocker(t))) return;
  const sick = `  sick:\n    image: ${BUSYBOX}\n    init: true\n    command: ["sleep", "600"]\n    healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 1 }`;
  const { spec } = await setUpApp(t, (app) => twoServices(app, sick));
  await compose.up(spec);
  const started = Date.now();
  const result = await docker.waitHealthy(spec.project, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(result.healthy, false);
  assert.match(result.reason ?? '', /^service sick is unhealthy/);
  assert.ok(Date.now() - started < 30_000, 'it did not wait for the timeout');
  await compose.down(spec);
});

test('when a service exits, then waitHealthy fails fast with its exit code', async (t) => {
  if (!(await requireDocker(t))) return;
  const crashing = `  crashing:\n    image: ${BUSYBOX}\n    command: ["sh", "-c", "echo missing config >&2; exit 3"]`;
  const { spec } = await setUpApp(t, (app) => twoServices(app, crashing));
  await compose.up(spec);
  const result = await docker.waitHealthy(spec.project, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(result.healthy, false);
  assert.equal(result.reason, 'service crashing exited with code 3');
  assert.deepEqual(await docker.logs(spec.project, { service: 'crashing', tail: 10 }), [{ service: 'crashing', line: 'missing config' }]);
  await compose.down(spec);
});

test('when a project never gets healthy within the bound, then waitHealthy gives up and says what it waited for', async (t) => {
  if (!(await requireDocker(t))) return;
  const { spec } = await setUpApp(t);
  const result = await docker.waitHealthy(spec.project, { timeoutMs: 300, intervalMs: 100 });
  assert.deepEqual(result, { healthy: false, containers: [], reason: 'not healthy after 0.3 s: the project has no containers' });
});

test('when a container does not stop within its grace period, then stopping its project says Docker had to kill it', async (t) => {
  if (!(await requireDocker(t))) return;
  const project = uniqueName();
  const engine = testDocker();
  cleanUpAfter(t, project);
  // PID 1 ignores SIGTERM unless it traps it: `slow` waits out its 1 s grace period and is killed, `quick` exits at once.
  const run = async (name: string, script: string) => {
    const container = await engine.createContainer({
      name: `${project}-${name}`,
      Image: BUSYBOX,
      Cmd: ['sh', '-c', script],
      StopTimeout: 1,
      Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': name },
    });
    await container.start();
  };
  await run('slow', 'sleep 3600');
  await run('quick', 'trap "exit 0" TERM; while true; do sleep 0.1; done');
  const stopped = await docker.stopProject(project);
  assert.deepEqual(stopped.map((c) => `${c.service}:${c.killed}`).sort(), ['quick:false', 'slow:true']);
});
