/**
 * The development agent speaks the same contract the controller parses: every endpoint
 * called through the controller's own pinned client, so every answer goes through the
 * same zod schemas that the goldens pass.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AgentClient, isAgentError, type AgentError } from '../src/agent/index.ts';
import { readBootstrap } from '../src/bootstrap/read.ts';
import type { DevAgent } from '../dev-agent/index.ts';
import { silentLogger } from '../src/log.ts';
import { devAgent } from './helpers/controller.ts';
import { until } from './helpers/until.ts';

async function clientFor(t: TestContext, agent: DevAgent): Promise<AgentClient> {
  const read = await readBootstrap(agent.bootstrapPath);
  assert.ok(read.ok, read.ok ? '' : read.problem.message);
  const channel = { endpoint: read.bootstrap.localApi.endpoint, pin: read.bootstrap.localApi.pin, token: read.bootstrap.localApi.token };
  const client = new AgentClient({ current: () => channel, refresh: async () => {} }, { logger: silentLogger(), timeoutMs: 5_000 });
  t.after(() => client.close());
  return client;
}

async function agentError(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    if (isAgentError(error)) return error;
    throw error;
  }
  assert.fail('expected an agent error');
}

async function untilFinished(client: AgentClient, id: string): Promise<string[]> {
  const phases: string[] = [];
  return until(
    async () => {
      const phase = (await client.getBackupStatus(id)).backup!.phase;
      if (phases.at(-1) !== phase) phases.push(phase);
      return phases;
    },
    { what: `backup ${id} to finish`, done: (seen) => seen.at(-1) === 'done' || seen.at(-1) === 'failed', timeoutMs: 5_000, intervalMs: 10 },
  );
}

describe('the development agent against the controller schemas', () => {
  it('when every read endpoint is called, then every answer parses', async (t) => {
    const agent = await devAgent(t, { demo: true });
    const client = await clientFor(t, agent);
    const storage = await client.getStorage();
    assert.deepEqual(storage.mounts.map((m) => [m.id, m.class, m.role, m.in_guest_backup]), [
      ['local-fast', 'fast', 'primary', true],
      ['usb-9f3a27c1', 'slow', 'bulk-data', false],
    ]);
    assert.ok((await client.listSnapshots()).some((s) => s.owner === 'agent'));
    assert.equal(typeof (await client.getBackupDue()).due, 'boolean');
    await client.getBackupStatus();
    assert.equal((await client.getRestoreTestStatus()).last_run?.result, 'pass');
    const metrics = await client.getHostMetrics();
    assert.ok(metrics.mem_total_bytes > 0 && metrics.cpu_count > 0);
    assert.deepEqual(metrics.storage.map((s) => s.id), storage.mounts.map((m) => m.id));
    const disks = await client.listDisks();
    assert.deepEqual(disks.map((d) => [d.system, d.data_bearing, d.assigned]), [
      [true, true, false],
      [false, true, true],
      [false, false, false],
    ]);
  });

  it('when a snapshot-mode backup runs, then every status answer parses and the phases walk to done with snapshotted', async (t) => {
    const agent = await devAgent(t);
    const client = await clientFor(t, agent);
    const backup = await client.requestBackup('manual');
    assert.equal(backup.phase, 'queued');
    const conflict = await agentError(client.requestBackup('manual'));
    assert.equal(conflict.agentCode, 'conflict');
    assert.equal(conflict.backupId, backup.id);
    // The POST answered `queued`; polling may start after it, so the walk is read from there on.
    assert.deepEqual((await untilFinished(client, backup.id)).filter((p) => p !== 'queued'), ['running', 'snapshotted', 'done']);
    const status = await client.getBackupStatus();
    assert.equal(status.last_success?.id, backup.id);
  });

  it('when a stop-mode backup runs, then it resumes at done with no snapshotted phase', async (t) => {
    const agent = await devAgent(t, { backup: { mode: 'stop', queuedMs: 150, runningMs: 250 } });
    const client = await clientFor(t, agent);
    const backup = await client.requestBackup('scheduled');
    assert.deepEqual((await untilFinished(client, backup.id)).filter((p) => p !== 'queued'), ['running', 'done']);
    assert.equal((await client.getBackupStatus(backup.id)).backup!.mode, 'stop');
  });

  it('when snapshots are made, deleted and rolled back to, then every answer parses and the ownership rules hold', async (t) => {
    const agent = await devAgent(t);
    const client = await clientFor(t, agent);
    const snapshot = await client.createSnapshot({ name: 'felhom-pre-photos-20261123T101500', description: 'before install of photos' });
    assert.equal(snapshot.owner, 'controller');
    assert.equal((await client.rollback(snapshot.name)).accepted, true);
    assert.deepEqual(await client.deleteSnapshot(snapshot.name), { deleted: true, name: snapshot.name });
    const agentOwned = (await client.listSnapshots()).find((s) => s.owner === 'agent')!;
    assert.equal((await agentError(client.deleteSnapshot(agentOwned.name))).agentCode, 'not_owner');
    assert.equal((await agentError(client.rollback('no-such-snapshot'))).agentCode, 'not_found');
  });

  it('when the disk story is walked, then format, assign and eject parse and a data-bearing format is pending_signature', async (t) => {
    const agent = await devAgent(t);
    const client = await clientFor(t, agent);
    const refused = await agentError(client.formatDisk({ disk: 'usb-9f3a27c1', filesystem: 'ext4', fs_label: 'wipe' }));
    assert.equal(refused.agentCode, 'pending_signature');
    assert.equal(refused.code, 'forbidden');
    assert.equal((await agentError(client.assignDisk({ disk: 'usb-2b77e0d4', label: 'Photos', class: 'fast', role: 'bulk-data' }))).agentCode, 'unprocessable');
    const formatted = await client.formatDisk({ disk: 'usb-2b77e0d4', filesystem: 'ext4', fs_label: 'photos' });
    assert.equal(formatted.disk.data_bearing, true);
    const mount = await client.assignDisk({ disk: 'usb-2b77e0d4', label: 'Photos SSD', class: 'fast', role: 'bulk-data' });
    assert.equal(mount.state, 'attached');
    assert.ok((await client.getStorage()).mounts.some((m) => m.id === mount.id));
    const ejected = await client.ejectDisk('usb-2b77e0d4');
    assert.deepEqual(ejected.dependent_guests, ['101']);
    assert.equal((await client.getStorage()).mounts.some((m) => m.id === mount.id), false);
  });
});
