/**
 * Benchmark (not a test): how long the home page takes with N installed apps. The target
 * is under 50 ms of server time with 30 apps. Prints the median and p95 of the whole
 * request as the browser sees it on loopback (an upper bound of the server time).
 *
 *   source scripts/toolchain.sh && node scripts/bench-home.ts [--apps 30] [--requests 300]
 *
 * Real parts: the development agent over pinned TLS, a real SQLite file, and a real
 * Docker engine holding one container per app (created, labelled like compose's).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAppStore } from '../src/apps/store.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { startDevAgent } from '../dev-agent/index.ts';
import { silentLogger } from '../src/log.ts';
import { startController } from '../src/main.ts';
import { signInWithSetupCode } from '../test/helpers/sign-in.ts';

const { values } = parseArgs({ options: { apps: { type: 'string', default: '30' }, requests: { type: 'string', default: '300' } } });
const appCount = Number(values.apps);
const requests = Number(values.requests);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const PASSWORD = 'a long benchmark password';

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-bench-home-'));
  const logger = silentLogger();
  const agent = await startDevAgent({ stateDir: path.join(root, 'agent'), port: 0, logger });
  const config = loadConfig({
    FELHOM_DATA_DIR: path.join(root, 'data'),
    FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath,
    FELHOM_LISTEN: '127.0.0.1:0',
    FELHOM_PULL: 'never',
    FELHOM_LOG_FORMAT: 'json',
  });
  const controller = await startController(config, { logger });
  const ids = Array.from({ length: appCount }, (_, i) => `bench-home-${i}`);
  // The apps are written straight into the controller's database: the benchmark measures
  // the page over many apps, not installs.
  const store = createAppStore(controller.db, systemClock);
  try {
    for (const id of ids) {
      store.insert({ id, name: `App ${id}`, version: '1.0', source: 'upload', composeFile: 'compose.yml', web: { service: 'web', port: 8080 } }, [], []);
      store.update(id, { status: 'installed' });
      docker('create', '--label', `com.docker.compose.project=${id}`, '--label', 'com.docker.compose.service=web', '--name', `${id}_web_1`, 'felhom-test/busybox:latest', 'sleep', '1');
    }
    const session = await signInWithSetupCode(controller.url, controller.setupCode()!.code, PASSWORD);
    const time = async () => {
      const started = performance.now();
      const response = await fetch(`${controller.url}/`, { headers: { cookie: session } });
      const body = await response.text();
      if (response.status !== 200 || !body.includes('bench-home-0')) throw new Error(`home page answered ${response.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 20; i++) await time();
    const samples: number[] = [];
    for (let i = 0; i < requests; i++) samples.push(await time());
    const median = percentile(samples, 0.5);
    console.log(`home page with ${appCount} apps, ${requests} requests after warm-up:`);
    console.log(`  median ${median.toFixed(1)} ms, p95 ${percentile(samples, 0.95).toFixed(1)} ms (target < 50 ms: median is ${(median / 50).toFixed(2)}× the target)`);
  } finally {
    for (const id of ids) docker('rm', '-f', `${id}_web_1`);
    await controller.close();
    await agent.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
