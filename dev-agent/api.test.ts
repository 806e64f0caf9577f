import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, startTestAgent } from './testing.ts';

test('401 for a missing, unknown or malformed token, with the contract body and headers', async (t) => {
  const { agent, token } = await startTestAgent(t);
  for (const [label, options] of [
    ['none', {}],
    ['unknown', { token: 'flt_0000' }],
  ] as const) {
    const answer = await call(agent.endpoint, 'GET', '/storage', options);
    assert.equal(answer.status, 401, label);
    assert.deepEqual(answer.body, { error: { code: 'unauthorized', message: 'missing or unknown token' } });
    assert.equal(answer.headers['x-felhom-agent-version'], '0.15.0-dev');
    assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  }
  const basic = (await call(agent.endpoint, 'GET', '/storage', { authorization: `Basic ${token}` })).status;
  assert.equal(basic, 401, 'only the Bearer scheme');
});

test('a guest_id other than the token guest is refused with cross_guest and nothing happens', async (t) => {
  const { api } = await startTestAgent(t);
  const query = await api('GET', '/storage?guest_id=102');
  assert.deepEqual(query.body, { error: { code: 'cross_guest', message: "guest 102 is not this token's guest" } });
  assert.equal(query.status, 403);
  for (const guestId of ['102', 102]) {
    const body = await api('POST', '/snapshot', { body: { name: 'sneaky', description: '', guest_id: guestId } });
    assert.equal(body.status, 403);
    assert.equal(body.body.error.code, 'cross_guest');
  }
  assert.equal((await api('POST', '/backup', { body: { reason: 'manual', guest_id: 7 } })).status, 403);
  assert.equal((await api('GET', '/backup/status')).body.backup, null, 'no backup was started');
  assert.equal((await api('GET', '/snapshots')).body.snapshots.length, 1, 'no snapshot was taken');
  assert.equal((await api('POST', '/snapshot', { body: { name: 'mine', guest_id: 101 } })).status, 200);
  assert.equal((await api('GET', '/storage?guest_id=101')).status, 200);
  assert.equal((await api('GET', '/storage?guest_id=abc')).status, 400);
});

test('malformed bodies, missing fields and unknown paths', async (t) => {
  const { api } = await startTestAgent(t);
  const malformed = await api('POST', '/backup', { raw: '{not json' });
  assert.deepEqual([malformed.status, malformed.body.error.code, malformed.body.error.message], [400, 'bad_request', 'body is not valid JSON']);
  assert.equal((await api('POST', '/backup', { raw: '[1]' })).status, 400);
  const missing = await api('POST', '/rollback', { body: {} });
  assert.deepEqual([missing.status, missing.body.error.message], [400, 'snapshot is required']);
  const wrongType = await api('POST', '/snapshot', { body: { name: 42 } });
  assert.deepEqual([wrongType.status, wrongType.body.error.message], [400, 'name must be a string']);
  const unknown = await api('GET', '/nowhere');
  assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'not_found']);
  assert.equal((await api('PUT', '/storage')).status, 404);
});

test('snapshots: create, list newest first, duplicates, names, ownership and rollback', async (t) => {
  const { api, agent } = await startTestAgent(t);
  const created = await api('POST', '/snapshot', { body: { name: 'felhom-pre-nextcloud', description: 'before install of nextcloud' } });
  assert.equal(created.status, 200);
  assert.deepEqual({ ...created.body.snapshot, created_at: undefined }, {
    name: 'felhom-pre-nextcloud', description: 'before install of nextcloud', created_at: undefined, owner: 'controller',
  });
  await api('POST', '/snapshot', { body: { name: 'felhom-pre-jellyfin', description: 'before update of jellyfin' } });
  const names = (await api('GET', '/snapshots')).body.snapshots.map((s: { name: string; owner: string }) => `${s.name}/${s.owner}`);
  assert.deepEqual(names, ['felhom-pre-jellyfin/controller', 'felhom-pre-nextcloud/controller', 'agent-pre-controller-0-1-0/agent']);

  assert.equal((await api('POST', '/snapshot', { body: { name: 'felhom-pre-nextcloud' } })).status, 409);
  for (const name of ['1-starts-with-digit', 'x', `a${'b'.repeat(40)}`, 'has space']) {
    assert.equal((await api('POST', '/snapshot', { body: { name } })).status, 400, name);
  }

  const notOwner = await api('DELETE', '/snapshots/agent-pre-controller-0-1-0');
  assert.deepEqual(notOwner.body, { error: { code: 'not_owner', message: 'snapshot agent-pre-controller-0-1-0 was not created by this controller' } });
  assert.equal(notOwner.status, 403);
  assert.deepEqual((await api('DELETE', '/snapshots/felhom-pre-jellyfin')).body, { deleted: true, name: 'felhom-pre-jellyfin' });
  assert.equal((await api('DELETE', '/snapshots/felhom-pre-jellyfin')).status, 404);

  const rollback = await api('POST', '/rollback', { body: { snapshot: 'felhom-pre-nextcloud' } });
  assert.deepEqual([rollback.status, rollback.body], [202, { accepted: true, snapshot: 'felhom-pre-nextcloud' }]);
  assert.equal((await api('POST', '/rollback', { body: { snapshot: 'felhom-pre-jellyfin' } })).status, 404);
  assert.deepEqual(agent.rollbacks().map((entry) => entry.snapshot), ['felhom-pre-nextcloud']);
  assert.match(agent.rollbacks()[0]?.at ?? '', /Z$/);
});

