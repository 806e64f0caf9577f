import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createAuditLog } from '../audit/index.ts';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { databaseFile } from '../testing/temp.ts';
import { until, within } from '../testing/until.ts';
import { startRun, transition } from './machine.ts';
import { AppError } from '../errors.ts';
import { QuiesceRunner, TRACKING_LIMIT_FACTOR, type BackupPort, type StackPort } from './runner.ts';
import { createRunStore } from './store.ts';

/**
 * Apps as a set of running stack names, each with one container; start can be made to
 * fail a number of times, or for good for some stacks; stop can be made to fail.
 */
class FakeStacks implements StackPort {
  running = new Set(['photos', 'media', 'notes']);
  stoppedForStorage = new Set<string>();
  calls: string[] = [];
  startedWith: Array<Record<string, string[]> | null> = [];
  failStarts = 0;
  wontStart = new Set<string>();
  stopError: Error | null = null;
  /** Containers Docker had to kill to stop them. */
  killedOnStop: string[] = [];
  async quiescable() {
    return Object.fromEntries([...this.running].filter((s) => !this.stoppedForStorage.has(s)).sort().map((s) => [s, [`${s}-web-1`]]));
  }
  async stop(stacks: string[]) {
    this.calls.push(`stop ${stacks.join(',')}`);
    // A failed stop stops the others (Docker stops them in parallel).
    for (const s of stacks.slice(this.stopError ? 1 : 0)) this.running.delete(s);
    if (this.stopError) throw this.stopError;
    return [...this.killedOnStop];
  }
  async start(stacks: string[], containers: Record<string, string[]> | null) {
    this.calls.push(`start ${stacks.join(',')}`);
    this.startedWith.push(containers);
    if (this.failStarts > 0) {
      this.failStarts--;
      return [stacks[0]!];
    }
    const failed: string[] = [];
    for (const s of stacks) {
      // Stopped for storage meanwhile: left alone, not a failure (as the real port does).
      if (this.stoppedForStorage.has(s)) continue;
      if (this.wontStart.has(s)) failed.push(s);
      else this.running.add(s);
    }
    return failed;
  }
}

/**
 * The agent's backup, answering a script of phases; a script entry may be an error,
 * 'missing' (the agent does not know the backup) or 'hang' (no answer, ever).
 */
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
  polls = 0;
  /** The harness's clock at each poll, and how long each poll takes to answer. */
  polledAt: number[] = [];
  onPoll: () => number = () => 0;
  answerTakesMs = 0;
  async backupStatus() {
    this.polls++;
    this.polledAt.push(this.onPoll());
    const next = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
    if (next instanceof Error) throw next;
    if (next === 'missing') return null;
    if (next === 'hang') return new Promise<never>(() => {});
    return { phase: next, error: next === 'failed' ? 'vzdump: no space left' : null };
  }
}

