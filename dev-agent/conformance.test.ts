import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestAgent } from './testing.ts';

const CHECKER = fileURLToPath(new URL('../test/fixtures/agent-contract/conformance.py', import.meta.url));

test('the contract checker passes against the dev agent, mutations included', async (t) => {
  // Long enough that the checker's "409 while a backup is in flight" calls land inside the
  // backup even on a loaded machine.
  const { agent } = await startTestAgent(t, { backup: { queuedMs: 500, runningMs: 500, snapshottedMs: 500 } });
  // Asynchronous on purpose: the agent answers the checker from this process's event loop.
  const { stdout } = await promisify(execFile)('python3', [CHECKER, agent.bootstrapPath, '--mutate'], { timeout: 60_000 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => assert.fail(`conformance failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`),
  );
  assert.match(stdout, /agent conforms to the contract/);
  assert.match(stdout, /backup phases seen: (queued -> )?running -> snapshotted -> done/);
});
