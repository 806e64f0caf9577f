/**
 * The backup walk of context/004 §8: `queued → running → snapshotted → done` in snapshot
 * mode, `queued → running → done` in stop mode, or `failed` from any of them. Timers
 * drive it; every transition is persisted with its millisecond clock, so a walk that was
 * in flight when the agent stopped carries on after a restart.
 */
import type { Logger } from '../src/log.ts';
import type { BackupCopies } from './backup-copy.ts';
import { isoSeconds } from './files.ts';
import { conflict, notFound } from './http.ts';
import { VZDUMP_TARGET, backupId, simulatedBackupSize } from './seed.ts';
import type { BackupMode, BackupPhase, BackupReason, BackupRecord, FailurePhase, StateStore } from './state.ts';

export interface BackupSettings {
  mode: BackupMode;
  queuedMs: number;
  runningMs: number;
  snapshottedMs: number;
  dueEverySeconds: number;
  retryAfterSeconds: number;
  /** Copy the covered mounts into the backup at the snapshot's moment (backup-copy.ts). */
  copyMounts: boolean;
  /** How many backups' copies are kept. */
  keepCopies: number;
}

const IN_FLIGHT: ReadonlySet<BackupPhase> = new Set(['queued', 'running', 'snapshotted']);

function isInFlight(backup: BackupRecord): boolean {
  return IN_FLIGHT.has(backup.phase);
}

export function backupWire(backup: BackupRecord) {
  const { id, phase, mode, reason, started_at, updated_at, finished_at, error } = backup;
  return { id, phase, mode, reason, started_at, updated_at, finished_at, error };
}

export class BackupEngine {
  readonly #store: StateStore;
  readonly #settings: BackupSettings;
  readonly #logger: Logger;
  readonly #copies: BackupCopies | null;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #nextFailure: { at_phase: FailurePhase; error: string } | null = null;
  #closed = false;

  constructor(store: StateStore, settings: BackupSettings, logger: Logger, copies: BackupCopies | null = null) {
    this.#store = store;
    this.#settings = settings;
    this.#logger = logger;
    this.#copies = settings.copyMounts ? copies : null;
  }

