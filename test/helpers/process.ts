/** The controller as a real process, for what only processes show (kill -9, SIGTERM). */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { stopBeforeAgents } from './controller.ts';
import { dockerHost } from './docker.ts';
import { outputTail, testLogs } from './log.ts';
import { until, within } from './until.ts';

const cli = path.join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

/**
 * Bounds for a loaded 2-core CI machine, 5–10 times slower than a developer's. Starting
 * may first restart the stacks a backup left stopped, and a SIGTERM'd controller starts
 * them before it exits: both wait on Docker starting containers.
 */
export const START_TIMEOUT_MS = 90_000;
export const EXIT_TIMEOUT_MS = 90_000;
/** One API call; an install answers 202 after compose has read the app (seconds under load). */
export const CALL_TIMEOUT_MS = 30_000;

export interface Controller {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Its exit code once it has exited, within `timeoutMs` (an explained failure otherwise). */
  whenExited(timeoutMs?: number): Promise<number | null>;
  /** Everything it has logged so far (stdout and stderr). */
  output(): string;
}

/** The controller process as soon as it is spawned: `listening` settles once it serves. */
export function spawnController(t: TestContext, env: Record<string, string>): Omit<Controller, 'url'> & { listening: Promise<string> } {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FELHOM_LISTEN: '127.0.0.1:0', FELHOM_LOG_FORMAT: 'json', FELHOM_PULL: 'never', DOCKER_HOST: dockerHost, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let output = '';
  const logs = testLogs(t);
  logs.add('controller', outputTail(() => output));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`controller exited ${code}: ${output}`)));
  });
  listening.catch(() => undefined);
  const whenExited = (timeoutMs = EXIT_TIMEOUT_MS) => within(exited, { what: `controller ${child.pid} to exit`, timeoutMs, explain: logs.explain });
  const kill = () => {
    child.kill('SIGKILL');
    return whenExited();
  };
  stopBeforeAgents(t, kill);
  t.after(kill);
  return { child, exited, whenExited, listening, output: () => output };
}

/** A controller process once it serves; one that does not serve in time fails the test with its log. */
export async function startController(t: TestContext, env: Record<string, string>): Promise<Controller> {
  const spawned = spawnController(t, env);
  const url = await within(spawned.listening, { what: `controller ${spawned.child.pid} to listen`, timeoutMs: START_TIMEOUT_MS, explain: testLogs(t).explain });
  return { ...spawned, url };
}

export function apiToken(dataDir: string): string {
  const created = spawnSync(process.execPath, [cli, 'api-token', 'create', `scenario-${Date.now()}`], {
    env: { PATH: process.env.PATH, FELHOM_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: START_TIMEOUT_MS,
  });
  const token = /^\s+(fct_\S+)$/m.exec(created.stdout)?.[1];
  if (!token) throw new Error(`felhom api-token create gave no token (status ${created.status}, ${created.error?.message ?? 'no error'}): ${created.stderr}`);
  return token;
}

export async function call(url: string, token: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** An install through the API, waited on until its operation ends; it must succeed. */
export const INSTALL_TIMEOUT_MS = 90_000;

export async function installAndWait(
  url: string,
  token: string,
  app: { manifest: string; compose: string },
  explain?: () => Promise<string>,
): Promise<void> {
  const started = await call(url, token, 'POST', '/api/v1/apps', app);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const operation = await until(async () => (await call(url, token, 'GET', `/api/v1/operations/${started.body.operation.id}`)).body.operation, {
    what: 'the install to finish',
    done: (op) => op.state !== 'running',
    timeoutMs: INSTALL_TIMEOUT_MS,
    intervalMs: 250,
    ...(explain ? { explain } : {}),
  });
  assert.equal(operation.state, 'succeeded', JSON.stringify(operation));
}

/** Whether a process of ours still runs (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
