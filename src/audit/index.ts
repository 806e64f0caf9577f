/**
 * The audit log: who did what to what, and how it ended. Recording is best effort by
 * design: a full disk or a locked database must never fail or block the action being
 * recorded, so a failed write is logged and swallowed.
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
  since?: Date;
  until?: Date;
  limit?: number;
}

export interface AuditLog {
  record(entry: AuditEntry): void;
  list(filter?: AuditFilter): AuditRecord[];
}

export function createAuditLog(db: Db, clock: Clock, logger: Logger): AuditLog {
  return {
    record(entry) {
      try {
        db.prepare(
          'INSERT INTO audit_log (at, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(
          rfc3339(clock.now()),
          entry.actor,
          entry.action,
          entry.target ?? null,
          entry.outcome,
          entry.details ? JSON.stringify(entry.details) : null,
        );
      } catch (error) {
        logger.warn({ err: error, audit: entry }, 'could not write the audit log; the action itself is unaffected');
      }
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
  };
}
