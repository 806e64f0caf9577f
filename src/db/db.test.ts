import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../testing/temp.ts';
import { migrations } from './migrations.ts';
import { MigrationError, openDatabase, schemaVersion } from './index.ts';

describe('the database', () => {
  it('when opened, then it is in WAL mode, private to the controller and fully migrated', (t) => {
    const file = path.join(tempDir(t), 'controller.db');
    const db = openDatabase(file);
    t.after(() => db.close());
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(schemaVersion(db), migrations.at(-1)!.version);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('when opened again, then no migration runs twice and data survives', (t) => {
    const file = path.join(tempDir(t), 'controller.db');
    const first = openDatabase(file);
    first.prepare("INSERT INTO settings VALUES ('k', 'v', 'customer', '2026-01-01T00:00:00Z')").run();
    first.close();
    const second = openDatabase(file);
    t.after(() => second.close());
    assert.equal((second.prepare("SELECT value FROM settings WHERE key = 'k'").get() as { value: string }).value, 'v');
  });

  it('when a migration fails halfway, then it is rolled back whole and the database stays usable at the previous version', (t) => {
    const file = path.join(tempDir(t), 'controller.db');
    openDatabase(file).close();
    const broken = [
      ...migrations,
      {
        version: 999,
        name: 'half-done',
        sql: "CREATE TABLE half_done (x INTEGER); INSERT INTO settings VALUES ('m', 'v', 'customer', 'now'); SELECT * FROM no_such_table;",
      },
    ];
    assert.throws(() => openDatabase(file, { migrations: broken }), (error: unknown) => {
      assert.ok(error instanceof MigrationError);
      assert.match(error.message, /migration 999 \(half-done\) failed and was rolled back: no such table: no_such_table/);
      return true;
    });
    const db = new Database(file);
    t.after(() => db.close());
    assert.equal(db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get(), undefined);
    assert.equal(db.prepare("SELECT * FROM settings WHERE key = 'm'").get(), undefined);
    const reopened = openDatabase(file);
    reopened.close();
  });
});

describe('a crash during a migration', () => {
  it('when the process is killed with SIGKILL in the middle of one, then the next start finds the previous version, intact', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'controller.db');
    openDatabase(file).close();
    // A child applies a migration that writes for seconds; it is killed mid-way.
    const script = `
      import { openDatabase } from ${JSON.stringify(path.join(import.meta.dirname, 'index.ts'))};
      import { migrations } from ${JSON.stringify(path.join(import.meta.dirname, 'migrations.ts'))};
      process.stdout.write('migrating\\n');
      openDatabase(${JSON.stringify(file)}, { migrations: [...migrations, { version: 999, name: 'slow', sql: \`
        CREATE TABLE slow (n INTEGER, pad TEXT);
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 50000000)
        INSERT INTO slow SELECT n, hex(randomblob(32)) FROM c;\` }] });
      process.stdout.write('finished\\n');
    `;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('migrating')) setTimeout(resolve, 700);
      });
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(output.includes('finished'), false, 'the migration was still running when killed');

    const db = openDatabase(file);
    t.after(() => db.close());
    assert.equal(schemaVersion(db), migrations.at(-1)!.version);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'slow'").get(), undefined);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  });
});
