/**
 * Update availability end to end: a real registry on loopback, the real engine and
 * compose, the controller and the development agent. An app whose image came from the
 * registry; a new image pushed under the same tag is noticed without being pulled, shown
 * by the API, the app page and the home page, and never installed unless the customer
 * turned automatic updates on; then the scheduled check updates the app, with a snapshot
 * first, and one that does not become healthy is put back on its previous image.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImage, imageId, removeImage } from './helpers/images.ts';
import { testLogs } from './helpers/log.ts';
import { audited } from './helpers/pages.ts';
import { requireRegistry, startRegistry, type TestRegistry } from './helpers/registry.ts';
import { signUp } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

/** Bounds for a loaded 2-core CI machine: a deploy with its health wait, one call. */
const DEPLOY_MS = 120_000;
const CALL_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;

/** An app of one web service whose image is `reference` (from the test's registry). */
function appOf(reference: string) {
  const id = `upd${process.pid % 10000}-${++counter}`;
  const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Update test ${counter}\nversion: "1.0"\nhealth_timeout_seconds: 15\nvolumes:\n  data: { class: hot }\n`;
  const compose = `services:
  web:
    image: ${reference}
    init: true
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 5
volumes:
  data:
`;
  return { id, manifest, compose };
}

/**
 * A registry with `felhom/site:1` built and pushed, and a controller that pulls from it
 * (and from nowhere else: offline, the registry listed), checking every second.
 */
async function setup(t: TestContext) {
  const explain = testLogs(t).explain;
  const registry = await startRegistry(t);
  const local = buildWebImage(`felhom-test/update-site:${process.pid}-${++counter}`, 'version one');
  t.after(() => removeImage(local));
  const reference = registry.push(local, 'felhom/site:1');
  // Not in the engine under its registry name: the install downloads it.
  removeImage(reference);
  const agent = await devAgent(t);
  const c = await controller(t, {
    bootstrapPath: agent.bootstrapPath,
    env: { FELHOM_PULL: 'always', FELHOM_REGISTRIES: registry.address, FELHOM_OFFLINE: 'true', FELHOM_UPDATE_CHECK_CRON: '* * * * * *' },
  });
  const api = request.agent(c.controller.url).timeout(CALL_MS);
  const auth = { Authorization: `Bearer ${c.token}` };
  const app = appOf(reference);
  cleanUpProject(t, app.id);
  // Then the images pulled from the test's registry, which keep only their digest once
  // the tag moved on (after the app's containers are gone: hooks run in order).
  t.after(() => {
    const pulled = execFileSync('docker', ['image', 'ls', '--digests', '--format', '{{.ID}} {{.Repository}}'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.endsWith(` ${registry.address}/felhom/site`))
      .map((line) => line.split(' ')[0]!);
    for (const id of new Set(pulled)) removeImage(id);
  });
  const installed = await api.post('/api/v1/apps').set(auth).send({ manifest: app.manifest, compose: app.compose });
  assert.equal(installed.status, 202, JSON.stringify(installed.body));
  const operation = await until(async () => (await api.get(`/api/v1/operations/${installed.body.operation.id}`).set(auth).expect(200)).body.operation, {
    what: 'the install to finish',
    done: (o) => o.state !== 'running',
    timeoutMs: DEPLOY_MS,
    intervalMs: 250,
    explain,
  });
  assert.equal(operation.state, 'succeeded', JSON.stringify(operation));
  return { registry, reference, c, api, auth, app, explain };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** The image id of each running container of the project, straight from the engine. */
function runningImages(project: string): string[] {
  const ids = execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'status=running'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  return ids.map((id) => execFileSync('docker', ['inspect', '-f', '{{.Image}}', id], { encoding: 'utf8' }).trim());
}

/** The image id the app's one container runs. */
function runningImage(s: Setup): string {
  const images = runningImages(s.app.id);
  assert.equal(images.length, 1, `one running container: ${images.join(', ')}`);
  return images[0]!;
}

/** Pushes a new image under the app's tag; returns its id. */
function pushNewVersion(t: TestContext, registry: TestRegistry, content: string, extra: string[] = []): string {
  const local = buildWebImage(`felhom-test/update-site:${process.pid}-${++counter}`, content, extra);
  t.after(() => removeImage(local));
  registry.push(local, 'felhom/site:1');
  return imageId(local);
}

const updateOf = async (s: Setup) => (await s.api.get(`/api/v1/apps/${s.app.id}`).set(s.auth).expect(200)).body.update;

describe('update availability', () => {
  it('when a newer image is pushed under the tag, then a check shows the update without installing it, and automatic updates install it only once turned on', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const s = await setup(t);
    const first = runningImage(s);

    const checked = (await s.api.post(`/api/v1/apps/${s.app.id}/check-update`).set(s.auth).expect(200)).body.update;
    assert.equal(checked.available, false, JSON.stringify(checked));
    assert.equal(checked.automatic, false, 'automatic updates are off by default');
    assert.equal(checked.images[0].image, s.reference);
    assert.match(checked.images[0].running, /^sha256:/);
    assert.equal(checked.images[0].latest, checked.images[0].running);

    const second = pushNewVersion(t, s.registry, 'version two');
    assert.notEqual(second, first);
    const all = (await s.api.post('/api/v1/updates/check').set(s.auth).expect(200)).body.apps;
    const found = all.find((a: { id: string }) => a.id === s.app.id).update;
    assert.equal(found.available, true, JSON.stringify(found));
    assert.notEqual(found.images[0].latest, found.images[0].running);
    assert.equal((await updateOf(s)).available, true, 'the app JSON says so');
    assert.equal((await s.api.get('/api/v1/apps').set(s.auth).expect(200)).body.apps.find((a: { id: string }) => a.id === s.app.id).update.available, true);

    // The pages show it, with the update button and the time of the check.
    const { agent: browser } = await signUp(s.c.controller.url, s.c.dataDir);
    const page = await browser.get(`/apps/${s.app.id}`).expect(200);
    assert.match(page.text, /data-update="available"/);
    assert.match(page.text, /Update available/);
    assert.match(page.text, /Last checked: /);
    assert.match(page.text, /Update now/);
    assert.match(page.text, /Automatic updates[\s\S]*Off: the app is updated only when you press Update/);
    const home = await browser.get('/').expect(200);
    assert.match(home.text, new RegExp(`data-app="${s.app.id}"[\\s\\S]*?Update available[\\s\\S]*?action="/apps/${s.app.id}/update"`));
    assert.match(home.text, /action="\/updates\/check"/);

    // Nothing was updated: not by the checks, not by the scheduled checks that run every second.
    const checkedAt = found.checked_at;
    await until(async () => (await updateOf(s)).checked_at, { what: 'a scheduled check', done: (at) => at > checkedAt, timeoutMs: 30_000, intervalMs: 250, explain: s.explain });
    await sleep(2_000);
    assert.equal(runningImage(s), first, 'the container still runs the first image');
    assert.deepEqual(audited(s.c, 'app.update'), []);
    assert.deepEqual(audited(s.c, 'app.auto_update'), []);
    assert.equal((await s.api.get(`/api/v1/apps/${s.app.id}`).set(s.auth).expect(200)).body.operation.kind, 'install', 'no update operation');

    // Turned on from the page: the next scheduled check updates the app.
    const form = await browser.get(`/apps/${s.app.id}`).expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    await browser.post(`/apps/${s.app.id}/auto-update`).type('form').send({ _csrf: csrf, enabled: 'on' }).expect(303);
    assert.equal((await updateOf(s)).automatic, true);
    await until(() => audited(s.c, 'app.auto_update_run'), { what: 'the automatic update', done: (runs) => runs.length > 0, timeoutMs: DEPLOY_MS, intervalMs: 500, explain: s.explain });
    assert.deepEqual(audited(s.c, 'app.auto_update'), ['app.auto_update:ok', 'app.auto_update_run:ok']);
    assert.deepEqual(audited(s.c, 'app.update'), ['app.update:ok']);
    assert.equal(runningImage(s), second, 'the app runs the new image');
    const detail = (await s.api.get(`/api/v1/apps/${s.app.id}`).set(s.auth).expect(200)).body;
    const snapshot = detail.snapshots.find((x: { reason: string }) => x.reason === 'update');
    assert.ok(snapshot, 'a snapshot was taken before the update');
    assert.ok((await s.c.controller.agent.listSnapshots()).some((x) => x.name === snapshot.name), 'the agent has it');
    const run = s.c.controller.db.prepare("SELECT actor, details FROM audit_log WHERE action = 'app.update'").get() as { actor: string };
    assert.equal(run.actor, 'auto-update');
    await until(() => updateOf(s), { what: 'the check after the update', done: (u) => u.available === false, timeoutMs: 30_000, intervalMs: 250, explain: s.explain });

    // Turned off through the API: a newer image again stays available, not installed.
    await s.api.put(`/api/v1/apps/${s.app.id}/auto-update`).set(s.auth).send({ enabled: false }).expect(200);
    await s.api.put(`/api/v1/apps/${s.app.id}/auto-update`).set(s.auth).send({ enabled: 'yes' }).expect(400);
    pushNewVersion(t, s.registry, 'version three');
    await until(() => updateOf(s), { what: 'the scheduled check to find version three', done: (u) => u.available === true, timeoutMs: 30_000, intervalMs: 250, explain: s.explain });
    await sleep(2_000);
    assert.equal(runningImage(s), second);
    assert.deepEqual(audited(s.c, 'app.update'), ['app.update:ok']);

    // In the customer's language.
    await browser.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu' }).expect(303);
    const hu = await browser.get(`/apps/${s.app.id}`).expect(200);
    assert.match(hu.text, /Frissítés érhető el/);
    assert.match(hu.text, /Utoljára ellenőrizve: /);
    assert.match(hu.text, /Frissítés most/);
    assert.match(hu.text, /Kikapcsolva: az alkalmazás csak akkor frissül/);
    assert.match((await browser.get('/').expect(200)).text, /Frissítések keresése minden alkalmazáshoz/);
  });

  it('automatic update of an app that does not become healthy rolls back', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const s = await setup(t);
    const first = runningImage(s);
    // Serves nothing: its health check fails.
    pushNewVersion(t, s.registry, 'broken', ['CMD ["sleep", "3600"]']);
    await s.api.put(`/api/v1/apps/${s.app.id}/auto-update`).set(s.auth).send({ enabled: true }).expect(200);
    await until(() => audited(s.c, 'app.auto_update_run'), { what: 'the automatic update', done: (runs) => runs.length > 0, timeoutMs: DEPLOY_MS, intervalMs: 500, explain: s.explain });
    // Not tried again on the same image by the scheduled checks that follow.
    await sleep(3_000);
    assert.deepEqual(audited(s.c, 'app.auto_update_run'), ['app.auto_update_run:failed']);
    const details = JSON.parse((s.c.controller.db.prepare("SELECT details FROM audit_log WHERE action = 'app.auto_update_run'").get() as { details: string }).details);
    assert.equal(details.result, 'rolled_back', JSON.stringify(details));
    assert.ok(details.reason, 'with the reason');
    assert.deepEqual(runningImages(s.app.id), [first], 'the app runs its previous image again');
  });
});
