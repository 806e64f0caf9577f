/**
 * Apps end to end: the controller's API, a real Docker engine, real compose, and the
 * development agent's real mount directories.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { docker } from './helpers/deployment.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImage, buildWebImageIfEngine, imageId } from './helpers/images.ts';
import { testLogs } from './helpers/log.ts';
import { until } from './helpers/until.ts';

const WEB_IMAGE = 'felhom-test/webapp:it';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Bounds for a loaded 2-core CI machine (5–10 times slower than a developer's): a deploy
 * (snapshot, compose config, seeding, compose up, the app's health check), a container
 * starting or stopping, one API call or page of the app.
 */
const DEPLOY_MS = 90_000;
const CONTAINER_MS = 90_000;
const CALL_MS = 30_000;

/** What the app serves on its published port. */
async function served(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(CALL_MS) });
  return (await response.text()).trim();
}

let appCounter = 0;
function testApp(options: { port?: number; extraService?: string; manifestExtra?: string } = {}) {
  const id = `it${process.pid % 10000}-${++appCounter}`;
  const port = options.port ?? 20000 + ((process.pid * 7 + appCounter * 13) % 20000);
  const manifest = `schema: felhom.app/v1
id: ${id}
name: Test site ${appCounter}
version: "1.0.0"
compose: compose.yml
web: { service: web, port: 8080 }
health_timeout_seconds: 30
volumes:
  site:  { class: hot }
  media: { class: bulk, backup: own }
${options.manifestExtra ?? ''}`;
  // init: the web server and sleep, as PID 1, ignore SIGTERM, so each stop (uninstall,
  // eject, a failed deploy) would wait Docker's 10 s before SIGKILL.
  const compose = `x-common: &common
  restart: unless-stopped
  init: true
  security_opt: ["no-new-privileges:true"]
services:
  web:
    <<: *common
    image: ${WEB_IMAGE}
    ports: ["127.0.0.1:${port}:8080"]
    volumes: ["site:/srv/www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 20
  worker:
    <<: *common
    image: felhom-test/busybox:latest
    command: ["sh", "-c", "echo worker-$$HOSTNAME >> /media/worker.log; exec sleep 3600"]
    volumes: ["media:/media"]
${options.extraService ?? ''}
volumes:
  site:
  media:
`;
  return { id, port, manifest, compose };
}

