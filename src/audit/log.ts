/**
 * The audit log: who did what to what, and how it ended. Recording must never fail or
 * block the action being recorded: a write does not wait for a database another process
 * has locked (it is queued and retried in the background, with its original time), and
 * any other failure is logged and swallowed.
 */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';


export type AuditOutcome = 'ok' | 'failed' | 'refused';

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'details'>> {
  id: number;
  at: string;
  details: Record<string, unknown> | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  /** Entries about an app: its id as the target, one of its parts (`app/volume`) or one of a list (`a,b`). */
  app?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  list(filter?: AuditFilter): AuditRecord[];
  /** Every action recorded so far, for the activity page's filter. */
  actions(): string[];
}

const MAX_QUEUED = 1_000;

export function createAuditLog(db: Db, clock: Clock, logger: Logger, options: { retryMs?: number } = {}): AuditLog {
  const retryMs = options.retryMs ?? 1_000;
  const queued: Array<{ at: string; entry: AuditEntry }> = [];
  let retry: NodeJS.Timeout | null = null;

  /** Writes without waiting on a lock; false when the database is busy. */
  function write(at: string, entry: AuditEntry): boolean {
    const waitMs = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 0');
    try {
      db.prepare('INSERT INTO audit_log (at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)').run(
        at,
        entry.actor,
        entry.action,
        entry.target ?? null,
        entry.outcome,
        entry.details ? JSON.stringify(entry.details) : null,
      );
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
      logger.warn({ err: error, audit: entry }, 'could not write the audit log; the action itself is unaffected');
      return true;
    } finally {
      db.pragma(`busy_timeout = ${waitMs}`);
    }
  }

  function flush(): void {
    retry = null;
    while (queued.length > 0) {
      const next = queued[0]!;
      if (!write(next.at, next.entry)) {
        scheduleRetry();
        return;
      }
      queued.shift();
    }
  }

  function scheduleRetry(): void {
    retry ??= setTimeout(flush, retryMs).unref();
  }

  return {
    record(entry) {
      const at = rfc3339(clock.now());
      if (queued.length === 0 && write(at, entry)) return;
      if (queued.length >= MAX_QUEUED) {
        const dropped = queued.shift();
        logger.warn({ audit: dropped?.entry }, 'audit queue full while the database is locked; dropped the oldest entry');
      }
      queued.push({ at, entry });
      scheduleRetry();
    },

    list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      const exact = { actor: filter.actor, action: filter.action, target: filter.target };
      for (const [column, value] of Object.entries(exact)) {
        if (value !== undefined) {
          where.push(`${column} = ?`);
          params.push(value);
        }
      }
      if (filter.app !== undefined) {
        where.push("(instr(',' || target || ',', ',' || ? || ',') > 0 OR substr(target, 1, length(?) + 1) = ? || '/')");
        params.push(filter.app, filter.app, filter.app);
      }
      if (filter.since) {
        where.push('at >= ?');
        params.push(rfc3339(filter.since));
      }
      if (filter.until) {
        where.push('at < ?');
        params.push(rfc3339(filter.until));
      }
      const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      const rows = db.prepare(sql).all(...params, filter.limit ?? 200) as Array<Omit<AuditRecord, 'details'> & { details: string | null }>;
      return rows.map((row) => ({ ...row, details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null }));
    },

    actions() {
      return (db.prepare('SELECT DISTINCT action FROM audit_log ORDER BY action').all() as Array<{ action: string }>).map((row) => row.action);
    },
  };
}
