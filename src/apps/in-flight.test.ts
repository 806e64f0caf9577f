import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { createAuditLog } from '../audit/index.ts';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { readCompose } from '../stacks/index.ts';
import { tempDir } from '../testing/temp.ts';
import { until } from '../testing/until.ts';
import { MANIFEST_FILE } from './app-folder.ts';
import { InFlight } from './in-flight.ts';
import { createOperations } from './operations.ts';
import { reconcileApps } from './reconcile.ts';
import { AppsService, type AppsServiceDeps } from './service.ts';
import { createAppStore } from './store.ts';

const never = () => new Promise<never>(() => {});

describe('closing while work is in flight', () => {
  it('when the work ends before the deadline, then close waits for it and cancels nothing', async () => {
    const inFlight = new InFlight();
    void inFlight.run('app', 'change', () => new Promise((resolve) => setTimeout(resolve, 50)));
    assert.deepEqual(await inFlight.shutdown(2_000, 100), []);
    assert.equal(inFlight.signal.aborted, false);
    assert.equal(inFlight.busyWith('app'), null);
  });

  it('when the work never settles, then close returns after the deadline and the grace, having cancelled it', async () => {
    const inFlight = new InFlight();
    void inFlight.run('app', 'change', never);
    const started = Date.now();
    assert.deepEqual(await inFlight.shutdown(200, 100), ['app']);
    assert.ok(Date.now() - started < 1_000, `closed after ${Date.now() - started} ms`);
    assert.equal(inFlight.signal.aborted, true);
  });
});

/** An app service over a real database and fakes of Docker and the agent, whose `compose up` is `up`. */
function service(t: TestContext, dir: string, up: (signal: AbortSignal | undefined) => Promise<void>) {
  const db = openDatabase(`${dir}/felhom.db`);
  t.after(() => db.close());
  const calls: string[] = [];
  const store = createAppStore(db, systemClock);
  const operations = createOperations(db, systemClock);
  const audit = createAuditLog(db, systemClock, silentLogger());
  const deps = {
    store,
    operations,
    audit,
    clock: systemClock,
    logger: silentLogger(),
    appsDir: `${dir}/apps`,
    catalogDirs: [`${dir}/catalog`],
    keepSnapshots: 5,
    pullImages: false,
    offline: false,
    pullStallMs: 10_000,
    allowedRegistries: [],
    reservedProjects: async () => [],
    reservedPorts: async () => [],
    shutdownDeadlineMs: 200,
    agent: { getStorage: async () => ({ mounts: [] }) },
    volumes: {},
    compose: {
      config: async () => readCompose({ services: { web: { image: 'nginx:1.27' } } }),
      up: async (_spec: unknown, _onLine: unknown, signal?: AbortSignal) => {
        calls.push('up');
        await up(signal);
      },
      down: async () => void calls.push('down'),
    },
    docker: {
      hasImage: async () => true,
      projects: async () => [],
      listContainers: async () => [],
      waitHealthy: async () => ({ healthy: true, containers: [] }),
    },
  } as unknown as AppsServiceDeps;
  return { service: new AppsService(deps), deps, store, operations, calls };
}

/** An installed app's folder and record, its deploy not yet run. */
function recordApp(dir: string, store: ReturnType<typeof createAppStore>): void {
  fs.mkdirSync(`${dir}/apps/photos`, { recursive: true });
  fs.writeFileSync(`${dir}/apps/photos/${MANIFEST_FILE}`, 'schema: felhom.app/v1\nid: photos\nname: Photos\nversion: "1"\n');
  store.insert({ id: 'photos', name: 'Photos', version: '1', source: 'upload', composeFile: 'compose.yml', web: null }, [], []);
}

const upCalled = (calls: string[]) => until(() => calls.includes('up'), { what: 'compose up', timeoutMs: 10_000 });

describe('closing the apps while a deploy runs', () => {
  it('when compose up never ends, then close cancels it at the deadline, and the install is left to resume at the next start', async (t) => {
    const dir = tempDir(t);
    // compose up ends only when its child is cancelled, as the CLI runner does on abort.
    const up = (signal: AbortSignal | undefined) =>
      new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('compose up was cancelled')), { once: true }));
    const first = service(t, dir, up);
    recordApp(dir, first.store);
    const { operationId } = first.service.resume('photos');
    await upCalled(first.calls);

    const started = Date.now();
    await first.service.close();
    assert.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started} ms`);

    const operation = first.operations.get(operationId)!;
    assert.equal(operation.state, 'running', 'recorded as interrupted, not failed');
    assert.match(operation.events.at(-1)!.message, /controller stopped during this deploy/);
    assert.equal(first.store.get('photos')!.status, 'installing');
    assert.deepEqual(first.calls, ['up'], 'the stack was not taken down as a failed deploy would be');

    // The next start: the reconcile resumes the install, which now completes.
    const next = service(t, dir, async () => undefined);
    const report = await reconcileApps({ ...next.deps, reservedProjects: async () => [] }, next.service);
    assert.deepEqual(report.resumed, ['photos']);
    await next.service.settled();
    assert.equal(next.store.get('photos')!.status, 'installed');
  });

  it('when compose up ignores the cancellation too, then close still returns after the deadline and its grace', async (t) => {
    const dir = tempDir(t);
    const stuck = service(t, dir, never);
    recordApp(dir, stuck.store);
    stuck.service.resume('photos');
    await upCalled(stuck.calls);
    const started = Date.now();
    await stuck.service.close();
    const took = Date.now() - started;
    assert.ok(took >= 200 && took < 10_000, `closed after ${took} ms`);
  });
});
