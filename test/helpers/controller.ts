import path from 'node:path';
import type { TestContext } from 'node:test';
import { createApiTokens } from '../../src/auth/index.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { startDevAgent, type DevAgent, type DevAgentOptions } from '../../src/dev-agent/index.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { startController, type RunningController } from '../../src/main.ts';
import { dockerHost } from './docker.ts';
import { tempDir } from './temp.ts';

export async function devAgent(t: TestContext, options: Partial<DevAgentOptions> = {}): Promise<DevAgent> {
  let agent: DevAgent | undefined;
  const dir = tempDir(t, 'felhom-agent-', async () => agent?.close());
  agent = await startDevAgent({
    stateDir: path.join(dir, 'agent'),
    port: 0,
    logger: silentLogger(),
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

/** A real controller on a free port, with a real SQLite file in a temp dir. */
export async function controller(
  t: TestContext,
  options: { bootstrapPath: string; dataDir?: string; agentTimeoutMs?: number; env?: Record<string, string>; logger?: Logger },
): Promise<ControllerUnderTest> {
  let stop: () => Promise<void> = async () => {};
  const dataDir = options.dataDir ?? tempDir(t, 'felhom-data-', () => stop());
  const config = loadConfig({
    FELHOM_DATA_DIR: dataDir,
    FELHOM_BOOTSTRAP_PATH: options.bootstrapPath,
    FELHOM_LISTEN: '127.0.0.1:0',
    DOCKER_HOST: dockerHost,
    FELHOM_AGENT_TIMEOUT_MS: String(options.agentTimeoutMs ?? 2_000),
    FELHOM_LOG_FORMAT: 'json',
    // Tests never ask a registry: every image they use is built locally.
    FELHOM_PULL: 'never',
    FELHOM_QUIESCE_POLL_MS: '100',
    ...options.env,
  });
  const running = await startController(config, { logger: options.logger ?? silentLogger(), bootstrapRecheckMs: 100 });
  let stopped = false;
  stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.close();
  };
  t.after(stop);
  const token = createApiTokens(running.db, systemClock).create(`test-${Math.random().toString(36).slice(2, 8)}`).token;
  return { controller: running, dataDir, token, stop };
}
