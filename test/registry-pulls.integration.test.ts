/**
 * Installs and updates that download their images from a real registry on loopback
 * (Debian's docker-registry), through the controller's API: the download's progress on
 * the operation, an update that brings a new image for the same tag and recreates only
 * what changed, an update that cannot download (registry down, tag gone, registry
 * hanging) leaving the app running as it was, an update that does not come up healthy
 * going back to its previous images (and a catalog app to its previous version's files and
 * record), and an offline box that never asks the internet.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { requireComposeVersions } from './helpers/compose-versions.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { docker } from './helpers/deployment.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImage, removeImage } from './helpers/images.ts';
import { testLogs } from './helpers/log.ts';
import { tempDir } from './helpers/temp.ts';
import { signUp } from './helpers/ui.ts';
import { hangingRegistry, requireRegistry, startRegistry, type TestRegistry } from './helpers/registry.ts';
import { until } from './helpers/until.ts';

/** Bounds for a loaded 2-core CI machine: a deploy (pulls, snapshot, compose up, health), one API call. */
const DEPLOY_MS = 120_000;
const CALL_MS = 30_000;

let counter = 0;
const unique = () => `${process.pid % 10000}-${++counter}`;

/**
 * Builds an image with a layer of its own (a few hundred KB of random bytes, so a pull
 * has something to download), pushes it to `name` in the registry, and leaves the
 * engine as it was: the reference points where it pointed before (or nowhere), so
 * only a pull brings the new image. Returns the reference and the new image's id.
 */
function publish(t: TestContext, registry: TestRegistry, name: string, content: string, extraLines: string[] = []): { reference: string; id: string } {
  const local = buildWebImage(`felhom-test/pulls:${unique()}`, content, [`LABEL felhom-test.registry-pulls=${process.pid}`, `RUN head -c 300000 /dev/urandom > /srv/blob`, ...extraLines]);
  const id = docker('image', 'inspect', '-f', '{{.Id}}', local);
  const reference = `${registry.address}/${name}`;
  const before = engineImageId(reference);
  registry.push(local, name);
  // By id: every name of the new image goes, its digest reference from the push too.
  removeImage(id);
  if (before) docker('tag', before, reference);
  t.after(() => removeOwnImage(id));
  return { reference, id };
}

/** Removes an image of this test, and first the test's containers made from it (the app's own cleanup may come later). */
function removeOwnImage(id: string): void {
  const containers = docker('ps', '-aq', '--filter', `ancestor=${id}`);
  if (containers) docker('rm', '-f', ...containers.split('\n'));
  removeImage(id);
}

/** The id of the image `reference` names in the engine, or null when the engine lacks it. */
function engineImageId(reference: string): string | null {
  try {
    return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', reference], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function pulledApp(images: { web: string; worker: string }) {
  const id = `pl${unique()}`;
  const port = 21000 + ((process.pid * 7 + counter * 13) % 20000);
  const manifest = `schema: felhom.app/v1
id: ${id}
name: Pulled site ${counter}
version: "1.0.0"
compose: compose.yml
web: { service: web, port: 8080 }
health_timeout_seconds: 10
volumes:
  site: { class: hot }
`;
  // init: httpd and sleep, as PID 1, ignore SIGTERM; each stop would wait 10 s.
  const compose = `x-common: &common
  restart: unless-stopped
  init: true
  security_opt: ["no-new-privileges:true"]
services:
  web:
    <<: *common
    image: ${images.web}
    ports: ["127.0.0.1:${port}:8080"]
    volumes: ["site:/srv/www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 30
  worker:
    <<: *common
    image: ${images.worker}
    command: ["sh", "-c", "exec sleep 3600"]
volumes:
  site:
`;
  return { id, port, manifest, compose };
}

async function setup(t: TestContext, env: Record<string, string>) {
  const explain = testLogs(t).explain;
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_PULL: 'always', ...env } });
  const api = request.agent(c.controller.url).timeout(CALL_MS);
  const auth = { Authorization: `Bearer ${c.token}` };
  const storage = (await api.get('/api/v1/storage').set(auth).expect(200)).body as { mounts: Array<{ id: string; path: string }> };
  return { agent, c, api, auth, explain, fastPath: storage.mounts.find((m) => m.id === 'local-fast')!.path };
}

