/**
 * How an update ends when its stack does not come up healthy, over a real database and
 * fakes of Docker, compose and the agent: rolled back to the previous version's files
 * and images when that works, and as a failed deploy (taken down, the snapshot named)
 * only when it does not; and when a download fails, with every tag where it was.
 * The same with a real engine and registry: test/registry-pulls.integration.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { createAuditLog } from '../audit/index.ts';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { readCompose, type ContainerInfo } from '../stacks/index.ts';
import { tempDir } from '../testing/temp.ts';
import { MANIFEST_FILE } from './app-folder.ts';
import { startDeploy, type DeployOperationDeps } from './deploy.ts';
import { InFlight } from './in-flight.ts';
import { createOperations } from './operations.ts';
import { createAppStore } from './store.ts';

const OLD = 'sha256:old';
const NEW = 'sha256:new';

/** An installed app whose web service runs OLD; the registry has NEW under the same tag, which never becomes healthy. */
function updateThatFails(t: TestContext, options: { tagFails: boolean; images?: string[]; pullFails?: string }) {
  const dir = tempDir(t);
  const db = openDatabase(`${dir}/felhom.db`);
  t.after(() => db.close());
  const store = createAppStore(db, systemClock);
  const operations = createOperations(db, systemClock);
  const audit = createAuditLog(db, systemClock, silentLogger());
  fs.mkdirSync(`${dir}/apps/site`, { recursive: true });
  fs.writeFileSync(`${dir}/apps/site/${MANIFEST_FILE}`, 'schema: felhom.app/v1\nid: site\nname: Site\nversion: "1"\nhealth_timeout_seconds: 10\n');
  store.insert({ id: 'site', name: 'Site', version: '1', source: 'upload', composeFile: 'compose.yml', web: null }, [], []);
  store.update('site', { status: 'installed', desired: 'running' });
  const calls: string[] = [];
  let tagged = OLD;
  // What each tag points at in the engine.
  const tags = new Map<string, string>();
  const pointsAt = (image: string) => tags.get(image) ?? OLD;
  const container = (): ContainerInfo => ({ service: 'web', image: 'r.example/web:1', imageId: tagged } as ContainerInfo);
  const deps = {
    store,
    operations,
    audit,
    clock: systemClock,
    logger: silentLogger(),
    appsDir: `${dir}/apps`,
    keepSnapshots: 5,
    pullImages: true,
    offline: false,
    allowedRegistries: [],
    pullStallMs: 10_000,
    agent: {
      getStorage: async () => ({ mounts: [] }),
      createSnapshot: async ({ name }: { name: string }) => ({ name, created_at: new Date().toISOString() }),
      listSnapshots: async () => [],
    },
    volumes: {},
    compose: {
      config: async () => readCompose({ services: Object.fromEntries((options.images ?? ['r.example/web:1']).map((image, i) => [`s${i}`, { image }])) }),
      up: async () => {
        tagged = pointsAt('r.example/web:1');
        calls.push(`up ${tagged}`);
      },
      down: async () => void calls.push('down'),
    },
    docker: {
      hasImage: async () => true,
      imageId: async (image: string) => pointsAt(image),
      pullImage: async (image: string) => {
        if (image === options.pullFails) throw new Error(`${image}: not found`);
        calls.push(`pull ${image}`);
        tags.set(image, NEW);
        return { image, layers: 1, layersDone: 1, bytes: 100, bytesDone: 100 };
      },
      tagImage: async (imageId: string, image: string) => {
        if (options.tagFails) throw new Error('no such image');
        calls.push(`tag ${imageId}`);
        tags.set(image, imageId);
      },
      listContainers: async () => [container()],
      waitHealthy: async () => (tagged === NEW ? { healthy: false, reason: 'web is unhealthy', containers: [] } : { healthy: true, containers: [] }),
    },
  } as unknown as DeployOperationDeps;
  const inFlight = new InFlight();
  // The previous version's folder and record, put back by a failed update.
  const undo = { restore: async () => void calls.push('restore') };
  const { operationId } = startDeploy(deps, inFlight, store.get('site')!, 'update', 'customer', undo);
  return { store, operations, audit, calls, inFlight, operationId };
}

describe('an update that does not become healthy', () => {
  it('when the previous images can be put back, then the app runs them again, stays installed, and the operation says it was rolled back', async (t) => {
    const s = updateThatFails(t, { tagFails: false });
    await s.inFlight.settled();
    assert.deepEqual(
      s.calls,
      ['pull r.example/web:1', `up ${NEW}`, 'restore', `tag ${OLD}`, `up ${OLD}`],
      "the previous version's files and record are put back, the old image tagged back and the stack started again; never taken down",
    );
    const operation = s.operations.get(s.operationId)!;
    assert.equal(operation.state, 'failed');
    assert.equal(operation.rolledBack, true);
    assert.equal(operation.error, 'the update did not become healthy (web is unhealthy); the app runs its previous images again');
    assert.equal(s.store.get('site')!.status, 'installed');
    assert.deepEqual(
      s.audit.list({ target: 'site' }).map((r) => [r.action, r.outcome]).reverse(),
      [
        ['app.update', 'failed'],
        ['app.update_rollback', 'ok'],
      ],
    );
  });

  it('when the previous images cannot be put back, then the app is taken down and marked failed, naming the snapshot to roll the server back to', async (t) => {
    const s = updateThatFails(t, { tagFails: true });
    await s.inFlight.settled();
    assert.deepEqual(s.calls, ['pull r.example/web:1', `up ${NEW}`, 'restore', 'down']);
    const operation = s.operations.get(s.operationId)!;
    assert.equal(operation.rolledBack, false);
    assert.match(operation.error!, /^web is unhealthy\. The server can be rolled back to snapshot felhom-pre-site-\S+ from the app page\.$/);
    assert.equal(s.store.get('site')!.status, 'failed');
    const audited = s.audit.list({ target: 'site' }).reverse();
    assert.deepEqual(
      audited.map((r) => [r.action, r.outcome]),
      [
        ['app.update', 'failed'],
        ['app.update_rollback', 'failed'],
      ],
    );
    assert.match(String(audited[1]!.details?.reason), /no such image/);
  });
});

describe('an update that cannot download its images', () => {
  it("when a later image fails after an earlier one moved its tag, then that tag points at its previous image again and the previous version's files and record are back", async (t) => {
    const s = updateThatFails(t, { tagFails: false, images: ['r.example/web:1', 'r.example/worker:1'], pullFails: 'r.example/worker:1' });
    await s.inFlight.settled();
    assert.deepEqual(s.calls, ['pull r.example/web:1', `tag ${OLD}`, 'restore'], 'nothing is started; the moved tag goes back before the record');
    const operation = s.operations.get(s.operationId)!;
    assert.equal(operation.state, 'failed');
    assert.equal(operation.rolledBack, false);
    assert.match(operation.error!, /worker:1: not found/);
    assert.equal(s.store.get('site')!.status, 'installed');
  });
});
