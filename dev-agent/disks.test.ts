import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestAgent } from './testing.ts';

const BLANK = 'usb-2b77e0d4';
const DATA = 'usb-9f3a27c1';
const SYSTEM = 'nvme-S4EWNX0R123456';

test('GET /disks classifies the drives itself', async (t) => {
  const { api } = await startTestAgent(t);
  const disks = (await api('GET', '/disks')).body.disks;
  const summary = disks.map((disk: Record<string, unknown>) => [disk.id, disk.system, disk.data_bearing, disk.filesystem, disk.assigned]);
  assert.deepEqual(summary, [
    [SYSTEM, true, true, null, false],
    [DATA, false, true, 'ext4', true],
    [BLANK, false, false, null, false],
  ]);
  assert.equal(disks[1].mount.id, DATA);
  assert.equal(disks[1].mount.role, 'bulk-data');
});

test('format: a data-bearing or system drive needs a signature whatever the caller claims; a blank one is formatted', async (t) => {
  const { api } = await startTestAgent(t);
  const before = (await api('GET', '/disks')).body;

  const refused = await api('POST', '/disks/format', { body: { disk: DATA, filesystem: 'ext4', fs_label: 'x', data_bearing: false, blank: true } });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'pending_signature');
  assert.match(refused.body.error.message, /^usb-9f3a27c1 holds data \(ext4 filesystem, 1 partition.*\); wiping it needs an operator-signed operation$/);
  const system = await api('POST', '/disks/format', { body: { disk: SYSTEM, filesystem: 'ext4', fs_label: 'x' } });
  assert.equal(system.status, 403);
  assert.equal(system.body.error.code, 'pending_signature');
  // Byte counts are the real filesystem's, which other processes fill meanwhile.
  const withoutBytes = (body: unknown) => JSON.parse(JSON.stringify(body, (key, value) => (key.endsWith('_bytes') ? undefined : value)));
  assert.deepEqual(withoutBytes((await api('GET', '/disks')).body), withoutBytes(before), 'nothing changed');

  assert.equal((await api('POST', '/disks/format', { body: { disk: 'usb-00000000', filesystem: 'ext4', fs_label: 'x' } })).status, 404);
  assert.equal((await api('POST', '/disks/format', { body: { disk: BLANK, filesystem: 'xfs', fs_label: 'x' } })).status, 400);
  assert.equal((await api('POST', '/disks/format', { body: { disk: BLANK, filesystem: 'ext4', fs_label: 'a-label-that-is-too-long' } })).status, 400);

  const formatted = await api('POST', '/disks/format', { body: { disk: BLANK, filesystem: 'ext4', fs_label: 'photos' } });
  assert.equal(formatted.status, 200);
  assert.deepEqual(formatted.body, { formatted: true, disk: { id: BLANK, filesystem: 'ext4', fs_label: 'photos', data_bearing: true } });
  const again = await api('POST', '/disks/format', { body: { disk: BLANK, filesystem: 'ext4', fs_label: 'photos' } });
  assert.equal(again.status, 403, 'now it holds a filesystem');
});

test('assign creates a real directory, eject removes the mount and keeps the files', async (t) => {
  const { api, agent } = await startTestAgent(t);
  const assignBody = { disk: BLANK, label: 'Photos SSD', class: 'fast', role: 'bulk-data' };
  const unformatted = await api('POST', '/disks/assign', { body: assignBody });
  assert.equal(unformatted.status, 422);
  assert.equal(unformatted.body.error.message, `${BLANK} has no filesystem; format it first`);
  assert.equal((await api('POST', '/disks/assign', { body: { ...assignBody, disk: SYSTEM } })).status, 422);
  assert.equal((await api('POST', '/disks/assign', { body: { ...assignBody, disk: DATA } })).status, 409);
  assert.equal((await api('POST', '/disks/assign', { body: { ...assignBody, disk: 'usb-00000000' } })).status, 404);
  const invalid = await api('POST', '/disks/assign', { body: { ...assignBody, role: 'scratch' } });
  assert.equal(invalid.status, 400);
  assert.match(invalid.body.error.message, /^role /);

  await api('POST', '/disks/format', { body: { disk: BLANK, filesystem: 'ext4', fs_label: 'photos' } });
  const assigned = await api('POST', '/disks/assign', { body: assignBody });
  assert.equal(assigned.status, 200);
  const mount = assigned.body.mount;
  assert.equal(mount.path, join(agent.stateDir, 'mounts', BLANK));
  assert.deepEqual([mount.id, mount.label, mount.class, mount.role, mount.state, mount.in_guest_backup], [BLANK, 'Photos SSD', 'fast', 'bulk-data', 'attached', false]);
  assert.ok((await stat(mount.path)).isDirectory());
  assert.ok(mount.total_bytes > 0 && mount.free_bytes <= mount.total_bytes);
  assert.equal((await api('POST', '/disks/assign', { body: assignBody })).status, 409);
  const storage = (await api('GET', '/storage')).body.mounts.map((entry: { id: string }) => entry.id);
  assert.deepEqual(storage, ['local-fast', DATA, BLANK]);
  assert.equal((await api('GET', '/disks')).body.disks[2].mount.path, mount.path);

  await writeFile(join(mount.path, 'holiday.jpg'), 'pixels');
  const ejected = await api('POST', '/disks/eject', { body: { disk: BLANK } });
  assert.equal(ejected.status, 200);
  assert.deepEqual(ejected.body, { ejected: true, disk: BLANK, dependent_guests: ['101'] });
  assert.deepEqual((await api('GET', '/storage')).body.mounts.map((entry: { id: string }) => entry.id), ['local-fast', DATA]);
  assert.equal(await readFile(join(mount.path, 'holiday.jpg'), 'utf8'), 'pixels');
  const disk = (await api('GET', '/disks')).body.disks[2];
  assert.deepEqual([disk.assigned, disk.data_bearing, disk.mount], [false, true, null]);

  assert.equal((await api('POST', '/disks/eject', { body: { disk: BLANK } })).status, 422);
  assert.equal((await api('POST', '/disks/eject', { body: { disk: SYSTEM } })).status, 422);
  const missing = await api('POST', '/disks/eject', { body: {} });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.message, 'disk is required');

  // Assigned again as primary, it comes back with its files and joins the guest's own backup.
  const primary = await api('POST', '/disks/assign', { body: { ...assignBody, role: 'primary' } });
  assert.equal(primary.body.mount.in_guest_backup, true);
  assert.equal(await readFile(join(primary.body.mount.path, 'holiday.jpg'), 'utf8'), 'pixels');
});

test('a disconnected mount stays listed in /storage and leaves /host/metrics', async (t) => {
  const { api, agent } = await startTestAgent(t);
  agent.setMountState(DATA, 'disconnected');
  const mounts = (await api('GET', '/storage')).body.mounts;
  assert.deepEqual(mounts.map((mount: { id: string; state: string }) => [mount.id, mount.state]), [['local-fast', 'attached'], [DATA, 'disconnected']]);
  const metrics = (await api('GET', '/host/metrics')).body;
  assert.deepEqual(metrics.storage.map((entry: { id: string }) => entry.id), ['local-fast']);
  agent.setMountState(DATA, 'attached');
  assert.equal((await api('GET', '/storage')).body.mounts[1].state, 'attached');
  assert.throws(() => agent.setMountState('nope', 'attached'), /no mount nope/);
});
