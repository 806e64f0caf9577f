/**
 * Benchmark (not a test): how long a quiesced backup keeps N app stacks down, and how
 * much of it is the controller's. Measured from Docker's own events (each container's
 * `die` and `start`) against the development agent's phase log (the moment it reported
 * `snapshotted`), at the settings the deployment uses: no poll interval is tuned here.
 *
 *   source scripts/toolchain.sh && node scripts/bench-quiesce.ts [N ...] [--repeats R]
 *
 * Needs a Docker engine (scripts/engine.sh). Default sizes 1, 10, 30. Prints medians:
 *   snapshot→first start  from the agent's `snapshotted` to the first container `start`
 *                         event (Docker's own start included): the controller's resume
 *                         latency, target ≤ 250 ms
 *   docker alone          the same stacks' first `start` event when Docker is asked
 *                         directly (dockerode, in parallel), with no controller at all
 *   snapshot→all running  to the last `start` event
 *   docker alone (all)    Docker's own time for all of them
 *   controller adds       snapshot→all running minus docker alone (all), per run: what the
 *                         controller adds to Docker's own start (a difference of two noisy
 *                         figures: read a small or negative one as "about zero")
 *   downtime              the longest any app was down (its `die` to its `start`)
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { createApiTokens } from '../src/auth/index.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { startDevAgent } from '../dev-agent/index.ts';
import { silentLogger } from '../src/log.ts';
import { startController } from '../src/main.ts';
import { dockerOptionsFor } from '../src/stacks/engine.ts';
import { recordingLogger } from '../test/helpers/log.ts';
import { until } from '../test/helpers/until.ts';

const { values, positionals } = parseArgs({ options: { repeats: { type: 'string', default: '5' } }, allowPositionals: true });
const sizes = positionals.length ? positionals.map(Number) : [1, 10, 30];
const repeats = Number(values.repeats);
const IMAGE = 'felhom-test/webapp:bench';
const PROJECT_LABEL = 'com.docker.compose.project';
const dockerHost = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
const engine = new Docker(dockerOptionsFor(dockerHost));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function buildImage(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bench-'));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM felhom-test/busybox:latest\nRUN mkdir -p /srv/www && echo bench > /srv/www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]\n');
  execFileSync('docker', ['build', '-q', '-t', IMAGE, dir], { stdio: 'ignore' });
  fs.rmSync(dir, { recursive: true, force: true });
}

interface ContainerEvent {
  project: string;
  action: string;
  atMs: number;
}

/** Docker's own event stream (the CLI's, so the figures do not depend on our client). */
function watchEvents(): { events: ContainerEvent[]; stop(): void } {
  const events: ContainerEvent[] = [];
  const child = spawn('docker', ['events', '--filter', 'type=container', '--filter', 'event=start', '--filter', 'event=die', '--format', '{{json .}}'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as { Action: string; timeNano: number; Actor: { Attributes: Record<string, string> } };
    const project = event.Actor.Attributes[PROJECT_LABEL];
    if (project) events.push({ project, action: event.Action, atMs: event.timeNano / 1e6 });
  });
  return { events, stop: () => child.kill() };
}

async function containersOf(projects: string[]): Promise<Docker.ContainerInfo[]> {
  const all = await engine.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } });
  return all.filter((c) => projects.includes(c.Labels[PROJECT_LABEL]!));
}

