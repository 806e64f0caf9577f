import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createAuditLog } from '../audit/index.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { tempDir } from '../../test/helpers/temp.ts';
import path from 'node:path';
import { startRun, transition } from './machine.ts';
import { QuiesceRunner, type BackupPort, type StackPort } from './runner.ts';
import { createRunStore } from './store.ts';

/** Apps as a set of running stack names; start can be made to fail a number of times. */
class FakeStacks implements StackPort {
  running = new Set(['photos', 'media', 'notes']);
  stoppedForStorage = new Set<string>();
  calls: string[] = [];
  failStarts = 0;
  async quiescable() {
    return [...this.running].filter((s) => !this.stoppedForStorage.has(s)).sort();
  }
  async stop(stacks: string[]) {
    this.calls.push(`stop ${stacks.join(',')}`);
    for (const s of stacks) this.running.delete(s);
  }
  async start(stacks: string[]) {
    this.calls.push(`start ${stacks.join(',')}`);
    if (this.failStarts > 0) {
      this.failStarts--;
      return [stacks[0]!];
    }
    for (const s of stacks) this.running.add(s);
    return [];
  }
}

/** The agent's backup, answering a script of phases; a script entry may be an error. */
class FakeBackups implements BackupPort {
  requests = 0;
  script: Array<string | Error>;
  requestError: Error | null = null;
  constructor(script: Array<string | Error>) {
    this.script = script;
  }
  async requestBackup() {
    if (this.requestError) throw this.requestError;
    this.requests++;
    return { id: `bk-${this.requests}` };
  }
  async backupStatus() {
    const next = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
    if (next instanceof Error) throw next;
    return { phase: next, error: next === 'failed' ? 'vzdump: no space left' : null };
  }
}

function harness(t: TestContext, script: Array<string | Error>, options: { maxQuiesceMs?: number } = {}) {
  const db = openDatabase(path.join(tempDir(t), 'c.db'));
  t.after(() => db.close());
  let now = Date.parse('2026-11-23T03:00:00Z');
  const clock = { now: () => new Date(now) };
  const stacks = new FakeStacks();
  const backups = new FakeBackups(script);
  const store = createRunStore(db, clock);
  const audit = createAuditLog(db, clock, silentLogger());
  // Time passes only when the runner waits; a shutdown wakes a waiting runner.
  const sleep = async (ms: number, signal: AbortSignal) => {
    if (signal.aborted) throw new Error('aborted');
    now += ms;
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new Error('aborted');
  };
  const runner = new QuiesceRunner({
    stacks,
    backups,
    store,
    clock,
    audit,
    logger: silentLogger(),
    sleep,
    options: { maxQuiesceMs: options.maxQuiesceMs ?? 600_000, pollIntervalMs: 1_000, restartBackoffMs: 500 },
  });
  return { db, stacks, backups, store, runner, advance: (ms: number) => (now += ms) };
}

async function runOnce(h: ReturnType<typeof harness>) {
  const started = await h.runner.trigger('scheduled');
  assert.ok(started, 'a run started');
  return started.done;
}

