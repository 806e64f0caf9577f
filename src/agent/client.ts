/**
 * The controller's client for the host agent's local API: one typed method per
 * endpoint of CONTRACT.md, every response checked against its schema, every failure
 * an AgentError with a code. Nothing else in the controller speaks to the agent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Secret } from '../secret.ts';
import { AgentError, agentReportedCodes, codeForStatus, type AgentErrorCode } from './errors.ts';
import { PinMismatchError, pinnedConnector } from './pin.ts';
import * as schema from './schemas.ts';

export interface AgentChannel {
  endpoint: string;
  pin: Buffer;
  token: Secret;
}

/** Where the client gets its credentials: the settings seeded from bootstrap.json. */
export interface ChannelSource {
  current(): AgentChannel | null;
  /** Re-reads bootstrap.json (after a 401: the agent may have re-minted the token). */
  refresh(): Promise<void>;
}

export interface AgentClientOptions {
  logger: Logger;
  /** Bound on one attempt: connecting, the handshake, the answer. */
  timeoutMs?: number;
  /** Extra attempts for idempotent GETs after a timeout, a lost connection or a 503. */
  getRetries?: number;
  retryBackoffMs?: number;
  /** Told once per certificate that fails the pin: a possible man in the middle is worth a record. */
  onPinMismatch?: (event: { endpoint: string; expected: string; presented: string | null }) => void;
}

type Method = 'GET' | 'POST' | 'DELETE';

const RETRYABLE: ReadonlySet<AgentErrorCode> = new Set(['timeout', 'unreachable', 'unavailable']);

export class AgentClient {
  readonly #source: ChannelSource;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #getRetries: number;
  readonly #retryBackoffMs: number;
  readonly #onPinMismatch: AgentClientOptions['onPinMismatch'];
  readonly #reportedMismatches = new Set<string>();
  #pool: { key: string; pool: Pool } | null = null;
  #agentVersion: string | null = null;

  constructor(source: ChannelSource, options: AgentClientOptions) {
    this.#source = source;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#getRetries = options.getRetries ?? 2;
    this.#retryBackoffMs = options.retryBackoffMs ?? 250;
    this.#onPinMismatch = options.onPinMismatch;
  }

  /** The `X-Felhom-Agent-Version` of the last answer, if any. */
  get agentVersion(): string | null {
    return this.#agentVersion;
  }

  getStorage() {
    return this.#call('GET', '/storage', schema.storageSchema);
  }

  /** One GET /storage without retries: for health checks that must answer quickly. */
  probe() {
    return this.#call('GET', '/storage', schema.storageSchema, undefined, 0);
  }

  createSnapshot(request: schema.SnapshotRequest) {
    const body = schema.snapshotRequestSchema.parse(request);
    return this.#call('POST', '/snapshot', schema.snapshotResponseSchema, body).then((r) => r.snapshot);
  }

  listSnapshots() {
    return this.#call('GET', '/snapshots', schema.snapshotsSchema).then((r) => r.snapshots);
  }

  deleteSnapshot(name: string) {
    return this.#call('DELETE', `/snapshots/${encodeURIComponent(name)}`, schema.snapshotDeleteSchema);
  }

  rollback(snapshot: string) {
    return this.#call('POST', '/rollback', schema.rollbackSchema, { snapshot });
  }

  requestBackup(reason: schema.BackupReason) {
    return this.#call('POST', '/backup', schema.backupResponseSchema, { reason }).then((r) => r.backup);
  }

  getBackupDue() {
    return this.#call('GET', '/backup/due', schema.backupDueSchema);
  }

  /**
   * With an id, `backup` is that backup; without, the in-flight or latest one.
   * `retries`: extra attempts after a timeout or 503 (the client's default when absent;
   * 0 for a poller with bounds of its own).
   */
  getBackupStatus(id?: string, options: { retries?: number } = {}) {
    const query = id === undefined ? '' : `?id=${encodeURIComponent(id)}`;
    return this.#call('GET', `/backup/status${query}`, schema.backupStatusSchema, undefined, options.retries);
  }

  getRestoreTestStatus() {
    return this.#call('GET', '/restore-test/status', schema.restoreTestStatusSchema);
  }

  getHostMetrics() {
    return this.#call('GET', '/host/metrics', schema.hostMetricsSchema);
  }

  listDisks() {
    return this.#call('GET', '/disks', schema.disksSchema).then((r) => r.disks);
  }

  assignDisk(request: schema.DiskAssignRequest) {
    const body = schema.diskAssignRequestSchema.parse(request);
    return this.#call('POST', '/disks/assign', schema.diskAssignSchema, body).then((r) => r.mount);
  }

  ejectDisk(disk: string) {
    return this.#call('POST', '/disks/eject', schema.diskEjectSchema, { disk });
  }

  formatDisk(request: schema.DiskFormatRequest) {
    const body = schema.diskFormatRequestSchema.parse(request);
    return this.#call('POST', '/disks/format', schema.diskFormatSchema, body);
  }

  async close(): Promise<void> {
    const current = this.#pool;
    this.#pool = null;
    await current?.pool.close();
  }