async function main(): Promise<void> {
  buildImage();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bench-'));
  // The agent's phase log: its debug line for each phase, stamped when the phase is entered.
  const agentLog = recordingLogger('debug');
  const agent = await startDevAgent({
    stateDir: path.join(root, 'agent'),
    port: 0,
    logger: agentLog.logger,
    backup: { mode: 'snapshot', queuedMs: 200, runningMs: 1_000, snapshottedMs: 1_000 },
  });
  // The deployment's settings (compose/controller.yml sets none of the quiesce ones);
  // FELHOM_QUIESCE_POLL_MS in the environment overrides the default, to compare.
  const config = loadConfig({
    ...(process.env.FELHOM_QUIESCE_POLL_MS ? { FELHOM_QUIESCE_POLL_MS: process.env.FELHOM_QUIESCE_POLL_MS } : {}),
    FELHOM_DATA_DIR: path.join(root, 'data'),
    FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath,
    FELHOM_LISTEN: '127.0.0.1:0',
    DOCKER_HOST: dockerHost,
    FELHOM_PULL: 'never',
    FELHOM_LOG_FORMAT: 'json',
  });
  const controller = await startController(config, { logger: silentLogger() });
  const token = createApiTokens(controller.db, systemClock).create('bench').token;
  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${controller.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as Record<string, any>;
  };
  const watch = watchEvents();
  const installed: string[] = [];
  console.log(
    `poll interval while down ${config.quiescePollMs} ms, while tracking ${config.trackingPollMs} ms${process.env.FELHOM_QUIESCE_POLL_MS ? '' : ' (defaults)'}; agent: snapshotted 1.2 s after the request\n` +
      'stacks  snapshot→first start  docker alone  snapshot→all running  docker alone (all)  controller adds  downtime',
  );
  try {
    for (const size of sizes) {
      while (installed.length < size) {
        const id = `bench-${installed.length + 1}`;
        const { operation } = await api('POST', '/apps', {
          manifest: `schema: felhom.app/v1\nid: ${id}\nname: Bench ${id}\nversion: "1"\ncompose: compose.yml\nvolumes:\n  site: { class: hot }\n`,
          compose: `services:\n  web:\n    image: ${IMAGE}\n    init: true\n    volumes: ["site:/srv/www"]\nvolumes:\n  site:\n`,
        });
        let state = 'running';
        while (state === 'running') {
          await sleep(200);
          state = (await api('GET', `/operations/${operation.id}`)).operation.state;
        }
        if (state !== 'succeeded') throw new Error(`bench: installing ${id} ended ${state}`);
        installed.push(id);
      }
      const rows: Record<string, number[]> = { first: [], dockerFirst: [], all: [], dockerAll: [], added: [], downtime: [] };
      for (let r = 0; r < repeats; r++) {
        const from = watch.events.length;
        const { run } = await api('POST', '/backups');
        let done: Record<string, any> | undefined;
        while (!done) {
          await sleep(200);
          done = (await api('GET', '/backups')).runs.find((x: { id: string; phase: string }) => x.id === run.id && x.phase === 'closed');
        }
        if (done.resume_reason !== 'snapshotted') throw new Error(`bench: the run resumed on ${done.resume_reason}, not at snapshotted`);
        const snapshotted = agentLog.lines.find((l) => l.backup === done!.backup_id && l.phase === 'snapshotted');
        if (!snapshotted) throw new Error('bench: the agent logged no snapshotted phase');
        const snapshottedAt = snapshotted.time as number;
        await until(() => installed.every((id) => watch.events.slice(from).some((e) => e.project === id && e.action === 'start')), {
          what: 'every start event',
          timeoutMs: 30_000,
          intervalMs: 20,
        });
        const events = watch.events.slice(from).filter((e) => installed.includes(e.project));
        const starts = events.filter((e) => e.action === 'start').map((e) => e.atMs);
        rows.first!.push(Math.min(...starts) - snapshottedAt);
        rows.all!.push(Math.max(...starts) - snapshottedAt);
        rows.downtime!.push(
          Math.max(
            ...installed.map((id) => {
              const of = events.filter((e) => e.project === id);
              return of.find((e) => e.action === 'start')!.atMs - of.find((e) => e.action === 'die')!.atMs;
            }),
          ),
        );
        // Docker alone: the same containers stopped, then started directly, in parallel.
        const containers = await containersOf(installed);
        await Promise.all(containers.map((c) => engine.getContainer(c.Id).stop({ t: 10 }).catch(() => {})));
        const mark = watch.events.length;
        const asked = Date.now();
        await Promise.all(containers.map((c) => engine.getContainer(c.Id).start()));
        await until(() => watch.events.slice(mark).filter((e) => e.action === 'start').length >= containers.length, {
          what: 'docker alone: every start event',
          timeoutMs: 30_000,
          intervalMs: 20,
        });
        const alone = watch.events.slice(mark).filter((e) => e.action === 'start').map((e) => e.atMs);
        rows.dockerFirst!.push(Math.min(...alone) - asked);
        rows.dockerAll!.push(Math.max(...alone) - asked);
        rows.added!.push(rows.all!.at(-1)! - rows.dockerAll!.at(-1)!);
        await sleep(500);
      }
      const ms = (key: string, width: number) => `${Math.round(median(rows[key]!))} ms`.padStart(width);
      console.log(
        `${String(size).padStart(6)}  ${ms('first', 20)}  ${ms('dockerFirst', 12)}  ${ms('all', 20)}  ${ms('dockerAll', 18)}  ${ms('added', 15)}  ${ms('downtime', 8)}`,
      );
    }
    console.log(
      [
        `medians of ${repeats} runs. The target: snapshot→first start ≤ 250 ms at the defaults.`,
      ].join('\n'),
    );
  } finally {
    watch.stop();
    for (const id of installed) await api('DELETE', `/apps/${id}`);
    await controller.close();
    await agent.close();
    for (const id of installed) {
      const volumes = await engine.listVolumes({ filters: { label: [`org.felhom.app=${id}`] } });
      await Promise.all((volumes.Volumes ?? []).map((v) => engine.getVolume(v.Name).remove({ force: true }).catch(() => {})));
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
