/**
 * For the bulk backup tests: a development agent with a second disk assigned, an app
 * with a bulk volume marked `backup: own`, files with known checksums, a REST server
 * (`rclone serve restic`) on loopback, and restic run by hand on the repository.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './deployment.ts';
import { until } from './until.ts';
import { tempDir } from './temp.ts';

export const TEST_IMAGE = 'felhom-test/busybox:latest';
/** The development agent's bulk-data drive, where the app's media lives. */
export const MEDIA_MOUNT = 'usb-9f3a27c1';
/** Its blank drive: formatted and assigned in each test, the target on another disk. */
export const BACKUP_DISK = 'usb-2b77e0d4';

export function hasTool(name: string): boolean {
  return spawnSync(name, ['version'], { encoding: 'utf8' }).status === 0;
}

export function requireRestic(t: TestContext, tools: string[] = ['restic']): boolean {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0) return true;
  // Under CI a missing tool is a failure of the setup, not a reason to skip.
  if (process.env.CI) throw new Error(`${missing.join(', ')} missing: scripts/engine.sh installs them`);
  t.skip(`${missing.join(', ')} not installed`);
  return false;
}

/** Debian bookworm's restic (0.14) on the host, and the image's (current: 0.18), taken out by scripts/image.sh. */
export const RESTIC_VERSIONS = [
  { name: 'restic 0.14 (Debian bookworm)', command: 'restic' },
  { name: 'restic of the image', command: path.join(import.meta.dirname, '..', '..', '.dev', 'restic-image', 'restic') },
] as const;

/**
 * The restic of this version, or null after skipping loudly (failing under CI=true: both
 * versions must be tested, as the controller uses only what both support).
 */
export function resticOf(t: TestContext, version: (typeof RESTIC_VERSIONS)[number]): string | null {
  if (spawnSync(version.command, ['version'], { encoding: 'utf8' }).status === 0) return version.command;
  const message = `${version.name} is not here (scripts/engine.sh installs Debian's; scripts/image.sh takes the image's out)`;
  if (process.env.CI) throw new Error(message);
  t.skip(message);
  return null;
}

export type Api = (method: string, route: string, body?: unknown) => Promise<{ status: number; body: Record<string, any> }>;

export const api =
  (url: string, token: string): Api =>
  async (method, route, body) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };

/** Formats and assigns the blank drive, as the customer would from the disks page. */
export async function assignBackupDisk(request: Api): Promise<{ id: string; path: string }> {
  const formatted = await request('POST', '/api/v1/disks/format', { disk: BACKUP_DISK, filesystem: 'ext4', fs_label: 'backup' });
  if (formatted.status !== 200) throw new Error(`format: ${formatted.status} ${JSON.stringify(formatted.body)}`);
  const assigned = await request('POST', '/api/v1/disks/assign', { disk: BACKUP_DISK, label: 'Backup disk', class: 'slow', role: 'bulk-data' });
  if (assigned.status !== 200) throw new Error(`assign: ${assigned.status} ${JSON.stringify(assigned.body)}`);
  return { id: assigned.body.mount.id, path: assigned.body.mount.path };
}

/** Installs an app whose `photos` volume is bulk with `backup: own`; returns its folder. */
export async function installPhotoApp(request: Api, id: string): Promise<string> {
  const installed = await request('POST', '/api/v1/apps', {
    manifest: `schema: felhom.app/v1\nid: ${id}\nname: Photos ${id}\nversion: "1"\ncompose: compose.yml\nvolumes:\n  photos: { class: bulk, backup: own }\n`,
    compose: `services:\n  app:\n    image: ${TEST_IMAGE}\n    init: true\n    command: ["sleep", "3600"]\n    volumes: ["photos:/photos"]\nvolumes:\n  photos:\n`,
  });
  if (installed.status !== 202) throw new Error(`install: ${installed.status} ${JSON.stringify(installed.body)}`);
  const operation = await until(async () => {
    const op = (await request('GET', `/api/v1/operations/${installed.body.operation.id}`)).body.operation;
    return op.state === 'running' ? null : op;
  }, { what: 'the install to finish', timeoutMs: 120_000, intervalMs: 250 });
  if (operation.state !== 'succeeded') throw new Error(`install failed: ${operation.error}`);
  const app = (await request('GET', `/api/v1/apps/${id}`)).body;
  return app.volumes.find((v: { volume: string }) => v.volume === 'photos').path as string;
}

/** Writes `count` files of random bytes under `dir` (some in subfolders). */
export function writeFiles(dir: string, count: number, bytes: number, prefix = 'photo'): void {
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, i % 3 === 0 ? 'album' : '', `${prefix}-${i}.jpg`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, randomBytes(bytes));
  }
}

/** Every regular file under `dir` with its SHA-256, by relative path. */
export function checksums(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) out[rel] = createHash('sha256').update(fs.readFileSync(path.join(dir, rel))).digest('hex');
    }
  };
  walk('');
  return out;
}

export async function finishedJob(request: Api, jobId: string, timeoutMs = 120_000): Promise<Record<string, any>> {
  return until(async () => {
    const job = (await request('GET', `/api/v1/volume-backups/jobs/${jobId}`)).body.job;
    return job && job.state !== 'running' && job.state !== 'queued' ? job : null;
  }, { what: `backup job ${jobId} to finish`, timeoutMs, intervalMs: 200 });
}

export async function backUp(request: Api, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const started = await request('POST', '/api/v1/volume-backups/run', body);
  if (started.status !== 202) throw new Error(`run: ${started.status} ${JSON.stringify(started.body)}`);
  return finishedJob(request, started.body.job.id);
}

/** restic by hand on a repository (the test's own view, not the controller's). */
export function resticByHand(repository: string, password: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('restic', args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/tmp', RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: '/tmp/felhom-test-restic-cache', ...env } });
}

/** A restic REST server (`rclone serve restic`) on loopback with basic auth, for this test. */
export async function restServer(t: TestContext, credentials = { user: 'family', pass: 'rest-secret-pass' }): Promise<{ url: string; dir: string } & typeof credentials> {
  const dir = tempDir(t, 'felhom-rest-');
  const port = await freePort();
  const child = spawn('rclone', ['serve', 'restic', '--addr', `127.0.0.1:${port}`, '--user', credentials.user, '--pass', credentials.pass, dir], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}/`;
  await until(async () => (await fetch(url).then((r) => r.status, () => 0)) !== 0, { what: 'the REST server to listen', timeoutMs: 20_000, intervalMs: 100 });
  return { url, dir, ...credentials };
}
