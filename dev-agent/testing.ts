/** Helpers for the dev agent's own tests: a plain HTTPS client that trusts anything, and a temporary agent. */
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect } from 'node:tls';
import { createHash } from 'node:crypto';
import { startDevAgent } from './agent.ts';
import type { DevAgent, DevAgentOptions } from './agent.ts';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  // Tests index into bodies freely; the shapes are what they assert.
  body: any;
}

export interface CallOptions {
  token?: string | null;
  /** A whole Authorization header, instead of `Bearer <token>`. */
  authorization?: string;
  body?: unknown;
  /** Sent as-is instead of `body`. */
  raw?: string;
  /** The body's Content-Type, instead of application/json. */
  contentType?: string;
  timeoutMs?: number;
}

/** One request on a fresh connection (no keep-alive, no TLS session reuse). */
export function call(endpoint: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, endpoint),
      {
        method,
        agent: false,
        rejectUnauthorized: false,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(options.authorization ? { Authorization: options.authorization } : {}),
          ...(payload === undefined ? {} : { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
        },
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The SHA-256 of the certificate the endpoint serves, spelled like a bootstrap fingerprint. */
export function servedFingerprint(endpoint: string): Promise<string> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(`sha256:${createHash('sha256').update(raw).digest('hex')}`);
    });
    socket.on('error', reject);
  });
}

export interface Bootstrap {
  local_api: { endpoint: string; fingerprint: string; token: string };
  [key: string]: unknown;
}

export async function readBootstrap(path: string): Promise<Bootstrap> {
  return JSON.parse(await readFile(path, 'utf8')) as Bootstrap;
}

const temporaryDirs = new Set<string>();

/** Removed when the test process exits: after every agent in it has closed and saved. */
export async function tempStateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'felhom-dev-agent-'));
  if (temporaryDirs.size === 0) process.once('exit', () => temporaryDirs.forEach((path) => rmSync(path, { recursive: true, force: true })));
  temporaryDirs.add(dir);
  return dir;
}

const FAST_BACKUPS = { queuedMs: 80, runningMs: 80, snapshottedMs: 80 };

export interface TestAgent {
  agent: DevAgent;
  token: string;
  /** `call` bound to this agent and its guest token. */
  api: (method: string, path: string, options?: CallOptions) => Promise<Answer>;
}

/** An agent on a free port in a temporary state dir (or `stateDir`), closed when the test ends. */
export async function startTestAgent(t: TestContext, options: Partial<DevAgentOptions> = {}): Promise<TestAgent> {
  const stateDir = options.stateDir ?? (await tempStateDir());
  const agent = await startDevAgent({ port: 0, ...options, stateDir, backup: { ...FAST_BACKUPS, ...options.backup } });
  t.after(() => agent.close());
  const token = (await readBootstrap(agent.bootstrapPath)).local_api.token;
  return { agent, token, api: (method, path, callOptions = {}) => call(agent.endpoint, method, path, { token, ...callOptions }) };
}

