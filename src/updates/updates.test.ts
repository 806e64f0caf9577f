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
type Outcome = 'succeeded' | 'failed' | 'rolled_back' | 'download_failed';
interface HarnessOptions {
  outcome?: Outcome;
  after?: 'new' | 'old';
  refuse?: boolean;
  desired?: 'running' | 'stopped';
}

/** What each outcome leaves: the image the app runs after it, and its operation's fields. */
const outcomes: Record<Outcome, { after: 'new' | 'old'; snapshot: string | null; rolledBack: boolean; error: string | null }> = {
  succeeded: { after: 'new', snapshot: 'pre-update', rolledBack: false, error: null },
  // Not healthy on the new image, then put back on the old one.
  rolled_back: { after: 'old', snapshot: 'pre-update', rolledBack: true, error: 'the app did not become healthy in time' },
  // Failed on the new image after changing things (the roll-back did not happen).
  failed: { after: 'new', snapshot: 'pre-update', rolledBack: false, error: 'the app did not become healthy in time' },
  // The registry was down: nothing was touched, no snapshot was taken.
  download_failed: { after: 'old', snapshot: null, rolledBack: false, error: 'could not download 127.0.0.1:5000/felhom/web:1: the registry did not answer' },
};

function harness(t: TestContext, initial: HarnessOptions = {}) {
  const options = { ...initial };
  const db = openDatabase(databaseFile(t));
  t.after(() => db.close());
  const audit = createAuditLog(db, systemClock, silentLogger());
  const settings = createSettings(db, systemClock);
  let runningImage = 'sha256:old-image';
  let remoteCalls = 0;
  let registryDigest = NEW;
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
      const operation = { id: `op${updateCalls.length}`, appId: id, kind: 'update', state: 'running', error: null, snapshot: null, rolledBack: false } as unknown as Operation;
      operations.set(operation.id, operation);
      const outcome = options.outcome ?? 'succeeded';
      const ends = outcomes[outcome];
      setTimeout(() => {
        if ((options.after ?? ends.after) === 'new') runningImage = 'sha256:new-image';
        Object.assign(operation, { state: outcome === 'succeeded' ? 'succeeded' : 'failed', error: ends.error, snapshot: ends.snapshot, rolledBack: ends.rolledBack, finishedAt: new Date().toISOString() });
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
        return registryDigest;
      },
    },
    allowedRegistries: ['127.0.0.1:5000'],
    offline: true,
    pullImages: true,
    schedule: '20 4 * * *',
    operationPollMs: 10,
  });
  t.after(() => updates.close());
  const runs = () => audit.list({ action: 'app.auto_update_run' }).map((e): Record<string, unknown> => ({ outcome: e.outcome, ...e.details }));
  return {
    updates,
    /** How the next updates end from now on. */
    set: (changed: HarnessOptions) => Object.assign(options, changed),
    /** The registry's tag moves to another image. */
    registryHas: (digest: string) => {
      registryDigest = digest;
    },
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

  it('when the automatic update is rolled back, then it is audited as rolled back with the reason, not tried again on the same digest, and tried when the registry has another', async (t) => {
    const h = harness(t, { outcome: 'rolled_back' });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    assert.deepEqual(h.runs(), [{ outcome: 'failed', result: 'rolled_back', operation: 'op1', reason: 'the app did not become healthy in time' }]);
    assert.equal(h.updates.state('web').available, true, 'the newer image is still there to update to');
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 1, 'the same images are not tried again by the next scheduled run');
    h.registryHas(`sha256:${'c'.repeat(64)}`);
    h.set({ outcome: 'succeeded' });
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 2, 'another image in the registry is tried');
    assert.deepEqual(h.runs()[0], { outcome: 'ok', result: 'ok', operation: 'op2' });
  });

  it('when the automatic update fails on the new image after changing things, then it is audited as failed and not tried again on the same digest', async (t) => {
    const h = harness(t, { outcome: 'failed' });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    assert.deepEqual(h.runs(), [{ outcome: 'failed', result: 'failed', operation: 'op1', reason: 'the app did not become healthy in time' }]);
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 1);
  });

  it('when the automatic update is refused (the app is busy), then it is audited as failed with the reason and the next scheduled run tries again', async (t) => {
    const h = harness(t, { refuse: true });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    const [run] = h.runs();
    assert.deepEqual([run?.outcome, run?.result], ['failed', 'failed']);
    assert.match(String(run?.reason), /being installed, updated or removed/);
    h.set({ refuse: false });
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 2, 'retried at the next scheduled check');
    assert.deepEqual(h.runs()[0], { outcome: 'ok', result: 'ok', operation: 'op2' });
  });

  it('when the automatic update could not download the image (registry down), then it is audited as failed, not rolled back, and the next scheduled run tries again', async (t) => {
    const h = harness(t, { outcome: 'download_failed' });
    h.updates.setAutomatic('web', true, 'customer');
    await h.updates.runScheduled();
    assert.deepEqual(h.runs(), [{ outcome: 'failed', result: 'failed', operation: 'op1', reason: outcomes.download_failed.error }]);
    h.set({ outcome: 'succeeded' });
    await h.updates.runScheduled();
    assert.equal(h.updateCalls.length, 2, 'retried at the next scheduled check');
    assert.equal(h.updates.state('web').available, false, 'updated this time');
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

/** Apps named app0… each running the image given for it, over a registry that answers only when released. */
function manyApps(t: TestContext, images: string[]) {
  const db = openDatabase(databaseFile(t));
  t.after(() => db.close());
  const asked: string[] = [];
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const records = images.map((_, i) => record(`app${i}`));
  const updates = createUpdates({
    db,
    clock: systemClock,
    logger: silentLogger(),
    audit: createAuditLog(db, systemClock, silentLogger()),
    settings: createSettings(db, systemClock),
    apps: { records: () => records, record: (id) => records.find((r) => r.id === id) ?? null, update: async () => ({ operationId: 'none' }), operation: () => null, latestOperation: () => null },
    docker: {
      listContainers: async (appId) => {
        const image = images[Number(appId.slice(3))]!;
        return [{ id: appId, name: appId, service: 'web', state: 'running', health: null, image, imageId: `id-${image}`, startedAt: null, ports: [], exitCode: null, oneShot: false }];
      },
      repoDigests: async (imageId) => [`${imageId.slice(3).split(':').slice(0, -1).join(':')}@${OLD}`],
      async remoteDigest(reference) {
        asked.push(reference);
        await gate;
        return NEW;
      },
    },
    allowedRegistries: ['127.0.0.1:5000'],
    offline: true,
    pullImages: true,
    schedule: '20 4 * * *',
  });
  t.after(() => updates.close());
  return { updates, asked, release: () => open() };
}

describe('one check of every app', () => {
  it('when several apps run the same image, then the registry is asked about it once', async (t) => {
    const shared = '127.0.0.1:5000/library/postgres:16.6-alpine';
    const h = manyApps(t, [shared, shared, '127.0.0.1:5000/felhom/web:1', shared]);
    const check = h.updates.check();
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.release();
    await check;
    assert.deepEqual(h.asked.toSorted(), ['127.0.0.1:5000/felhom/web:1', shared]);
    for (const id of ['app0', 'app1', 'app2', 'app3']) assert.equal(h.updates.state(id).available, true, id);
  });

  it('when the registry hangs, then a few apps are checked at the same time rather than one after another', async (t) => {
    const h = manyApps(t, Array.from({ length: 6 }, (_, i) => `127.0.0.1:5000/felhom/app${i}:1`));
    const check = h.updates.check();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(h.asked.length, 4, 'four questions waiting together, not one');
    h.release();
    await check;
    assert.equal(h.asked.length, 6);
  });
});
