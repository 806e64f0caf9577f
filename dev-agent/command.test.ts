import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/log.ts';
import { DevAgentUsageError, parseDevAgentArgs, runDevAgentCommand } from './command.ts';
import { call, readBootstrap, startTestAgent, tempStateDir } from './testing.ts';
import { until } from '../src/testing/until.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

test('flags: defaults, and every value that can be given', () => {
  assert.deepEqual(parseDevAgentArgs([]), {
    stateDir: join('.dev', 'agent'),
    host: '127.0.0.1',
    port: 8443,
    demo: false,
    backup: {
      queuedMs: undefined, runningMs: undefined, snapshottedMs: undefined, dueEverySeconds: undefined, retryAfterSeconds: undefined,
      copyMounts: true, keepCopies: undefined,
    },
  });
  const options = parseDevAgentArgs([
    '--state-dir', '/tmp/x', '--listen', '[::1]:0', '--endpoint', 'https://agent:8443', '--guest', '205', '--mount-root', '/tmp/m', '--demo',
    '--backup-mode', 'stop', '--queued-ms', '10', '--running-ms', '20', '--snapshotted-ms', '30', '--due-every-seconds', '60', '--retry-after-seconds', '5',
    '--no-backup-copy', '--keep-copies', '7',
  ]);
  assert.deepEqual(options, {
    stateDir: '/tmp/x',
    host: '::1',
    port: 0,
    endpoint: 'https://agent:8443',
    guestId: '205',
    mountRoot: '/tmp/m',
    demo: true,
    backup: { mode: 'stop', queuedMs: 10, runningMs: 20, snapshottedMs: 30, dueEverySeconds: 60, retryAfterSeconds: 5, copyMounts: false, keepCopies: 7 },
  });
  assert.equal(parseDevAgentArgs(['--help']), 'help');
});

test('bad flags are usage errors naming the flag', () => {
  for (const [args, message] of [
    [['--listen', 'localhost'], /--listen must be host:port/],
    [['--listen', '127.0.0.1:70000'], /--listen/],
    [['--backup-mode', 'suspend'], /--backup-mode must be snapshot or stop/],
    [['--queued-ms', '-1'], /--queued-ms/],
    [['--queued-ms=-1'], /--queued-ms must be an integer/],
    [['--running-ms', '1.5'], /--running-ms/],
    [['--due-every-seconds', '0'], /--due-every-seconds must be an integer of at least 1/],
    [['--keep-copies', '0'], /--keep-copies must be an integer of at least 1/],
    [['--guest', 'abc'], /--guest must be a decimal guest id/],
    [['--endpoint', 'http://agent:8443'], /--endpoint must be https:\/\/host:port/],
    [['--no-such-flag'], /no-such-flag/],
    [['stray'], /stray/],
  ] as const) {
    assert.throws(() => parseDevAgentArgs([...args]), (error: unknown) => error instanceof DevAgentUsageError && message.test(error.message), args.join(' '));
  }
});

test('runDevAgentCommand exits 2 on a bad flag without starting anything', async (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: string) => written.push(chunk) > 0);
  const before = process.exitCode;
  try {
    await runDevAgentCommand(['--listen', 'nope'], silentLogger());
    assert.equal(process.exitCode, 2);
  } finally {
    process.exitCode = before;
  }
  assert.match(written.join(''), /dev-agent: --listen must be host:port/);
});

test('the command serves until SIGTERM, stops cleanly, and never logs the token', async () => {
  const stateDir = await tempStateDir();
  const child = spawn(process.execPath, [MAIN, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--guest', '310'], {
    env: { ...process.env, FELHOM_LOG_LEVEL: 'debug', FELHOM_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const endpoint = await until(async () => /"endpoint":"(https:\/\/[^"]+)"/.exec(output)?.[1], { what: 'the agent to print its endpoint', timeoutMs: 10_000, intervalMs: 5 });
    const bootstrap = await readBootstrap(join(stateDir, 'guests', '310', 'bootstrap.json'));
    assert.equal(bootstrap.local_api.endpoint, endpoint);
    assert.match(output, new RegExp(`"fingerprint":"${bootstrap.local_api.fingerprint}"`));
    assert.match(output, /"bootstrapPath":"[^"]+bootstrap\.json"/);
    assert.equal((await call(endpoint, 'GET', '/storage', { token: bootstrap.local_api.token })).status, 200);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(output, /dev agent stopped/);
    assert.ok(!output.includes(bootstrap.local_api.token), 'the token is never logged');
    assert.ok(!output.includes((await readFile(join(stateDir, 'control-token'), 'utf8')).trim()), 'nor the control token');
  } finally {
    child.kill('SIGKILL');
  }
});

test('an advertised endpoint is what bootstrap.json tells the guest to dial, while the agent listens where it was told', async (t) => {
  const { agent } = await startTestAgent(t, { endpoint: 'https://agent:8443' });
  assert.equal((await readBootstrap(agent.bootstrapPath)).local_api.endpoint, 'https://agent:8443');
  assert.equal(agent.endpoint, 'https://agent:8443');
});

test('when the log level is bad, then the command names the variable and exits 2 without starting', async () => {
  const result = spawnSync(process.execPath, [MAIN, '--state-dir', await tempStateDir()], {
    env: { PATH: process.env.PATH, FELHOM_LOG_LEVEL: 'loud' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /FELHOM_LOG_LEVEL: must be one of fatal, error/);
});
