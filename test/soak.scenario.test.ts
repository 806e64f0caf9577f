/**
 * A short chaos soak in CI: scripts/soak.ts with 20 iterations (200 by hand). The script
 * itself checks the quiesce loop's promises after each fault and exits 1 when one broke;
 * its output (counts, recovery times, and for a broken promise the recent log lines of
 * the controller and the agent) is shown when it fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { requireDatabaseImages } from './helpers/databases.ts';

const ITERATIONS = Number(process.env.FELHOM_SOAK_ITERATIONS ?? 20);
const script = path.join(import.meta.dirname, '..', 'scripts', 'soak.ts');

it(`when ${ITERATIONS} quiesced backups each meet a random fault, then every promise of the loop holds`, { timeout: 30 * 60_000 }, async (t) => {
  if (!(await requireDatabaseImages(t))) return;
  // Its own process group: if the test gives up, the controller the soak runs goes too.
  const child = spawn(process.execPath, [script, String(ITERATIONS)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.after(() => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.diagnostic(output.slice(output.lastIndexOf('soak: ')));
  assert.equal(code, 0, output);
  assert.match(output, /no promise broken/);
  assert.match(output, /database copies restored and checked: [1-9]/, 'at least one app-consistent backup was restored and checked');
});
