/**
 * Chaos soak of the quiesce loop: N quiesced backups (default 200), each with one fault
 * picked at random and struck at a random moment, against a real controller process, the
 * development agent, real Docker and a real PostgreSQL app with a writer. After every
 * iteration it checks the promises the loop makes:
 *   - within the bounds, every app that ran before runs again (each container that ran);
 *   - the agent was asked for at most one backup;
 *   - no run is left open;
 *   - a backup the controller calls app-consistent restores to a database that starts
 *     without crash recovery and holds every row the writer saw committed before the stop.
 * It prints counts per fault and per resume reason, the median and the worst recovery
 * time, and exits 1 when any promise was broken (with the recent log lines of both sides).
 *
 *   source scripts/toolchain.sh && node scripts/soak.ts [N] [--seed S] [--fault "kill -9" ...]
 *
 * Needs a Docker engine with the test images (scripts/engine.sh). The controller runs at
 * its defaults except a 1 s storage check (so a dropped disk is noticed within the
 * iteration instead of 15 s later).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { startDevAgent, type DevAgent, type DevAgentOptions } from '../dev-agent/index.ts';
import { call, readBootstrap } from '../dev-agent/testing.ts';
import { dockerOptionsFor } from '../src/stacks/engine.ts';
import { DB_WRITER_IMAGE, POSTGRES_IMAGE, readAck, startOnCopy } from '../test/helpers/databases.ts';
import { recordingLogger } from '../test/helpers/log.ts';
import { until } from '../test/helpers/until.ts';

const { values, positionals } = parseArgs({ options: { seed: { type: 'string' }, fault: { type: 'string', multiple: true } }, allowPositionals: true });
const iterations = Number(positionals[0] ?? 200);
const seed = Number(values.seed ?? Date.now() % 1_000_000);
const cli = path.join(import.meta.dirname, '..', 'src', 'cli.ts');
const dockerHost = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
const engine = new Docker(dockerOptionsFor(dockerHost));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PROJECT_LABEL = 'com.docker.compose.project';
const BULK_MOUNT = 'usb-9f3a27c1';
/** How long after a fault everything must be back: the agent unreachable bound (10 s) after a hung 10 s poll, with room. */
const RECOVERY_BOUND_MS = 90_000;

