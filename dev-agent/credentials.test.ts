import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDevAgent } from './agent.ts';
import { call, readBootstrap, servedFingerprint, tempStateDir } from './testing.ts';

test('the leaf is generated once: same fingerprint after a restart, private keys 0600', async () => {
  const stateDir = await tempStateDir();
  const first = await startDevAgent({ stateDir, port: 0 });
  assert.match(first.fingerprint, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await servedFingerprint(first.endpoint), first.fingerprint);
  await first.close();

  const second = await startDevAgent({ stateDir, port: 0 });
  try {
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(await servedFingerprint(second.endpoint), first.fingerprint);
    for (const key of ['key.pem', 'alternate-key.pem', 'control-token', 'state.json']) {
      assert.equal((await stat(join(stateDir, key))).mode & 0o777, 0o600, key);
    }
  } finally {
    await second.close();
  }
});

test('a bootstrap that still works is left byte-identical across a restart', async () => {
  const stateDir = await tempStateDir();
  const first = await startDevAgent({ stateDir, port: 0 });
  const port = first.port;
  const before = await readFile(first.bootstrapPath);
  await first.close();

  const second = await startDevAgent({ stateDir, port });
  try {
    assert.deepEqual(await readFile(second.bootstrapPath), before);
    assert.equal((await stat(second.bootstrapPath)).mode & 0o777, 0o600);
    const bootstrap = await readBootstrap(second.bootstrapPath);
    assert.equal((await call(second.endpoint, 'GET', '/storage', { token: bootstrap.local_api.token })).status, 200);
  } finally {
    await second.close();
  }
});

test('the bootstrap has the golden shape and the state keeps only the token hash', async (t) => {
  const stateDir = await tempStateDir();
  const agent = await startDevAgent({ stateDir, port: 0, guestId: '205' });
  t.after(() => agent.close());
  assert.equal(agent.bootstrapPath, join(stateDir, 'guests', '205', 'bootstrap.json'));
  const bootstrap = await readBootstrap(agent.bootstrapPath);
  assert.equal(bootstrap.schema, 'felhom.bootstrap/v1');
  assert.match(String(bootstrap.issued_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(Object.keys(bootstrap), ['schema', 'issued_at', 'customer', 'host', 'hub', 'local_api']);
  assert.equal((bootstrap.customer as { locale: string }).locale, 'en-GB');
  assert.equal((bootstrap.host as { guest_id: string }).guest_id, '205');
  assert.deepEqual(bootstrap.local_api, { endpoint: agent.endpoint, fingerprint: agent.fingerprint, token: bootstrap.local_api.token });
  assert.match(bootstrap.local_api.token, /^flt_[0-9a-f]{48}$/);
  const state = await readFile(join(stateDir, 'state.json'), 'utf8');
  assert.doesNotMatch(state, new RegExp(bootstrap.local_api.token));
});

test('a bootstrap for another endpoint is re-issued with a new token; the old one stops working', async () => {
  const stateDir = await tempStateDir();
  const first = await startDevAgent({ stateDir, port: 0 });
  const oldToken = (await readBootstrap(first.bootstrapPath)).local_api.token;
  await first.close();

  const second = await startDevAgent({ stateDir, port: 0 });
  try {
    const bootstrap = await readBootstrap(second.bootstrapPath);
    assert.equal(bootstrap.local_api.endpoint, second.endpoint);
    assert.notEqual(bootstrap.local_api.token, oldToken);
    assert.equal((await call(second.endpoint, 'GET', '/storage', { token: oldToken })).status, 401);
    assert.equal((await call(second.endpoint, 'GET', '/storage', { token: bootstrap.local_api.token })).status, 200);
  } finally {
    await second.close();
  }
});

test('remintToken invalidates the old token and rewrites the bootstrap with one that works', async (t) => {
  const stateDir = await tempStateDir();
  const agent = await startDevAgent({ stateDir, port: 0 });
  t.after(() => agent.close());
  const oldToken = (await readBootstrap(agent.bootstrapPath)).local_api.token;
  assert.equal((await call(agent.endpoint, 'GET', '/storage', { token: oldToken })).status, 200);

  const newToken = await agent.remintToken();
  const bootstrap = await readBootstrap(agent.bootstrapPath);
  assert.equal(bootstrap.local_api.token, newToken);
  assert.equal((await stat(agent.bootstrapPath)).mode & 0o777, 0o600);
  const refused = await call(agent.endpoint, 'GET', '/storage', { token: oldToken });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.code, 'unauthorized');
  assert.equal((await call(agent.endpoint, 'GET', '/storage', { token: newToken })).status, 200);
});
