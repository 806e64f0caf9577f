/**
 * Temp folders and the test fixtures, for the tests of src/ and test/. src/testing/ holds
 * what both share, so that src/'s tests need nothing from test/ (test/ builds on src/,
 * never the other way round); the build and the image leave the folder out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh directory removed when the test ends, after `closeFirst` (a server or a
 * database using it) has been closed.
 */
export function tempDir(t: TestContext, prefix = 'felhom-test-', closeFirst?: () => Promise<void>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(async () => {
    await closeFirst?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export const fixturesDir = path.join(import.meta.dirname, '..', '..', 'test', 'fixtures');
export const goldenDir = path.join(fixturesDir, 'agent-contract', 'golden');

export function readGolden(name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(goldenDir, name), 'utf8'));
}

/** A path for a fresh SQLite file in a temporary folder removed when the test ends. */
export const databaseFile = (t: TestContext): string => path.join(tempDir(t, 'felhom-db-'), 'c.db');