function harness(
  t: TestContext,
  script: Array<string | Error>,
  options: { maxQuiesceMs?: number; trackingLimitMs?: number; longWaitMs?: number; trackingPollIntervalMs?: number } = {},
) {
  const db = openDatabase(databaseFile(t));
  t.after(() => db.close());
  let now = Date.parse('2026-11-23T03:00:00Z');
  const clock = { now: () => new Date(now) };
  const stacks = new FakeStacks();
  const backups = new FakeBackups(script);
  // A poll answers after `answerTakesMs` of the harness's time.
  backups.onPoll = () => {
    const at = now;
    now += backups.answerTakesMs;
    return at;
  };
  const store = createRunStore(db, clock);
  const audit = createAuditLog(db, clock, silentLogger());
  // Time passes only when the runner waits, and only for a wait that is not cut short:
  // a shutdown wakes a waiting runner, and a poll that answers ends the wait raced with it.
  // A wait of `longWaitMs` or more lasts until it is cut short, as a real one would outlast the test.
  const sleep = async (ms: number, signal: AbortSignal) => {
    if (signal.aborted) throw new Error('aborted');
    if (options.longWaitMs !== undefined && ms >= options.longWaitMs) {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new Error('aborted');
    now += ms;
  };
  const runner = new QuiesceRunner({
    stacks,
    backups,
    store,
    clock,
    audit,
    logger: silentLogger(),
    sleep,
    options: {
      maxQuiesceMs: options.maxQuiesceMs ?? 600_000,
      pollIntervalMs: 1_000,
      trackingPollIntervalMs: options.trackingPollIntervalMs ?? 1_000,
      restartBackoffMs: 500,
      ...(options.trackingLimitMs === undefined ? {} : { trackingLimitMs: options.trackingLimitMs }),
    },
  });
  const audited = (action: string) => (db.prepare('SELECT count(*) AS n FROM audit_log WHERE action = ?').get(action) as { n: number }).n;
  return { db, stacks, backups, store, runner, audited, advance: (ms: number) => (now += ms) };
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

  it('when polls answer slowly, then they still keep to the fast rate while the apps are down and to the slow one while tracking', async (t) => {
    const h = harness(t, ['queued', 'running', 'running', 'snapshotted', 'snapshotted', 'snapshotted', 'done'], { trackingPollIntervalMs: 10_000 });
    h.backups.answerTakesMs = 300;
    const started = Date.parse('2026-11-23T03:00:00Z');
    const run = await runOnce(h);
    const gaps = h.backups.polledAt.map((at, i) => at - (h.backups.polledAt[i - 1] ?? started));
    // The first poll comes one interval after the request; an answer's 300 ms is not added to the next wait.
    assert.deepEqual(gaps, [1_000, 1_000, 1_000, 1_000, 10_000, 10_000, 10_000]);
    assert.equal(run.resumeReason, 'snapshotted');
    assert.equal(run.downtimeMs, 4_300, 'resumed as soon as the fourth poll answered');
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

  it('when the agent stops answering, then the stacks restart once polls have failed for 10 s and tracking goes on to done', async (t) => {
    const down = new Error('agent GET /backup/status: connect ECONNREFUSED');
    const h = harness(t, ['running', ...Array<Error>(12).fill(down), 'done']);
    const run = await runOnce(h);
    assert.equal(run.resumeReason, 'agent_unreachable');
    assert.equal(run.downtimeMs, 12_000, 'the first failed poll at 2 s, the eleventh (10 s later) ends the wait');
    assert.equal(run.outcome, 'succeeded');
    assert.equal(h.backups.requests, 1, 'no second backup');
  });

  it('when the agent is away for a few seconds (a restart), then the apps stay down until its snapshot', async (t) => {
    const down = new Error('agent GET /backup/status: connect ECONNREFUSED');
    const h = harness(t, ['running', down, down, down, down, down, 'snapshotted', 'done']);
    const run = await runOnce(h);
    assert.equal(run.resumeReason, 'snapshotted');
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

describe('the quiesce runner when things go wrong', () => {
  it('when a stack fails to stop, then no backup is asked for, what was stopped runs again, and the run closes failed saying why', async (t) => {
    const h = harness(t, ['snapshotted', 'done']);
    h.stacks.stopError = new Error('docker: stopping containers of project media failed for media-web-1: timeout');
    const run = await runOnce(h);
    assert.equal(h.backups.requests, 0, 'no backup while an app may still be writing');
    assert.deepEqual(h.stacks.calls, ['stop media,notes,photos', 'start media,notes,photos']);
    assert.equal(h.stacks.running.size, 3);
    assert.equal(run.phase, 'closed');
    assert.equal(run.outcome, 'failed');
    assert.equal(run.resumeReason, 'stop_failed');
    assert.match(run.error!, /stopping the apps failed, so no backup was asked for: .*media-web-1: timeout/);
  });

  it('when writing the marker fails for another reason than a run in progress, then trigger says so instead of "in progress"', async (t) => {
    const h = harness(t, ['done']);
    h.db.exec("CREATE TRIGGER no_inserts BEFORE INSERT ON quiesce_runs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    await assert.rejects(h.runner.trigger('manual'), /disk I\/O error/);
    assert.deepEqual(h.stacks.calls, [], 'nothing was stopped');
  });

  it('when the controller is closing, then trigger refuses to start a run, also one that began before the close', async (t) => {
    const h = harness(t, ['done']);
    let release!: () => void;
    const slowList = h.stacks.quiescable.bind(h.stacks);
    h.stacks.quiescable = async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return slowList();
    };
    const during = h.runner.trigger('manual');
    await new Promise((resolve) => setImmediate(resolve));
    await h.runner.shutdown();
    release();
    await assert.rejects(during, (e: unknown) => e instanceof AppError && e.code === 'unavailable');
    await assert.rejects(h.runner.trigger('scheduled'), (e: unknown) => e instanceof AppError && e.code === 'unavailable' && /shutting down/.test(e.message));
    assert.deepEqual(h.stacks.calls, []);
    assert.equal(h.store.open(), null);
  });

  it('when the agent no longer knows the backup while the apps are down, then they run again and the run closes unknown', async (t) => {
    const h = harness(t, ['running', 'missing', 'running']);
    const run = await within(runOnce(h), { what: 'the run', timeoutMs: 5_000 });
    assert.equal(h.stacks.running.size, 3);
    assert.equal(run.phase, 'closed');
    assert.equal(run.resumeReason, 'backup_missing');
    assert.equal(run.outcome, 'unknown');
    assert.match(run.error!, /no longer knows backup bk-1/);
    assert.equal(run.downtimeMs, 2_000, 'resumed at the second poll, not at the max-quiesce bound');
    assert.equal(h.backups.polls, 2, 'not tracked any further');
  });

  it('when the agent no longer knows the backup while it is tracked, then the run closes unknown', async (t) => {
    const h = harness(t, ['snapshotted', 'running', 'missing', 'done']);
    const run = await within(runOnce(h), { what: 'the run', timeoutMs: 5_000 });
    assert.equal(run.resumeReason, 'snapshotted');
    assert.equal(run.outcome, 'unknown');
    assert.match(run.error!, /no longer knows backup bk-1/);
    assert.equal(h.store.open(), null, 'single flight is free for the next backup');
  });

  it('when tracking goes on past its bound, then the run closes unknown so later backups are not blocked', async (t) => {
    const h = harness(t, ['snapshotted', 'running'], { maxQuiesceMs: 10_000, trackingLimitMs: 30_000 });
    const run = await within(runOnce(h), { what: 'the run', timeoutMs: 5_000 });
    assert.equal(run.phase, 'closed');
    assert.equal(run.outcome, 'unknown');
    assert.match(run.error!, /had not reported the end of backup bk-1 1 minutes after the run started/);
    assert.ok(Date.parse(run.finishedAt!) - Date.parse(run.startedAt) <= 30_000);
    assert.equal(h.stacks.running.size, 3);
  });

  it('by default, tracking is bounded by a multiple of the max-quiesce bound', async (t) => {
    const h = harness(t, ['snapshotted', 'running'], { maxQuiesceMs: 10_000 });
    const run = await within(runOnce(h), { what: 'the run', timeoutMs: 5_000 });
    assert.equal(run.outcome, 'unknown');
    const tracked = Date.parse(run.finishedAt!) - Date.parse(run.startedAt);
    assert.ok(tracked >= TRACKING_LIMIT_FACTOR * 10_000 && tracked <= TRACKING_LIMIT_FACTOR * 10_000 + 1_000, `tracked ${tracked} ms`);
  });

  it('when a status poll hangs, then the max-quiesce bound still restarts the apps on time', async (t) => {
    const h = harness(t, ['running', 'hang'], { maxQuiesceMs: 2_500, trackingLimitMs: 20_000 });
    const run = await within(runOnce(h), { what: 'the run', timeoutMs: 5_000 });
    assert.equal(run.resumeReason, 'max_quiesce');
    assert.equal(run.downtimeMs, 2_500, 'not a moment past the bound');
    assert.equal(h.stacks.running.size, 3);
    assert.equal(run.outcome, 'unknown', 'the hanging agent never said how the backup ended');
  });

  it('when a status poll hangs and the controller shuts down, then the apps run again at once', async (t) => {
    const h = harness(t, ['hang'], { longWaitMs: 60_000 });
    const started = (await h.runner.trigger('manual'))!;
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.backups.polls, 1, 'the poll hangs');
    await within(h.runner.shutdown(), { what: 'shutdown', timeoutMs: 2_000 });
    assert.equal(h.stacks.running.size, 3);
    assert.equal((await started.done).resumeReason, 'shutdown');
  });

  it('when the loop itself fails and a stack will not start, then the restart is retried with backoff and audited', async (t) => {
    const h = harness(t, ['running']);
    const started = (await h.runner.trigger('scheduled'))!;
    await new Promise((resolve) => setImmediate(resolve));
    h.db.exec("CREATE TRIGGER no_saves BEFORE UPDATE ON quiesce_runs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    h.stacks.failStarts = 2;
    await within(started.done, { what: 'the run', timeoutMs: 5_000 });
    assert.equal(h.stacks.calls.filter((c) => c.startsWith('start')).length, 3);
    assert.equal(h.stacks.running.size, 3, 'the apps run again');
    assert.equal(h.audited('backup.restart_failed'), 2);
  });

  it('when a run starts, then it records which containers of each stack ran, and restarts exactly those', async (t) => {
    const h = harness(t, ['snapshotted', 'done']);
    const started = (await h.runner.trigger('manual'))!;
    const expected = { media: ['media-web-1'], notes: ['notes-web-1'], photos: ['photos-web-1'] };
    assert.deepEqual(started.run.containers, expected);
    await started.done;
    assert.deepEqual(h.stacks.startedWith, [expected]);
    assert.deepEqual(h.store.get(started.run.id)!.containers, expected, 'kept with the run, for a restart after a crash');
  });

  it('when a stack fails to restart, then the run says which, durably, until it runs again', async (t) => {
    const h = harness(t, ['snapshotted', 'done']);
    h.stacks.wontStart.add('media');
    const started = (await h.runner.trigger('manual'))!;
    const seen = await until(() => h.store.open()?.failedRestarts ?? [], { what: 'the failed restart to be recorded', done: (names) => names.length > 0, timeoutMs: 1_000, intervalMs: 1 });
    assert.deepEqual(seen, ['media']);
    assert.equal(h.store.open()!.phase, 'resuming');
    h.stacks.wontStart.clear();
    const run = await within(started.done, { what: 'the run', timeoutMs: 5_000 });
    assert.deepEqual(run.failedRestarts, [], 'cleared once it runs');
    assert.equal(run.outcome, 'succeeded');
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

  it('when a stack cannot start (its disk is gone), then recovery returns after the first attempt and retries in the background until the storage watch takes it', async (t) => {
    const h = harness(t, ['done']);
    leftOpen(h, [{ type: 'stacks_stopped' }, { type: 'backup_accepted', backupId: 'bk-9' }]);
    h.stacks.wontStart.add('media');
    const recovery = h.runner.recover()!;
    await within(recovery.resumed, { what: 'resumed', timeoutMs: 2_000 });
    assert.equal(h.stacks.calls.filter((c) => c.startsWith('start')).length, 1, 'serving waits for the first attempt only');
    assert.ok(h.stacks.running.has('photos'));
    assert.deepEqual(h.store.open()!.failedRestarts, ['media']);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(h.audited('backup.restart_failed') >= 2, 'retried in the background, each failure audited');
    // The storage watch marks the app stopped for storage: it is no longer the run's to start.
    h.stacks.stoppedForStorage.add('media');
    const run = await within(recovery.done, { what: 'the run', timeoutMs: 5_000 });
    assert.equal(run.phase, 'closed');
    assert.deepEqual(run.failedRestarts, []);
  });

  it('when nothing was left open, then there is nothing to do', async (t) => {
    const h = harness(t, ['done']);
    assert.equal(h.runner.recover(), null);
    assert.deepEqual(h.stacks.calls, []);
  });
});
