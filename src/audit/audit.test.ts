import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { Clock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { tempDir } from '../testing/temp.ts';
import { createAuditLog } from './index.ts';

const at = (iso: string): Clock => ({ now: () => new Date(iso) });

describe('the audit log', () => {
  it('when actions are recorded, then they can be filtered by actor, action, target and time, newest first', (t) => {
    const db = openDatabase(path.join(tempDir(t), 'c.db'));
    t.after(() => db.close());
    let now = '2026-11-23T10:00:00.000Z';
    const audit = createAuditLog(db, { now: () => new Date(now) }, silentLogger());
    audit.record({ actor: 'customer', action: 'app.install', target: 'photos', outcome: 'ok', details: { version: '1.4.2' } });
    now = '2026-11-23T11:00:00.000Z';
    audit.record({ actor: 'api-token:ci', action: 'app.stop', target: 'photos', outcome: 'failed' });
    now = '2026-11-23T12:00:00.000Z';
    audit.record({ actor: 'customer', action: 'app.install', target: 'media', outcome: 'refused' });

    assert.deepEqual(audit.list().map((r) => r.at), ['2026-11-23T12:00:00.000Z', '2026-11-23T11:00:00.000Z', '2026-11-23T10:00:00.000Z']);
    assert.deepEqual(audit.list({ target: 'photos' }).map((r) => r.action), ['app.stop', 'app.install']);
    assert.deepEqual(audit.list({ actor: 'customer', action: 'app.install' }).map((r) => r.target), ['media', 'photos']);
    assert.deepEqual(audit.list({ since: new Date('2026-11-23T10:30:00Z'), until: new Date('2026-11-23T11:30:00Z') }).map((r) => r.action), ['app.stop']);
    assert.deepEqual(audit.list({ target: 'photos', action: 'app.install' })[0]!.details, { version: '1.4.2' });
    audit.record({ actor: 'customer', action: 'backup.bulk_without_backup_accepted', target: 'photos/library', outcome: 'ok' });
    audit.record({ actor: 'controller', action: 'backup.restart_failed', target: 'media,photos', outcome: 'failed' });
    audit.record({ actor: 'customer', action: 'app.install', target: 'photos-old', outcome: 'ok' });
    audit.record({ actor: 'customer', action: 'app.install', target: '%', outcome: 'ok' });
    assert.deepEqual(
      audit.list({ app: 'photos' }).map((r) => `${r.action} ${r.target}`),
      ['backup.restart_failed media,photos', 'backup.bulk_without_backup_accepted photos/library', 'app.stop photos', 'app.install photos'],
      'an app filter matches the app, its parts and lists naming it, but not another app whose id merely starts the same',
    );
    assert.deepEqual(audit.list({ app: '%' }).map((r) => r.target), ['%'], 'filter text is matched literally, not as a pattern');
    assert.match(audit.list()[0]!.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('when the audit table cannot be written, then recording neither throws nor stops the action, and a warning is logged', (t) => {
    const db = openDatabase(path.join(tempDir(t), 'c.db'));
    t.after(() => db.close());
    const lines: string[] = [];
    const logger = pino(new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
    const audit = createAuditLog(db, at('2026-11-23T10:00:00Z'), logger);
    db.exec('DROP TABLE audit_log');
    let actionRan = false;
    assert.doesNotThrow(() => {
      audit.record({ actor: 'customer', action: 'app.start', target: 'photos', outcome: 'ok' });
      actionRan = true;
    });
    assert.equal(actionRan, true);
    assert.match(lines.join(''), /could not write the audit log/);
  });

  it('when another process holds the database lock, then recording returns at once and the entry lands later with its own time', async (t) => {
    const file = path.join(tempDir(t), 'c.db');
    const db = openDatabase(file);
    t.after(() => db.close());
    const audit = createAuditLog(db, at('2026-11-23T10:00:00Z'), silentLogger(), { retryMs: 20 });
    const other = new Database(file);
    t.after(() => other.close());
    other.exec('BEGIN IMMEDIATE');

    const started = performance.now();
    audit.record({ actor: 'customer', action: 'app.stop', target: 'photos', outcome: 'ok' });
    audit.record({ actor: 'customer', action: 'app.start', target: 'photos', outcome: 'ok' });
    assert.ok(performance.now() - started < 100, 'recording did not wait for the lock');

    await new Promise((resolve) => setTimeout(resolve, 60));
    other.exec('COMMIT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      audit.list().map((r) => [r.action, r.at]),
      [
        ['app.start', '2026-11-23T10:00:00.000Z'],
        ['app.stop', '2026-11-23T10:00:00.000Z'],
      ],
    );
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the connection keeps its own lock wait');
  });
});