type Setup = Awaited<ReturnType<typeof setup>>;

interface PullEntry {
  image: string;
  layers: number;
  layers_done: number;
  bytes: number;
  bytes_done: number;
  done: boolean;
}

async function finished(s: Setup, operationId: string, timeoutMs = DEPLOY_MS) {
  return until(async () => (await s.api.get(`/api/v1/operations/${operationId}`).set(s.auth).expect(200)).body.operation, {
    what: `operation ${operationId} to finish`,
    done: (operation) => operation.state !== 'running',
    timeoutMs,
    intervalMs: 200,
    explain: s.explain,
  });
}

async function install(s: Setup, app: { manifest: string; compose: string }) {
  const response = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return finished(s, response.body.operation.id);
}

async function update(s: Setup, id: string) {
  const response = await s.api.post(`/api/v1/apps/${id}/update`).set(s.auth).expect(202);
  return finished(s, response.body.operation.id);
}

/** The app's container of `service`: its id, the image it was created from, whether it runs, its health. */
function containerOf(project: string, service: string) {
  const id = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`);
  assert.equal(id.split('\n').length, 1, `one ${service} container: ${id}`);
  const [image = '', running, health = ''] = docker('inspect', '-f', '{{.Image}} {{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id).split(' ');
  return { id, image, running: running === 'true', health };
}


function audited(s: Setup, id: string) {
  return (s.c.controller.db.prepare('SELECT action, outcome, details FROM audit_log WHERE target = ? ORDER BY id').all(id) as Array<{ action: string; outcome: string; details: string }>).map(
    (row) => ({ action: row.action, outcome: row.outcome, reason: (JSON.parse(row.details || '{}') as { reason?: string }).reason ?? null }),
  );
}

/** Installs a two-service app whose images come from the registry; both absent from the engine before. */
async function installedFromRegistry(t: TestContext, s: Setup, registry: TestRegistry) {
  const web = publish(t, registry, 'felhom/web:1', 'web-v1');
  const worker = publish(t, registry, 'felhom/worker:1', 'worker-v1');
  const app = pulledApp({ web: web.reference, worker: worker.reference });
  cleanUpProject(t, app.id);
  const operation = await install(s, app);
  assert.equal(operation.state, 'succeeded', JSON.stringify(operation, null, 1));
  return { app, web, worker, operation };
}

/** Asserts the app runs as it ran before a failed update: same containers, running, installed. */
async function untouched(s: Setup, appId: string, before: Record<string, { id: string; image: string }>) {
  for (const [service, was] of Object.entries(before)) {
    const now = containerOf(appId, service);
    assert.equal(now.id, was.id, `the ${service} container was not recreated`);
    assert.equal(now.image, was.image, `the ${service} container runs the image it ran`);
    assert.ok(now.running, `the ${service} container still runs`);
  }
  const app = (await s.api.get(`/api/v1/apps/${appId}`).set(s.auth).expect(200)).body;
  assert.equal(app.state, 'running');
  assert.equal(app.error, null, 'the app is not marked failed');
}

/** A catalog app of one web service on `image`, as version `version`, written into the catalog folder. */
function writeCatalogVersion(folder: string, id: string, port: number, version: string, image: string): void {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, '.felhom.yml'),
    `schema: felhom.app/v1\nid: ${id}\nname: Catalog pulled site\nversion: "${version}"\ndescription: A site\ncompose: compose.yml\nweb: { service: web, port: 8080 }\nhealth_timeout_seconds: 10\nvolumes:\n  site: { class: hot }\nx-catalog: { category: demo, description_hu: Egy honlap }\n`,
  );
  fs.writeFileSync(
    path.join(folder, 'compose.yml'),
    `services:
  web:
    image: ${image}
    init: true
    security_opt: ["no-new-privileges:true"]
    ports: ["127.0.0.1:${port}:8080"]
    volumes: ["site:/srv/www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 30
volumes:
  site:
`,
  );
}

describe('images pulled from a registry', () => {
  it('when an app is installed, then its images are downloaded with layer and byte progress on the operation', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address });
    const web = publish(t, registry, 'felhom/web:1', 'web-v1');
    const worker = publish(t, registry, 'felhom/worker:1', 'worker-v1');
    for (const image of [web.reference, worker.reference]) assert.equal(engineImageId(image), null, `${image} is not in the engine before`);
    const app = pulledApp({ web: web.reference, worker: worker.reference });
    cleanUpProject(t, app.id);

    const operation = await install(s, app);
    assert.equal(operation.state, 'succeeded', JSON.stringify(operation, null, 1));
    assert.equal(engineImageId(web.reference), web.id, 'the pushed image was downloaded');
    assert.equal(engineImageId(worker.reference), worker.id);
    const pulls = operation.pull as PullEntry[];
    assert.deepEqual(pulls.map((p) => p.image), [web.reference, worker.reference], 'one image at a time, each reported');
    for (const p of pulls) {
      assert.ok(p.layers >= 1 && p.layers_done === p.layers, `every layer done: ${JSON.stringify(p)}`);
      assert.ok(p.bytes >= 250_000 && p.bytes_done === p.bytes && p.done, `the random layer's bytes, all done: ${JSON.stringify(p)}`);
    }
    const messages = operation.events.map((e: { message: string }) => e.message);
    for (const p of pulls) {
      assert.ok(messages.includes(`Downloaded ${p.image}: ${p.layers} layers, ${Math.round(p.bytes / 100_000) / 10} MB`), messages.join('\n'));
    }
    // Downloading comes before the snapshot: nothing is changed before the images are here.
    assert.ok(messages.indexOf('Getting the images') < messages.indexOf('Taking a snapshot of the server before the change'), messages.join('\n'));
    assert.equal(operation.rolled_back, false);
    assert.equal(containerOf(app.id, 'web').image, web.id);

    // The app's live view shows each image's download as a bar with its words.
    const { agent } = await signUp(s.c.controller.url, s.c.dataDir);
    const live = (await agent.get(`/apps/${app.id}/live`).expect(200)).text;
    for (const p of pulls) {
      const item = new RegExp(`<li data-pull-image="${p.image.replace(/[.]/g, '\\.')}"><progress max="${p.bytes}" value="${p.bytes}"[^>]*>100 %</progress> <span>[^<]*: ${p.layers} of ${p.layers} layers, [\\d.]+ KB of [\\d.]+ KB</span>`);
      assert.match(live, item);
    }
  });

  for (const which of ['v1', 'v2'] as const) {
    it(`when an update finds a new image under the same tag, with compose ${which}, then only that service is recreated, on the new image, and the data stays`, async (t) => {
      if (!(await requireDocker(t)) || !requireRegistry(t)) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const registry = await startRegistry(t);
      const s = await setup(t, { FELHOM_REGISTRIES: registry.address, FELHOM_COMPOSE: version.command.join(' ') });
      const { app, web } = await installedFromRegistry(t, s, registry);
      const sitePath = path.join(s.fastPath, 'felhom', 'apps', app.id, 'site');
      fs.writeFileSync(path.join(sitePath, 'customer.txt'), 'customer-data\n');
      const webBefore = containerOf(app.id, 'web');
      const workerBefore = containerOf(app.id, 'worker');

      const next = publish(t, registry, 'felhom/web:1', 'web-v2');
      assert.equal(engineImageId(web.reference), web.id, 'the engine still has the old image under the tag');
      const operation = await update(s, app.id);
      assert.equal(operation.state, 'succeeded', JSON.stringify(operation, null, 1));
      assert.equal(operation.rolled_back, false);
      assert.deepEqual(
        (operation.pull as PullEntry[]).map((p) => p.image),
        [web.reference, `${registry.address}/felhom/worker:1`],
        'an update asks for every image',
      );
      const messages = operation.events.map((e: { message: string }) => e.message);
      assert.ok(messages.includes(`${registry.address}/felhom/worker:1 is up to date`), messages.join('\n'));
      assert.ok(messages.some((m: string) => m.startsWith(`Downloaded ${web.reference}: `)), messages.join('\n'));

      const webAfter = containerOf(app.id, 'web');
      assert.notEqual(webAfter.id, webBefore.id, 'the web service was recreated');
      assert.equal(webAfter.image, next.id, 'on the new image');
      assert.equal(containerOf(app.id, 'worker').id, workerBefore.id, 'the worker, whose image did not change, was left alone');
      assert.equal(fs.readFileSync(path.join(sitePath, 'customer.txt'), 'utf8'), 'customer-data\n', 'the data in the volume is kept');
      assert.equal((await fetch(`http://127.0.0.1:${app.port}/customer.txt`, { signal: AbortSignal.timeout(CALL_MS) }).then((r) => r.text())).trim(), 'customer-data');
    });
  }

  it('when an update cannot download (the registry is down, then the tag is gone), then it fails with the reason and the app runs as it was', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address });
    const { app } = await installedFromRegistry(t, s, registry);
    const before = { web: containerOf(app.id, 'web'), worker: containerOf(app.id, 'worker') };
    const snapshotCount = async () => (await s.c.controller.agent.listSnapshots()).length;
    const snapshotsBefore = await snapshotCount();

    await registry.stop();
    const down = await update(s, app.id);
    assert.equal(down.state, 'failed');
    assert.match(down.error, /could not download the image .*felhom\/web:1: .*connection refused/i);
    assert.equal(down.snapshot, null, 'no snapshot was taken');
    assert.equal(down.rolled_back, false);
    await untouched(s, app.id, before);

    await registry.start();
    registry.removeTag('felhom/web:1');
    const gone = await update(s, app.id);
    assert.equal(gone.state, 'failed');
    assert.match(gone.error, /could not download the image .*felhom\/web:1: .*(not found|unknown)/i);
    await untouched(s, app.id, before);
    assert.equal(await snapshotCount(), snapshotsBefore, 'neither failed update took a snapshot');

    const updates = audited(s, app.id).filter((row) => row.action.startsWith('app.update'));
    assert.deepEqual(
      updates.map((row) => [row.action, row.outcome]),
      [
        ['app.update', 'failed'],
        ['app.update', 'failed'],
      ],
    );
    assert.match(updates[0]!.reason!, /connection refused/i);
    assert.match(updates[1]!.reason!, /not found|unknown/i);
  });

  it('when a catalog update to a new image tag fails, then the app goes back to the previous version: its image, its files and its record', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const catalog = tempDir(t, 'felhom-catalog-');
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address, FELHOM_CATALOG_DIR: catalog });
    const id = `cp${unique()}`;
    const port = 21000 + ((process.pid * 7 + counter * 13) % 20000);
    const folder = path.join(catalog, id);
    const appFolder = path.join(s.c.dataDir, 'apps', id);
    const v1 = publish(t, registry, 'felhom/x:1', 'catalog-v1');
    writeCatalogVersion(folder, id, port, '1', v1.reference);
    cleanUpProject(t, id);
    const installed = await s.api.post('/api/v1/apps').set(s.auth).send({ catalog: id }).expect(202);
    assert.equal((await finished(s, installed.body.operation.id)).state, 'succeeded');
    const record = async () => (await s.api.get(`/api/v1/apps/${id}`).set(s.auth).expect(200)).body;

    // Version 2 names a new tag whose image serves on another port: never healthy.
    const v2 = publish(t, registry, 'felhom/x:2', 'catalog-v2', ['CMD ["httpd", "-f", "-p", "9090", "-h", "/srv/www"]']);
    writeCatalogVersion(folder, id, port, '2', v2.reference);
    const unhealthy = await update(s, id);
    assert.equal(unhealthy.state, 'failed', JSON.stringify(unhealthy, null, 1));
    assert.equal(unhealthy.rolled_back, true, unhealthy.error);
    const web = containerOf(id, 'web');
    assert.equal(web.image, v1.id, 'the version 1 image runs again, not the new tag');
    assert.equal(web.health, 'healthy');
    assert.equal((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(CALL_MS) }).then((r) => r.text())).trim(), 'catalog-v1');
    const afterRollback = await record();
    assert.deepEqual([afterRollback.version, afterRollback.state, afterRollback.error], ['1', 'running', null]);
    const compose = () => fs.readFileSync(path.join(appFolder, 'compose.yml'), 'utf8');
    assert.ok(compose().includes(`${registry.address}/felhom/x:1`) && !compose().includes('felhom/x:2'), compose());
    assert.match(fs.readFileSync(path.join(appFolder, '.felhom.yml'), 'utf8'), /version: "1"/);

    // Version 3 names a tag the registry does not have: the download fails, nothing changes.
    writeCatalogVersion(folder, id, port, '3', `${registry.address}/felhom/x:3`);
    const absent = await update(s, id);
    assert.equal(absent.state, 'failed');
    assert.match(absent.error, /could not download the image .*felhom\/x:3: .*(not found|unknown)/i);
    assert.equal(absent.rolled_back, false);
    await untouched(s, id, { web });
    assert.equal((await record()).version, '1', 'the record says the version that runs');
    assert.ok(compose().includes(`${registry.address}/felhom/x:1`) && !compose().includes('felhom/x:3'), compose());
    assert.ok(fs.existsSync(path.join(appFolder, 'felhom.override.yml')), 'the override that binds the volumes is back too');
  });

  it('when an update downloads the first image and a later one fails, then the first tag points at its previous image again', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address });
    const { app, web } = await installedFromRegistry(t, s, registry);
    const before = { web: containerOf(app.id, 'web'), worker: containerOf(app.id, 'worker') };
    const next = publish(t, registry, 'felhom/web:1', 'web-v2');
    registry.removeTag('felhom/worker:1');

    const operation = await update(s, app.id);
    assert.equal(operation.state, 'failed');
    assert.match(operation.error, /could not download the image .*felhom\/worker:1: .*(not found|unknown)/i);
    assert.ok(operation.events.some((e: { message: string }) => e.message.startsWith(`Downloaded ${web.reference}: `)), 'the first image was downloaded');
    assert.equal(engineImageId(web.reference), web.id, 'the tag points at the previous image again, not the unchecked new one');
    assert.notEqual(engineImageId(web.reference), next.id);
    await untouched(s, app.id, before);
  });

  it('when the registry accepts connections and never answers, then the update gives up after the stall limit and the app runs as it was', async (t) => {
    if (!(await requireDocker(t))) return;
    const address = await hangingRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: address, FELHOM_PULL_STALL_SECONDS: '3' });
    // The images are in the engine under the hanging registry's name: the install needs no download.
    const web = `${address}/felhom/web:1`;
    const worker = `${address}/felhom/worker:1`;
    for (const [reference, content] of [
      [web, 'web-v1'],
      [worker, 'worker-v1'],
    ] as const) {
      buildWebImage(reference, content, [`LABEL felhom-test.registry-pulls=${process.pid}`]);
      const id = engineImageId(reference)!;
      t.after(() => removeOwnImage(id));
    }
    const app = pulledApp({ web, worker });
    cleanUpProject(t, app.id);
    const installed = await install(s, app);
    assert.equal(installed.state, 'succeeded', JSON.stringify(installed, null, 1));
    assert.deepEqual(installed.pull, [], 'nothing was downloaded for the install');
    const before = { web: containerOf(app.id, 'web'), worker: containerOf(app.id, 'worker') };

    const started = Date.now();
    const operation = await update(s, app.id);
    const took = Date.now() - started;
    assert.equal(operation.state, 'failed');
    assert.match(operation.error, /made no progress for 3 s/);
    assert.ok(took < 20_000, `bounded by the stall limit: ${took} ms`);
    await untouched(s, app.id, before);
    assert.deepEqual(audited(s, app.id).filter((row) => row.action === 'app.update').map((row) => row.outcome), ['failed']);
  });

  it('when an updated image does not become healthy, then the update is rolled back to the previous images and the app is healthy again', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address });
    const { app, web } = await installedFromRegistry(t, s, registry);
    const before = { web: containerOf(app.id, 'web'), worker: containerOf(app.id, 'worker') };
    // The new image serves on another port: the health check on 8080 never passes.
    const broken = publish(t, registry, 'felhom/web:1', 'web-broken', ['CMD ["httpd", "-f", "-p", "9090", "-h", "/srv/www"]']);

    const operation = await update(s, app.id);
    assert.equal(operation.state, 'failed', JSON.stringify(operation, null, 1));
    assert.equal(operation.rolled_back, true);
    assert.match(operation.error, /^the update did not become healthy \(.+\); the app runs its previous images again$/);
    const messages = operation.events.map((e: { message: string }) => e.message);
    assert.ok(messages.includes('Starting the previous images again'), messages.join('\n'));
    assert.equal(messages.at(-1), 'The previous images run again and the app is healthy');

    const webNow = containerOf(app.id, 'web');
    assert.equal(webNow.image, web.id, 'the web service runs its previous image again');
    assert.notEqual(webNow.image, broken.id);
    assert.equal(webNow.health, 'healthy');
    assert.equal(engineImageId(web.reference), web.id, 'the tag points at the previous image again');
    assert.equal(containerOf(app.id, 'worker').id, before.worker.id, 'the worker was left alone throughout');
    const state = (await s.api.get(`/api/v1/apps/${app.id}`).set(s.auth).expect(200)).body;
    assert.equal(state.state, 'running');
    assert.equal(state.error, null);

    const updates = audited(s, app.id).filter((row) => row.action.startsWith('app.update'));
    assert.deepEqual(
      updates.map((row) => [row.action, row.outcome]),
      [
        ['app.update', 'failed'],
        ['app.update_rollback', 'ok'],
      ],
    );
    assert.match(updates[0]!.reason!, /did not become healthy/);
  });

  it('when the server is offline, then an image from the internet is never asked for: one the engine lacks refuses the install before anything is created, one it has is used as it is', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const s = await setup(t, { FELHOM_REGISTRIES: registry.address, FELHOM_OFFLINE: 'true' });
    const worker = publish(t, registry, 'felhom/worker:1', 'worker-v1');
    // A name no registry answers for; were it asked, the test would wait for its error.
    const app = pulledApp({ web: `registry.example.invalid/felhom/absent:${unique()}`, worker: worker.reference });
    cleanUpProject(t, app.id);

    const needsInternet = /registry\.example\.invalid\/felhom\/absent:\S+ must be downloaded from the internet, which this server does not use \(FELHOM_OFFLINE=true\)/;
    const plan = (await s.api.post('/api/v1/apps/plan').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(200)).body;
    assert.ok(plan.problems.some((problem: string) => needsInternet.test(problem)), `the plan says so before Install: ${JSON.stringify(plan.problems)}`);
    const refused = await s.api.post('/api/v1/apps').set(s.auth).send({ manifest: app.manifest, compose: app.compose }).expect(409);
    assert.match(refused.body.error.message, needsInternet);
    assert.equal(docker('images', '-q', worker.reference), '', 'not even the listed registry was asked: nothing was started');
    await s.api.get(`/api/v1/apps/${app.id}`).set(s.auth).expect(404);
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${app.id}`), '', 'no container was created');

    // An image from the internet that the engine has is used as it is, by an install and an update.
    const local = buildWebImage(`felhom-test/pulls-offline:${unique()}`, 'offline-web', [`LABEL felhom-test.registry-pulls=${process.pid}`]);
    const localId = engineImageId(local)!;
    t.after(() => removeOwnImage(localId));
    const present = pulledApp({ web: local, worker: worker.reference });
    cleanUpProject(t, present.id);
    const installed = await install(s, present);
    assert.equal(installed.state, 'succeeded', JSON.stringify(installed, null, 1));
    assert.equal(containerOf(present.id, 'web').image, localId);
    const updated = await update(s, present.id);
    assert.equal(updated.state, 'succeeded', JSON.stringify(updated, null, 1));
    assert.deepEqual((updated.pull as PullEntry[]).map((p) => p.image), [worker.reference], 'only the listed registry is asked');
    const messages = updated.events.map((e: { message: string }) => e.message);
    assert.ok(messages.includes(`${local} is used as the engine has it: its registry is on the internet, which this server does not use (FELHOM_OFFLINE=true)`), messages.join('\n'));
    assert.equal(containerOf(present.id, 'web').image, localId);
  });
});
