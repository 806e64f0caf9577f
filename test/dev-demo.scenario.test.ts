/**
 * The demo a new developer gets from `./scripts/dev`, with no internet: the real script
 * starts the registry, the agent and the controller; through the API a demo app is
 * installed from the catalog (its image downloaded from the loopback registry), opened,
 * updated to the version published with `./scripts/dev-publish`, backed up and
 * uninstalled, and the real catalog is listed beside it. Then the script is stopped and
 * everything it started is gone.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { api, assignBackupDisk, finishedJob, hasTool } from './helpers/bulk.ts';
import { requireDocker, removeProject } from './helpers/docker.ts';
import { outputTail, testLogs } from './helpers/log.ts';
import { freePort, requireRegistry } from './helpers/registry.ts';
import { signInWithSetupCode } from './helpers/sign-in.ts';
import { alive } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until, within } from './helpers/until.ts';

const root = path.join(import.meta.dirname, '..');
const DEMO_APPS = { 'demo-notes': 8091, 'demo-files': 8092, 'demo-heartbeat': 8093 } as const;
const REAL_CATALOG = ['immich', 'jellyfin', 'nextcloud', 'vaultwarden'];
/**
 * Bounds for a loaded 2-core CI machine: the script may first build the demo images and
 * push them; an install or update downloads one and waits for its health check.
 */
const START_MS = 180_000;
const OPERATION_MS = 180_000;
const EXIT_MS = 90_000;

