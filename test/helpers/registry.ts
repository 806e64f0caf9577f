/**
 * A real image registry on loopback for the tests (Debian's `docker-registry`, the
 * CNCF distribution registry), so pulls, updates and digest checks run against the
 * same protocol the guest's engine speaks to Docker Hub. The engine talks plain HTTP
 * to registries on 127.0.0.0/8, so no certificate is needed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './temp.ts';
import { until } from './until.ts';

export const REGISTRY_COMMAND = process.env.FELHOM_TEST_REGISTRY || 'docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:port`, the prefix of every image reference in it. */
  address: string;
  /** Tags a local image as `address/name` and pushes it; returns that reference. */
  push(localImage: string, name: string): string;
  /** Deletes a tag from the registry's storage, as a publisher withdrawing it would. */
  removeTag(name: string): void;
  /** Stops the registry (its storage stays); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

function registryInstalled(): boolean {
  try {
    execFileSync(REGISTRY_COMMAND, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * For tests that need a registry: skips loudly without Debian's docker-registry, and
 * fails under CI=true (scripts/engine.sh installs it).
 */
export function requireRegistry(t: TestContext): boolean {
  if (registryInstalled()) return true;
  const message = `no image registry (${REGISTRY_COMMAND}) is installed`;
  if (process.env.CI === 'true') throw new Error(`${message}, and CI=true: run scripts/engine.sh as root`);
  process.stderr.write(`\n*** SKIPPING "${t.name}": ${message}. Run scripts/engine.sh as root to install it. ***\n\n`);
  t.skip(message);
  return false;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a registry of the test's own on a free loopback port; stopped, and its tags removed from the engine, after the test. */
export async function startRegistry(t: TestContext): Promise<TestRegistry> {
  const dir = tempDir(t, 'felhom-registry-');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const storage = path.join(dir, 'data');
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    ['version: 0.1', 'log: { level: warn }', 'storage:', `  filesystem: { rootdirectory: ${storage} }`, '  delete: { enabled: true }', `http: { addr: "${address}" }`, ''].join('\n'),
  );
  let child: ChildProcess | null = null;
  const pushed = new Set<string>();

  const start = async () => {
    const log = fs.openSync(path.join(dir, 'registry.log'), 'a');
    child = spawn(REGISTRY_COMMAND, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await until(() => answers(address), { what: `the registry at ${address} to answer`, done: Boolean, timeoutMs: 15_000, intervalMs: 100 });
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  t.after(async () => {
    await stop();
    for (const reference of pushed) {
      try {
        execFileSync('docker', ['image', 'rm', '-f', reference], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
  await start();

  return {
    address,
    push(localImage, name) {
      const reference = `${address}/${name}`;
      execFileSync('docker', ['tag', localImage, reference]);
      execFileSync('docker', ['push', '-q', reference], { stdio: ['ignore', 'ignore', 'pipe'] });
      pushed.add(reference);
      return reference;
    },
    removeTag(name) {
      const at = name.lastIndexOf(':');
      fs.rmSync(path.join(storage, 'docker/registry/v2/repositories', name.slice(0, at), '_manifests/tags', name.slice(at + 1)), { recursive: true, force: true });
    },
    stop,
    start,
  };
}

async function answers(address: string): Promise<boolean> {
  try {
    return (await fetch(`http://${address}/v2/`)).ok;
  } catch {
    return false;
  }
}

/**
 * A "registry" that accepts connections and never says a word: what a registry behind
 * a broken proxy looks like to the engine. Closed after the test.
 */
export async function hangingRegistry(t: TestContext): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
