/**
 * Browser sessions in SQLite. The cookie carries a random 256-bit id; the table keeps
 * only its SHA-256, with the session's CSRF token (synchronizer pattern).
 */
import { createHash, randomBytes } from 'node:crypto';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';

export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
// Writing last_seen on every request would make every page view a database write.
const TOUCH_AFTER_MS = 60_000;

export interface Session {
  idHash: string;
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface Sessions {
  /** The cookie value is only available here. */
  create(): { cookie: string; session: Session };
  lookup(cookie: string): Session | null;
  destroy(cookie: string): void;
  /** Every session but `keep` (after a password change). */
  destroyOthers(keep: string | null): number;
}

interface Row {
  id_hash: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

const hashOf = (cookie: string) => createHash('sha256').update(cookie).digest('hex');
const toSession = (row: Row): Session => ({
  idHash: row.id_hash,
  csrfToken: row.csrf_token,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
});

export function createSessions(db: Db, clock: Clock): Sessions {
  const expiry = (now: Date) => rfc3339(new Date(now.getTime() + SESSION_IDLE_MS));
  return {
    create() {
      const now = clock.now();
      const cookie = randomBytes(32).toString('base64url');
      const row: Row = {
        id_hash: hashOf(cookie),
        csrf_token: randomBytes(32).toString('base64url'),
        created_at: rfc3339(now),
        last_seen_at: rfc3339(now),
        expires_at: expiry(now),
      };
      db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(rfc3339(now));
      db.prepare('INSERT INTO sessions (id_hash, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
        row.id_hash,
        row.csrf_token,
        row.created_at,
        row.last_seen_at,
        row.expires_at,
      );
      return { cookie, session: toSession(row) };
    },
    lookup(cookie) {
      const now = clock.now();
      const row = db.prepare<[string], Row>('SELECT * FROM sessions WHERE id_hash = ?').get(hashOf(cookie));
      if (!row) return null;
      if (row.expires_at <= rfc3339(now)) {
        db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(row.id_hash);
        return null;
      }
      if (now.getTime() - Date.parse(row.last_seen_at) > TOUCH_AFTER_MS) {
        row.last_seen_at = rfc3339(now);
        row.expires_at = expiry(now);
        db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?').run(row.last_seen_at, row.expires_at, row.id_hash);
      }
      return toSession(row);
    },
    destroy(cookie) {
      db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashOf(cookie));
    },
    destroyOthers(keep) {
      return db.prepare('DELETE FROM sessions WHERE id_hash != ?').run(keep === null ? '' : hashOf(keep)).changes;
    },
  };
}
