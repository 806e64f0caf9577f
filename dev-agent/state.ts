/**
 * Everything the agent remembers, in one JSON file rewritten atomically on every change:
 * what a restart (or a crash) must not lose is what the contract promises lasts
 * (backup ids, snapshots, tokens, the drives' observed state).
 */
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './files.ts';

export type BackupPhase = 'queued' | 'running' | 'snapshotted' | 'done' | 'failed';
export type FailurePhase = 'queued' | 'running' | 'snapshotted';
export type BackupMode = 'snapshot' | 'stop';
export type BackupReason = 'scheduled' | 'manual' | 'agent';

export interface BackupRecord {
  id: string;
  phase: BackupPhase;
  mode: BackupMode;
  reason: BackupReason;
  started_at: string | null;
  updated_at: string;
  finished_at: string | null;
  error: string | null;
  size_bytes: number | null;
  target: string;
  /** Millisecond clock of the last transition: after a restart the walk resumes from it. */
  phase_entered_ms: number;
  planned_failure: { at_phase: FailurePhase; error: string } | null;
}

export interface SnapshotRecord {
  name: string;
  description: string;
  created_at: string;
  owner: 'controller' | 'agent';
}

export interface RollbackRecord {
  snapshot: string;
  at: string;
}

export interface RestoreTestStatus {
  last_run: {
    started_at: string;
    finished_at: string | null;
    result: 'pass' | 'fail' | 'running';
    backup_id: string;
    checks: { name: string; ok: boolean }[];
    error: string | null;
  } | null;
  next_run_at: string | null;
  integrity: { last_verify_at: string | null; ok: boolean | null };
}

export interface GuestRecord {
  /** When the agent first served this guest: the base of /backup/due before any success. */
  created_at: string;
  snapshots: SnapshotRecord[];
  backups: BackupRecord[];
  rollbacks: RollbackRecord[];
  restore_test: RestoreTestStatus;
}

export interface SmartReading {
  temp_c: number | null;
  wear_percent: number | null;
  ok: boolean | null;
}

export interface DiskRecord {
  id: string;
  device: string;
  model: string;
  serial: string;
  size_bytes: number;
  transport: string;
  removable: boolean;
  system: boolean;
  filesystem: string | null;
  fs_label: string | null;
  /** What the agent "observes" on the device; any partition makes it data-bearing. */
  partitions: number;
  smart: SmartReading;
}

export interface MountRecord {
  id: string;
  label: string;
  class: 'fast' | 'slow';
  role: 'primary' | 'bulk-data';
  state: 'attached' | 'disconnected';
  /** The drive behind the mount. */
  disk: string;
  /** 'pool': a thin pool on a drive that is not itself assigned; 'drive': a whole drive assigned through /disks/assign. */
  kind: 'pool' | 'drive';
}

export interface AgentState {
  schema: typeof STATE_SCHEMA;
  created_at: string;
  host: { id: string };
  customer: { id: string; name: string; email: string; locale: string };
  /** SHA-256 (hex) of each valid guest token → the guest it speaks for. Plaintext tokens are never stored. */
  tokens: Record<string, string>;
  disks: DiskRecord[];
  mounts: MountRecord[];
  guests: Record<string, GuestRecord>;
}

export const STATE_SCHEMA = 'felhom.dev-agent.state/v1';

export class StateStore {
  readonly path: string;
  readonly state: AgentState;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string, state: AgentState) {
    this.path = path;
    this.state = state;
  }

  static async open(stateDir: string, create: () => AgentState): Promise<StateStore> {
    const path = join(stateDir, 'state.json');
    const text = await readFileIfExists(path);
    if (text === null) {
      const store = new StateStore(path, create());
      await store.save();
      return store;
    }
    let state: AgentState;
    try {
      state = JSON.parse(text) as AgentState;
    } catch (error) {
      throw new Error(`${path} is not valid JSON (${(error as Error).message}); move it away to start with a fresh state`);
    }
    if (state.schema !== STATE_SCHEMA) throw new Error(`${path} has schema ${String(state.schema)}, expected ${STATE_SCHEMA}`);
    return new StateStore(path, state);
  }

  guest(guestId: string): GuestRecord {
    const guest = this.state.guests[guestId];
    if (!guest) throw new Error(`no state for guest ${guestId}`);
    return guest;
  }

  /** Writes are chained so they land in call order; each writes the state as it is when its turn comes. */
  save(): Promise<void> {
    this.#writes = this.#writes.catch(() => undefined).then(() => writeFileAtomic(this.path, `${JSON.stringify(this.state, null, 2)}\n`, 0o600));
    return this.#writes;
  }
}
