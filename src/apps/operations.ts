/**
 * Long operations (install, update, ...) with progress the UI and the API can follow
 * while they run. Each is a row with its current step and a bounded list of events;
 * an operation that was running when the controller died is closed at the next start.
 */
import { randomUUID } from 'node:crypto';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';

export type OperationKind = 'install' | 'update' | 'start' | 'stop' | 'restart' | 'uninstall' | 'rollback' | 'resume-install';
export type OperationState = 'running' | 'succeeded' | 'failed';
/** The steps of a deploy, stored as these keys so each reader words them (the UI in the customer's language). */
export const deploySteps = ['snapshot', 'download_images', 'prepare_storage', 'start', 'wait_healthy'] as const;
export type DeployStep = (typeof deploySteps)[number];

export interface Operation {
  id: string;
  appId: string;
  kind: OperationKind;
  state: OperationState;
  step: string | null;
  snapshot: string | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  events: Array<{ at: string; message: string }>;
}

/** What a running operation reports through. */
export interface Progress {
  readonly operationId: string;
  /** Sets the current step and records it among the events (as its key). */
  step(step: DeployStep): void;
  event(message: string): void;
  snapshot(name: string): void;
}

const MAX_EVENTS = 300;

interface Row {
  id: string;
  app_id: string;
  kind: OperationKind;
  state: OperationState;
  step: string | null;
  snapshot: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

export function createOperations(db: Db, clock: Clock) {
  const now = () => rfc3339(clock.now());
  const load = (row: Row): Operation => ({
    id: row.id,
    appId: row.app_id,
    kind: row.kind,
    state: row.state,
    step: row.step,
    snapshot: row.snapshot,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    events: db
      .prepare<[string], { at: string; message: string }>('SELECT at, message FROM operation_events WHERE operation_id = ? ORDER BY seq')
      .all(row.id),
  });

  return {
    start(appId: string, kind: OperationKind): Progress & { finish(error?: string | null): void } {
      const id = randomUUID();
      db.prepare("INSERT INTO operations (id, app_id, kind, state, started_at) VALUES (?, ?, ?, 'running', ?)").run(id, appId, kind, now());
      let seq = 0;
      const event = (message: string) => {
        seq++;
        db.prepare('INSERT INTO operation_events (operation_id, seq, at, message) VALUES (?, ?, ?, ?)').run(id, seq, now(), message.slice(0, 2000));
        if (seq > MAX_EVENTS) db.prepare('DELETE FROM operation_events WHERE operation_id = ? AND seq <= ?').run(id, seq - MAX_EVENTS);
      };
      return {
        operationId: id,
        step(step) {
          db.prepare('UPDATE operations SET step = ? WHERE id = ?').run(step, id);
          event(step);
        },
        event,
        snapshot(name) {
          db.prepare('UPDATE operations SET snapshot = ? WHERE id = ?').run(name, id);
        },
        finish(error = null) {
          db.prepare('UPDATE operations SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(error ? 'failed' : 'succeeded', error, now(), id);
        },
      };
    },

    get(id: string): Operation | null {
      const row = db.prepare<[string], Row>('SELECT * FROM operations WHERE id = ?').get(id);
      return row ? load(row) : null;
    },

    /** The newest operation of an app, running or not. */
    latest(appId: string): Operation | null {
      const row = db.prepare<[string], Row>('SELECT * FROM operations WHERE app_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(appId);
      return row ? load(row) : null;
    },

    running(): Operation[] {
      return db.prepare<[], Row>("SELECT * FROM operations WHERE state = 'running'").all().map(load);
    },

    /** Closes operations a dead process left running; says which. */
    closeInterrupted(reason: string): Operation[] {
      const interrupted = this.running();
      db.prepare("UPDATE operations SET state = 'failed', error = ?, finished_at = ? WHERE state = 'running'").run(reason, now());
      return interrupted;
    },
  };
}

export type Operations = ReturnType<typeof createOperations>;
