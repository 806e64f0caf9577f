/**
 * A development stand-in for the Go host agent's local API (context/004 §6, §6a, §8;
 * CONTRACT.md): it keeps state, walks backups through their phases, guards data-bearing
 * drives, and can be made to misbehave on purpose. It runs in-process for tests and as
 * `node dev-agent/main.ts`; the controller never imports it, so it stays out of the image.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../src/log.ts';
import { silentLogger } from '../src/log.ts';
import { backupCopies, type BackupCopies } from './backup-copy.ts';
import { BackupEngine } from './backups.ts';
import type { BackupSettings } from './backups.ts';
import { loadOrCreateLeaf } from './cert.ts';
import type { CertificateChoice, Leaf } from './cert.ts';
import { controlRoutes } from './control.ts';
import type { DevControls } from './control.ts';
import { bootstrapPathFor, ensureBootstrap, loadOrCreateControlToken, remintToken } from './credentials.ts';
import type { BootstrapSubject } from './credentials.ts';
import { createAgentApp } from './dispatch.ts';
import type { RequestRecord } from './dispatch.ts';
import { FaultSet } from './faults.ts';
import type { Fault } from './faults.ts';
import { notFound } from './http.ts';
import { HostMetricsCollector } from './metrics.ts';
import { contractRoutes } from './routes.ts';
import { initialState, newGuest, seedDemoHistory } from './seed.ts';
import { StateStore } from './state.ts';
import type { FailurePhase, MountRecord, RollbackRecord } from './state.ts';
import { ensureMountDirectory, mountWire } from './storage.ts';
import { listenTls } from './server.ts';
import type { TlsListener } from './server.ts';


export interface DevAgentOptions {
  /** Everything persisted lives here. */
  stateDir: string;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 8443; 0 picks a free port. */
  port?: number;
  /** The URL written into bootstrap.json when the guest dials another address than the bind (a container network); default from host and port. */
  endpoint?: string;
  /** Default '101'. */
  guestId?: string;
  /** Where mount directories live; default `${stateDir}/mounts`. */
  mountRoot?: string;
  /** Seed a believable history: past successful backups, a passed restore test. */
  demo?: boolean;
  backup?: {
    mode?: 'snapshot' | 'stop';
    queuedMs?: number;
    runningMs?: number;
    snapshottedMs?: number;
    dueEverySeconds?: number;
    retryAfterSeconds?: number;
    /** Copy the mounts the guest's backup covers into each backup (default true); see backup-copy.ts. */
    copyMounts?: boolean;
    /** How many backups' copies are kept (default 3). */
    keepCopies?: number;
  };
  logger?: Logger;
}

export interface DevAgent {
  readonly endpoint: string;
  readonly port: number;
  /** 'sha256:<64 lowercase hex>' of the agent's own leaf certificate (DER). */
  readonly fingerprint: string;
  readonly bootstrapPath: string;
  readonly stateDir: string;
  /** For the /_dev control API. */
  readonly controlToken: string;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  failNextBackup(options: { atPhase: 'queued' | 'running' | 'snapshotted'; error?: string }): void;
  /** Swaps the served certificate live; 'alternate' is another persisted self-signed leaf. */
  presentCertificate(which: 'own' | 'alternate'): void;
  setMountState(mountId: string, state: 'attached' | 'disconnected'): void;
  /** A new token for the guest; the old one stops working and bootstrap.json is rewritten. */
  remintToken(): Promise<string>;
  /** Contract requests handled so far (no bodies, no tokens); status 0 for a hung one. */
  requests(): ReadonlyArray<{ method: string; path: string; status: number }>;
  rollbacks(): ReadonlyArray<{ snapshot: string; at: string }>;
  /** Where a backup's copy of the covered mounts is: one folder per mount id. */
  backupCopy(backupId: string): string;
  close(): Promise<void>;
}

const DEFAULT_BACKUP_SETTINGS: BackupSettings = {
  mode: 'snapshot',
  queuedMs: 1500,
  runningMs: 4000,
  snapshottedMs: 8000,
  dueEverySeconds: 86400,
  retryAfterSeconds: 900,
  copyMounts: true,
  keepCopies: 3,
};