function docker(...args: string[]): { status: number | null; stdout: string } {
  const run = spawnSync('docker', args, { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout };
}


async function page(port: number, query = ''): Promise<string | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/${query}`, { signal: AbortSignal.timeout(5_000) });
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

it('./scripts/dev offline: a demo app installs from the local registry, opens, updates to the published version, is backed up and uninstalled; the real catalog is listed', { timeout: 900_000 }, async (t) => {
  if (!(await requireDocker(t)) || !requireRegistry(t)) return;
  // The demo apps have fixed ids and ports: a developer's own demo must not be touched.
  for (const id of Object.keys(DEMO_APPS)) {
    const theirs = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${id}`).stdout.trim();
    if (theirs) {
      t.skip(`a compose project ${id} exists already (a demo of ./scripts/dev?): uninstall it to run this test`);
      return;
    }
  }
  const explain = testLogs(t).explain;
  const state = tempDir(t, 'felhom-dev-demo-');
  const listen = `127.0.0.1:${await freePort()}`;
  const registry = `127.0.0.1:${await freePort()}`;
  const url = `http://${listen}`;
  t.after(() => {
    for (const id of Object.keys(DEMO_APPS)) removeProject(id);
    // The images this test's registry address named (the port is the test's own), the
    // one an update left untagged too.
    const ours = [...new Set(docker('images', '-q', `${registry}/felhom-demo/*`).stdout.split('\n').filter(Boolean))];
    if (ours.length) docker('rmi', '-f', ...ours);
  });

  const dev = spawn(path.join(root, 'scripts', 'dev'), [], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FELHOM_LISTEN: listen,
      AGENT_LISTEN: `127.0.0.1:${await freePort()}`,
      DEV_REGISTRY: registry,
      DEV_STATE_DIR: state,
      FELHOM_LOG_FORMAT: 'json',
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  dev.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  testLogs(t).add('scripts/dev', outputTail(() => output));
  const exited = new Promise<number | null>((resolve) => dev.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  t.after(async () => {
    // The script's own trap stops what it started; SIGKILL only if it did not.
    if (dev.exitCode !== null || dev.signalCode !== null) return;
    dev.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, EXIT_MS).unref())]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  });

  await until(() => /"controller listening"/.test(output) || dev.exitCode !== null, { what: './scripts/dev to start the controller', timeoutMs: START_MS, intervalMs: 200, explain });
  assert.equal(dev.exitCode, null, 'scripts/dev is running');
  const token = /API token:\s+(fct_\S+)/.exec(output)?.[1];
  assert.ok(token, 'scripts/dev prints an API token');
  assert.match(output, new RegExp(`dev-publish notes.*DEV_REGISTRY=${registry.replaceAll('.', '\\.')}`), 'it says how to publish version 2');
  const registryPid = Number(fs.readFileSync(path.join(state, 'registry', 'pid'), 'utf8'));
  assert.ok(alive(registryPid), 'the registry runs, under the PID it recorded');
  const request = api(url, token);

  // Signed in as a customer, with the setup code the controller wrote.
  const code = fs.readFileSync(path.join(state, 'controller', 'setup-code.txt'), 'utf8').split('\n')[0]!;
  const cookie = await signInWithSetupCode(url, code, 'a long demo password');
  const store = await (await fetch(`${url}/store`, { headers: { cookie } })).text();
  for (const name of ['Notes (demo)', 'Shared files (demo)', 'Heartbeat (demo)', 'Nextcloud', 'Vaultwarden']) assert.ok(store.includes(name), `the store lists ${name}`);
  // The real catalog is marked as needing the internet; the demo apps, in the local registry, are not.
  const needsInternet = [...store.matchAll(/<li class="card" data-catalog="([^"]+)"[\s\S]*?<\/li>/g)].filter((m) => m[0].includes('Needs internet')).map((m) => m[1]!);
  for (const id of REAL_CATALOG) assert.ok(needsInternet.includes(id), `${id} is marked as needing internet: ${needsInternet}`);
  for (const id of Object.keys(DEMO_APPS)) assert.ok(!needsInternet.includes(id), `${id} is not marked`);

  const listed = (await request('GET', '/api/v1/catalog')).body.apps as Array<{ id: string; availability: string | null }>;
  const catalog = listed.map((app) => app.id);
  assert.deepEqual(listed.filter((app) => app.availability === 'ready').map((app) => app.id).sort(), Object.keys(DEMO_APPS).sort(), 'the API says the same: the demo apps are ready, the rest needs internet');
  for (const id of [...Object.keys(DEMO_APPS), ...REAL_CATALOG]) assert.ok(catalog.includes(id), `the catalog has ${id}: ${catalog}`);

  // The registry has the image; the engine does not, so the install downloads it.
  const image = `${registry}/felhom-demo/notes:stable`;
  assert.notEqual(docker('image', 'inspect', image).status, 0, `the engine has no ${image} before the install`);

  const runOperation = async (started: { status: number; body: Record<string, any> }, what: string) => {
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const operation = await until(async () => (await request('GET', `/api/v1/operations/${started.body.operation.id}`)).body.operation, {
      what,
      done: (op) => op.state !== 'running',
      timeoutMs: OPERATION_MS,
      intervalMs: 250,
      explain,
    });
    assert.equal(operation.state, 'succeeded', JSON.stringify(operation));
    return operation;
  };
  const installed = await runOperation(await request('POST', '/api/v1/apps', { catalog: 'demo-notes' }), 'the install of Notes (demo)');
  const steps = installed.events.map((event: { text: { key: string } | null }) => event.text?.key);
  assert.ok(steps.includes('deploy_step.download_images'), `the install downloaded the image: ${JSON.stringify(installed.events)}`);
  const [pulled] = installed.pull;
  assert.equal(pulled.image, image);
  assert.ok(pulled.done && pulled.layers >= 1 && pulled.layers_done === pulled.layers && pulled.bytes > 0 && pulled.bytes_done === pulled.bytes, `the download's progress: ${JSON.stringify(installed.pull)}`);
  assert.equal(docker('image', 'inspect', image).status, 0, 'the engine has the image now');

  const port = DEMO_APPS['demo-notes'];
  const first = await until(() => page(port), { what: 'the notes page', done: (text) => text !== null, timeoutMs: 30_000, explain });
  assert.match(first!, /version 1/);
  assert.match(first!, /Welcome!/, 'the volume was seeded with the first note');
  assert.match((await page(port, '?note=Buy+milk'))!, /Buy milk/);

  // A new version under the same tag, as a publisher releases it; the update installs it.
  const checked = async () => (await request('POST', '/api/v1/apps/demo-notes/check-update')).body.update;
  assert.equal((await checked()).available, false, 'up to date before the publish');
  const published = execFileSync(path.join(root, 'scripts', 'dev-publish'), ['notes'], { cwd: root, env: { ...process.env, DEV_REGISTRY: registry }, encoding: 'utf8' });
  assert.match(published, /stable is version 2/);
  assert.equal((await checked()).available, true, 'the check sees the published version');
  await runOperation(await request('POST', '/api/v1/apps/demo-notes/update'), 'the update of Notes (demo)');
  const second = (await page(port))!;
  assert.match(second, /version 2/);
  assert.doesNotMatch(second, /version 1/);
  assert.match(second, /Buy milk/, 'the note written before the update is still there');
  assert.equal((await checked()).available, false, 'up to date after the update');

  // A bulk volume backed up by the controller (restic), onto the spare drive.
  await runOperation(await request('POST', '/api/v1/apps', { catalog: 'demo-files' }), 'the install of Shared files (demo)');
  const filesApp = (await request('GET', '/api/v1/apps/demo-files')).body;
  const folder: string = filesApp.volumes.find((v: { volume: string }) => v.volume === 'files').path;
  fs.writeFileSync(path.join(folder, 'holiday.txt'), 'photos to come\n');
  assert.match((await page(DEMO_APPS['demo-files']))!, /holiday\.txt/);
  if (hasTool('restic')) {
    const disk = await assignBackupDisk(request);
    assert.equal((await request('POST', '/api/v1/backup-targets', { kind: 'disk', mount: disk.id })).status, 201);
    const run = await request('POST', '/api/v1/volume-backups/run', { app: 'demo-files' });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const job = await finishedJob(request, run.body.job.id, OPERATION_MS);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.runs.map((r: { volume: string; outcome: string }) => [r.volume, r.outcome]), [['files', 'succeeded']]);
  } else {
    process.stderr.write('\n*** dev-demo: restic is not installed; the backup part is left out (scripts/engine.sh installs it) ***\n\n');
  }

  // An app of two services: the page shows what the worker beside it writes.
  await runOperation(await request('POST', '/api/v1/apps', { catalog: 'demo-heartbeat' }), 'the install of Heartbeat (demo)');
  assert.match((await page(DEMO_APPS['demo-heartbeat']))!, /Last heartbeat: <strong>\d{4}-\d\d-\d\d [\d:]{8}<\/strong>/);

  // Uninstalled with their data: nothing of them stays in Docker.
  for (const id of Object.keys(DEMO_APPS)) {
    const asked = await request('DELETE', `/api/v1/apps/${id}?delete_data=true`);
    assert.equal(asked.status, 409, JSON.stringify(asked.body));
    const confirm = /confirm=(\S+)$/.exec(asked.body.error.message)?.[1];
    assert.ok(confirm, asked.body.error.message);
    const removed = await request('DELETE', `/api/v1/apps/${id}?delete_data=true&confirm=${encodeURIComponent(confirm)}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${id}`).stdout.trim(), '', `no container of ${id} is left`);
  }
  assert.equal(await page(port), null, 'the notes page is gone');

  // Stopping the script stops the controller, the agent and the registry.
  const pids = [registryPid, ...execFileSync('pgrep', ['-P', String(dev.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number)];
  dev.kill('SIGTERM');
  assert.equal(await within(exited, { what: './scripts/dev to exit', timeoutMs: EXIT_MS, explain }), 143);
  await until(() => pids.filter(alive), { what: 'every process scripts/dev started to be gone', done: (left) => left.length === 0, timeoutMs: 30_000, explain });
});
