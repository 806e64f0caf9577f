/**
 * The product run exactly as it ships: the image built from the Dockerfile, deployed
 * with compose/controller.yml (non-root, socket group, read-only root, no capabilities,
 * no-new-privileges, rslave storage root), against the development agent on the host's
 * Docker bridge over pinned TLS. Health check, an app installed through the API, a
 * quiesced backup, and a `docker stop` in the middle of a quiesce.
 * Needs root (a shared bind mount) and the image (scripts/image.sh, run by scripts/setup
 * and .ci/run); without them it skips loudly, and under CI=true it fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { apiClient, composeCommand, CONTROLLER_UID, DEFAULT_IMAGE, deploy, deploymentUnavailable, docker, freePort } from './helpers/deployment.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { testLogs } from './helpers/log.ts';
import { attemptSignIn, signInWithSetupCode } from './helpers/sign-in.ts';
import { until } from './helpers/until.ts';

/**
 * Bounds for a loaded 2-core CI machine (5–10 times slower than a developer's), where
 * the controller container gets one CPU.
 */
/** A container starting or stopping; /healthz answering after a start; Docker's health check (every 15 s). */
const CONTAINER_MS = 90_000;
/** The first /status that names the bootstrap problem the controller found at start. */
const STATUS_MS = 60_000;
/** The controller reads bootstrap.json again only every 30 s, and caches its agent probe for 10 s. */
const AGENT_CHANNEL_MS = 90_000;
/** An install: compose config and up inside the container, then the app's start. */
const INSTALL_MS = 90_000;
/** A quiesced backup: the app stopped, the agent's phases (about 3 s here), the app started again. */
const BACKUP_MS = 90_000;

function requireDeployment(t: TestContext): boolean {
  const missing = deploymentUnavailable();
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`the image test needs ${missing}, and CI=true`);
  process.stderr.write(`\n*** SKIPPING "${t.name}": it needs ${missing}. ***\n\n`);
  t.skip(`needs ${missing}`);
  return false;
}

