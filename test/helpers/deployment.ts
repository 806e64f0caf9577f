/**
 * The controller image deployed the production way, with compose/controller.yml, beside
 * the development agent on the host's Docker bridge. Shared by the image test and the
 * image benchmark. Needs root: the storage root becomes a shared mount, and folders are
 * handed to the controller's user (uid 1000) as the real deployment must.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDevAgent, type DevAgent, type DevAgentOptions } from '../../dev-agent/index.ts';
import { composeV2 } from './compose-versions.ts';
import { recordedTail, recordingLogger, type LogTail } from './log.ts';

export const CONTROLLER_UID = 1000;
export const DEFAULT_IMAGE = process.env.FELHOM_IMAGE ?? 'felhom/controller:dev';
const deploymentFile = path.join(import.meta.dirname, '..', '..', 'compose', 'controller.yml');

/**
 * The bound on each docker and compose command: a synchronous call that hangs would hold
 * the event loop, so not even the test's timeout could end it. `docker stop` may wait the
 * deployment's 120 s grace period.
 */
const DOCKER_CLI_TIMEOUT_MS = 180_000;
export const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', timeout: DOCKER_CLI_TIMEOUT_MS }).trim();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * compose v2, as in production: the host's plugin, or the binary scripts/image.sh took
 * from the compose image; v1 only where neither exists (compose/controller.yml is
 * written for both).
 */
export function composeCommand(): string[] {
  return composeV2() ?? ['docker-compose'];
}

/**
 * The host's address on Docker's default bridge, where a container reaches the agent.
 * Some engines leave the gateway out of the bridge's IPAM config (Debian's 28.2 here);
 * Docker then gives the bridge the first address of its subnet.
 */
export function bridgeGateway(): string {
  const configured = docker('network', 'inspect', 'bridge', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}');
  if (configured) return configured;
  const subnet = docker('network', 'inspect', 'bridge', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}');
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/\d+$/.exec(subnet);
  if (!match) throw new Error(`the Docker bridge has no IPv4 subnet (${subnet})`);
  return `${match[1]}.${match[2]}.${match[3]}.${Number(match[4]) + 1}`;
}

/** What keeps the image test or benchmark from running here, or null. */
export function deploymentUnavailable(image = DEFAULT_IMAGE): string | null {
  if (process.getuid?.() !== 0) return 'root (the storage root must be a shared mount)';
  if (spawnSync('docker', ['image', 'inspect', image]).status !== 0) return `the image ${image} (run scripts/image.sh)`;
  return null;
}

/** An API client of the controller in `container`, with a token made inside it. */
export function apiClient(container: string, url: string): (method: string, route: string, body?: unknown) => Promise<{ status: number; body: any }> {
  const created = docker('exec', container, 'node', 'dist/cli.js', 'api-token', 'create', `t-${Date.now()}`);
  const token = /(fct_\S+)/.exec(created)?.[1];
  if (!token) throw new Error(`felhom api-token create in ${container} printed no token: ${created}`);
  return async (method, route, body) => {
    const response = await fetch(`${url}/api/v1${route}`, {
      // An install runs compose inside the container (one CPU): on a loaded 2-core CI machine it took over 10 s.
      signal: AbortSignal.timeout(30_000),
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
}

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Deployment {
  url: string;
  project: string;
  container: string;
  agent: DevAgent;
  mountRoot: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Answers within `timeoutMs` or not at all (a kept-alive connection to a stopped container would hang). */
  healthy(timeoutMs?: number): Promise<boolean>;
  /** The controller container's last log lines (`docker logs --tail`), while it exists. */
  controllerLog: LogTail;
  /** The development agent's last log lines (every request, at debug). */
  agentLog: LogTail;
  /** Hands bootstrap.json to the controller's group, as the deployment must (0750 folder, 0640 file). */
  grantBootstrap(): void;
  /** An API client with a token made inside the container. */
  api(): (method: string, route: string, body?: unknown) => Promise<{ status: number; body: any }>;
  /** Everything undone: the deployment, the agent, the mount, the folder. */
  remove(): Promise<void>;
}

export async function deploy(options: { image?: string; agent?: Partial<DevAgentOptions> } = {}): Promise<Deployment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-image-'));
  const project = `felhom-img-${path.basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const undo: Array<() => unknown> = [() => fs.rmSync(dir, { recursive: true, force: true })];
  const remove = async () => {
    while (undo.length) await undo.pop()!();
  };
  try {
    // The agent on the host's Docker bridge, where the controller container reaches it.
    const gateway = bridgeGateway();
    const mountRoot = path.join(dir, 'mnt');
    const agentLog = recordingLogger('debug');
    const agent = await startDevAgent({ stateDir: path.join(dir, 'agent'), host: gateway, port: 0, mountRoot, logger: agentLog.logger, ...options.agent });
    undo.push(() => agent.close());
    // A systemd host mounts / shared; here the storage root becomes a shared mount of its own.
    execFileSync('mount', ['--bind', mountRoot, mountRoot]);
    execFileSync('mount', ['--make-rshared', mountRoot]);
    undo.push(() => spawnSync('umount', ['-l', mountRoot]));
    for (const mount of fs.readdirSync(mountRoot)) fs.chownSync(path.join(mountRoot, mount), CONTROLLER_UID, CONTROLLER_UID);
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.chownSync(dataDir, CONTROLLER_UID, CONTROLLER_UID);

    const port = await freePort();
    const env = {
      ...process.env,
      FELHOM_IMAGE: options.image ?? DEFAULT_IMAGE,
      DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid),
      FELHOM_CONFIG_DIR: path.dirname(agent.bootstrapPath),
      FELHOM_STORAGE_ROOT: mountRoot,
      FELHOM_PORT: String(port),
      FELHOM_DATA_DIR: dataDir,
    };
    const [command, ...prefix] = composeCommand();
    const compose = (...args: string[]) => spawnSync(command!, [...prefix, '-p', project, '-f', deploymentFile, ...args], { env, encoding: 'utf8', timeout: DOCKER_CLI_TIMEOUT_MS });
    undo.push(() => compose('down', '-v', '-t', '30'));
    const up = compose('up', '-d');
    if (up.status !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    const container = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`);
    const url = `http://127.0.0.1:${port}`;
    const healthy = (timeoutMs = 10_000) => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.ok, () => false);
    return {
      url,
      project,
      container,
      agent,
      mountRoot,
      dataDir,
      env,
      healthy,
      // The controller logs to stdout, Node itself to stderr: both, interleaved as they came
      // (and docker's own complaint when the container is gone).
      controllerLog: (count) =>
        spawnSync('sh', ['-c', `docker logs --tail ${count} ${container} 2>&1`], { encoding: 'utf8', timeout: 30_000 }).stdout?.split('\n').filter(Boolean) ?? [],
      agentLog: recordedTail(agentLog.lines),
      grantBootstrap() {
        fs.chownSync(path.dirname(agent.bootstrapPath), 0, CONTROLLER_UID);
        fs.chmodSync(path.dirname(agent.bootstrapPath), 0o750);
        fs.chownSync(agent.bootstrapPath, 0, CONTROLLER_UID);
        fs.chmodSync(agent.bootstrapPath, 0o640);
      },
      api: () => apiClient(container, url),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