const DEFAULT_FAILURE = 'vzdump: simulated failure injected by the development agent';
const REQUEST_LOG_LIMIT = 1000;

export async function startDevAgent(options: DevAgentOptions): Promise<DevAgent> {
  const guestId = options.guestId ?? '101';
  if (!/^\d+$/.test(guestId)) throw new Error(`guestId must be a decimal guest id, got ${JSON.stringify(guestId)}`);
  const port = options.port ?? 8443;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port must be an integer from 0 to 65535, got ${port}`);
  const host = options.host ?? '127.0.0.1';
  const settings = backupSettings(options.backup ?? {});
  const logger = options.logger ?? silentLogger();
  const stateDir = resolve(options.stateDir);
  const mountRoot = resolve(options.mountRoot ?? join(stateDir, 'mounts'));
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  const [own, alternate, controlToken] = await Promise.all([
    loadOrCreateLeaf(stateDir, 'own'),
    loadOrCreateLeaf(stateDir, 'alternate'),
    loadOrCreateControlToken(stateDir),
  ]);
  const store = await StateStore.open(stateDir, () => initialState(Date.now()));
  const guest = (store.state.guests[guestId] ??= newGuest(Date.now()));
  if (options.demo) seedDemoHistory(guest, guestId, Date.now());
  await store.save();
  for (const mount of store.state.mounts) await ensureMountDirectory(mountRoot, mount.id);

  const agent = new RunningDevAgent({ stateDir, mountRoot, guestId, controlToken, own, alternate, store, settings, logger });
  await agent.listen(host, port, options.endpoint);
  logger.info(
    { endpoint: agent.endpoint, fingerprint: agent.fingerprint, bootstrapPath: agent.bootstrapPath, controlTokenPath: join(stateDir, 'control-token') },
    'dev agent listening: point the controller at the bootstrap file',
  );
  return agent;
}

function backupSettings(given: NonNullable<DevAgentOptions['backup']>): BackupSettings {
  const settings = { ...DEFAULT_BACKUP_SETTINGS, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) };
  if (settings.mode !== 'snapshot' && settings.mode !== 'stop') throw new Error(`backup.mode must be snapshot or stop, got ${String(settings.mode)}`);
  if (typeof settings.copyMounts !== 'boolean') throw new Error(`backup.copyMounts must be true or false, got ${String(settings.copyMounts)}`);
  if (!Number.isInteger(settings.keepCopies) || settings.keepCopies < 1) throw new Error(`backup.keepCopies must be a positive integer, got ${settings.keepCopies}`);
  for (const key of ['queuedMs', 'runningMs', 'snapshottedMs', 'retryAfterSeconds', 'dueEverySeconds'] as const) {
    const value = settings[key];
    if (!Number.isInteger(value) || value < 0) throw new Error(`backup.${key} must be a non-negative integer, got ${value}`);
  }
  if (settings.dueEverySeconds === 0) throw new Error('backup.dueEverySeconds must be positive');
  return settings;
}

/** The endpoint a guest dials: a wildcard bind is reached on loopback here. */
function endpointHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

interface AgentParts {
  stateDir: string;
  mountRoot: string;
  guestId: string;
  controlToken: string;
  own: Leaf;
  alternate: Leaf;
  store: StateStore;
  settings: BackupSettings;
  logger: Logger;
}

class RunningDevAgent implements DevAgent, DevControls {
  readonly stateDir: string;
  readonly controlToken: string;
  readonly bootstrapPath: string;
  readonly fingerprint: string;
  endpoint = '';
  port = 0;
  readonly #parts: AgentParts;
  readonly #backups: BackupEngine;
  readonly #copies: BackupCopies;
  readonly #faults = new FaultSet();
  readonly #requests: RequestRecord[] = [];
  readonly #closing = new AbortController();
  #presenting: CertificateChoice = 'own';
  #listener: TlsListener | null = null;
  #closed: Promise<void> | null = null;

  constructor(parts: AgentParts) {
    this.#parts = parts;
    this.stateDir = parts.stateDir;
    this.controlToken = parts.controlToken;
    this.fingerprint = parts.own.fingerprint;
    this.bootstrapPath = bootstrapPathFor(parts.stateDir, parts.guestId);
    this.#copies = backupCopies({ stateDir: parts.stateDir, mountRoot: parts.mountRoot, mounts: () => parts.store.state.mounts, keep: parts.settings.keepCopies });
    this.#backups = new BackupEngine(parts.store, parts.settings, parts.logger, this.#copies);
  }

  async listen(host: string, port: number, endpoint?: string): Promise<void> {
    const { store, guestId, controlToken, mountRoot, logger } = this.#parts;
    const app = createAgentApp({
      store,
      guestId,
      contractRoutes: contractRoutes({ store, backups: this.#backups, metrics: new HostMetricsCollector(), mountRoot }),
      controlRoutes: controlRoutes(this),
      controlToken,
      faults: this.#faults,
      record: (entry) => {
        this.#requests.push(entry);
        if (this.#requests.length > REQUEST_LOG_LIMIT) this.#requests.shift();
      },
      closing: this.#closing.signal,
      logger,
    });
    this.#listener = await listenTls(host, port, this.#parts.own, app);
    this.port = this.#listener.port;
    this.endpoint = endpoint ?? `https://${endpointHost(host)}:${this.port}`;
    try {
      await ensureBootstrap(store, this.stateDir, this.#subject());
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#backups.resume();
  }

  injectFault(fault: Fault): void {
    this.#faults.add(fault);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  faults(): ReadonlyArray<Fault> {
    return this.#faults.list();
  }

  failNextBackup(options: { atPhase: FailurePhase; error?: string }): void {
    this.#backups.failNext(options.atPhase, options.error ?? DEFAULT_FAILURE);
  }

  presentCertificate(which: CertificateChoice): void {
    this.#presenting = which;
    this.#listener?.setCertificate(which === 'own' ? this.#parts.own : this.#parts.alternate);
  }

  presentedFingerprint(): string {
    return (this.#presenting === 'own' ? this.#parts.own : this.#parts.alternate).fingerprint;
  }

  setMountState(mountId: string, state: MountRecord['state']): void {
    this.#mount(mountId).state = state;
    this.#parts.store.save().catch((error: unknown) => this.#parts.logger.error({ err: error }, 'dev agent: saving state failed'));
  }

  async updateMountState(mountId: string, state: MountRecord['state']): Promise<unknown> {
    const mount = this.#mount(mountId);
    mount.state = state;
    await this.#parts.store.save();
    return mountWire(mount, this.#parts.mountRoot);
  }

  remintToken(): Promise<string> {
    return remintToken(this.#parts.store, this.stateDir, this.#subject());
  }

  requests(): ReadonlyArray<RequestRecord> {
    return this.#requests.map((entry) => ({ ...entry }));
  }

  backupCopy(backupId: string): string {
    return this.#copies.folder(backupId);
  }

  rollbacks(): ReadonlyArray<RollbackRecord> {
    return this.#parts.store.guest(this.#parts.guestId).rollbacks.map((entry) => ({ ...entry }));
  }

  describe(): unknown {
    const { store, guestId, mountRoot } = this.#parts;
    const { tokens: _secretsStayHere, ...state } = store.state;
    return {
      guest_id: guestId,
      endpoint: this.endpoint,
      fingerprint: this.fingerprint,
      presenting: { which: this.#presenting, fingerprint: this.presentedFingerprint() },
      bootstrap_path: this.bootstrapPath,
      mount_root: mountRoot,
      faults: this.faults(),
      pending_backup_failure: this.#backups.pendingFailure(),
      requests: this.requests(),
      state,
    };
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing.abort();
    this.#backups.close();
    await this.#listener?.close();
    await this.#parts.store.save();
  }

  #mount(mountId: string): MountRecord {
    const mount = this.#parts.store.state.mounts.find((candidate) => candidate.id === mountId);
    if (!mount) throw notFound(`no mount ${mountId}`);
    return mount;
  }

  #subject(): BootstrapSubject {
    return { guestId: this.#parts.guestId, endpoint: this.endpoint, fingerprint: this.fingerprint };
  }
}
