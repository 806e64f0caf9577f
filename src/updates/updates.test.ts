import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { AppRecord, Operation } from '../apps/index.ts';
import { createAuditLog } from '../audit/index.ts';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { createSettings } from '../settings/index.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import { databaseFile } from '../testing/temp.ts';
import { createUpdates, type UpdatesDeps } from './updates.ts';

const IMAGE = '127.0.0.1:5000/felhom/web:1';
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;

const record = (id: string, desired: 'running' | 'stopped' = 'running', createdAt = '2026-12-01T10:00:00.000Z') =>
  ({ id, name: id, status: 'installed', desired, stoppedForStorage: null, createdAt }) as AppRecord;

/**
 * The updates domain over a real SQLite file, with fakes for the apps and the engine:
 * the registry holds NEW for the tag; the app runs the image `running` (OLD's) until an
 * update, which ends as `outcome` says and leaves the app on `after`.
 */
function harness(t: TestContext, options: { outcome?: 'succeeded' | 'failed'; after?: 'new' | 'old'; refuse?: boolean; desired?: 'running' | 'stopped' } = {}) {
  const db = openDatabase(databaseFile(t));
  t.after(() => db.close());
  const audit = createAuditLog(db, systemClock, silentLogger());
  const settings = createSettings(db, systemClock);
  let runningImage = 'sha256:old-image';
  let remoteCalls = 0;
  let gate: Promise<void> | null = null;
  let installedAt = '2026-12-01T10:00:00.000Z';
  const updateCalls: Array<{ id: string; actor: string }> = [];
  const operations = new Map<string, Operation>();
  const container = (): ContainerInfo => ({ id: 'c1', name: 'web-1', service: 'web', state: 'running', health: 'healthy', image: IMAGE, imageId: runningImage, startedAt: null, ports: [], exitCode: null, oneShot: false });
  const apps: UpdatesDeps['apps'] = {
    records: () => [record('web', options.desired, installedAt)],
    record: (id) => (id === 'web' ? record('web', options.desired, installedAt) : null),
    async update(id, actor) {
      updateCalls.push({ id, actor });
      if (options.refuse) throw new AppError('conflict', { key: 'error.busy_changing', params: { app: id } });
      const operation = { id: `op${updateCalls.length}`, appId: id, kind: 'update', state: 'running', error: null } as unknown as Operation;
      operations.set(operation.id, operation);
      setTimeout(() => {
        if ((options.after ?? 'new') === 'new') runningImage = 'sha256:new-image';
        Object.assign(operation, { state: options.outcome ?? 'succeeded', error: options.outcome === 'failed' ? 'the app did not become healthy in time' : null, finishedAt: new Date().toISOString() });
      }, 30);
      return { operationId: operation.id };
    },
    operation: (id) => operations.get(id) ?? null,
    latestOperation: (appId) => [...operations.values()].findLast((o) => o.appId === appId) ?? null,
  };
  const updates = createUpdates({
    db,
    clock: systemClock,
    logger: silentLogger(),
    audit,
    settings,
    apps,
    docker: {
      listContainers: async () => [container()],
      repoDigests: async (image) => (image === 'sha256:new-image' ? [`127.0.0.1:5000/felhom/web@${NEW}`] : [`127.0.0.1:5000/felhom/web@${OLD}`]),
      async remoteDigest() {
        remoteCalls++;
        await gate;
        return NEW;
      },
    },
    allowedRegistries: ['127.0.0.1:5000'],
    offline: true,
    schedule: '20 4 * * *',
    operationPollMs: 10,
  });
  t.after(() => updates.close());
  const runs = () => audit.list({ action: 'app.auto_update_run' }).map((e): Record<string, unknown> => ({ outcome: e.outcome, ...e.details }));
  return {
    updates,
    /** The customer pressing Update now (the apps' own route, not through this domain). */
    async pressUpdate() {
      const { operationId } = await apps.update('web', 'customer');
      while (operations.get(operationId)!.state === 'running') await new Promise((resolve) => setTimeout(resolve, 10));
    },
    /** The app removed and installed again under the same id. */
    reinstall: () => {
      installedAt = new Date().toISOString();
    },
    updateCalls,
    runs,
    audit,
    remoteCalls: () => remoteCalls,
    /** The next registry question waits until `release` is called. */
    holdRegistry: () => {
      let open = () => {};
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

describe('update checks and automatic updates', () => {
  it('when a scheduled check finds a newer image and automatic updates are off, then the app is not updated', async (t) => {
    const h = harness(t);
    assert.equal(h.updates.state('web').automatic, false, 'off by default');
    await h.updates.runScheduled();
    assert.equal(h.updates.state('web').available, true);
    assert.deepEqual(h.updateCalls, []);
    assert.deepEqual(h.runs(), []);
    // Turned on and off again: still never.
    h.updates.setAutomatic('web', true, 'customer');
    h.updates.setAutomatic('web', false, 'customer');
    await h.updates.runScheduled();
    assert.deepEqual(h.updateCalls, []);
    assert.deepEqual(h.audit.list({ action: 'app.auto_update' }).map((e) => e.details?.enabled).reverse(), ['on', 'off']);
  });

  it('when an app with automatic updates is removed and installed again, then the new installation starts with them off', async (t) => {
    const h = harness(t);
    h.updates.setAutomatic('web', true, 'customer');
    assert.equal(h.updates.state('web').automatic, true);
    h.reinstall();
    assert.equal(h.updates.state('web').automatic, false);
    await h.updates.runScheduled();
    assert.deepEqual(h.updateCalls, []);
  });

  it('when automatic updates are on, then a check the customer asks for does not update, and the scheduled one does, audited as ok', async (t) => {
    const h = harness(t);
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.check();
    assert.equal(h.updates.state('web').available, true);
    assert.deepEqual(h.updateCalls, [], 'an on-demand check never updates');
    await h.updates.runScheduled();
    assert.deepEqual(h.updateCalls, [{ id: 'web', actor: 'auto-update' }]);
    assert.deepEqual(h.runs(), [{ outcome: 'ok', result: 'ok', operation: 'op1' }]);
    assert.equal(h.updates.state('web').available, false, 'checked again after the update: up to date');
  });

  it('when the customer stopped the app, then automatic updates leave it alone (an update would start it)', async (t) => {
    const h = harness(t, { desired: 'stopped' });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    assert.equal(h.updates.state('web').available, true);
    assert.deepEqual(h.updateCalls, []);
  });

  it('when the automatic update fails and the app is back on its previous image, then it is audited as rolled back with the reason', async (t) => {
    const h = harness(t, { outcome: 'failed', after: 'old' });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    assert.deepEqual(h.runs(), [{ outcome: 'failed', result: 'rolled_back', operation: 'op1', reason: 'the app did not become healthy in time' }]);
    assert.equal(h.updates.state('web').available, true, 'the newer image is still there to update to');
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 1, 'the same images are not tried again by the next scheduled run');
  });

  it('when the automatic update fails on the new image, or is refused, then it is audited as failed with the reason', async (t) => {
    const failed = harness(t, { outcome: 'failed', after: 'new' });
    failed.updates.setAutomatic('web', true, 'customer');
    await failed.updates.runScheduled();
    assert.deepEqual(failed.runs().map((r) => r.result), ['failed']);
    const refused = harness(t, { refuse: true });
    refused.updates.setAutomatic('web', true, 'customer');
    await refused.updates.runScheduled();
    const [run] = refused.runs();
    assert.deepEqual([run?.outcome, run?.result], ['failed', 'failed']);
    assert.match(String(run?.reason), /being installed, updated or removed/);
  });

  it('when the customer updates the app after a check, then no update is offered until the next check says what is newer', async (t) => {
    const h = harness(t, { after: 'old' });
    await h.updates.check();
    assert.equal(h.updates.state('web').available, true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await h.pressUpdate();
    assert.equal(h.updates.state('web').available, false, 'the check spoke of the images before the update');
    // This update left the old image running: the next check finds the newer one again.
    await h.updates.check();
    assert.equal(h.updates.state('web').available, true);
  });

  it('when checks are asked for while one runs, then they join it instead of asking the registry again', async (t) => {
    const h = harness(t);
    const release = h.holdRegistry();
    const first = h.updates.check();
    const again = h.updates.check();
    const one = h.updates.check('web');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(h.remoteCalls(), 1);
    release();
    await Promise.all([first, again, one]);
    assert.equal(h.remoteCalls(), 1, 'one registry question for all three requests');
    assert.notEqual(h.updates.state('web').checked_at, null);
  });
});