/** mulberry32: a small seeded generator, so a failing run can be repeated with its seed. */
function random(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(seed);
const between = (min: number, max: number) => Math.round(min + rand() * (max - min));
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

const ALL_FAULTS = ['kill -9', 'SIGTERM', 'agent 503', 'agent hangs', 'backup fails', 'agent restarts', 'container stopped', 'bulk disk drops'] as const;
type Fault = (typeof ALL_FAULTS)[number];
/** `--fault <name>` (repeatable) limits the soak to those faults, to chase one. */
const FAULTS: readonly Fault[] = values.fault?.length ? values.fault.map(faultNamed) : ALL_FAULTS;

function faultNamed(name: string): Fault {
  const fault = ALL_FAULTS.find((candidate) => candidate === name);
  if (!fault) throw new Error(`--fault must be one of: ${ALL_FAULTS.join(', ')}`);
  return fault;
}

// Per soak, so that two soaks (or a leftover of one) never touch each other's apps.
const DB_APP = `soak-db-${process.pid}`;
const WEB_APP = `soak-web-${process.pid}`;
const BULK_APP = `soak-bulk-${process.pid}`;

const APPS = {
  [DB_APP]: {
    manifest: 'volumes:\n  db: { class: hot }\n  ack: { class: hot }\n',
    compose: [
      'services:',
      '  db:',
      `    image: ${POSTGRES_IMAGE}`,
      '    volumes: ["db:/var/lib/postgresql/data"]',
      '  writer:',
      `    image: ${DB_WRITER_IMAGE}`,
      '    environment: { DB_KIND: postgres, DB_HOST: db, INTERVAL_MS: "5" }',
      '    volumes: ["ack:/ack"]',
      'volumes:',
      '  db:',
      '  ack:',
    ].join('\n'),
  },
  [WEB_APP]: {
    manifest: 'volumes:\n  site: { class: hot }\n',
    compose: [
      'services:',
      '  web:',
      '    image: felhom-test/busybox:latest',
      '    init: true',
      '    command: ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]',
      '    volumes: ["site:/srv/www"]',
      '  worker:',
      '    image: felhom-test/busybox:latest',
      '    init: true',
      '    command: ["sleep", "100000"]',
      'volumes:',
      '  site:',
    ].join('\n'),
  },
  [BULK_APP]: {
    manifest: 'volumes:\n  media: { class: bulk, backup: none, note: "test files" }\n',
    compose: [
      'services:',
      '  web:',
      '    image: felhom-test/busybox:latest',
      '    init: true',
      '    command: ["httpd", "-f", "-p", "8080", "-h", "/srv/media"]',
      '    volumes: ["media:/srv/media"]',
      'volumes:',
      '  media:',
    ].join('\n'),
  },
};
const appIds = Object.keys(APPS);

/** The last lines of a stream of log text, for explaining a broken promise. */
class Tail {
  #lines: string[] = [];
  push(text: string): void {
    this.#lines.push(...text.split('\n').filter(Boolean));
    if (this.#lines.length > 400) this.#lines.splice(0, this.#lines.length - 400);
  }
  last(n: number): string {
    return this.#lines.slice(-n).join('\n');
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The controller as a real process, so it can be killed; restarted on the same port and data. */
class ControllerProcess {
  readonly log = new Tail();
  #child: ChildProcess | null = null;
  #exited: Promise<number | null> = Promise.resolve(null);
  readonly url: string;
  readonly env: Record<string, string>;
  constructor(env: Record<string, string>, port: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.env = { ...env, FELHOM_LISTEN: `127.0.0.1:${port}` };
  }
  async start(): Promise<void> {
    const child = spawn(process.execPath, [cli, 'serve'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, FELHOM_LOG_FORMAT: 'json', FELHOM_PULL: 'never', DOCKER_HOST: dockerHost, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout!.on('data', (chunk: Buffer) => this.log.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => this.log.push(chunk.toString()));
    const started = await until(async () => ({ exitCode: child.exitCode, serving: Boolean((await fetch(`${this.url}/healthz`).catch(() => null))?.ok) }), {
      what: 'the controller to serve',
      done: ({ exitCode, serving }) => serving || exitCode !== null,
      timeoutMs: 60_000,
      explain: () => this.log.last(40),
    });
    if (!started.serving) throw new Error(`the controller exited ${started.exitCode} while starting:\n${this.log.last(40)}`);
  }
  /** Sends the signal and waits for the exit (bounded); the exit code. */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    this.#child?.kill(signal);
    const code = await Promise.race([this.#exited, sleep(90_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.#child?.kill('SIGKILL');
      throw new Error(`the controller did not exit within 90 s of ${signal}:\n${this.log.last(40)}`);
    }
    return code;
  }
}

class Soak {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-soak-'));
  readonly agentLog = new Tail();
  agent!: DevAgent;
  agentOptions!: DevAgentOptions;
  controller!: ControllerProcess;
  token = '';
  readonly counts = new Map<string, number>();
  /** Per iteration, from the end of the fault: until every app ran again, and until the run closed. */
  readonly appsBack: number[] = [];
  /** Per iteration, from the backup's start until every app ran again: the longest the apps were down. */
  readonly appsDown: number[] = [];
  readonly runsClosed: number[] = [];
  readonly violations: string[] = [];
  checkedCopies = 0;

  async api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.controller.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: await response.json() };
  }

  /** POST /backup requests of agents restarted since (each agent keeps its own log). */
  #requestsOfEarlierAgents = 0;

  async startAgent(port: number): Promise<void> {
    const recorder = recordingLogger('info');
    setInterval(() => {
      for (const line of recorder.lines.splice(0)) this.agentLog.push(JSON.stringify(line));
    }, 500).unref();
    this.agentOptions = {
      stateDir: path.join(this.root, 'agent'),
      port,
      logger: recorder.logger,
      backup: { mode: 'snapshot', queuedMs: 200, runningMs: 800, snapshottedMs: 1_500, keepCopies: 3 },
    };
    this.agent = await startDevAgent(this.agentOptions);
  }

  async restartAgent(downForMs: number): Promise<void> {
    this.#requestsOfEarlierAgents += this.#backupRequestsOf(this.agent);
    await this.agent.close();
    await sleep(downForMs);
    this.agent = await startDevAgent(this.agentOptions);
  }

  #backupRequestsOf(agent: DevAgent): number {
    return agent.requests().filter((r) => r.method === 'POST' && r.path === '/backup').length;
  }

  backupRequests(): number {
    return this.#requestsOfEarlierAgents + this.#backupRequestsOf(this.agent);
  }

  async setUp(): Promise<void> {
    // A fixed port, so the agent can be restarted where the controller's bootstrap points.
    await this.startAgent(await freePort());
    const dataDir = path.join(this.root, 'data');
    fs.mkdirSync(dataDir);
    const created = spawnSync(process.execPath, [cli, 'api-token', 'create', 'soak'], { env: { PATH: process.env.PATH, FELHOM_DATA_DIR: dataDir }, encoding: 'utf8' });
    this.token = /^\s+(fct_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    if (!this.token) throw new Error(`could not create an API token: ${created.stderr}`);
    this.controller = new ControllerProcess({ FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: this.agent.bootstrapPath, FELHOM_STORAGE_CHECK_MS: '1000' }, await freePort());
    await this.controller.start();
    for (const [id, app] of Object.entries(APPS)) {
      const installed = await this.api('POST', '/apps', {
        manifest: `schema: felhom.app/v1\nid: ${id}\nname: ${id}\nversion: "1"\ncompose: compose.yml\n${app.manifest}`,
        compose: `${app.compose}\n`,
      });
      if (installed.status !== 202) throw new Error(`installing ${id}: ${installed.status} ${JSON.stringify(installed.body)}`);
      const operation = await until(async () => (await this.api('GET', `/operations/${installed.body.operation.id}`)).body.operation, {
        what: `${id} to be installed`,
        done: (op) => op.state !== 'running',
        timeoutMs: 180_000,
      });
      if (operation.state !== 'succeeded') throw new Error(`installing ${id} failed: ${JSON.stringify(operation)}`);
    }
    await until(() => (readAck(this.ackFolder()) ?? 0) > 100, { what: 'the writer to commit rows', timeoutMs: 60_000 });
  }

  /** Where the writer's acknowledgements live on the agent's primary mount. */
  ackFolder(base = path.join(this.agent.stateDir, 'mounts', 'local-fast')): string {
    return path.join(base, 'felhom', 'apps', DB_APP, 'ack');
  }

  /** Per app, the names of its running containers. */
  async running(): Promise<Record<string, string[]>> {
    const listed = await engine.listContainers({ filters: { label: [PROJECT_LABEL] } });
    return Object.fromEntries(appIds.map((id) => [id, listed.filter((c) => c.Labels[PROJECT_LABEL] === id).map((c) => c.Names[0]!.slice(1)).sort()]));
  }

  async iteration(n: number): Promise<void> {
    const fault = pick(FAULTS);
    this.count(fault);
    const problems: string[] = [];
    const delay = between(0, 3_000);
    // Someone else stops a container before the backup, while the apps are down, or after
    // they were started again: the run starts only what it stopped, so in the first and
    // the last case that container stays stopped (it is not the backup's to start).
    const stoppedBySomeoneElse: { when: 'before' | 'while down' | 'after the resume'; name: string } | null =
      fault === 'container stopped' ? { when: pick(['before', 'while down', 'after the resume'] as const), name: '' } : null;
    if (stoppedBySomeoneElse?.when === 'before') stoppedBySomeoneElse.name = await this.stopSomeContainer(await this.running());
    const before = await this.running();
    const requestsBefore = this.backupRequests();
    let faultEndedAt = Date.now();

    if (fault === 'backup fails') this.agent.failNextBackup({ atPhase: pick(['queued', 'running', 'snapshotted'] as const) });
    const postedAt = Date.now();
    const started = await this.api('POST', '/backups');
    if (started.status !== 202) throw new Error(`iteration ${n}: POST /backups answered ${started.status} ${JSON.stringify(started.body)}`);
    const runId: string = started.body.run.id;
    await sleep(delay);

    switch (fault) {
      case 'kill -9':
        await this.controller.stop('SIGKILL');
        faultEndedAt = Date.now();
        await this.controller.start();
        break;
      case 'SIGTERM': {
        const code = await this.controller.stop('SIGTERM');
        faultEndedAt = Date.now();
        if (code !== 0) problems.push(`SIGTERM: the controller exited ${code}`);
        // The promise: the apps a run stopped are started before the controller exits.
        const now = await this.running();
        const missing = appIds.filter((id) => before[id]!.some((name) => !now[id]!.includes(name)));
        if (missing.length) problems.push(`SIGTERM: ${missing.join(', ')} not running when the controller had exited`);
        await this.controller.start();
        break;
      }
      case 'agent 503':
        this.agent.injectFault({ method: 'GET', path: '/backup/status', status: 503 });
        await sleep(between(500, 15_000));
        this.agent.clearFaults();
        faultEndedAt = Date.now();
        break;
      case 'agent hangs':
        this.agent.injectFault({ method: 'GET', path: '/backup/status', hang: true });
        await sleep(between(500, 25_000));
        this.agent.clearFaults();
        faultEndedAt = Date.now();
        break;
      case 'backup fails':
        break;
      case 'agent restarts':
        await this.restartAgent(between(0, 3_000));
        faultEndedAt = Date.now();
        break;
      case 'container stopped': {
        // A moment meant to be in the downtime that comes after the resume counts as after it.
        if (stoppedBySomeoneElse!.when === 'while down' && !['stopping', 'requesting', 'waiting'].includes((await this.api('GET', '/backups/current')).body.run?.phase)) {
          stoppedBySomeoneElse!.when = 'after the resume';
        }
        const when = stoppedBySomeoneElse!.when;
        this.count(`container stopped ${when}`);
        if (when === 'after the resume') {
          await until(async () => ['tracking', undefined].includes((await this.api('GET', '/backups/current')).body.run?.phase), {
            what: 'the apps to start again',
            timeoutMs: RECOVERY_BOUND_MS,
          });
        }
        if (when !== 'before') stoppedBySomeoneElse!.name = await this.stopSomeContainer(before);
        faultEndedAt = Date.now();
        break;
      }
      case 'bulk disk drops':
        this.agent.setMountState(BULK_MOUNT, 'disconnected');
        // The storage watch marks the app on it stopped for storage within its interval
        // (a backup's restart in that moment may still start it: the watch then stops it
        // again); once marked, it must stay stopped, whatever the backup does, until the
        // disk is back.
        await until(
          async () => {
            const app = (await this.api('GET', `/apps/${BULK_APP}`)).body;
            return app.stopped_for_storage && (await this.running())[BULK_APP]!.length === 0;
          },
          { what: 'the app on the dropped disk to be stopped for storage', timeoutMs: 15_000 },
        ).catch((error: Error) => problems.push(error.message));
        await sleep(between(0, 3_000));
        if ((await this.running())[BULK_APP]!.length > 0) problems.push('the app on the dropped disk ran while the disk was gone');
        this.agent.setMountState(BULK_MOUNT, 'attached');
        faultEndedAt = Date.now();
        break;
    }

    // Everything back within the bounds: every container that ran runs again (but one
    // someone else stopped outside the downtime), and no run is open.
    const expected = (id: string) => before[id]!.filter((name) => stoppedBySomeoneElse?.when !== 'after the resume' || name !== stoppedBySomeoneElse.name);
    const allBack = async () => {
      const now = await this.running();
      return appIds.every((id) => expected(id).every((name) => now[id]!.includes(name)));
    };
    let run: any = null;
    try {
      await until(allBack, { what: 'every app to run again', timeoutMs: RECOVERY_BOUND_MS });
      this.appsBack.push(Date.now() - faultEndedAt);
      this.appsDown.push(Date.now() - postedAt);
      // Once no run is open: the run as listed, or null when the list no longer has it.
      run = await until(
        async () => {
          if ((await this.api('GET', '/backups/current')).body.run) return undefined;
          return (await this.api('GET', '/backups')).body.runs.find((r: { id: string }) => r.id === runId) ?? null;
        },
        { what: 'the run to close', done: (closed) => closed !== undefined, timeoutMs: RECOVERY_BOUND_MS },
      );
      this.runsClosed.push(Date.now() - faultEndedAt);
      if (!(await allBack())) problems.push('an app stopped again after it had been started');
      if (stoppedBySomeoneElse && stoppedBySomeoneElse.when !== 'while down') {
        const now = await this.running();
        if (Object.values(now).some((names) => names.includes(stoppedBySomeoneElse.name))) {
          problems.push(`${stoppedBySomeoneElse.name}, stopped by someone else ${stoppedBySomeoneElse.when}, was started by the backup`);
        }
        // Back as it was, for the next iteration.
        await engine.getContainer(stoppedBySomeoneElse.name).start().catch(() => {});
        await until(async () => Object.values(await this.running()).some((names) => names.includes(stoppedBySomeoneElse.name)), {
          what: 'the container stopped by someone else to run again',
          timeoutMs: 60_000,
        });
      }
    } catch (error) {
      const now = await this.running().catch(() => ({}));
      problems.push(`${(error as Error).message}; running before ${JSON.stringify(before)}, now ${JSON.stringify(now)}`);
    }
    const requests = this.backupRequests() - requestsBefore;
    if (requests > 1) problems.push(`the agent was asked for ${requests} backups in one run`);
    if (run) {
      this.count(`${run.resume_reason ?? '—'} → ${run.outcome}${run.consistency ? ` (${run.consistency}-consistent)` : ''}`);
      if (run.consistency === 'app') problems.push(...(await this.checkCopy(run.backup_id)));
    }
    // The agent's walk must be over before the next backup can be requested.
    await until(async () => !(await this.agentBusy()), { what: 'the agent to have no backup in flight', timeoutMs: 60_000 }).catch((error: Error) =>
      problems.push(error.message),
    );
    if (problems.length) {
      this.violations.push(`iteration ${n} (${fault} after ${delay} ms): ${problems.join('; ')}`);
      console.log(`✖ iteration ${n} (${fault} after ${delay} ms):\n  ${problems.join('\n  ')}`);
      console.log(`--- controller, last lines ---\n${this.controller.log.last(40)}\n--- agent, last lines ---\n${this.agentLog.last(20)}`);
    } else {
      console.log(`✔ ${n}: ${fault} after ${delay} ms → ${run.resume_reason}, ${run.outcome}${run.consistency ? `, ${run.consistency}-consistent` : ''}`);
    }
  }

  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /**
   * Stops one container of a random app (not the database app: its writer only waits for
   * the database) among those that ran before the backup; its name. Already stopped (the
   * backup stopped it first) is fine.
   */
  async stopSomeContainer(ran: Record<string, string[]>): Promise<string> {
    const app = pick(appIds.filter((id) => id !== DB_APP));
    const name = pick(ran[app]!);
    await engine
      .getContainer(name)
      .stop({ t: 10 })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 304) throw error;
      });
    return name;
  }

  async agentBusy(): Promise<boolean> {
    const { token } = (await readBootstrap(this.agent.bootstrapPath)).local_api;
    const status = await call(this.agent.endpoint, 'GET', '/backup/status', { token });
    return ['queued', 'running', 'snapshotted'].includes(status.body?.backup?.phase);
  }

  /** Restores the backup's copy of the database into a scratch folder and starts it there. */
  async checkCopy(backupId: string): Promise<string[]> {
    const copy = path.join(this.agent.backupCopy(backupId), 'local-fast');
    const ack = readAck(this.ackFolder(copy));
    if (ack === null) return [`backup ${backupId}: no acknowledgement file in its copy`];
    const scratch = fs.mkdtempSync(path.join(this.root, 'restore-'));
    // cp -a: the database refuses a data folder that is not its user's.
    execFileSync('cp', ['-a', `${path.join(copy, 'felhom', 'apps', DB_APP, 'db')}/.`, scratch]);
    const started = await startOnCopy('postgres', scratch).catch((error: Error) => error);
    if (started instanceof Error) {
      fs.rmSync(scratch, { recursive: true, force: true });
      return [`backup ${backupId} is called app-consistent, but its database does not start: ${started.message}`];
    }
    try {
      this.checkedCopies++;
      const problems: string[] = [];
      if (started.crashRecovery || !started.cleanShutdownSeen) problems.push(`backup ${backupId} is called app-consistent, but its database ran crash recovery:\n${started.log}`);
      const present = await started.countUpTo(ack);
      if (present !== ack) problems.push(`backup ${backupId}: ${ack - present} of the ${ack} rows acknowledged before the stop are missing`);
      return problems;
    } finally {
      await started.remove();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  async tearDown(): Promise<void> {
    try {
      for (const id of appIds) await this.api('DELETE', `/apps/${id}`).catch(() => {});
      await this.controller.stop('SIGTERM').catch(() => {});
    } finally {
      await this.agent.close();
      for (const id of appIds) {
        const containers = await engine.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${id}`] } });
        await Promise.all(containers.map((c) => engine.getContainer(c.Id).remove({ force: true }).catch(() => {})));
        const volumes = await engine.listVolumes({ filters: { label: [`org.felhom.app=${id}`] } });
        await Promise.all((volumes.Volumes ?? []).map((v) => engine.getVolume(v.Name).remove({ force: true }).catch(() => {})));
      }
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : 0);

async function main(): Promise<number> {
  const soak = new Soak();
  console.log(`soak: ${iterations} iterations, seed ${seed} (repeat with --seed ${seed})`);
  const started = Date.now();
  try {
    await soak.setUp();
    for (let n = 1; n <= iterations; n++) {
      try {
        await soak.iteration(n);
      } catch (error) {
        // The soak itself could not go on (a run never closed, the controller would not start): that is a broken promise too.
        soak.violations.push(`iteration ${n}: the soak could not go on: ${(error as Error).message}`);
        console.log(`✖ iteration ${n}: the soak could not go on: ${(error as Error).message}\n--- controller, last lines ---\n${soak.controller.log.last(40)}`);
        break;
      }
    }
  } finally {
    await soak.tearDown();
  }
  console.log(`\nsoak: ${iterations} iterations in ${Math.round((Date.now() - started) / 1000)} s, seed ${seed}`);
  for (const [key, count] of [...soak.counts].sort()) console.log(`  ${String(count).padStart(4)}  ${key}`);
  console.log(`  database copies restored and checked: ${soak.checkedCopies}`);
  const figure = (xs: number[]) => `median ${Math.round(median(xs))} ms, worst ${Math.round(Math.max(0, ...xs))} ms`;
  console.log(`  from the backup's start, every app running again: ${figure(soak.appsDown)}`);
  console.log(`  after the fault, every app running again: ${figure(soak.appsBack)}`);
  console.log(`  after the fault, the run closed (tracking polls every 5 s): ${figure(soak.runsClosed)}`);
  console.log(soak.violations.length ? `  ${soak.violations.length} broken promise(s):\n  ${soak.violations.join('\n  ')}` : '  no promise broken');
  return soak.violations.length ? 1 : 0;
}

process.exitCode = await main();