test('restore test never ran by default; demo seeds a passed run and past backups', async (t) => {
  const plain = await startTestAgent(t);
  assert.deepEqual((await plain.api('GET', '/restore-test/status')).body, {
    last_run: null,
    next_run_at: null,
    integrity: { last_verify_at: null, ok: null },
  });

  const demo = await startTestAgent(t, { demo: true });
  const restore = (await demo.api('GET', '/restore-test/status')).body;
  assert.equal(restore.last_run.result, 'pass');
  assert.deepEqual(restore.last_run.checks.map((check: { name: string; ok: boolean }) => `${check.name}:${check.ok}`), [
    'restore:true', 'boot:true', 'docker:true', 'controller-health:true',
  ]);
  assert.deepEqual(restore.integrity.ok, true);
  const status = (await demo.api('GET', '/backup/status')).body;
  assert.equal(status.backup.phase, 'done');
  assert.equal(status.last_success.id, status.backup.id);
  assert.ok(Date.parse(status.last_success.finished_at) < Date.now());
  assert.equal((await demo.api('GET', `/backup/status?id=${restore.last_run.backup_id}`)).status, 200, 'the tested backup exists');
  assert.equal((await demo.api('GET', '/backup/due')).body.due, false);
  const owners = (await demo.api('GET', '/snapshots')).body.snapshots.map((snapshot: { owner: string }) => snapshot.owner);
  assert.deepEqual(owners, ['agent']);
});

test('/host/metrics reads this machine and lists attached mounts with their drives', async (t) => {
  const { api } = await startTestAgent(t);
  const first = (await api('GET', '/host/metrics')).body;
  const second = (await api('GET', '/host/metrics')).body;
  for (const metrics of [first, second]) {
    assert.ok(metrics.cpu_percent >= 0 && metrics.cpu_percent <= 100);
    assert.ok(Number.isInteger(metrics.cpu_count) && metrics.cpu_count >= 1);
    assert.ok(metrics.mem_used_bytes > 0 && metrics.mem_used_bytes < metrics.mem_total_bytes);
    assert.equal(metrics.load.length, 3);
    assert.ok(Number.isInteger(metrics.uptime_seconds) && metrics.uptime_seconds > 0);
    assert.ok(metrics.cpu_temp_c === null || typeof metrics.cpu_temp_c === 'number');
  }
  const [fast, bulk] = first.storage;
  assert.deepEqual([fast.id, bulk.id], ['local-fast', 'usb-9f3a27c1']);
  assert.ok(fast.used_fraction >= 0 && fast.used_fraction <= 1);
  assert.ok(fast.thin_pool_fill >= fast.used_fraction);
  assert.equal(bulk.thin_pool_fill, null);
  assert.deepEqual(fast.disks, [{ device: '/dev/nvme0n1', model: 'Samsung SSD 980 500GB', smart_temp_c: 41, wear_percent: 3, smart_ok: true }]);
  assert.deepEqual(bulk.disks, [{ device: '/dev/sdb', model: 'WDC WD40EDAZ', smart_temp_c: null, wear_percent: null, smart_ok: null }]);
});

test('when a path differs by a trailing slash or its case, or the method is HEAD or OPTIONS, then there is no endpoint', async (t) => {
  const { api } = await startTestAgent(t);
  for (const [method, path] of [['GET', '/storage/'], ['GET', '/Storage'], ['OPTIONS', '/storage'], ['DELETE', '/snapshots/'], ['DELETE', '/snapshots/%E0%A4%A']]) {
    const answer = await api(method!, path!);
    assert.deepEqual([answer.status, answer.body], [404, { error: { code: 'not_found', message: `no endpoint ${method} ${path}` } }], `${method} ${path}`);
  }
  const head = await api('HEAD', '/storage');
  assert.deepEqual([head.status, head.headers['content-type']], [404, 'application/json; charset=utf-8']);
  assert.equal((await api('GET', '/x/../storage')).status, 200, 'dot segments resolve as in a URL');
});

test('when a body comes with another content type, is JSON null, or passes 64 KiB, then it is read or refused as the contract says', async (t) => {
  const { api } = await startTestAgent(t);
  assert.equal((await api('POST', '/snapshot', { raw: '{"name":"untyped"}', contentType: 'text/plain' })).status, 200, 'read as JSON whatever it says');
  const nothing = await api('POST', '/snapshot', { raw: 'null' });
  assert.deepEqual([nothing.status, nothing.body.error.message], [400, 'body must be a JSON object']);
  const large = await api('POST', '/snapshot', { body: { name: 'large', description: 'x'.repeat(64 * 1024) } });
  assert.deepEqual([large.status, large.body.error], [400, { code: 'bad_request', message: 'body is larger than 65536 bytes' }]);
});