describe('the quiesce runner', () => {
  it('when the backup reaches snapshotted, then exactly the running stacks restart there and the backup is tracked to done', async (t) => {
    const h = harness(t, ['queued', 'running', 'snapshotted', 'snapshotted', 'done']);
    h.stacks.stoppedForStorage.add('notes');
    const run = await runOnce(h);
    assert.deepEqual(h.stacks.calls, ['stop media,photos', 'start media,photos']);
    assert.equal(h.backups.requests, 1);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(run.resumeReason, 'snapshotted');
    assert.equal(run.downtimeMs, 3_000, 'three polls of 1 s: down until snapshotted, not until done');
    assert.ok(Date.parse(run.finishedAt!) > Date.parse(run.resumedAt!));
    assert.equal(h.store.open(), null);
  });

  it('when the mode has no snapshot phase, then the stacks restart at done', async (t) => {
    const h = harness(t, ['queued', 'running', 'running', 'done']);
    const run = await runOnce(h);
    assert.equal(run.resumeReason, 'backup_done');
    assert.equal(run.downtimeMs, 4_000);
    assert.deepEqual(h.stacks.calls.at(-1), 'start media,notes,photos');
  });

  it('when POST /backup fails, then the stacks restart and the run is recorded failed with the reason', async (t) => {
    const h = harness(t, ['done']);
    h.backups.requestError = new Error('agent POST /backup: a backup of guest 101 is already in flight (conflict)');
    const run = await runOnce(h);
    assert.equal(run.outcome, 'failed');
    assert.match(run.error!, /already in flight/);
    assert.deepEqual(h.stacks.calls, ['stop media,notes,photos', 'start media,notes,photos']);
  });

  it('when the backup fails, then the stacks restart and the run carries the agent error', async (t) => {
    const h = harness(t, ['running', 'failed']);
    const run = await runOnce(h);
    assert.equal(run.outcome, 'failed');
    assert.equal(run.error, 'vzdump: no space left');
    assert.equal(h.stacks.running.size, 3);
  });

  it('when the agent stops answering, then the stacks restart after a few failed polls and tracking goes on to done', async (t) => {
    const down = new Error('agent GET /backup/status: no answer within 10000 ms');
    const h = harness(t, ['running', down, down, down, down, down, down, 'done']);
    const run = await runOnce(h);
    assert.equal(run.resumeReason, 'agent_unreachable');
    assert.equal(run.outcome, 'succeeded');
    assert.equal(h.backups.requests, 1, 'no second backup');
  });

  it('when the max-quiesce bound passes, then the stacks restart whatever the backup does, and the backup may finish', async (t) => {
    const h = harness(t, ['running', 'running', 'running', 'running', 'running', 'done'], { maxQuiesceMs: 2_500 });
    const run = await runOnce(h);
    assert.equal(run.resumeReason, 'max_quiesce');
    assert.equal(run.outcome, 'succeeded');
    assert.ok(run.downtimeMs! <= 3_000, `down ${run.downtimeMs} ms`);
  });

  it('when a stack will not start, then it is retried with backoff until it runs, and each failure is audited', async (t) => {
    const h = harness(t, ['snapshotted', 'done']);
    h.stacks.failStarts = 3;
    const run = await runOnce(h);
    assert.equal(run.outcome, 'succeeded');
    assert.equal(h.stacks.calls.filter((c) => c.startsWith('start')).length, 4);
    assert.equal(h.stacks.running.size, 3);
    const audited = h.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'backup.restart_failed'").get() as { n: number };
    assert.equal(audited.n, 3);
  });

  it('when the controller is told to shut down mid-backup, then the stacks run again before shutdown() resolves', async (t) => {
    const h = harness(t, ['running']);
    const started = (await h.runner.trigger('manual'))!;
    await new Promise((resolve) => setImmediate(resolve));
    await h.runner.shutdown();
    assert.equal(h.stacks.running.size, 3);
    const run = await started.done;
    assert.equal(run.resumeReason, 'shutdown');
    assert.equal(run.phase, 'tracking', 'the backup is left open, to be tracked after the restart');
  });

  it('when something unforeseen breaks the loop (the database), then the stacks are started and the run stays open for recovery', async (t) => {
    const h = harness(t, ['running']);
    const started = (await h.runner.trigger('scheduled'))!;
    await new Promise((resolve) => setImmediate(resolve));
    h.db.exec("CREATE TRIGGER no_saves BEFORE UPDATE ON quiesce_runs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    const run = await started.done;
    assert.equal(h.stacks.running.size, 3, 'the apps run again');
    assert.notEqual(run.phase, 'closed');
    h.db.exec('DROP TRIGGER no_saves');
    assert.equal(h.store.open()?.id, run.id, 'the marker is left for the next start');
  });

  it('when a run is in progress here or was left open by another process, then a trigger does nothing', async (t) => {
    const h = harness(t, ['running', 'snapshotted', 'done']);
    const first = (await h.runner.trigger('scheduled'))!;
    assert.equal(await h.runner.trigger('manual'), null);
    await first.done;
    h.store.create(startRun({ id: 'left-open', trigger: 'scheduled', stacks: ['photos'] }).run, new Date('2030-01-01T00:00:00Z'));
    assert.equal(await h.runner.trigger('manual'), null);
    assert.equal(h.backups.requests, 1);
  });
});

describe('recovering a run a crash left open', () => {
  /** Stores a run as a crash would leave it, after `events`. */
  function leftOpen(h: ReturnType<typeof harness>, events: Parameters<typeof transition>[1][]) {
    let { run } = startRun({ id: 'crashed', trigger: 'scheduled', stacks: ['media', 'photos'] });
    h.store.create(run, new Date('2026-11-23T03:10:00Z'));
    for (const event of events) run = h.store.save(transition(run, event).run);
    for (const stack of run.stacks) h.stacks.running.delete(stack);
  }

  const cases: Array<[string, Parameters<typeof transition>[1][], string]> = [
    ['stopping', [], 'failed'],
    ['requesting (no backup id yet)', [{ type: 'stacks_stopped' }], 'unknown'],
    ['waiting', [{ type: 'stacks_stopped' }, { type: 'backup_accepted', backupId: 'bk-9' }], 'succeeded'],
    ['resuming', [{ type: 'stacks_stopped' }, { type: 'backup_accepted', backupId: 'bk-9' }, { type: 'backup_phase', phase: 'snapshotted' }], 'succeeded'],
  ];
  for (const [phase, events, outcome] of cases) {
    it(`when it stood at ${phase}, then its stacks start again, no backup is requested, and it closes ${outcome}`, async (t) => {
      const h = harness(t, ['done']);
      leftOpen(h, events);
      const run = await h.runner.recover()!.done;
      const settle = phase === 'stopping' ? ['stop media,photos'] : [];
      assert.deepEqual(h.stacks.calls, [...settle, 'start media,photos']);
      assert.ok(h.stacks.running.has('media') && h.stacks.running.has('photos'));
      assert.equal(h.backups.requests, 0);
      assert.equal(run.phase, 'closed');
      assert.equal(run.outcome, outcome);
      assert.equal(h.store.open(), null);
    });
  }

  it('when it was tracking, then it makes sure the stacks run and tracks the backup to its end', async (t) => {
    const h = harness(t, ['running', 'failed']);
    leftOpen(h, [{ type: 'stacks_stopped' }, { type: 'backup_accepted', backupId: 'bk-9' }, { type: 'backup_phase', phase: 'snapshotted' }, { type: 'stacks_restarted' }]);
    const run = await h.runner.recover()!.done;
    assert.equal(run.outcome, 'failed');
    assert.equal(h.stacks.running.size, 3);
  });

  it('when nothing was left open, then there is nothing to do', async (t) => {
    const h = harness(t, ['done']);
    assert.equal(h.runner.recover(), null);
    assert.deepEqual(h.stacks.calls, []);
  });
});