  async #call<T>(
    method: Method,
    path: string,
    responseSchema: z.ZodType<T>,
    body?: unknown,
    getRetries = this.#getRetries,
  ): Promise<T> {
    const operation = `${method} ${path}`;
    const attempts = method === 'GET' ? 1 + getRetries : 1;
    let refreshedAfter401 = false;
    for (let attempt = 1; ; attempt++) {
      const channel = this.#source.current();
      try {
        if (!channel) throw new AgentError('not_configured', operation, 'no agent endpoint is configured');
        return await this.#attempt(channel, method, path, operation, responseSchema, body);
      } catch (error) {
        if (!(error instanceof AgentError)) throw error;
        // A 401 means the request was not acted on, so repeating it once with a
        // re-minted token is safe for every method. Compare with the channel this
        // call used: the file may have been re-read meanwhile by someone else.
        if (error.agentCode === 'unauthorized' && !refreshedAfter401) {
          refreshedAfter401 = true;
          await this.#source.refresh();
          if (!sameChannel(channel, this.#source.current())) {
            this.#logger.info({ operation }, 'agent channel changed in bootstrap.json; retrying');
            continue;
          }
        }
        if (attempt >= attempts || !RETRYABLE.has(error.agentCode)) throw error;
        const delay = this.#retryBackoffMs * 2 ** (attempt - 1);
        this.#logger.debug({ operation, attempt, delay, code: error.agentCode }, 'retrying agent call');
        await sleep(delay);
      }
    }
  }

  async #attempt<T>(
    channel: AgentChannel,
    method: Method,
    path: string,
    operation: string,
    responseSchema: z.ZodType<T>,
    body: unknown,
  ): Promise<T> {
    const started = performance.now();
    let status: number;
    let text: string;
    try {
      const response = await this.#poolFor(channel).request({
        method,
        path: endpointBasePath(channel.endpoint) + path,
        headers: {
          authorization: `Bearer ${channel.token.reveal()}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.statusCode;
      const version = response.headers['x-felhom-agent-version'];
      if (typeof version === 'string') this.#agentVersion = version;
      text = await response.body.text();
    } catch (error) {
      if (error instanceof PinMismatchError) this.#reportPinMismatch(channel.endpoint, error);
      throw transportError(operation, error, this.#timeoutMs);
    }
    this.#logger.debug({ operation, status, ms: Math.round(performance.now() - started) }, 'agent call');
    const json = parseJson(text);
    if (status >= 200 && status < 300) {
      const parsed = responseSchema.safeParse(json);
      if (!parsed.success) {
        throw new AgentError('bad_response', operation, describeIssues(parsed.error), { status });
      }
      return parsed.data;
    }
    throw answeredError(operation, status, json);
  }

  #reportPinMismatch(endpoint: string, error: PinMismatchError): void {
    const key = `${endpoint} ${error.presented}`;
    if (this.#reportedMismatches.has(key)) return;
    this.#reportedMismatches.add(key);
    this.#logger.error(
      { endpoint, expected: error.expected, presented: error.presented },
      'the agent address presented a certificate that is not the pinned one; nothing was sent to it',
    );
    this.#onPinMismatch?.({ endpoint, expected: error.expected, presented: error.presented });
  }

  #poolFor(channel: AgentChannel): Pool {
    const origin = new URL(channel.endpoint).origin;
    const key = `${origin} ${channel.pin.toString('hex')}`;
    if (this.#pool?.key !== key) {
      void this.#pool?.pool.close();
      const pool = new Pool(origin, {
        connect: pinnedConnector(channel.pin, this.#timeoutMs),
        connections: 4,
        keepAliveTimeout: 30_000,
      });
      this.#pool = { key, pool };
    }
    return this.#pool.pool;
  }
}

export function sameChannel(a: AgentChannel | null, b: AgentChannel | null): boolean {
  if (!a || !b) return a === b;
  return a.endpoint === b.endpoint && a.pin.equals(b.pin) && a.token.equals(b.token);
}

/** The contract's paths are relative to the endpoint, which may carry a path of its own. */
function endpointBasePath(endpoint: string): string {
  return new URL(endpoint).pathname.replace(/\/+$/, '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  return `the answer does not match the contract: ${issues.join('; ')}`;
}

function answeredError(operation: string, status: number, json: unknown): AgentError {
  const parsed = schema.errorBodySchema.safeParse(json);
  if (!parsed.success) {
    return new AgentError(codeForStatus(status), operation, `HTTP ${status} without a contract error body`, { status });
  }
  const { code, message, backup_id } = parsed.data.error;
  const known = (agentReportedCodes as readonly string[]).includes(code);
  return new AgentError(known ? (code as AgentErrorCode) : codeForStatus(status), operation, message, {
    status,
    backupId: typeof backup_id === 'string' ? backup_id : null,
  });
}

function transportError(operation: string, error: unknown, timeoutMs: number): AgentError {
  if (error instanceof PinMismatchError) {
    return new AgentError('pin_mismatch', operation, error.message, { cause: error });
  }
  const code = (error as { code?: string; name?: string })?.code;
  const name = (error as { name?: string })?.name;
  if (
    name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new AgentError('timeout', operation, `no answer within ${timeoutMs} ms`, { cause: error });
  }
  if (code?.startsWith('ERR_SSL') || /SSL routines/.test(String((error as Error)?.message))) {
    return new AgentError('unreachable', operation, 'the address did not complete a TLS handshake (is it a plain http:// port?)', {
      cause: error,
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new AgentError('unreachable', operation, reason, { cause: error });
}
