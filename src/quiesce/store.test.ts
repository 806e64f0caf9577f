import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { databaseFile } from '../testing/temp.ts';
import { startRun, transition } from './machine.ts';
import { createRunStore } from './store.ts';

function clockAt(iso: string): Clock & { advance(ms: number): void } {
  let now = Date.parse(iso);
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

describe('quiesce runs in SQLite', () => {
  it('when a run is open, then a second one is refused, also from another connection (another process)', (t) => {
    const file = databaseFile(t);
    const db = openDatabase(file);
    t.after(() => db.close());
    const clock = clockAt('2026-11-23T03:00:00Z');
    const store = createRunStore(db, clock);
    store.create(startRun({ id: 'a', trigger: 'scheduled', stacks: ['photos'] }).run, new Date('2026-11-23T03:10:00Z'));
    assert.throws(
      () => store.create(startRun({ id: 'b', trigger: 'manual', stacks: [] }).run, new Date()),
      (e: unknown) => e instanceof AppError && e.code === 'conflict' && /already in progress/.test(e.message),
    );
    const other = openDatabase(file);
    t.after(() => other.close());
    assert.throws(() => createRunStore(other, clock).create(startRun({ id: 'c', trigger: 'manual', stacks: [] }).run, new Date()), AppError);
    assert.equal(createRunStore(other, clock).open()?.id, 'a', 'another process sees the marker');
  });

  it('when a run moves through its phases, then each moment is stamped once and the downtime is measured', (t) => {
    const db = openDatabase(databaseFile(t));
    t.after(() => db.close());
    const clock = clockAt('2026-11-23T03:00:00Z');
    const store = createRunStore(db, clock);
    let run = store.create(startRun({ id: 'a', trigger: 'scheduled', stacks: ['photos', 'media'] }).run, new Date('2026-11-23T03:10:00Z')) as import('./machine.ts').Run;
    const step = (event: Parameters<typeof transition>[1], ms: number) => {
      clock.advance(ms);
      run = store.save(transition(run, event).run);
      return store.get('a')!;
    };
    assert.equal(step({ type: 'stacks_stopped' }, 2_000).stoppedAt, '2026-11-23T03:00:02.000Z');
    assert.equal(step({ type: 'backup_accepted', backupId: 'bk-1' }, 500).requestedAt, '2026-11-23T03:00:02.500Z');
    assert.equal(step({ type: 'backup_phase', phase: 'snapshotted' }, 1_500).snapshottedAt, '2026-11-23T03:00:04.000Z');
    const tracking = step({ type: 'stacks_restarted' }, 1_000);
    assert.equal(tracking.resumedAt, '2026-11-23T03:00:05.000Z');
    assert.equal(tracking.downtimeMs, 5_000);
    const closed = step({ type: 'backup_phase', phase: 'done' }, 30_000);
    assert.equal(closed.phase, 'closed');
    assert.equal(closed.outcome, 'succeeded');
    assert.equal(closed.finishedAt, '2026-11-23T03:00:35.000Z');
    assert.equal(closed.downtimeMs, 5_000, 'tracking after the restart is not downtime');
    assert.equal(store.open(), null, 'the marker is cleared');
    assert.deepEqual(store.list().map((r) => r.id), ['a']);
  });

  it('when the database is reopened (as after a crash), then the open run with its stacks is there', (t) => {
    const file = databaseFile(t);
    const first = openDatabase(file);
    const clock = clockAt('2026-11-23T03:00:00Z');
    createRunStore(first, clock).create(startRun({ id: 'a', trigger: 'manual', stacks: ['photos', 'media'] }).run, new Date());
    first.close();
    const again = openDatabase(file);
    t.after(() => again.close());
    const open = createRunStore(again, clock).open()!;
    assert.equal(open.phase, 'stopping');
    assert.deepEqual(open.stacks, ['photos', 'media']);
  });
});
