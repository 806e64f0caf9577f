import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { createAccount } from './account.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { createSessions, SESSION_IDLE_MS } from './sessions.ts';
import { issueSetupCode } from './setup-code.ts';

const tempDir = (t: { after(fn: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-auth-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const clockAt = (start: number) => {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
};

describe('passwords', () => {
  test('when a password is hashed, then the hash names scrypt with N=2^17 and only that password verifies', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.notEqual(await hashPassword('correct horse battery'), hash, 'a new salt every time');
  });
  test('when a stored hash is malformed, then nothing verifies against it', async () => {
    assert.equal(await verifyPassword('x', 'plain-text'), false);
  });
  test('when several checks run at once and one stored hash is broken, then each gets its own answer', async () => {
    const hash = await hashPassword('correct horse battery');
    const broken = hash.replace('$131072$', '$3$'); // N must be a power of two: scrypt fails
    const answers = await Promise.allSettled([
      verifyPassword('correct horse battery', hash),
      verifyPassword('correct horse battery', broken),
      verifyPassword('wrong horse battery', hash),
      verifyPassword('correct horse battery', hash),
    ]);
    assert.deepEqual(answers.map((a) => (a.status === 'fulfilled' ? a.value : 'failed')), [true, 'failed', false, true]);
  });
  test('when a password is short, then it is refused', () => {
    assert.equal(passwordProblem('short'), 'password_too_short');
    assert.equal(passwordProblem('long enough!'), null);
  });
});

describe('setup code', () => {
  test('when issued, then it is written 0600 to the data folder and matches regardless of case and dashes', (t) => {
    const dir = tempDir(t);
    const clock = clockAt(Date.parse('2026-11-23T10:00:00Z'));
    const code = issueSetupCode({ dataDir: dir, clock, validMs: 60_000 });
    assert.match(code.code, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    assert.equal(fs.statSync(code.file).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(code.file, 'utf8').startsWith(code.code));
    assert.equal(code.matches(code.code.toLowerCase().replaceAll('-', ' ')), true);
    assert.equal(code.matches('AAAA-AAAA-AAAA'), false);
  });
  test('when its time is up, then even the right code no longer matches', (t) => {
    const clock = clockAt(0);
    const code = issueSetupCode({ dataDir: tempDir(t), clock, validMs: 60_000 });
    clock.advance(60_000);
    assert.equal(code.expired(), true);
    assert.equal(code.matches(code.code), false);
  });
  test('when retired after the account is made, then it no longer matches and its file is gone', (t) => {
    const code = issueSetupCode({ dataDir: tempDir(t), clock: clockAt(0), validMs: 60_000 });
    code.retire();
    assert.equal(code.matches(code.code), false);
    assert.equal(fs.existsSync(code.file), false);
  });
  test('when an old code file with loose permissions exists, then the new one is still 0600', (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'setup-code.txt'), 'OLD', { mode: 0o644 });
    const code = issueSetupCode({ dataDir: dir, clock: clockAt(0), validMs: 1000 });
    assert.equal(fs.statSync(code.file).mode & 0o777, 0o600);
  });
});

describe('account and sessions', () => {
  const open = (t: { after(fn: () => void): void }) => {
    const db = openDatabase(path.join(tempDir(t), 'c.db'), { logger: silentLogger() });
    t.after(() => db.close());
    return db;
  };

  test('when the account is created twice, then the second is refused and the first password stays', async (t) => {
    const db = open(t);
    const account = createAccount(db, clockAt(0));
    assert.equal(account.exists(), false);
    await account.create('first password!');
    await assert.rejects(account.create('second password'), { code: 'conflict' });
    assert.equal(await account.verify('first password!'), true);
    assert.equal(await account.verify('second password'), false);
  });

  test('when a session is created, then only the cookie finds it, and the database holds only its hash', (t) => {
    const db = open(t);
    const sessions = createSessions(db, clockAt(0));
    const { cookie, session } = sessions.create();
    assert.equal(sessions.lookup(cookie)?.csrfToken, session.csrfToken);
    assert.equal(sessions.lookup(`${cookie}x`), null);
    const stored = db.prepare('SELECT id_hash FROM sessions').all() as Array<{ id_hash: string }>;
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0]!.id_hash, cookie);
  });

  test('when a session is idle past its lifetime, then it is gone; when used, its lifetime slides', (t) => {
    const db = open(t);
    const clock = clockAt(0);
    const sessions = createSessions(db, clock);
    const idle = sessions.create();
    const used = sessions.create();
    clock.advance(SESSION_IDLE_MS - 1000);
    assert.ok(sessions.lookup(used.cookie));
    clock.advance(2000);
    assert.equal(sessions.lookup(idle.cookie), null);
    assert.ok(sessions.lookup(used.cookie), 'used a moment before, so still valid');
  });

  test('when the password changes, then every other session ends', (t) => {
    const db = open(t);
    const sessions = createSessions(db, clockAt(0));
    const mine = sessions.create();
    const other = sessions.create();
    assert.equal(sessions.destroyOthers(mine.cookie), 1);
    assert.ok(sessions.lookup(mine.cookie));
    assert.equal(sessions.lookup(other.cookie), null);
  });
});
