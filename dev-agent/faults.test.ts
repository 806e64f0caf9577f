import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprintOf } from './cert.ts';
import { call, servedFingerprint, startTestAgent } from './testing.ts';

test('a status fault answers the contract error body, a set number of times, after authentication', async (t) => {
  const { agent, api } = await startTestAgent(t);
  agent.injectFault({ path: '/backup/status', status: 503, times: 2 });
  for (let i = 0; i < 2; i++) {
    const answer = await api('GET', '/backup/status');
    assert.equal(answer.status, 503);
    assert.deepEqual(answer.body, { error: { code: 'unavailable', message: 'injected fault on /backup/status' } });
    assert.equal(answer.headers['x-felhom-agent-version'], '0.15.0-dev');
  }
  assert.equal((await api('GET', '/backup/status')).status, 200, 'used up');

  agent.injectFault({ path: '/storage', status: 500, code: 'proxmox_down', message: 'Proxmox API did not answer; retry later' });
  assert.equal((await call(agent.endpoint, 'GET', '/storage')).status, 401, 'no token: 401 before any fault');
  const custom = await api('GET', '/storage');
  assert.deepEqual([custom.status, custom.body.error.code, custom.body.error.message], [500, 'proxmox_down', 'Proxmox API did not answer; retry later']);
  assert.equal((await api('GET', '/storage')).status, 500, 'unlimited without times');
  agent.clearFaults();
  assert.equal((await api('GET', '/storage')).status, 200);
});

test('a fault can be limited to one method, and the status picks the default code', async (t) => {
  const { agent, api } = await startTestAgent(t);
  agent.injectFault({ method: 'post', path: '/snapshot', status: 409 });
  assert.equal((await api('GET', '/snapshots')).status, 200);
  const conflict = await api('POST', '/snapshot', { body: { name: 'fault-test' } });
  assert.deepEqual([conflict.status, conflict.body.error.code], [409, 'conflict']);
  assert.deepEqual((await api('GET', '/snapshots')).body.snapshots.length, 1, 'the faulted request did nothing');
  assert.throws(() => agent.injectFault({ path: '/storage' }), /needs status, hang or delayMs/);
  assert.throws(() => agent.injectFault({ path: 'storage', status: 500 }), /path must be an absolute path/);
});

test('a hung request is never answered and does not hold close()', async (t) => {
  const { agent, api } = await startTestAgent(t);
  agent.injectFault({ path: '/backup/due', hang: true, times: 1 });
  await assert.rejects(api('GET', '/backup/due', { timeoutMs: 200 }), /timed out|socket hang up/);
  assert.deepEqual(agent.requests().at(-1), { method: 'GET', path: '/backup/due', status: 0 });
  assert.equal((await api('GET', '/backup/due')).status, 200);

  agent.injectFault({ path: '/storage', hang: true });
  const pending = api('GET', '/storage', { timeoutMs: 10_000 });
  pending.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await agent.close();
  assert.ok(Date.now() - started < 1000, 'close() does not wait for the hung request');
  await assert.rejects(pending);
});

test('a delay answers normally, late', async (t) => {
  const { agent, api } = await startTestAgent(t);
  agent.injectFault({ path: '/storage', delayMs: 150, times: 1 });
  const started = Date.now();
  const answer = await api('GET', '/storage');
  assert.ok(Date.now() - started >= 150);
  assert.equal(answer.status, 200);
  assert.equal(answer.body.guest_id, '101');
  agent.injectFault({ path: '/storage', delayMs: 50, status: 503, times: 1 });
  assert.equal((await api('GET', '/storage')).status, 503, 'a delay combines with a status');
});

test('presentCertificate swaps the served leaf live', async (t) => {
  const { agent, api } = await startTestAgent(t);
  const alternate = fingerprintOf(await readFile(join(agent.stateDir, 'alternate-cert.pem'), 'utf8'));
  assert.notEqual(alternate, agent.fingerprint);
  assert.equal(await servedFingerprint(agent.endpoint), agent.fingerprint);
  agent.presentCertificate('alternate');
  assert.equal(await servedFingerprint(agent.endpoint), alternate);
  assert.equal((await api('GET', '/storage')).status, 200, 'still the same agent behind it');
  agent.presentCertificate('own');
  assert.equal(await servedFingerprint(agent.endpoint), agent.fingerprint);
});

test('requests() logs method, path and status only', async (t) => {
  const { agent, api } = await startTestAgent(t);
  await api('GET', '/storage?guest_id=101');
  await call(agent.endpoint, 'GET', '/disks');
  await api('GET', '/nowhere');
  assert.deepEqual(agent.requests(), [
    { method: 'GET', path: '/storage', status: 200 },
    { method: 'GET', path: '/disks', status: 401 },
    { method: 'GET', path: '/nowhere', status: 404 },
  ]);
});
