/**
 * Quiesce runs in SQLite. Every new state of a run is written in one transaction before
 * the runner acts on it, so the open run is the durable marker the design asks for: it
 * survives a kill -9 the instant after it is written (WAL, context/004 §8).
 */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { loadMessage, storedMessage, type MessageKey } from '../i18n/index.ts';
import { momentsOf, type Moment, type Outcome, type Phase, type ResumeReason, type Run } from './machine.ts';

/** When things happened, for the customer's history and the downtime figure. */
export interface RunTimes {
  deadlineAt: string;
  startedAt: string;
  stoppedAt: string | null;
  requestedAt: string | null;
  snapshottedAt: string | null;
  resumedAt: string | null;
  finishedAt: string | null;
  downtimeMs: number | null;
}

export type StoredRun = Run & RunTimes;

interface Row {
  id: string;
  trigger: Run['trigger'];
  stacks: string;
  containers: string | null;
  failed_restarts: string | null;
  killed_on_stop: string | null;
  phase: Phase;
  backup_id: string | null;
  backup_phase: string | null;
  consecutive_poll_failures: number;
  resume_reason: ResumeReason | null;
  outcome: Outcome | null;
  error: string | null;
  error_key: MessageKey | null;
  error_params: string | null;
  deadline_at: string;
  started_at: string;
  stopped_at: string | null;
  requested_at: string | null;
  snapshotted_at: string | null;
  resumed_at: string | null;
  finished_at: string | null;
  downtime_ms: number | null;
}

const toRun = (row: Row): StoredRun => ({
  id: row.id,
  trigger: row.trigger,
  stacks: JSON.parse(row.stacks) as string[],
  containers: row.containers === null ? null : (JSON.parse(row.containers) as Record<string, string[]>),
  failedRestarts: row.failed_restarts === null ? [] : (JSON.parse(row.failed_restarts) as string[]),
  killedOnStop: row.killed_on_stop === null ? [] : (JSON.parse(row.killed_on_stop) as string[]),
  phase: row.phase,
  backupId: row.backup_id,
  backupPhase: row.backup_phase,
  consecutivePollFailures: row.consecutive_poll_failures,
  resumeReason: row.resume_reason,
  outcome: row.outcome,
  error: row.error,
  errorText: loadMessage(row.error_key, row.error_params),
  deadlineAt: row.deadline_at,
  startedAt: row.started_at,
  stoppedAt: row.stopped_at,
  requestedAt: row.requested_at,
  snapshottedAt: row.snapshotted_at,
  resumedAt: row.resumed_at,
  finishedAt: row.finished_at,
  downtimeMs: row.downtime_ms,
});

export function createRunStore(db: Db, clock: Clock) {
  const select = db.prepare<[string], Row>('SELECT * FROM quiesce_runs WHERE id = ?');
  return {
    /** The open run, if any: the marker a crash may have left. */
    open(): StoredRun | null {
      const row = db.prepare<[], Row>("SELECT * FROM quiesce_runs WHERE phase != 'closed'").get();
      return row ? toRun(row) : null;
    },

    /** Writes a new run; refused while another is open (single flight, across processes too). */
    create(run: Run, deadline: Date): StoredRun {
      try {
        db.prepare(
          `INSERT INTO quiesce_runs (id, trigger, stacks, containers, failed_restarts, phase, deadline_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          run.id,
          run.trigger,
          JSON.stringify(run.stacks),
          run.containers === null ? null : JSON.stringify(run.containers),
          JSON.stringify(run.failedRestarts),
          run.phase,
          rfc3339(deadline),
          rfc3339(clock.now()),
        );
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new AppError('conflict', { key: 'error.backup_in_progress' }, { cause: error });
        }
        throw error;
      }
      return toRun(select.get(run.id)!);
    },

    /** Persists the machine's new state, stamping the moments it marks (see momentsOf) the first time. */
    save(run: Run): StoredRun {
      const before = select.get(run.id);
      if (!before) throw new Error(`quiesce run ${run.id} is not stored`);
      const now = rfc3339(clock.now());
      const marked = momentsOf(before.phase, run);
      const stamp = (column: keyof Row, moment: Moment) => (marked.has(moment) && before[column] === null ? now : before[column]);
      const resumedAt = stamp('resumed_at', 'resumed');
      db.prepare(
        `UPDATE quiesce_runs SET phase = ?, failed_restarts = ?, killed_on_stop = ?, backup_id = ?, backup_phase = ?, consecutive_poll_failures = ?, resume_reason = ?,
           outcome = ?, error = ?, error_key = ?, error_params = ?, stopped_at = ?, requested_at = ?, snapshotted_at = ?, resumed_at = ?, finished_at = ?,
           downtime_ms = ? WHERE id = ?`,
      ).run(
        run.phase,
        JSON.stringify(run.failedRestarts),
        JSON.stringify(run.killedOnStop),
        run.backupId,
        run.backupPhase,
        run.consecutivePollFailures,
        run.resumeReason,
        run.outcome,
        run.error,
        storedMessage(run.errorText).key,
        storedMessage(run.errorText).params,
        stamp('stopped_at', 'stopped'),
        stamp('requested_at', 'requested'),
        stamp('snapshotted_at', 'snapshotted'),
        resumedAt,
        stamp('finished_at', 'finished'),
        // The apps were down from the first stop to the restart.
        resumedAt && before.resumed_at === null ? Date.parse(String(resumedAt)) - Date.parse(before.started_at) : before.downtime_ms,
        run.id,
      );
      return toRun(select.get(run.id)!);
    },

    get(id: string): StoredRun | null {
      const row = select.get(id);
      return row ? toRun(row) : null;
    },

    list(limit = 50): StoredRun[] {
      return db.prepare<[number], Row>('SELECT * FROM quiesce_runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit).map(toRun);
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;