describe('the controller image deployed with compose/controller.yml', () => {
  // A deployment, an install, two backups and a restart: minutes on a loaded machine; every wait in it has its own bound.
  it('when deployed hardened beside the agent, then it is healthy, installs an app, quiesces a backup, and a docker stop mid-quiesce leaves the app running', { timeout: 600_000 }, async (t) => {
    if (!(await requireDocker(t)) || !requireDeployment(t)) return;
    const appId = `imgapp-${process.pid % 10000}`;
    cleanUpProject(t, appId);
    const [command, ...prefix] = composeCommand();
    const version = execFileSync(command!, [...prefix, 'version'], { encoding: 'utf8' });
    t.diagnostic(`deployed with ${version.trim()}`);
    if (process.env.CI === 'true') assert.match(version, /Docker Compose version v?2\./, 'CI deploys with compose v2, as production does');
    const started = Date.now();
    const d = await deploy({ agent: { backup: { queuedMs: 300, runningMs: 1500, snapshottedMs: 1500 } } });
    // Before the removal is registered: a failure's hook reads the container's log first.
    const logs = testLogs(t);
    logs.add('controller container', d.controllerLog);
    logs.add('agent', d.agentLog);
    const explain = logs.explain;
    t.after(() => d.remove());
    const { container, mountRoot, dataDir, agent } = d;
    await until(() => d.healthy(), { what: '/healthz', timeoutMs: CONTAINER_MS, intervalMs: 50, explain });
    t.diagnostic(`first /healthz 200 after ${Date.now() - started} ms (including compose up)`);

    // Hardened as the deployment says.
    const inspect = JSON.parse(docker('inspect', container))[0] as { Config: { User: string; Labels: Record<string, string> }; HostConfig: Record<string, any> };
    assert.equal(inspect.Config.User, `${CONTROLLER_UID}:${CONTROLLER_UID}`);
    assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(inspect.HostConfig.CapDrop, ['ALL']);
    assert.ok(inspect.HostConfig.SecurityOpt.some((o: string) => /^no-new-privileges(:true)?$/.test(o)));
    assert.deepEqual(inspect.HostConfig.GroupAdd, [d.env.DOCKER_GID]);
    assert.ok(inspect.HostConfig.Memory > 0 && inspect.HostConfig.PidsLimit > 0);
    assert.equal(inspect.Config.Labels['org.felhom.role'], 'controller');
    assert.equal((inspect.Config as { Hostname?: string }).Hostname, 'felhom-controller', 'a host name restic’s locks keep across a recreate');
    assert.ok(inspect.HostConfig.Binds.some((b: string) => new RegExp(`^${mountRoot}:${mountRoot}:(rw,)?rslave$`).test(b)), inspect.HostConfig.Binds.join(' '));
    assert.equal((inspect.Config as { StopTimeout?: number }).StopTimeout, 120, 'docker stop waits the grace period the quiesce guarantee needs');
    assert.ok(inspect.HostConfig.Binds.some((b: string) => b.startsWith(`${dataDir}:${dataDir}`)));

    // A disk the agent mounts after the controller started shows up inside (rslave): here a tmpfs.
    const lateDisk = path.join(mountRoot, 'late-disk');
    fs.mkdirSync(lateDisk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', lateDisk]);
    t.after(() => void spawnSync('umount', ['-l', lateDisk]));
    fs.writeFileSync(path.join(lateDisk, 'label'), 'plugged in later');
    assert.equal(docker('exec', container, 'node', '-p', `require('fs').readFileSync(${JSON.stringify(path.join(lateDisk, 'label'))}, 'utf8')`), 'plugged in later', 'the new mount propagated into the running container');

    const api = d.api();

    // The agent wrote bootstrap.json 0600 for root: the controller says why it cannot read it, and keeps serving.
    const refused = await until(async () => (await api('GET', '/status')).body.bootstrap, { what: 'the bootstrap problem', done: (bootstrap) => Boolean(bootstrap.problem?.message), timeoutMs: STATUS_MS, explain });
    assert.match(refused.problem.message, /the controller runs as uid 1000, gid 1000 .* (cannot enter its folder|belongs to uid 0)/);
    d.grantBootstrap();
    await until(async () => (await api('GET', '/status')).body.agent, { what: 'the agent channel', done: (status) => status.authorized === true, timeoutMs: AGENT_CHANNEL_MS, intervalMs: 500, explain });
    await until(() => docker('inspect', '-f', '{{.State.Health.Status}}', container), { what: 'a green health check', done: (health) => health === 'healthy', timeoutMs: CONTAINER_MS, intervalMs: 500, explain });

    // Password checks take 128 MiB each and the deployment caps the container at 384 MiB:
    // several sign-ins at once are queued, not a reason to be OOM-killed.
    await signInWithSetupCode(d.url, fs.readFileSync(path.join(dataDir, 'setup-code.txt'), 'utf8').split('\n')[0]!, 'the family password');
    const startedAt = docker('inspect', '-f', '{{.State.StartedAt}}', container);
    const attempts = await Promise.all(Array.from({ length: 6 }, () => attemptSignIn(d.url, 'not the password')));
    assert.deepEqual(attempts, Array(6).fill(401));
    assert.equal(await attemptSignIn(d.url, 'the family password'), 303);
    assert.equal(docker('inspect', '-f', '{{.State.StartedAt}} {{.RestartCount}} {{.State.OOMKilled}}', container), `${startedAt} 0 false`, 'the same process, never OOM-killed');

    // An app installed through the API, by compose v2 inside the container.
    const manifest = `schema: felhom.app/v1\nid: ${appId}\nname: Image test\nversion: "1"\nvolumes:\n  data: { class: hot }\n`;
    // It ships a file from its own folder (its manifest) as a config: the engine binds it by the guest path.
    const appCompose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "date >> /data/started; exec sleep 3600"]\n    volumes: ["data:/data"]\n    configs: [{ source: manifest, target: /etc/app-manifest.yml }]\nvolumes:\n  data:\nconfigs:\n  manifest:\n    file: ./.felhom.yml\n`;
    assert.equal((await api('POST', '/apps', { manifest, compose: appCompose })).status, 202);
    await until(async () => (await api('GET', `/apps/${appId}`)).body, { what: 'the app running', done: (app) => app.state === 'running', timeoutMs: INSTALL_MS, intervalMs: 250, explain });
    const appContainer = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${appId}`);
    assert.match(docker('inspect', '-f', '{{.Name}}', appContainer), new RegExp(`^/${appId}-web-1$`), 'compose v2 names it (app-web-1)');
    const placement = (await api('GET', `/apps/${appId}`)).body.volumes[0].path as string;
    assert.ok(placement.startsWith(mountRoot) && fs.existsSync(path.join(placement, 'started')), 'the data is on the agent’s mount, at the same path inside and out');
    const appState = () => docker('inspect', '-f', '{{.State.Status}}', appContainer);
    assert.match(docker('exec', appContainer, 'cat', '/etc/app-manifest.yml'), new RegExp(`id: ${appId}`), 'a file from the app folder reached the app');

    // The controller knows its own container by its id (never by a label an image can
    // carry), so its deployment's project is a name no app may take.
    const squatter = (await api('POST', '/apps/plan', { manifest: manifest.replace(`id: ${appId}`, `id: ${d.project}`), compose: appCompose })).body;
    assert.ok(squatter.problems.some((p: string) => p.includes(`"${d.project}" is the name of a compose project the controller reserves`)), JSON.stringify(squatter));

    // A quiesced backup: the app stops, the agent snapshots, the app runs again.
    const run = (await api('POST', '/backups')).body.run;
    await until(appState, { what: 'the app stopped for the backup', done: (state) => state === 'exited', timeoutMs: CONTAINER_MS, explain });
    await until(async () => (await api('GET', '/backups/current')).body.run, { what: 'the run closed', done: (current) => current === null, timeoutMs: BACKUP_MS, intervalMs: 250, explain });
    const closed = (await api('GET', '/backups')).body.runs.find((r: { id: string }) => r.id === run.id);
    assert.equal(closed.outcome, 'succeeded', JSON.stringify(closed));
    assert.equal(appState(), 'running');

    // docker stop in the middle of a quiesce: the app runs again before the controller exits.
    const second = (await api('POST', '/backups')).body.run;
    await until(async () => (await api('GET', '/backups/current')).body.run, { what: 'the second backup waiting for its snapshot', done: (current) => current?.phase === 'waiting', timeoutMs: BACKUP_MS, intervalMs: 50, explain });
    assert.equal(appState(), 'exited');
    const stopStarted = Date.now();
    docker('stop', container);
    t.diagnostic(`docker stop took ${Date.now() - stopStarted} ms`);
    assert.equal(docker('inspect', '-f', '{{.State.ExitCode}}', container), '0', 'a clean exit, not a SIGKILL');
    assert.equal(appState(), 'running', 'the app runs while the controller is down');
    docker('start', container);
    await until(() => d.healthy(), { what: '/healthz again', timeoutMs: CONTAINER_MS, explain });
    assert.equal(appState(), 'running', 'and after it is back');
    const resumed = await until(async () => (await api('GET', '/backups')).body.runs.find((r: { id: string }) => r.id === second.id), {
      what: 'the interrupted run closed',
      done: (found) => Boolean(found?.outcome),
      timeoutMs: BACKUP_MS,
      intervalMs: 500,
      explain,
    });
    assert.equal(resumed.resume_reason, 'shutdown');
    assert.equal(agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length, 2, 'no backup was requested twice');
  });

  it('when the image runs, then its clock follows the guest timezone it is given, compose v2 and restic work, and it holds no shell, package manager or development agent', async (t) => {
    if (!(await requireDocker(t)) || !requireDeployment(t)) return;
    // The deployment gives the container the guest's /etc/localtime and zoneinfo, as here:
    // times on the pages are the family's, also where a zone's short name is ambiguous.
    const offsets = (zone: string) => {
      const file = `/usr/share/zoneinfo/${zone}`;
      assert.ok(fs.existsSync(file), `${file} is missing on this machine (Debian's tzdata)`);
      return docker('run', '--rm', '--read-only', '-v', `${file}:/etc/localtime:ro`, '-v', '/usr/share/zoneinfo:/usr/share/zoneinfo:ro', DEFAULT_IMAGE, 'node', '-p', "[new Date('2026-07-01T12:00:00Z'), new Date('2026-01-15T12:00:00Z')].map((d) => d.getTimezoneOffset()).join(' ')");
    };
    assert.equal(offsets('Europe/Budapest'), '-120 -60', 'summer and winter time in Budapest');
    assert.equal(offsets('Australia/Sydney'), '-600 -660', 'winter and summer time in Sydney');
    const deployment = fs.readFileSync(path.join(import.meta.dirname, '..', 'compose', 'controller.yml'), 'utf8');
    assert.match(deployment, /^\s+- \/etc\/localtime:\/etc\/localtime:ro$/m);
    assert.match(deployment, /^\s+- \/usr\/share\/zoneinfo:\/usr\/share\/zoneinfo:ro$/m);
    assert.match(docker('run', '--rm', DEFAULT_IMAGE, 'docker', 'compose', 'version'), /Docker Compose version v?2\./);
    // Bulk backups run restic as the controller's user on the read-only root; they use only what 0.14 has.
    const restic = docker('run', '--rm', '--read-only', '--user', `${CONTROLLER_UID}:${CONTROLLER_UID}`, DEFAULT_IMAGE, 'restic', 'version');
    const [major, minor] = (/^restic (\d+)\.(\d+)\.\d+ /.exec(restic) ?? assert.fail(`not a restic version: ${restic}`)).slice(1).map(Number);
    assert.ok(major! > 0 || minor! >= 14, `${restic}: the controller needs restic 0.14 or later`);
    t.diagnostic(restic);
    for (const tool of ['sh', 'bash', 'apt-get', 'npm']) {
      const run = spawnSync('docker', ['run', '--rm', DEFAULT_IMAGE, tool, '--version'], { encoding: 'utf8' });
      assert.notEqual(run.status, 0, `${tool} is in the image`);
      assert.match(run.stderr, /executable file not found/, run.stderr);
    }
    // The development agent stays in the checkout (test/image-contents.test.ts checks what the build reads).
    const devAgent = spawnSync('docker', ['run', '--rm', DEFAULT_IMAGE, 'node', 'dist/cli.js', 'dev-agent', '--help'], { encoding: 'utf8' });
    assert.equal(devAgent.status, 2, devAgent.stderr);
    assert.match(devAgent.stderr, /unknown command "dev-agent"/);
    assert.equal(docker('run', '--rm', DEFAULT_IMAGE, 'node', '-p', "require('node:fs').existsSync('dist/dev-agent')"), 'false');
  });

  it('when compose/demo.yml is brought up, then the controller serves and the development agent beside it has configured its channel', async (t) => {
    if (!(await requireDocker(t)) || !requireDeployment(t)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-demo-'));
    fs.chownSync(dir, CONTROLLER_UID, CONTROLLER_UID);
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const project = `felhom-demo-${process.pid % 10000}`;
    const env = { ...process.env, FELHOM_IMAGE: DEFAULT_IMAGE, DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid), FELHOM_PORT: String(port), FELHOM_DEMO_STORAGE: dir };
    const [command, ...prefix] = composeCommand();
    // Bounded: a synchronous call that hangs would hold the event loop past any timeout.
    const compose = (...args: string[]) => spawnSync(command!, [...prefix, '-p', project, '-f', path.join(import.meta.dirname, '..', 'compose', 'demo.yml'), ...args], { env, encoding: 'utf8', timeout: 180_000 });
    // The controller's and the agent's containers, read before `down` removes them.
    const logs = testLogs(t);
    logs.add('demo deployment', (count) => compose('logs', '--no-color', '--tail', String(count)).stdout.split('\n').filter(Boolean));
    const explain = logs.explain;
    t.after(() => void compose('down', '-v', '-t', '10'));
    const up = compose('up', '-d');
    assert.equal(up.status, 0, up.stderr);
    const url = `http://127.0.0.1:${port}`;
    await until(() => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.ok, () => false), { what: '/healthz', timeoutMs: CONTAINER_MS, explain });
    const container = compose('ps', '-q', 'controller').stdout.trim();
    const api = apiClient(container, url);
    const status = await until(async () => (await api('GET', '/status')).body, {
      what: 'the agent channel',
      done: (body) => body.agent.authorized === true,
      timeoutMs: AGENT_CHANNEL_MS,
      intervalMs: 250,
      explain,
    });
    assert.equal(status.bootstrap.state, 'configured');
    const storage = (await api('GET', '/storage')).body.mounts as Array<{ path: string }>;
    assert.ok(storage.length > 0 && storage.every((m) => m.path.startsWith(dir)), JSON.stringify(storage));
  });

  it('when the compose files are read by compose v1 and v2, then both accept them, and a missing socket group is refused by name', (t) => {
    const root = path.join(import.meta.dirname, '..');
    const commands = [composeCommand(), ['docker-compose']].filter((c, i, all) => all.findIndex((o) => o.join(' ') === c.join(' ')) === i);
    const available = commands.filter(([command, ...prefix]) => spawnSync(command!, [...prefix, 'version']).status === 0);
    if (available.length < 2 && process.env.CI === 'true') throw new Error(`compose v1 and v2 must both be here under CI=true; found: ${available.map((c) => c.join(' ')).join(', ')}`);
    if (available.length === 0) return t.skip('no compose here');
    for (const [command, ...prefix] of available) {
      const config = (file: string, env: Record<string, string>) => spawnSync(command!, [...prefix, '-f', path.join(root, 'compose', file), 'config', '-q'], { env: { ...process.env, ...env }, encoding: 'utf8' });
      const name = [command, ...prefix].join(' ');
      for (const file of ['controller.yml', 'demo.yml']) {
        const checked = config(file, { DOCKER_GID: '999' });
        assert.equal(checked.status, 0, `${name} rejects ${file}: ${checked.stderr}`);
      }
      const noGroup = config('controller.yml', { DOCKER_GID: '' });
      assert.notEqual(noGroup.status, 0, `${name} accepted controller.yml without DOCKER_GID`);
      assert.match(noGroup.stderr, /set DOCKER_GID to the group of \/var\/run\/docker\.sock/);
    }
  });
});
