import path from 'node:path';
import type { TestContext } from 'node:test';
import { createOperations } from '../../src/apps/operations.ts';
import { createApiTokens } from '../../src/auth/index.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { startDevAgent, type DevAgent, type DevAgentOptions } from '../../dev-agent/index.ts';
import type { Logger } from '../../src/log.ts';
import { startController, type RunningController } from '../../src/main.ts';
import { dockerHost } from './docker.ts';
import { recordedTail, recordingLogger, testLogs } from './log.ts';
import { tempDir } from './temp.ts';
import { within } from './until.ts';

/**
 * How long closing may take in a test's teardown, on a loaded 2-core CI machine: a
 * controller's close waits for the deploys it runs; an agent's, for its connections.
 */
const CLOSE_TIMEOUT_MS = 90_000;

/**
 * How to stop each test's controllers (in-process ones close, processes are killed),
 * done before the test's agents close. Hooks run in the order registered, the agent's
 * first; but an agent's close waits for its clients to hang up, and a controller polls
 * it every few hundred ms. Closed in that order, the agent's close once never returned
 * (a connection in its TLS handshake escaped closeAllConnections): node:test cut the hook
 * at the test timeout, skipped the later ones, the controller's close among them, and
 * the file's process never exited.
 */
const controllersOfTest = new WeakMap<TestContext, Array<() => Promise<unknown>>>();

/** Registers how to stop a controller of this test before its agents close. */
export function stopBeforeAgents(t: TestContext, stop: () => Promise<unknown>): void {
  const stops = controllersOfTest.get(t) ?? [];
  stops.push(stop);
  controllersOfTest.set(t, stops);
}

/** The development agent in-process; its log (every request, at debug) is shown when the test fails. */
export async function devAgent(t: TestContext, options: Partial<DevAgentOptions> = {}): Promise<DevAgent> {
  let agent: DevAgent | undefined;
  const logs = testLogs(t);
  const dir = tempDir(t, 'felhom-agent-', async () => {
    await Promise.all((controllersOfTest.get(t) ?? []).map((stop) => stop()));
    if (agent) await within(agent.close(), { what: 'the development agent to close (it waits for its connections)', timeoutMs: CLOSE_TIMEOUT_MS, explain: logs.explain });
  });
  const recording = recordingLogger('debug');
  if (!options.logger) logs.add('agent', recordedTail(recording.lines));
  agent = await startDevAgent({
    stateDir: path.join(dir, 'agent'),
    port: 0,
    logger: recording.logger,
    backup: { queuedMs: 150, runningMs: 250, snapshottedMs: 250 },
    ...options,
  });
  return agent;
}

export interface ControllerUnderTest {
  controller: RunningController;
  dataDir: string;
  /** An API token for /api/v1, created the way the CLI does. */
  token: string;
  stop(): Promise<void>;
}

/**
 * A real controller on a free port, with a real SQLite file in a temp dir. Unless the
 * test brings its own logger, its log is kept and shown when the test fails.
 */
export async function controller(
  t: TestContext,
  options: { bootstrapPath: string; dataDir?: string; agentTimeoutMs?: number; env?: Record<string, string>; logger?: Logger },
): Promise<ControllerUnderTest> {
  let stop: () => Promise<void> = async () => {};
  const dataDir = options.dataDir ?? tempDir(t, 'felhom-data-', () => stop());
  const logs = testLogs(t);
  const config = loadConfig({
    FELHOM_DATA_DIR: dataDir,
    FELHOM_BOOTSTRAP_PATH: options.bootstrapPath,
    FELHOM_LISTEN: '127.0.0.1:0',
    DOCKER_HOST: dockerHost,
    FELHOM_AGENT_TIMEOUT_MS: String(options.agentTimeoutMs ?? 2_000),
    FELHOM_LOG_FORMAT: 'json',
    // Tests never ask a registry on the internet: every image they use is built locally,
    // and a test that pulls lists its own registry on 127.0.0.1 in FELHOM_REGISTRIES
    // (with FELHOM_PULL=always); only the listed registries are asked (docs/updates.md).
    FELHOM_PULL: 'never',
    FELHOM_OFFLINE: 'true',
    ...options.env,
  });
  let logger = options.logger;
  if (!logger) {
    const recording = recordingLogger('info');
    logs.add('controller', recordedTail(recording.lines));
    logger = recording.logger;
  }
  const running = await startController(config, { logger, bootstrapRecheckMs: 100 });
  let closing: Promise<void> | null = null;
  // The controller's close waits for the deploys it runs (without a bound of its own):
  // one that does not return says which operations were still running.
  stop = () =>
    (closing ??= within(running.close(), {
      what: 'the controller to close (it waits for the deploys in flight)',
      timeoutMs: CLOSE_TIMEOUT_MS,
      explain: async () => `operations still running: ${JSON.stringify(createOperations(running.db, systemClock).running().map(({ events, ...operation }) => operation))}\n${await logs.explain()}`,
    }));
  stopBeforeAgents(t, stop);
  t.after(stop);
  const token = createApiTokens(running.db, systemClock).create(`test-${Math.random().toString(36).slice(2, 8)}`).token;
  return { controller: running, dataDir, token, stop };
}
