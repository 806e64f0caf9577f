/**
 * The bulk backups' records in SQLite: targets (with the repository password, which
 * leaves this file only inside a Repository for restic), which target each volume goes
 * to, and every job and volume run.
 */
import { randomUUID } from 'node:crypto';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { inEnglish, loadMessage, storedMessage, type Message, type MessageKey, type Params } from '../i18n/index.ts';
import { Secret } from '../secret.ts';

export type TargetKind = 'disk' | 'rest';

export interface Target {
  id: string;
  kind: TargetKind;
  label: string;
  mountId: string | null;
  url: string | null;
  username: string | null;
  restPassword: Secret | null;
  repoPassword: Secret;
  /** An existing repository the customer brought with its recovery code. */
  adopted: boolean;
  acknowledgedAt: string | null;
  createdAt: string;
}

export type JobKind = 'backup' | 'restore' | 'check' | 'prune';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted' | 'cancelled';

export interface Job {
  id: string;
  kind: JobKind;
  actor: string;
  state: JobState;
  request: Record<string, unknown>;
  result: Record<string, unknown> | null;
  /** Why it did not succeed, in English (the API, the log); `errorText` the same for the UI. */
  error: string | null;
  errorText: Message | null;
  hostname: string | null;
  resticPid: number | null;
  targetId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type RunOutcome = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped' | 'interrupted' | 'cancelled';

export interface VolumeRun {
  id: number;
  jobId: string;
  appId: string;
  volume: string;
  targetId: string | null;
  outcome: RunOutcome;
  reason: string | null;
  reasonKey: string | null;
  reasonParams: Params;
  snapshotId: string | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesTotal: number | null;
  bytesAdded: number | null;
  bytesTotal: number | null;
  durationMs: number | null;
  startedAt: string;
  finishedAt: string | null;
}

interface TargetRow {
  id: string;
  kind: TargetKind;
  label: string;
  mount_id: string | null;
  url: string | null;
  username: string | null;
  rest_password: string | null;
  repo_password: string;
  adopted: number;
  acknowledged_at: string | null;
  created_at: string;
}

interface JobRow {
  id: string;
  kind: JobKind;
  actor: string;
  state: JobState;
  request: string;
  result: string | null;
  error: string | null;
  error_key: MessageKey | null;
  error_params: string | null;
  hostname: string | null;
  restic_pid: number | null;
  target_id: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface RunRow {
  id: number;
  job_id: string;
  app_id: string;
  volume: string;
  target_id: string | null;
  outcome: RunOutcome;
  reason: string | null;
  reason_key: string | null;
  reason_params: string | null;
  snapshot_id: string | null;
  files_new: number | null;
  files_changed: number | null;
  files_total: number | null;
  bytes_added: number | null;
  bytes_total: number | null;
  duration_ms: number | null;
  started_at: string;
  finished_at: string | null;
}

const toTarget = (row: TargetRow): Target => ({
  id: row.id,
  kind: row.kind,
  label: row.label,
  mountId: row.mount_id,
  url: row.url,
  username: row.username,
  restPassword: row.rest_password === null ? null : new Secret(row.rest_password),
  repoPassword: new Secret(row.repo_password),
  adopted: row.adopted === 1,
  acknowledgedAt: row.acknowledged_at,
  createdAt: row.created_at,
});

const toJob = (row: JobRow): Job => ({
  id: row.id,
  kind: row.kind,
  actor: row.actor,
  state: row.state,
  request: JSON.parse(row.request) as Record<string, unknown>,
  result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
  error: row.error,
  errorText: loadMessage(row.error_key, row.error_params),
  hostname: row.hostname,
  resticPid: row.restic_pid,
  targetId: row.target_id,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

const toRun = (row: RunRow): VolumeRun => ({
  id: row.id,
  jobId: row.job_id,
  appId: row.app_id,
  volume: row.volume,
  targetId: row.target_id,
  outcome: row.outcome,
  reason: row.reason,
  reasonKey: row.reason_key,
  reasonParams: row.reason_params ? (JSON.parse(row.reason_params) as Params) : {},
  snapshotId: row.snapshot_id,
  filesNew: row.files_new,
  filesChanged: row.files_changed,
  filesTotal: row.files_total,
  bytesAdded: row.bytes_added,
  bytesTotal: row.bytes_total,
  durationMs: row.duration_ms,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

export type NewTarget = Omit<Target, 'id' | 'createdAt' | 'acknowledgedAt'>;

export function createBulkStore(db: Db, clock: Clock) {
  const now = () => rfc3339(clock.now());
  return {
    targets(): Target[] {
      return db.prepare<[], TargetRow>('SELECT * FROM backup_targets ORDER BY created_at, id').all().map(toTarget);
    },
    target(id: string): Target | null {
      const row = db.prepare<[string], TargetRow>('SELECT * FROM backup_targets WHERE id = ?').get(id);
      return row ? toTarget(row) : null;
    },
    addTarget(target: NewTarget): Target {
      const id = `t-${randomUUID().slice(0, 8)}`;
      db.prepare(
        `INSERT INTO backup_targets (id, kind, label, mount_id, url, username, rest_password, repo_password, adopted, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(id, target.kind, target.label, target.mountId, target.url, target.username, target.restPassword?.reveal() ?? null, target.repoPassword.reveal(), target.adopted ? 1 : 0, now());
      return this.target(id)!;
    },
    acknowledge(id: string): void {
      db.prepare('UPDATE backup_targets SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL').run(now(), id);
    },
    removeTarget(id: string): void {
      db.prepare('DELETE FROM backup_targets WHERE id = ?').run(id);
    },

    assignments(): Array<{ appId: string; volume: string; targetId: string; chosenBy: 'default' | 'customer' }> {
      return db
        .prepare<[], { app_id: string; volume: string; target_id: string; chosen_by: 'default' | 'customer' }>('SELECT * FROM volume_targets')
        .all()
        .map((row) => ({ appId: row.app_id, volume: row.volume, targetId: row.target_id, chosenBy: row.chosen_by }));
    },
    assign(appId: string, volume: string, targetId: string, chosenBy: 'default' | 'customer'): void {
      db.prepare(
        `INSERT INTO volume_targets (app_id, volume, target_id, chosen_by) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id, volume) DO UPDATE SET target_id = excluded.target_id, chosen_by = excluded.chosen_by`,
      ).run(appId, volume, targetId, chosenBy);
    },
    unassign(appId: string, volume: string): void {
      db.prepare('DELETE FROM volume_targets WHERE app_id = ? AND volume = ?').run(appId, volume);
    },

    addJob(kind: JobKind, actor: string, request: Record<string, unknown>, targetId: string | null): Job {
      const id = randomUUID();
      db.prepare("INSERT INTO bulk_jobs (id, kind, actor, state, request, target_id, created_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)").run(
        id,
        kind,
        actor,
        JSON.stringify(request),
        targetId,
        now(),
      );
      return this.job(id)!;
    },
    job(id: string): Job | null {
      const row = db.prepare<[string], JobRow>('SELECT * FROM bulk_jobs WHERE id = ?').get(id);
      return row ? toJob(row) : null;
    },
    jobs(filter: { kind?: JobKind; limit?: number } = {}): Job[] {
      const rows = filter.kind
        ? db.prepare<[string, number], JobRow>('SELECT * FROM bulk_jobs WHERE kind = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(filter.kind, filter.limit ?? 20)
        : db.prepare<[number], JobRow>('SELECT * FROM bulk_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(filter.limit ?? 20);
      return rows.map(toJob);
    },
    /** Jobs a crash left queued or running. */
    unfinishedJobs(): Job[] {
      return db.prepare<[], JobRow>("SELECT * FROM bulk_jobs WHERE state IN ('queued', 'running') ORDER BY created_at").all().map(toJob);
    },
    startJob(id: string, hostname: string): void {
      db.prepare("UPDATE bulk_jobs SET state = 'running', started_at = ?, hostname = ? WHERE id = ?").run(now(), hostname, id);
    },
    setJobTarget(id: string, targetId: string | null): void {
      db.prepare('UPDATE bulk_jobs SET target_id = ? WHERE id = ?').run(targetId, id);
    },
    recordPid(id: string, pid: number): void {
      db.prepare('UPDATE bulk_jobs SET restic_pid = ? WHERE id = ?').run(pid, id);
    },
    finishJob(id: string, state: Exclude<JobState, 'queued' | 'running'>, result: Record<string, unknown> | null, error: Message | null): void {
      const text = storedMessage(error);
      db.prepare('UPDATE bulk_jobs SET state = ?, result = ?, error = ?, error_key = ?, error_params = ?, finished_at = ? WHERE id = ?').run(
        state,
        result ? JSON.stringify(result) : null,
        error && inEnglish(error),
        text.key,
        text.params,
        now(),
        id,
      );
    },

    startRun(jobId: string, appId: string, volume: string, targetId: string | null): number {
      return Number(
        db.prepare("INSERT INTO volume_backup_runs (job_id, app_id, volume, target_id, outcome, started_at) VALUES (?, ?, ?, ?, 'running', ?)").run(jobId, appId, volume, targetId, now())
          .lastInsertRowid,
      );
    },
    finishRun(
      id: number,
      outcome: Exclude<RunOutcome, 'running'>,
      details: { reason?: string | null; reasonKey?: string; reasonParams?: Params; snapshotId?: string; filesNew?: number; filesChanged?: number; filesTotal?: number; bytesAdded?: number; bytesTotal?: number; durationMs?: number },
    ): void {
      db.prepare(
        `UPDATE volume_backup_runs SET outcome = ?, reason = ?, reason_key = ?, reason_params = ?, snapshot_id = ?, files_new = ?, files_changed = ?, files_total = ?,
         bytes_added = ?, bytes_total = ?, duration_ms = ?, finished_at = ? WHERE id = ?`,
      ).run(
        outcome,
        details.reason ?? null,
        details.reasonKey ?? null,
        details.reasonParams ? JSON.stringify(details.reasonParams) : null,
        details.snapshotId ?? null,
        details.filesNew ?? null,
        details.filesChanged ?? null,
        details.filesTotal ?? null,
        details.bytesAdded ?? null,
        details.bytesTotal ?? null,
        details.durationMs ?? null,
        now(),
        id,
      );
    },
    /** Closes the runs a crash left open. */
    interruptRuns(jobId: string, reason: Message): void {
      db.prepare("UPDATE volume_backup_runs SET outcome = 'interrupted', reason = ?, reason_key = ?, reason_params = ?, finished_at = ? WHERE job_id = ? AND outcome = 'running'").run(
        inEnglish(reason),
        reason.key,
        JSON.stringify(reason.params ?? {}),
        now(),
        jobId,
      );
    },
    runs(filter: { appId?: string; volume?: string; jobId?: string; limit?: number } = {}): VolumeRun[] {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (filter.appId) (where.push('app_id = ?'), args.push(filter.appId));
      if (filter.volume) (where.push('volume = ?'), args.push(filter.volume));
      if (filter.jobId) (where.push('job_id = ?'), args.push(filter.jobId));
      args.push(filter.limit ?? 50);
      return db
        .prepare<Array<string | number>, RunRow>(`SELECT * FROM volume_backup_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
        .all(...args)
        .map(toRun);
    },
    lastRun(appId: string, volume: string, outcomes?: RunOutcome[]): VolumeRun | null {
      const filter = outcomes ? `AND outcome IN (${outcomes.map(() => '?').join(', ')})` : '';
      const row = db
        .prepare<string[], RunRow>(`SELECT * FROM volume_backup_runs WHERE app_id = ? AND volume = ? ${filter} ORDER BY id DESC LIMIT 1`)
        .get(appId, volume, ...(outcomes ?? []));
      return row ? toRun(row) : null;
    },
    runBySnapshot(snapshotId: string): VolumeRun | null {
      const row = db.prepare<[string], RunRow>('SELECT * FROM volume_backup_runs WHERE snapshot_id = ? ORDER BY id DESC LIMIT 1').get(snapshotId);
      return row ? toRun(row) : null;
    },
  };
}

export type BulkStore = ReturnType<typeof createBulkStore>;
