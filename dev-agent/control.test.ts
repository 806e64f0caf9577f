import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, readBootstrap, servedFingerprint, startTestAgent } from './testing.ts';
import { until } from '../src/testing/until.ts';

test('the control token and the guest token each open only their own API', async (t) => {
  const { agent, token } = await startTestAgent(t);
  const path = join(agent.stateDir, 'control-token');
  assert.equal((await readFile(path, 'utf8')).trim(), agent.controlToken);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.notEqual(agent.controlToken, token);

  assert.equal((await call(agent.endpoint, 'GET', '/_dev/state', { token: agent.controlToken })).status, 200);
  for (const wrong of [token, null, 'fdc_guess']) {
    const refused = await call(agent.endpoint, 'GET', '/_dev/state', { token: wrong });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'unauthorized');
  }
  assert.equal((await call(agent.endpoint, 'GET', '/storage', { token: agent.controlToken })).status, 401);
  assert.equal((await call(agent.endpoint, 'POST', '/backup', { token: agent.controlToken, body: { reason: 'manual' } })).status, 401);
});

test('the control API drives faults, backup failures, certificates, mounts and re-minting', async (t) => {
  const { agent, token, api } = await startTestAgent(t);
  const control = (method: string, path: string, body?: unknown) => call(agent.endpoint, method, path, { token: agent.controlToken, body });

  const state = (await control('GET', '/_dev/state')).body;
  assert.equal(state.guest_id, '101');
  assert.equal(state.fingerprint, agent.fingerprint);
  assert.equal(state.bootstrap_path, agent.bootstrapPath);
  assert.equal(state.state.tokens, undefined, 'token hashes stay inside');
  assert.doesNotMatch(JSON.stringify(state), new RegExp(token));

  const added = await control('POST', '/_dev/faults', { path: '/storage', status: 503, times: 1 });
  assert.deepEqual(added.body.faults, [{ path: '/storage', status: 503, times: 1 }]);
  assert.equal((await api('GET', '/storage')).status, 503);
  await control('POST', '/_dev/faults', { path: '/disks', status: 500 });
  assert.deepEqual((await control('DELETE', '/_dev/faults')).body, { faults: [] });
  assert.equal((await api('GET', '/disks')).status, 200);
  const badFault = await control('POST', '/_dev/faults', { path: '/disks', status: 'teapot' });
  assert.equal(badFault.status, 400);
  assert.match(badFault.body.error.message, /^status /);

  assert.equal((await control('POST', '/_dev/backup-failure', { atPhase: 'queued', error: 'vzdump: boom' })).status, 200);
  const id = (await api('POST', '/backup', { body: { reason: 'manual' } })).body.backup.id;
  const failed = await until(async () => {
    const backup = (await api('GET', `/backup/status?id=${id}`)).body.backup;
    return backup.phase === 'failed' ? backup : undefined;
  }, { what: 'the backup to fail', timeoutMs: 3000, intervalMs: 5 });
  assert.equal(failed.error, 'vzdump: boom');
  assert.equal((await control('POST', '/_dev/backup-failure', { atPhase: 'later' })).status, 400);

  const swapped = await control('POST', '/_dev/certificate', { which: 'alternate' });
  assert.notEqual(swapped.body.fingerprint, agent.fingerprint);
  assert.equal(await servedFingerprint(agent.endpoint), swapped.body.fingerprint);
  await control('POST', '/_dev/certificate', { which: 'own' });
  assert.equal(await servedFingerprint(agent.endpoint), agent.fingerprint);

  const mount = await control('POST', '/_dev/mounts/usb-9f3a27c1/state', { state: 'disconnected' });
  assert.equal(mount.body.mount.state, 'disconnected');
  assert.equal((await api('GET', '/storage')).body.mounts[1].state, 'disconnected');
  assert.equal((await control('POST', '/_dev/mounts/nope/state', { state: 'attached' })).status, 404);
  assert.equal((await control('POST', '/_dev/mounts/local-fast/state', { state: 'gone' })).status, 400);

  const reminted = await control('POST', '/_dev/remint');
  assert.deepEqual(reminted.body, { reminted: true, bootstrap_path: agent.bootstrapPath });
  assert.equal((await api('GET', '/storage')).status, 401, 'the old token is gone');
  const fresh = (await readBootstrap(agent.bootstrapPath)).local_api.token;
  assert.equal((await call(agent.endpoint, 'GET', '/storage', { token: fresh })).status, 200);

  assert.equal((await control('GET', '/_dev/nothing')).status, 404);
  assert.ok(!agent.requests().some((entry) => entry.path.startsWith('/_dev')), 'control calls stay out of requests()');
});
