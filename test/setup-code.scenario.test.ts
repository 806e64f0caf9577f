/**
 * The first-run setup code as a customer finds it: in the log of the real controller
 * process (and its data folder), working once; a restart with an account prints none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { devAgent } from './helpers/controller.ts';
import { testLogs } from './helpers/log.ts';
import { CALL_TIMEOUT_MS, startController } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { setupCodeOf, signUpWithCode } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

describe('the setup code in the controller log', () => {
  it('when the controller starts without an account, then its log carries the setup code, which creates the account once; later starts log none', async (t) => {
    const agent = await devAgent(t);
    const dataDir = tempDir(t, 'felhom-data-');
    const env = { FELHOM_DATA_DIR: dataDir, FELHOM_BOOTSTRAP_PATH: agent.bootstrapPath };
    const first = await startController(t, env);
    // Logged right after the line that says it listens: a moment later at most.
    const line = await until(
      () =>
        first
          .output()
          .split('\n')
          .filter((l) => l.includes('"setup_code"'))
          .map((l) => JSON.parse(l) as { level: number; setup_code: string; setup_url: string; msg: string })[0],
      { what: 'a log line with the setup code', timeoutMs: 30_000, explain: testLogs(t).explain },
    );
    assert.equal(line.setup_code, setupCodeOf(dataDir), 'the same code as in the data folder');
    assert.ok(line.level >= 40, 'logged at warn level, so it shows with the default log level');
    assert.equal(line.setup_url, `${first.url}/setup`);
    assert.match(line.msg, new RegExp(`enter the setup code ${line.setup_code}`));

    await signUpWithCode(first.url, line.setup_code);
    first.child.kill('SIGTERM');
    assert.equal(await first.whenExited(), 0);

    const second = await startController(t, env);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.doesNotMatch(second.output(), /setup_code/, 'with an account, no code is issued');
    const setup = await fetch(`${second.url}/setup`, { redirect: 'manual', signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    assert.equal(setup.status, 303);
    assert.equal(setup.headers.get('location'), '/login');
  });
});
