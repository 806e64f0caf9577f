/**
 * The product run exactly as it ships: the image built from the Dockerfile, deployed
 * with compose/controller.yml (non-root, socket group, read-only root, no capabilities,
 * no-new-privileges, rslave storage root), against the development agent on the host's
 * Docker bridge over pinned TLS. Health check, an app installed through the API, a
 * quiesced backup, and a `docker stop` in the middle of a quiesce.
 * Needs root (a shared bind mount) and the image (scripts/image.sh, run by scripts/test
 * and .ci/run); without them it skips loudly, and under CI=true it fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startDevAgent } from '../src/dev-agent/index.ts';
import { silentLogger } from '../src/log.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { tempDir } from './helpers/temp.ts';

const IMAGE = process.env.FELHOM_IMAGE ?? 'felhom/controller:dev';
const CONTROLLER_UID = 1000;
const deployment = path.join(import.meta.dirname, '..', 'compose', 'controller.yml');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

/** compose v2 where the host has it, else v1: compose/controller.yml is written for both. */
function composeCommand(): string[] {
  return spawnSync('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
}

function requireImageAndRoot(t: TestContext): boolean {
  const missing = process.getuid?.() !== 0 ? 'root (the storage root must be a shared mount)' : spawnSync('docker', ['image', 'inspect', IMAGE]).status !== 0 ? `the image ${IMAGE} (run scripts/image.sh)` : null;
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`the image test needs ${missing}, and CI=true`);
  process.stderr.write(`\n*** SKIPPING "${t.name}": it needs ${missing}. ***\n\n`);
  t.skip(`needs ${missing}`);
  return false;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

describe('the controller image deployed with compose/controller.yml', () => {
  it('when deployed hardened beside the agent, then it is healthy, installs an app, quiesces a backup, and a docker stop mid-quiesce leaves the app running', async (t) => {
    if (!(await requireDocker(t)) || !requireImageAndRoot(t)) return;
    const project = `felhom-img-${process.pid % 10000}`;
    const appId = `imgapp-${process.pid % 10000}`;
    // Undone in this order, before the folder goes: the deployment, the agent, the mount.
    const undo: Array<() => unknown> = [];
    const dir = tempDir(t, 'felhom-image-', async () => {
      for (const step of undo) await step();
    });

    // The agent on the host's Docker bridge, where the controller container reaches it.
    const gateway = docker('network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}');
    const mountRoot = path.join(dir, 'mnt');
    const agent = await startDevAgent({ stateDir: path.join(dir, 'agent'), host: gateway, port: 0, mountRoot, logger: silentLogger(), backup: { queuedMs: 300, runningMs: 1500, snapshottedMs: 1500 } });
    undo.push(() => agent.close());
    // A systemd host mounts / shared; here the storage root becomes a shared mount of its own.
    execFileSync('mount', ['--bind', mountRoot, mountRoot]);
    execFileSync('mount', ['--make-rshared', mountRoot]);
    undo.push(() => spawnSync('umount', ['-l', mountRoot]));
    for (const mount of fs.readdirSync(mountRoot)) fs.chownSync(path.join(mountRoot, mount), CONTROLLER_UID, CONTROLLER_UID);

    // The controller's data folder, prepared as the deployment must: owned by the controller's user.
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.chownSync(dataDir, CONTROLLER_UID, CONTROLLER_UID);
    const port = await freePort();
    const env = {
      ...process.env,
      FELHOM_IMAGE: IMAGE,
      DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid),
      FELHOM_CONFIG_DIR: path.dirname(agent.bootstrapPath),
      FELHOM_STORAGE_ROOT: mountRoot,
      FELHOM_PORT: String(port),
      FELHOM_DATA_DIR: dataDir,
    };
    const compose = (...args: string[]) => execFileSync(composeCommand()[0]!, [...composeCommand().slice(1), '-p', project, '-f', deployment, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    cleanUpProject(t, appId);
    undo.unshift(() => spawnSync(composeCommand()[0]!, [...composeCommand().slice(1), '-p', project, '-f', deployment, 'down', '-v', '-t', '30'], { env }));

    const url = `http://127.0.0.1:${port}`;
    const started = Date.now();
    compose('up', '-d');
    const container = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`);
    await until('/healthz', () => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false), 30_000, 50);
    t.diagnostic(`first /healthz 200 after ${Date.now() - started} ms (including compose up)`);

    // Hardened as the deployment says.
    const inspect = JSON.parse(docker('inspect', container))[0] as { Config: { User: string; Labels: Record<string, string> }; HostConfig: Record<string, any> };
    assert.equal(inspect.Config.User, `${CONTROLLER_UID}:${CONTROLLER_UID}`);
    assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.ok(inspect.HostConfig.SecurityOpt.some((o: string) => /^no-new-privileges(:true)?$/.test(o)));
    assert.deepEqual(inspect.HostConfig.GroupAdd, [env.DOCKER_GID]);
    assert.ok(inspect.HostConfig.Memory > 0 && inspect.HostConfig.PidsLimit > 0);
    assert.equal(inspect.Config.Labels['org.felhom.role'], 'controller');
    assert.ok(inspect.HostConfig.Binds.some((b: string) => b === `${mountRoot}:${mountRoot}:rslave`));
    assert.ok(inspect.HostConfig.Binds.some((b: string) => b.startsWith(`${dataDir}:${dataDir}`)));

    const token = /(fct_\S+)/.exec(docker('exec', container, 'node', 'dist/cli.js', 'api-token', 'create', 'image-test'))![1]!;
    const api = async (method: string, route: string, body?: unknown) => {
      // A bounded wait: a kept-alive connection to a container that was stopped would hang.
      const response = await fetch(`${url}/api/v1${route}`, { signal: AbortSignal.timeout(10_000), method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: response.status, body: (await response.json()) as any };
    };

    // The agent wrote bootstrap.json 0600 for root: the controller says why it cannot read it, and keeps serving.
    const refused = await until('the bootstrap problem', async () => (await api('GET', '/status')).body.bootstrap.problem?.message as string | undefined);
    assert.match(refused, /the controller runs as uid 1000, gid 1000 .* (cannot enter its folder|belongs to uid 0)/);
    fs.chownSync(path.dirname(agent.bootstrapPath), 0, CONTROLLER_UID);
    fs.chmodSync(path.dirname(agent.bootstrapPath), 0o750);
    fs.chownSync(agent.bootstrapPath, 0, CONTROLLER_UID);
    fs.chmodSync(agent.bootstrapPath, 0o640);
    await until('the agent channel', async () => (await api('GET', '/status')).body.agent.authorized === true, 60_000, 500);
    assert.equal(docker('inspect', '-f', '{{.State.Health.Status}}', container).length > 0, true);
    await until('a green health check', () => docker('inspect', '-f', '{{.State.Health.Status}}', container) === 'healthy', 40_000, 500);

    // An app installed through the API, by compose v2 inside the container.
    const manifest = `schema: felhom.app/v1\nid: ${appId}\nname: Image test\nversion: "1"\nvolumes:\n  data: { class: hot }\n`;
    // It ships a file from its own folder (its manifest) as a config: the engine binds it by the guest path.
    const appCompose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "date >> /data/started; exec sleep 3600"]\n    volumes: ["data:/data"]\n    configs: [{ source: manifest, target: /etc/app-manifest.yml }]\nvolumes:\n  data:\nconfigs:\n  manifest:\n    file: ./.felhom.yml\n`;
    assert.equal((await api('POST', '/apps', { manifest, compose: appCompose })).status, 202);
    await until('the app running', async () => (await api('GET', `/apps/${appId}`)).body.state === 'running');
    const appContainer = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${appId}`);
    assert.match(docker('inspect', '-f', '{{.Name}}', appContainer), new RegExp(`^/${appId}-web-1$`), 'compose v2 names it (app-web-1)');
    const placement = (await api('GET', `/apps/${appId}`)).body.volumes[0].path as string;
    assert.ok(placement.startsWith(mountRoot) && fs.existsSync(path.join(placement, 'started')), 'the data is on the agent’s mount, at the same path inside and out');
    const appState = () => docker('inspect', '-f', '{{.State.Status}}', appContainer);
    assert.match(docker('exec', appContainer, 'cat', '/etc/app-manifest.yml'), new RegExp(`id: ${appId}`), 'a file from the app folder reached the app');

    // A quiesced backup: the app stops, the agent snapshots, the app runs again.
    const run = (await api('POST', '/backups')).body.run;
    await until('the app stopped for the backup', () => appState() === 'exited', 30_000, 100);
    await until('the run closed', async () => (await api('GET', '/backups/current')).body.run === null, 60_000, 250);
    const closed = (await api('GET', '/backups')).body.runs.find((r: { id: string }) => r.id === run.id);
    assert.equal(closed.outcome, 'succeeded', JSON.stringify(closed));
    assert.equal(appState(), 'running');

    // docker stop in the middle of a quiesce: the app runs again before the controller exits.
    const second = (await api('POST', '/backups')).body.run;
    await until('the second backup waiting for its snapshot', async () => (await api('GET', '/backups/current')).body.run?.phase === 'waiting', 30_000, 50);
    assert.equal(appState(), 'exited');
    const stopStarted = Date.now();
    docker('stop', '-t', '120', container);
    t.diagnostic(`docker stop took ${Date.now() - stopStarted} ms`);
    assert.equal(docker('inspect', '-f', '{{.State.ExitCode}}', container), '0', 'a clean exit, not a SIGKILL');
    assert.equal(appState(), 'running', 'the app runs while the controller is down');
    docker('start', container);
    await until('/healthz again', () => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false), 30_000, 100);
    assert.equal(appState(), 'running', 'and after it is back');
    const resumed = await until('the interrupted run closed', async () => {
      const found = (await api('GET', '/backups')).body.runs.find((r: { id: string }) => r.id === second.id);
      return found?.outcome ? found : null;
    }, 60_000, 500);
    assert.equal(resumed.resume_reason, 'shutdown');
    assert.equal(agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 2, 'no backup was requested twice');
  });
});
