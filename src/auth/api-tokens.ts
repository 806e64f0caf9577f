/**
 * API tokens for `/api/v1/*`: created from the CLI, shown once, stored only as a
 * SHA-256 hash (they are 256-bit random values, so a fast hash is enough).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';

const TOKEN_PREFIX = 'fct_';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiTokens {
  /** The only time the token itself is available. */
  create(name: string): { info: ApiTokenInfo; token: string };
  list(): ApiTokenInfo[];
  /** By id or by the name of an active token. */
  revoke(idOrName: string): ApiTokenInfo;
  verify(token: string): ApiTokenInfo | null;
}

interface Row {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const toInfo = (row: Row): ApiTokenInfo => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export function createApiTokens(db: Db, clock: Clock): ApiTokens {
  return {
    create(name) {
      if (!NAME_PATTERN.test(name)) {
        throw new AppError('validation', { key: 'error.token_name_invalid' });
      }
      if (db.prepare('SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL').get(name)) {
        throw new AppError('conflict', { key: 'error.token_name_taken', params: { name } });
      }
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const row: Row = { id: randomUUID(), name, created_at: rfc3339(clock.now()), last_used_at: null, revoked_at: null };
      db.prepare('INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)').run(
        row.id,
        row.name,
        hash(token),
        row.created_at,
      );
      return { info: toInfo(row), token };
    },

    list() {
      return db.prepare<[], Row>('SELECT * FROM api_tokens ORDER BY created_at, name').all().map(toInfo);
    },

    revoke(idOrName) {
      const row = db
        .prepare<[string, string], Row>(
          'SELECT * FROM api_tokens WHERE id = ? OR (name = ? AND revoked_at IS NULL) ORDER BY revoked_at IS NULL DESC LIMIT 1',
        )
        .get(idOrName, idOrName);
      if (!row) throw new AppError('not_found', { key: 'error.no_token', params: { token: idOrName } });
      if (row.revoked_at) return toInfo(row);
      const revokedAt = rfc3339(clock.now());
      db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(revokedAt, row.id);
      return toInfo({ ...row, revoked_at: revokedAt });
    },

    verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const row = db.prepare<[string], Row>('SELECT * FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL').get(hash(token));
      if (!row) return null;
      const usedAt = rfc3339(clock.now());
      db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(usedAt, row.id);
      return toInfo({ ...row, last_used_at: usedAt });
    },
  };
}
