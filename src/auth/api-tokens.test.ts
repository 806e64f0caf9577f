import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { tempDir } from '../testing/temp.ts';
import { createApiTokens } from './api-tokens.ts';

describe('API tokens', () => {
  it('when a token is created, then only its hash is stored and it verifies until revoked', (t) => {
    const db = openDatabase(path.join(tempDir(t), 'c.db'));
    t.after(() => db.close());
    const tokens = createApiTokens(db, systemClock);
    const { info, token } = tokens.create('home-assistant');
    assert.match(token, /^fct_[A-Za-z0-9_-]{43}$/);
    assert.equal(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all()).includes(token), false);
    assert.equal(tokens.verify(token)?.id, info.id);
    assert.ok(tokens.list()[0]!.lastUsedAt, 'use is recorded');
    assert.equal(tokens.verify(`${token}x`), null);
    assert.equal(tokens.verify('not-a-token'), null);
    tokens.revoke('home-assistant');
    assert.equal(tokens.verify(token), null);
    assert.ok(tokens.list()[0]!.revokedAt);
  });

  it('when a name is taken by an active token or malformed, then creation is refused with a reason', (t) => {
    const db = openDatabase(path.join(tempDir(t), 'c.db'));
    t.after(() => db.close());
    const tokens = createApiTokens(db, systemClock);
    const first = tokens.create('backup-script');
    assert.throws(() => tokens.create('backup-script'), (e: unknown) => e instanceof AppError && e.code === 'conflict' && /revoke it first/.test(e.message));
    assert.throws(() => tokens.create('<script>'), (e: unknown) => e instanceof AppError && e.code === 'validation');
    tokens.revoke(first.info.id);
    assert.doesNotThrow(() => tokens.create('backup-script'));
    assert.throws(() => tokens.revoke('nope'), (e: unknown) => e instanceof AppError && e.code === 'not_found');
  });
});