  /** Picks up the walks that were in flight when the agent last stopped. */
  resume(): void {
    for (const [guestId, guest] of Object.entries(this.#store.state.guests)) {
      for (const backup of guest.backups) if (isInFlight(backup)) this.#schedule(guestId, backup);
    }
  }

  failNext(atPhase: FailurePhase, error: string): void {
    this.#nextFailure = { at_phase: atPhase, error };
  }

  pendingFailure(): { at_phase: FailurePhase; error: string } | null {
    return this.#nextFailure;
  }

  inFlight(guestId: string): BackupRecord | undefined {
    return this.#store.guest(guestId).backups.find(isInFlight);
  }

  /** The conflict every guest-scoped operation answers while a backup runs. */
  assertIdle(guestId: string): void {
    const running = this.inFlight(guestId);
    if (running) {
      throw conflict(`a backup of guest ${guestId} is already in flight (${running.id})`, { backup_id: running.id });
    }
  }

  async start(guestId: string, reason: BackupReason): Promise<BackupRecord> {
    this.assertIdle(guestId);
    const guest = this.#store.guest(guestId);
    const now = Date.now();
    let id = backupId(guestId, now);
    for (let n = 2; guest.backups.some((backup) => backup.id === id); n++) id = `${backupId(guestId, now)}-${n}`;
    const backup: BackupRecord = {
      id,
      phase: 'queued',
      mode: this.#settings.mode,
      reason,
      started_at: null,
      updated_at: isoSeconds(now),
      finished_at: null,
      error: null,
      size_bytes: null,
      target: VZDUMP_TARGET,
      phase_entered_ms: now,
      planned_failure: this.#nextFailure,
    };
    this.#nextFailure = null;
    guest.backups.push(backup);
    await this.#store.save();
    this.#schedule(guestId, backup);
    return backup;
  }

  status(guestId: string, id: string | null) {
    const backups = this.#store.guest(guestId).backups;
    let backup: BackupRecord | null;
    if (id !== null) {
      backup = backups.find((candidate) => candidate.id === id) ?? null;
      if (!backup) throw notFound(`no backup ${id} for guest ${guestId}`);
    } else {
      backup = backups.find(isInFlight) ?? backups.at(-1) ?? null;
    }
    const lastSuccess = backups.findLast((candidate) => candidate.phase === 'done');
    const lastFinished = backups.findLast((candidate) => !isInFlight(candidate));
    return {
      backup: backup && backupWire(backup),
      last_success: lastSuccess
        ? { id: lastSuccess.id, finished_at: lastSuccess.finished_at, size_bytes: lastSuccess.size_bytes, target: lastSuccess.target }
        : null,
      targets: [
        {
          id: VZDUMP_TARGET,
          kind: 'vzdump',
          label: 'Second disk',
          state: lastFinished?.phase === 'failed' ? 'failing' : 'ok',
          last_success_at: lastSuccess?.finished_at ?? null,
          last_size_bytes: lastSuccess?.size_bytes ?? null,
        },
      ],
    };
  }

  due(guestId: string, nowMs: number = Date.now()) {
    const guest = this.#store.guest(guestId);
    const lastSuccess = guest.backups.findLast((backup) => backup.phase === 'done');
    const lastFinished = guest.backups.findLast((backup) => !isInFlight(backup));
    const everyMs = this.#settings.dueEverySeconds * 1000;
    let due = false;
    let reason: 'policy' | 'retry' | 'not_due' = 'not_due';
    let nextDueMs: number;
    if (guest.backups.some(isInFlight)) {
      // Accepted: the next one falls due a period after this one, whatever its outcome.
      nextDueMs = nowMs + everyMs;
    } else if (lastFinished?.phase === 'failed') {
      nextDueMs = Date.parse(lastFinished.finished_at ?? lastFinished.updated_at) + this.#settings.retryAfterSeconds * 1000;
      due = nextDueMs <= nowMs;
      if (due) reason = 'retry';
    } else {
      nextDueMs = Date.parse(lastSuccess?.finished_at ?? guest.created_at) + everyMs;
      due = nextDueMs <= nowMs;
      if (due) reason = 'policy';
    }
    return {
      due,
      reason,
      policy: {
        schedule: describeEvery(this.#settings.dueEverySeconds),
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        keep_daily: 7,
        keep_weekly: 4,
      },
      last_success_at: lastSuccess?.finished_at ?? null,
      next_due_at: isoSeconds(nextDueMs),
    };
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #schedule(guestId: string, backup: BackupRecord): void {
    const wait = Math.max(0, backup.phase_entered_ms + this.#phaseMs(backup.phase) - Date.now());
    const timer = setTimeout(() => {
      this.#timers.delete(backup.id);
      this.#advance(guestId, backup).catch((error: unknown) => this.#logger.error({ err: error, backup: backup.id }, 'dev agent: backup step failed'));
    }, wait);
    timer.unref();
    this.#timers.set(backup.id, timer);
  }

  async #advance(guestId: string, backup: BackupRecord): Promise<void> {
    if (this.#closed || !isInFlight(backup)) return;
    const failure = backup.planned_failure;
    // In stop mode there is no snapshotted phase: a failure planned there strikes at its place, the end of running.
    const failsHere =
      failure !== null &&
      (failure.at_phase === backup.phase || (failure.at_phase === 'snapshotted' && backup.mode === 'stop' && backup.phase === 'running'));
    // The end of running is the snapshot's moment (in stop mode, the read of the stopped guest).
    const copyError = !failsHere && backup.phase === 'running' ? await this.#copy(backup) : null;
    // Stopped during the copy: the walk carries on (and copies again) after the restart.
    if (this.#closed) return;
    const now = Date.now();
    if (failsHere || copyError) {
      backup.phase = 'failed';
      backup.error = failsHere ? failure!.error : copyError;
      backup.finished_at = isoSeconds(now);
    } else if (backup.phase === 'queued') {
      backup.phase = 'running';
      backup.started_at = isoSeconds(now);
    } else if (backup.phase === 'running' && backup.mode === 'snapshot') {
      backup.phase = 'snapshotted';
    } else {
      backup.phase = 'done';
      backup.finished_at = isoSeconds(now);
      backup.size_bytes = simulatedBackupSize();
    }
    backup.updated_at = isoSeconds(now);
    backup.phase_entered_ms = now;
    this.#logger.debug({ backup: backup.id, phase: backup.phase }, 'dev agent: backup phase');
    await this.#store.save();
    if (isInFlight(backup)) this.#schedule(guestId, backup);
  }

  /** Takes the backup's copy; says why it failed, if it did. */
  async #copy(backup: BackupRecord): Promise<string | null> {
    if (!this.#copies) return null;
    try {
      await this.#copies.take(backup.id);
      return null;
    } catch (error) {
      this.#logger.error({ err: error, backup: backup.id }, 'dev agent: copying the mounts into the backup failed');
      return `copying the guest's mounts into the backup failed: ${(error as Error).message}`;
    }
  }

  #phaseMs(phase: BackupPhase): number {
    if (phase === 'queued') return this.#settings.queuedMs;
    if (phase === 'running') return this.#settings.runningMs;
    return this.#settings.snapshottedMs;
  }
}

function describeEvery(seconds: number): string {
  if (seconds === 86400) return 'daily';
  if (seconds % 3600 === 0) return `every ${seconds / 3600} h`;
  if (seconds % 60 === 0) return `every ${seconds / 60} min`;
  return `every ${seconds} s`;
}
