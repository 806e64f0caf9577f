/** The controller as a real process, for what only processes show (kill -9, SIGTERM). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { dockerHost } from './docker.ts';

const cli = path.join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface Controller {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything it has logged so far (stdout and stderr). */
  output(): string;
}

/** The controller process as soon as it is spawned: `listening` settles once it serves. */
export function spawnController(t: TestContext, env: Record<string, string>): Omit<Controller, 'url'> & { listening: Promise<string> } {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FELHOM_LISTEN: '127.0.0.1:0', FELHOM_LOG_FORMAT: 'json', FELHOM_PULL: 'never', DOCKER_HOST: dockerHost, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let output = '';
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
  return { child, exited, listening, output: () => output };
}

export async function startController(t: TestContext, env: Record<string, string>): Promise<Controller> {
  const spawned = spawnController(t, env);
  return { ...spawned, url: await spawned.listening };
}

export function apiToken(dataDir: string): string {
  const created = spawnSync(process.execPath, [cli, 'api-token', 'create', `scenario-${Date.now()}`], {
    env: { PATH: process.env.PATH, FELHOM_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  return /^\s+(fct_\S+)$/m.exec(created.stdout)![1]!;
}

export async function call(url: string, token: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