/** A controller and the agent in-process; a failing test shows the last lines of both. */
async function setup(t: TestContext, env: Record<string, string> = {}) {
  const explain = testLogs(t).explain;
  const agent = await devAgent(t);
  const c = await controller(t, {
    bootstrapPath: agent.bootstrapPath,
    env: { FELHOM_STORAGE_CHECK_MS: '300', FELHOM_KEEP_SNAPSHOTS: '2', ...env },
  });
  // A supertest agent, so that every request through it gets the bound.
  const api = request.agent(c.controller.url).timeout(CALL_MS);
  const auth = bearer(c.token);
  const storage = (await api.get('/api/v1/storage').set(auth).expect(200)).body as { mounts: Array<{ id: string; path: string }> };
  const mountPath = (id: string) => storage.mounts.find((m) => m.id === id)!.path;
  return { agent, c, api, auth, explain, fastPath: mountPath('local-fast'), bulkPath: mountPath('usb-9f3a27c1') };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function finished(s: Setup, operationId: string) {
  return until(async () => (await s.api.get(`/api/v1/operations/${operationId}`).set(s.auth).expect(200)).body.operation, {
    what: `operation ${operationId} to finish`,
    done: (operation) => operation.state !== 'running',
    timeoutMs: DEPLOY_MS,
    intervalMs: 250,
    explain: s.explain,
  });
}

async function install(s: Setup, app: { manifest: string; compose: string }, expectState = 'succeeded') {
  const response = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  const operation = await finished(s, response.body.operation.id);
  assert.equal(operation.state, expectState, JSON.stringify(operation, null, 1));
  return operation;
}

/** A controller beside a dev agent, with one test app installed and cleaned up after. */
async function installedApp(t: TestContext) {
  const s = await setup(t);
  const app = testApp();
  cleanUpProject(t, app.id);
  await install(s, app);
  return { s, app };
}

async function appState(s: Setup, id: string) {
  return (await s.api.get(`/api/v1/apps/${id}`).set(s.auth).expect(200)).body;
}

/** Waits until the app is in `state` (the storage watch and starts act in the background). */
function appInState(s: Setup, id: string, state: string) {
  return until(() => appState(s, id), { what: `app ${id} ${state}`, done: (app) => app.state === state, timeoutMs: CONTAINER_MS, intervalMs: 250, explain: s.explain });
}

/** Waits until no container of the app runs. */
function noContainerOf(s: Setup, id: string) {
  return until(() => docker('ps', '-q', '--filter', `label=com.docker.compose.project=${id}`), {
    what: `no container of ${id} running`,
    done: (ids) => ids === '',
    timeoutMs: CONTAINER_MS,
    intervalMs: 250,
    explain: s.explain,
  });
}

/** Waits until the app's worker has written its log on the bulk volume. */
function workerLogged(s: Setup, file: string) {
  return until(() => fs.existsSync(file), { what: `the worker to write ${file}`, timeoutMs: CONTAINER_MS, intervalMs: 250, explain: s.explain });
}

describe('apps on a real Docker engine', () => {
  before(() => buildWebImageIfEngine(WEB_IMAGE, 'from-image'));

  it('when a two-service app with a hot and a bulk volume is installed, then each volume lands on its mount, seeded, and the app runs', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const app = testApp();
    cleanUpProject(t, app.id);
    const operation = await install(s, app);
    assert.ok(operation.events.some((e: { message: string }) => /filled with the image's initial files/.test(e.message)));

    const sitePath = path.join(s.fastPath, 'felhom', 'apps', app.id, 'site');
    const mediaPath = path.join(s.bulkPath, 'felhom', 'apps', app.id, 'media');
    assert.equal(fs.readFileSync(path.join(sitePath, 'index.html'), 'utf8').trim(), 'from-image', 'the image content was seeded');
    assert.equal(fs.statSync(sitePath).uid, 1000, "the volume root has the image's owner");
    assert.equal(fs.existsSync(path.join(sitePath, '.seeded')), false, 'no marker inside the volume');
    await workerLogged(s, path.join(mediaPath, 'worker.log'));
    assert.equal(await served(app.port), 'from-image');

    const body = await appState(s, app.id);
    assert.equal(body.state, 'running');
    assert.deepEqual(
      body.volumes.map((v: Record<string, unknown>) => [v.volume, v.class, v.mount_id, v.path, v.backup, v.in_guest_backup]),
      [
        ['media', 'bulk', 'usb-9f3a27c1', mediaPath, 'own', false],
        ['site', 'hot', 'local-fast', sitePath, 'guest', true],
      ],
    );
    const volume = JSON.parse(docker('volume', 'inspect', `felhom_${app.id}_site`))[0];
    assert.equal(volume.Driver, 'local');
    assert.equal(volume.Options.device, sitePath, 'a bind-backed volume, not one in the root filesystem');

    assert.equal(body.snapshots.length, 1);
    const agentSnapshots = await s.c.controller.agent.listSnapshots();
    assert.ok(agentSnapshots.some((snap) => snap.name === body.snapshots[0].name && snap.owner === 'controller'));
    const audit = s.c.controller.db.prepare("SELECT outcome FROM audit_log WHERE action = 'app.install' AND target = ?").all(app.id);
    assert.deepEqual(audit, [{ outcome: 'ok' }]);
  });

  // Four deploys and a docker build: 16 s here, minutes on a loaded machine; each wait has its own bound.
  it('when the app is stopped, started, updated, uninstalled and reinstalled, then its data survives every step', { timeout: 300_000 }, async (t) => {
    if (!(await requireDocker(t))) return;
    const { s, app } = await installedApp(t);
    const sitePath = path.join(s.fastPath, 'felhom', 'apps', app.id, 'site');
    fs.writeFileSync(path.join(sitePath, 'index.html'), 'customer-data\n');

    await s.api.post(`/api/v1/apps/${app.id}/stop`).set(s.auth).expect(200);
    assert.equal((await appState(s, app.id)).state, 'stopped');
    await s.api.post(`/api/v1/apps/${app.id}/start`).set(s.auth).expect(200);
    await appInState(s, app.id, 'running');
    assert.equal(await served(app.port), 'customer-data');

    // A new image under the same tag, as a pull would bring; the agent owns one snapshot we must never prune.
    const imageBefore = imageId(WEB_IMAGE);
    buildWebImage(WEB_IMAGE, 'from-new-image');
    assert.notEqual(imageId(WEB_IMAGE), imageBefore);
    t.after(() => buildWebImage(WEB_IMAGE, 'from-image'));
    for (let round = 0; round < 2; round++) {
      const update = await s.api.post(`/api/v1/apps/${app.id}/update`).set(s.auth).expect(202);
      assert.equal((await finished(s, update.body.operation.id)).state, 'succeeded');
    }
    const after = await appState(s, app.id);
    assert.equal(after.state, 'running');
    const webContainer = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${app.id}`, '--filter', 'label=com.docker.compose.service=web');
    assert.equal(docker('inspect', '-f', '{{.Image}}', webContainer), imageId(WEB_IMAGE), 'recreated from the new image');
    assert.equal(await served(app.port), 'customer-data', 'not re-seeded');

    // Three deploys with FELHOM_KEEP_SNAPSHOTS=2: the oldest of ours is pruned, the agent's is kept.
    const snapshots = await s.c.controller.agent.listSnapshots();
    const ours = snapshots.filter((snap) => snap.name.startsWith('felhom-pre-'));
    assert.equal(ours.length, 2, JSON.stringify(snapshots));
    assert.ok(snapshots.some((snap) => snap.owner === 'agent'), 'the agent-owned snapshot is untouched');
    assert.equal(after.snapshots.length, 2);

    const uninstall = await s.api.delete(`/api/v1/apps/${app.id}`).set(s.auth).expect(200);
    assert.equal(uninstall.body.data, 'kept');
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${app.id}`), '');
    assert.equal(fs.readFileSync(path.join(sitePath, 'index.html'), 'utf8'), 'customer-data\n');
    await s.api.get(`/api/v1/apps/${app.id}`).set(s.auth).expect(404);

    await install(s, app);
    assert.equal(await served(app.port), 'customer-data', 'reinstall finds the data');
    const audited = s.c.controller.db.prepare('SELECT action, outcome FROM audit_log WHERE target = ? ORDER BY id').all(app.id);
    assert.deepEqual(audited, [
      { action: 'app.install', outcome: 'ok' },
      { action: 'app.stop', outcome: 'ok' },
      { action: 'app.start', outcome: 'ok' },
      { action: 'app.update', outcome: 'ok' },
      { action: 'app.update', outcome: 'ok' },
      { action: 'app.uninstall', outcome: 'ok' },
      { action: 'app.install', outcome: 'ok' },
    ]);
    assert.equal((await appState(s, app.id)).volumes.find((v: { volume: string }) => v.volume === 'site').path, sitePath);
  });

  it('when data deletion is asked for, then it needs a confirmation that names the paths, and then removes them', async (t) => {
    if (!(await requireDocker(t))) return;
    const { s, app } = await installedApp(t);
    const refused = await s.api.delete(`/api/v1/apps/${app.id}?delete_data=true`).set(s.auth).expect(409);
    assert.match(refused.body.error.message, /removes these folders for good: .*\/site/);
    const confirm = /confirm=([0-9a-f]+)/.exec(refused.body.error.message)![1]!;
    assert.equal((await appState(s, app.id)).state, 'running', 'nothing was done');
    const done = await s.api.delete(`/api/v1/apps/${app.id}?delete_data=true&confirm=${confirm}`).set(s.auth).expect(200);
    assert.equal(done.body.deleted_paths.length, 2);
    for (const deleted of done.body.deleted_paths) assert.equal(fs.existsSync(deleted), false);
  });

  it('when a mount is disconnected, then the apps on it stop and may not start; when it returns, they run again', async (t) => {
    if (!(await requireDocker(t))) return;
    const { s, app } = await installedApp(t);
    s.agent.setMountState('usb-9f3a27c1', 'disconnected');
    await appInState(s, app.id, 'stopped_for_storage');
    await noContainerOf(s, app.id);
    const refused = await s.api.post(`/api/v1/apps/${app.id}/start`).set(s.auth).expect(409);
    assert.match(refused.body.error.message, /storage \(usb-9f3a27c1\) is not attached/);
    s.agent.setMountState('usb-9f3a27c1', 'attached');
    await appInState(s, app.id, 'running');
  });

  it('when an app stopped for storage is updated, then the update is refused and nothing is created on the missing drive', async (t) => {
    if (!(await requireDocker(t))) return;
    const { s, app } = await installedApp(t);
    s.agent.setMountState('usb-9f3a27c1', 'disconnected');
    await appInState(s, app.id, 'stopped_for_storage');
    const refused = await s.api.post(`/api/v1/apps/${app.id}/update`).set(s.auth).expect(409);
    assert.match(refused.body.error.message, /storage \(usb-9f3a27c1\) is not attached/);
    await noContainerOf(s, app.id);
  });

  it('when an app names an image that is not there and downloads are off, then the plan says so and the install is refused before anything is created; fixed, it installs', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const app = testApp();
    cleanUpProject(t, app.id);
    const broken = { ...app, compose: app.compose.replace(`image: ${WEB_IMAGE}`, 'image: felhom-test/not-built:never') };
    const notThere = /felhom-test\/not-built:never is not in the engine and downloads are off \(FELHOM_PULL=never\)/;
    const plan = (await s.api.post('/api/v1/apps/plan').set(s.auth).send({ manifest: broken.manifest, compose: broken.compose }).expect(200)).body;
    assert.ok(plan.problems.some((problem: string) => notThere.test(problem)), JSON.stringify(plan.problems));
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: broken.manifest, compose: broken.compose }).expect(409);
    assert.match(refused.body.error.message, notThere);
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${app.id}`), '', 'nothing half-created');
    await s.api.get(`/api/v1/apps/${app.id}`).set(s.auth).expect(404);
    await install(s, app);
  });

  it('when an app would take the name of a compose project that is not an app, or publish the controller port, then it is refused', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const stranger = testApp();
    cleanUpProject(t, stranger.id);
    docker('run', '-d', '--label', `com.docker.compose.project=${stranger.id}`, 'felhom-test/busybox:latest', 'sleep', '600');
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: stranger.manifest, compose: stranger.compose }).expect(409);
    assert.match(refused.body.error.message, /already run in Docker and are not a Felhom app/);
    assert.notEqual(docker('ps', '-q', '--filter', `label=com.docker.compose.project=${stranger.id}`), '', 'the stranger still runs');

    const onControllerPort = testApp({ port: s.c.controller.port });
    cleanUpProject(t, onControllerPort.id);
    const clash = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: onControllerPort.manifest, compose: onControllerPort.compose }).expect(422);
    assert.match(clash.body.error.message, new RegExp(String(s.c.controller.port)));
  });

  it('when the bulk drive is ejected, then its apps are stopped first and restart when the drive is assigned again, data intact', async (t) => {
    if (!(await requireDocker(t))) return;
    const { s, app } = await installedApp(t);
    const mediaLog = path.join(s.bulkPath, 'felhom', 'apps', app.id, 'media', 'worker.log');
    await workerLogged(s, mediaLog);

    const ejected = await s.api.post('/api/v1/disks/eject').set(s.auth).send({ disk: 'usb-9f3a27c1' }).expect(200);
    assert.deepEqual(ejected.body.stopped_apps, [app.id]);
    assert.deepEqual(ejected.body.dependent_guests, ['101']);
    assert.equal(docker('ps', '-q', '--filter', `label=com.docker.compose.project=${app.id}`), '', 'stopped before the eject');
    assert.equal((await appState(s, app.id)).state, 'stopped_for_storage');
    await sleep(800);
    assert.equal((await appState(s, app.id)).state, 'stopped_for_storage', 'the storage watch does not restart it while the drive is gone');
    const audit = s.c.controller.db.prepare("SELECT outcome, details FROM audit_log WHERE action = 'disk.eject'").all() as Array<{ outcome: string }>;
    assert.equal(audit[0]!.outcome, 'ok');

    await s.c.controller.agent.assignDisk({ disk: 'usb-9f3a27c1', label: 'WD Elements 4TB', class: 'slow', role: 'bulk-data' });
    await appInState(s, app.id, 'running');
    assert.match(fs.readFileSync(mediaLog, 'utf8'), /worker-/);
  });

  it('when a manifest breaks the policy, then the install is refused with the service and key named, and nothing is created', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const hostile = testApp({
      extraService: `  evil:
    image: felhom-test/busybox:latest
    privileged: true
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]`,
    });
    cleanUpProject(t, hostile.id);
    const response = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: hostile.manifest, compose: hostile.compose }).expect(422);
    assert.equal(response.body.error.code, 'policy');
    assert.match(response.body.error.message, /"evil".*privileged/);
    assert.match(response.body.error.message, /docker\.sock/);
    assert.equal((await s.c.controller.agent.listSnapshots()).some((x) => x.name.includes(hostile.id)), false, 'no snapshot');
    assert.equal(docker('volume', 'ls', '-q', '--filter', `label=org.felhom.app=${hostile.id}`), '', 'no volume');
    assert.equal(fs.existsSync(path.join(s.fastPath, 'felhom', 'apps', hostile.id)), false, 'no directory');
    assert.equal(fs.readdirSync(path.join(s.c.dataDir, 'apps')).length, 0, 'no app folder, no staging left');
    await s.api.get(`/api/v1/apps/${hostile.id}`).set(s.auth).expect(404);

    // compose config itself would read this file into the app's environment: refused before it runs.
    const reader = testApp({ extraService: `  reader:\n    image: felhom-test/busybox:latest\n    env_file: ${s.agent.bootstrapPath}` });
    const leak = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: reader.manifest, compose: reader.compose }).expect(422);
    assert.match(leak.body.error.message, /"reader".*env_file: .*bootstrap\.json is not a plain path inside the app folder/);
    assert.equal(leak.body.error.message.includes('flt_'), false, 'nothing of the file was read');
  });

  it('when no fast storage is attached, then an app with a hot volume is refused with a message saying so', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    s.agent.setMountState('local-fast', 'disconnected');
    const app = testApp();
    cleanUpProject(t, app.id);
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(422);
    assert.match(refused.body.error.message, /volume "site" is hot .* no fast primary storage is attached/);
    assert.equal(fs.readdirSync(path.join(s.c.dataDir, 'apps')).length, 0, 'nothing created');
  });

  it('when no bulk drive is attached, then bulk volumes go on the primary storage only after the customer confirms', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    s.agent.setMountState('usb-9f3a27c1', 'disconnected');
    const app = testApp();
    cleanUpProject(t, app.id);
    const plan = (await s.api.post('/api/v1/apps/plan').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(200)).body;
    assert.deepEqual(plan.needs_confirmation, ['media']);
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(409);
    assert.match(refused.body.error.message, /media would go on the fast internal storage; confirm/);
    assert.equal((await s.c.controller.agent.listSnapshots()).some((x) => x.name.includes(app.id)), false, 'nothing created');
    const accepted = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose, confirm_bulk_on_primary: true }).expect(202);
    assert.equal((await finished(s, accepted.body.operation.id)).state, 'succeeded');
    const media = (await appState(s, app.id)).volumes.find((v: { volume: string }) => v.volume === 'media');
    assert.equal(media.mount_id, 'local-fast');
    assert.equal(media.backup, 'own', 'the backup decision is still shown');
  });

  it('when an app takes the name of the controller or of an installed app, then it is refused', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const app = testApp();
    cleanUpProject(t, app.id);
    const asController = app.manifest.replace(`id: ${app.id}`, 'id: felhom');
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: asController, compose: app.compose }).expect(422);
    assert.match(refused.body.error.message, /felhom/);
    await install(s, app);
    const again = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(409);
    assert.match(again.body.error.message, /already installed/);
  });

  it('when a second app publishes a port the first uses, then it is refused before anything starts', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const first = testApp();
    cleanUpProject(t, first.id);
    await install(s, first);
    const second = testApp({ port: first.port });
    cleanUpProject(t, second.id);
    const response = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: second.manifest, compose: second.compose }).expect(422);
    assert.match(response.body.error.message, new RegExp(`${first.port}.*${first.id}`));
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${second.id}`), '');
  });

  it('when a stack has a one-shot init service that completes, then the install succeeds', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const app = testApp({ extraService: `  init:\n    image: felhom-test/busybox:latest\n    command: ["sh", "-c", "echo migrated"]` });
    app.compose = app.compose.replace('  worker:\n    <<: *common', '  worker:\n    <<: *common\n    depends_on:\n      init: { condition: service_completed_successfully }');
    cleanUpProject(t, app.id);
    await install(s, app);
    assert.equal((await appState(s, app.id)).state, 'running', 'the finished init step does not make the app look partial');
  });

  it('when the new stack never becomes healthy, then it is stopped and the failure says which snapshot to roll back to', async (t) => {
    if (!(await requireDocker(t))) return;
    const s = await setup(t);
    const app = testApp({ manifestExtra: '' });
    app.compose = app.compose.replace('"http://127.0.0.1:8080/"]', '"http://127.0.0.1:9/"]').replace('retries: 20', 'retries: 2');
    cleanUpProject(t, app.id);
    const operation = await install(s, app, 'failed');
    assert.match(operation.error, /web.*(unhealthy|healthy)/);
    assert.match(operation.error, /rolled back to snapshot felhom-pre-/);
    const body = await appState(s, app.id);
    assert.equal(body.state, 'failed');
    assert.equal(docker('ps', '-q', '--filter', `label=com.docker.compose.project=${app.id}`), '', 'the failed stack was stopped');
    const rollback = await s.api.post(`/api/v1/apps/${app.id}/rollback`).set(s.auth).send({ snapshot: body.snapshots[0].name }).expect(400);
    assert.match(rollback.body.error.message, /returns the whole server.*Confirm to go ahead/);
    await s.api.post(`/api/v1/apps/${app.id}/rollback`).set(s.auth).send({ snapshot: body.snapshots[0].name, confirm: true }).expect(202);
    assert.deepEqual(s.agent.rollbacks().map((r) => r.snapshot), [body.snapshots[0].name]);
  });
});
