/** For the quiesce unit tests: a database file of their own, without reaching into test/. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** A path for a fresh SQLite file in a temporary folder removed when the test ends. */
export function databaseFile(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-quiesce-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'c.db');
}
