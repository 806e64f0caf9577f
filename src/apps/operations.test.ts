import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { tempDir } from '../testing/temp.ts';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { migrations } from '../db/migrations.ts';
import { createOperations } from './operations.ts';

function database(t: TestContext, upTo = migrations.at(-1)!.version) {
  const file = path.join(tempDir(t), 'controller.db');
  const open = (version: number) => openDatabase(file, { migrations: migrations.filter((m) => m.version <= version) });
  let db = open(upTo);
  t.after(() => db.close());
  return {
    db: () => db,
    upgrade() {
      db.close();
      db = open(migrations.at(-1)!.version);
    },
  };
}

describe('operation events', () => {
  it('when a deploy records a step, a note and a line of compose, then each keeps its English words and the controller’s own keep their message for the UI', (t) => {
    const operations = createOperations(database(t).db(), systemClock);
    const progress = operations.start('site', 'install');
    progress.step('download_images');
    progress.note({ key: 'deploy_event.snapshot_taken', params: { snapshot: 'felhom-pre-1' } });
    progress.line(' web Pulled');

    const events = operations.get(progress.operationId)!.events.map(({ message, text }) => ({ message, text }));
    assert.deepEqual(events, [
      { message: 'Getting the images', text: { key: 'deploy_step.download_images' } },
      { message: 'Snapshot felhom-pre-1 taken', text: { key: 'deploy_event.snapshot_taken', params: { snapshot: 'felhom-pre-1' } } },
      { message: ' web Pulled', text: null },
    ]);
  });

  it('when an operation fails, then its error is kept in English and as a message whose reason is worded with it', (t) => {
    const operations = createOperations(database(t).db(), systemClock);
    const progress = operations.start('site', 'install');
    progress.finish({ key: 'error.deploy_failed_rollback', params: { reason: { key: 'error.not_healthy_in_time' }, snapshot: 'felhom-pre-1' } });

    const failed = operations.get(progress.operationId)!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error, 'the app did not become healthy in time. The server can be rolled back to snapshot felhom-pre-1 from the app page.');
    assert.deepEqual(failed.errorText, { key: 'error.deploy_failed_rollback', params: { reason: { key: 'error.not_healthy_in_time' }, snapshot: 'felhom-pre-1' } });
  });

  it('when events were stored before they had keys, then the steps among them get their key and English words, and other lines stay as they were', (t) => {
    const store = database(t, 6);
    store
      .db()
      .prepare("INSERT INTO operations (id, app_id, kind, state, started_at) VALUES ('op', 'site', 'install', 'succeeded', '2026-01-01T00:00:00Z')")
      .run();
    const insert = store.db().prepare("INSERT INTO operation_events (operation_id, seq, at, message) VALUES ('op', ?, '2026-01-01T00:00:00Z', ?)");
    insert.run(1, 'wait_healthy');
    insert.run(2, 'The app is running and healthy');

    store.upgrade();
    const events = createOperations(store.db(), systemClock).get('op')!.events;
    assert.deepEqual(
      events.map(({ message, text }) => ({ message, text })),
      [
        { message: 'Waiting for the app to become healthy', text: { key: 'deploy_step.wait_healthy' } },
        { message: 'The app is running and healthy', text: null },
      ],
    );
  });

  it('when images are downloaded, then the latest progress of each image is on the operation, done once said so; an update ended by its roll-back reads as rolled back', (t) => {
    const operations = createOperations(database(t).db(), systemClock);
    const progress = operations.start('site', 'update');
    progress.pull({ image: 'r.example/web:1', layers: 2, layersDone: 0, bytes: 1000, bytesDone: 10 });
    progress.pull({ image: 'r.example/web:1', layers: 2, layersDone: 1, bytes: 1000, bytesDone: 600 });
    progress.pull({ image: 'r.example/web:1', layers: 2, layersDone: 2, bytes: 1000, bytesDone: 1000 }, true);
    progress.pull({ image: 'r.example/db:1', layers: 1, layersDone: 0, bytes: 50, bytesDone: 0 });
    assert.deepEqual(operations.get(progress.operationId)!.pull, [
      { image: 'r.example/web:1', layers: 2, layersDone: 2, bytes: 1000, bytesDone: 1000, done: true },
      { image: 'r.example/db:1', layers: 1, layersDone: 0, bytes: 50, bytesDone: 0, done: false },
    ]);
    assert.equal(operations.get(progress.operationId)!.rolledBack, false);

    progress.finish({ key: 'error.update_rolled_back', params: { reason: { key: 'error.not_healthy_in_time' } } });
    const ended = operations.get(progress.operationId)!;
    assert.equal(ended.rolledBack, true);
    assert.equal(ended.error, 'the update did not become healthy (the app did not become healthy in time); the app runs its previous images again');

    const failed = operations.start('site', 'update');
    failed.finish({ key: 'error.not_healthy_in_time' });
    assert.equal(operations.get(failed.operationId)!.rolledBack, false, 'a failure that was not rolled back');
  });
});
