/**
 * What every restic job (backup, restore, restore test, prune) is given: its record, the
 * ports, and `guard`, which runs one restic step on some mounts so that an eject or a
 * disconnected disk cancels exactly that step (restic gets SIGINT and removes its lock).
 */
import type { Mount } from '../agent/index.ts';
import { AppError } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Keep, Restic } from './restic.ts';
import type { BulkStore, Job } from './store.ts';

/** A bulk volume whose manifest says `backup: own`: the controller backs it up. */
export interface OwnVolume {
  appId: string;
  appName: string;
  volume: string;
  mountId: string;
  mountLabel: string;
  /** The folder the volume is bound to. */
  path: string;
  /** When the app was installed: a volume never backed up is late from then on. */
  since: string;
}

/** What the backups need from the apps domain. */
export interface BulkApps {
  ownVolumes(): OwnVolume[];
  /** Why the app's volumes must not be read or replaced now (installing, updating, restoring), or null. */
  busy(appId: string): Message | null;
  /** Stops the app, runs `work`, and starts it again if it is meant to run; the app is busy meanwhile. */
  whileStopped<T>(appId: string, actor: string, work: () => Promise<T>): Promise<T>;
  /** Starts the app if it is meant to run (after a crash cut a replace short). */
  startIfWanted(appId: string): Promise<void>;
  /**
   * Registers a backup reading the app's volumes: an update or uninstall calls `stop`
   * (and waits for it) before it touches them. Returns the release.
   */
  whileReading(appId: string, stop: (reason: Message) => Promise<void>): () => void;
}

export interface LiveProgress {
  app?: string;
  volume?: string;
  step: string;
  filesDone?: number;
  totalFiles?: number;
  bytesDone?: number;
  totalBytes?: number;
  bytesPerSecond?: number;
  secondsRemaining?: number | null;
}

export interface JobSettings {
  keep: Keep;
  readDataSubset: string;
  /** How often a running step looks whether its disks are still attached. */
  storageCheckMs: number;
}

export interface JobContext {
  job: Job;
  store: BulkStore;
  restic: Restic;
  apps: BulkApps;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
  settings: JobSettings;
  /** The agent's mounts now, or null when it does not answer. */
  mounts(): Promise<Mount[] | null>;
  /** Mounts being ejected: nothing new starts on them. */
  heldMounts: ReadonlySet<string>;
  progress(progress: LiveProgress | null): void;
  /**
   * Runs `step` while these mounts are in use. It is cancelled (the signal aborts) when
   * one of them is ejected or found disconnected, or when `reading.app` is about to be
   * updated or removed; the promise then rejects with `Cancelled` saying why. Records
   * restic's pid for crash recovery.
   */
  guard<T>(mountIds: string[], reading: { app?: string }, step: (options: { cancel: AbortSignal; onSpawn: (pid: number) => void }) => Promise<T>): Promise<T>;
}

/**
 * A step stopped from outside: the reason says what the customer should know. An eject
 * or a shutdown cancels; a disk that vanished under the step fails it.
 */
export class Cancelled extends AppError {
  readonly outcome: 'cancelled' | 'failed';

  constructor(reason: Message, outcome: 'cancelled' | 'failed' = 'cancelled') {
    super('conflict', reason);
    this.outcome = outcome;
  }
}
