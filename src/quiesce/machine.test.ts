import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../i18n/index.ts';
import {
  IllegalTransition,
  AGENT_UNREACHABLE_MS,
  MIN_FAILED_POLLS,
  appsHeldDown,
  consistencyOf,
  interruptsBefore,
  momentsOf,
  phases,
  startRun,
  table,
  transition,
  type Command,
  type Event,
  type Run,
} from './machine.ts';

/** An error as the runner passes it: someone else's words, as they are. */
const said = (cause: string): Message => ({ key: 'error.cause', params: { cause } });

const started = () => startRun({ id: 'run-1', trigger: 'scheduled', stacks: ['photos', 'media'] });

/** Feeds events from a fresh run and returns the final transition. */
function walk(...events: Event[]) {
  let step = started();
  for (const event of events) step = transition(step.run, event);
  return step;
}

const accepted: Event = { type: 'backup_accepted', backupId: 'bk-101-1' };
const seen = (phase: string): Event => ({ type: 'backup_phase', phase });

describe('a quiesce run that goes well', () => {
  it('when it starts, then it writes the stacks it will stop and asks to stop them', () => {
    const { run, commands } = started();
    assert.equal(run.phase, 'stopping');
    assert.deepEqual(run.stacks, ['photos', 'media']);
    assert.deepEqual(commands, ['stop_stacks']);
  });

  it('when the stacks are stopped, then it requests the backup; when accepted, it polls', () => {
    assert.deepEqual(walk({ type: 'stacks_stopped' }).commands, ['request_backup']);
    const polling = walk({ type: 'stacks_stopped' }, accepted);
    assert.equal(polling.run.phase, 'waiting');
    assert.equal(polling.run.backupId, 'bk-101-1');
    assert.deepEqual(polling.commands, ['poll_backup']);
  });

  it('when the agent reports queued, running or an unknown phase, then it keeps polling with the apps down', () => {
    for (const phase of ['queued', 'running', 'verifying-something-new']) {
      const step = walk({ type: 'stacks_stopped' }, accepted, seen(phase));
      assert.equal(step.run.phase, 'waiting', phase);
      assert.deepEqual(step.commands, ['poll_backup']);
    }
  });

  it('when the snapshot exists (snapshot mode), then it restarts the apps at once and tracks the backup to done', () => {
    const resuming = walk({ type: 'stacks_stopped' }, accepted, seen('running'), seen('snapshotted'));
    assert.equal(resuming.run.phase, 'resuming');
    assert.equal(resuming.run.resumeReason, 'snapshotted');
    assert.deepEqual(resuming.commands, ['restart_stacks']);
    const tracking = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(tracking.run.phase, 'tracking');
    assert.deepEqual(tracking.commands, ['poll_backup']);
    const closed = transition(transition(tracking.run, seen('snapshotted')).run, seen('done'));
    assert.equal(closed.run.phase, 'closed');
    assert.equal(closed.run.outcome, 'succeeded');
    assert.deepEqual(closed.commands, ['close']);
  });

  it('when the mode has no snapshot phase (stop mode), then it restarts at done and closes without tracking', () => {
    const resuming = walk({ type: 'stacks_stopped' }, accepted, seen('running'), seen('done'));
    assert.equal(resuming.run.resumeReason, 'backup_done');
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(closed.run.phase, 'closed');
    assert.equal(closed.run.outcome, 'succeeded');
  });
});

describe('a quiesce run that goes wrong never strands an app', () => {
  it('when POST /backup fails, then the apps restart and the run closes failed with the reason', () => {
    const resuming = walk({ type: 'stacks_stopped' }, { type: 'request_failed', error: said('agent POST /backup: 409 conflict') });
    assert.equal(resuming.run.resumeReason, 'request_failed');
    assert.deepEqual(resuming.commands, ['restart_stacks']);
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(closed.run.outcome, 'failed');
    assert.match(closed.run.error!, /409 conflict/);
  });

  it('when the backup reports failed, then the apps restart and the run closes failed with the agent error', () => {
    const resuming = walk({ type: 'stacks_stopped' }, accepted, { type: 'backup_phase', phase: 'failed', error: said('vzdump: no space left') });
    assert.equal(resuming.run.resumeReason, 'backup_failed');
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(closed.run.outcome, 'failed');
    assert.equal(closed.run.error, 'vzdump: no space left');
  });

  const failedPoll = (failingForMs: number): Event => ({ type: 'poll_failed', error: said('timeout'), failingForMs });

  it(`when status polls fail for ${AGENT_UNREACHABLE_MS / 1000} s and ${MIN_FAILED_POLLS} times in a row, then the apps restart and the backup is still tracked`, () => {
    // Fast polls failing for 9.9 s (an agent restarting): still waiting.
    const events: Event[] = [{ type: 'stacks_stopped' }, accepted];
    for (let ms = 0; ms < AGENT_UNREACHABLE_MS; ms += 100) events.push(failedPoll(ms));
    const stillWaiting = walk(...events);
    assert.equal(stillWaiting.run.phase, 'waiting', 'a failed poll is not a failed backup');
    const resuming = transition(stillWaiting.run, failedPoll(AGENT_UNREACHABLE_MS));
    assert.equal(resuming.run.resumeReason, 'agent_unreachable');
    const tracking = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(tracking.run.phase, 'tracking', 'the backup may still finish on the agent');
    const closed = transition(tracking.run, seen('done'));
    assert.equal(closed.run.outcome, 'succeeded');
  });

  it(`when fewer than ${MIN_FAILED_POLLS} polls failed, then even a long failure (one hung request) does not end the wait`, () => {
    const waiting = walk({ type: 'stacks_stopped' }, accepted, failedPoll(30_000), failedPoll(60_000));
    assert.equal(waiting.run.phase, 'waiting');
    assert.equal(transition(waiting.run, failedPoll(90_000)).run.resumeReason, 'agent_unreachable');
  });

  it('when a poll succeeds between failures, then the count of consecutive failures starts again', () => {
    const events: Event[] = [{ type: 'stacks_stopped' }, accepted, failedPoll(0), failedPoll(5_000)];
    events.push(seen('running'), failedPoll(20_000));
    assert.equal(walk(...events).run.phase, 'waiting');
  });

  it('when the max-quiesce bound passes, then the apps restart whatever the backup is doing, and the run says so', () => {
    const resuming = walk({ type: 'stacks_stopped' }, accepted, seen('running'), { type: 'deadline' });
    assert.equal(resuming.run.resumeReason, 'max_quiesce');
    const tracking = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(tracking.run.phase, 'tracking');
  });

  it('when the agent never answers while tracking, then the apps stay up and tracking goes on', () => {
    const tracking = transition(walk({ type: 'stacks_stopped' }, accepted, seen('snapshotted')).run, { type: 'stacks_restarted' });
    const after = transition(tracking.run, failedPoll(60_000));
    assert.equal(after.run.phase, 'tracking');
    assert.deepEqual(after.commands, ['poll_backup']);
  });

  it('when a stack fails to stop, then no backup is requested: the stacks restart and the run closes failed', () => {
    const resuming = walk({ type: 'stop_failed', error: said('docker: stopping photos failed') });
    assert.equal(resuming.run.phase, 'resuming');
    assert.equal(resuming.run.resumeReason, 'stop_failed');
    assert.deepEqual(resuming.commands, ['restart_stacks']);
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(closed.run.outcome, 'failed');
    assert.equal(closed.run.error, 'docker: stopping photos failed');
  });

  it('when the agent no longer knows the backup, then the apps restart and the run closes unknown instead of tracking it', () => {
    const resuming = walk({ type: 'stacks_stopped' }, accepted, seen('running'), { type: 'backup_missing', error: said('gone') });
    assert.equal(resuming.run.resumeReason, 'backup_missing');
    assert.deepEqual(resuming.commands, ['restart_stacks']);
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.equal(closed.run.phase, 'closed');
    assert.equal(closed.run.outcome, 'unknown');
    assert.equal(closed.run.error, 'gone');
    const tracking = transition(walk({ type: 'stacks_stopped' }, accepted, seen('snapshotted')).run, { type: 'stacks_restarted' }).run;
    for (const event of [{ type: 'backup_missing', error: said('gone') }, { type: 'tracking_expired', error: said('too long') }] satisfies Event[]) {
      const ended = transition(tracking, event);
      assert.equal(ended.run.phase, 'closed', event.type);
      assert.equal(ended.run.outcome, 'unknown');
      assert.deepEqual(ended.commands, ['close']);
    }
  });

  const downPhases: Array<[string, Event[]]> = [
    ['stopping', []],
    ['requesting', [{ type: 'stacks_stopped' }]],
    ['waiting', [{ type: 'stacks_stopped' }, accepted]],
  ];
  for (const [phase, events] of downPhases) {
    for (const [event, reason] of [
      ['deadline', 'max_quiesce'],
      ['shutdown', 'shutdown'],
      ['crash_recovered', 'crash_recovery'],
    ] as const) {
      it(`when ${event} arrives in ${phase}, then it restarts the stacks (reason ${reason})`, () => {
        const step = walk(...events, { type: event });
        assert.equal(step.run.phase, 'resuming');
        assert.equal(step.run.resumeReason, reason);
        // After a crash while stopping, stops Docker still carries out are finished first.
        const settleFirst = phase === 'stopping' && event === 'crash_recovered';
        assert.deepEqual(step.commands, settleFirst ? ['settle_stops', 'restart_stacks'] : ['restart_stacks']);
        assert.deepEqual(step.run.stacks, ['photos', 'media'], 'exactly the stacks the run stopped');
      });
    }
  }

  it('when a crash, shutdown or deadline hits while resuming, then it restarts again (restarting is idempotent)', () => {
    const resuming = walk({ type: 'stacks_stopped' }, { type: 'request_failed', error: said('x') });
    for (const type of ['crash_recovered', 'shutdown', 'deadline'] as const) {
      const step = transition(resuming.run, { type });
      assert.equal(step.run.phase, 'resuming');
      assert.deepEqual(step.commands, ['restart_stacks']);
      assert.equal(step.run.resumeReason, 'request_failed', 'the first reason is kept');
    }
  });

  it('when the controller restarts during tracking, then it makes sure the stacks run and keeps tracking; a shutdown leaves the run open', () => {
    const tracking = transition(walk({ type: 'stacks_stopped' }, accepted, seen('snapshotted')).run, { type: 'stacks_restarted' }).run;
    const recovered = transition(tracking, { type: 'crash_recovered' });
    assert.deepEqual(recovered.commands, ['restart_stacks']);
    const running = transition(recovered.run, { type: 'stacks_restarted' });
    assert.equal(running.run.phase, 'tracking');
    assert.deepEqual(running.commands, ['poll_backup']);
    const shutdown = transition(tracking, { type: 'shutdown' });
    assert.equal(shutdown.run.phase, 'tracking');
    assert.deepEqual(shutdown.commands, []);
  });

  it('when resumed before any backup was accepted, then the run closes failed rather than tracking nothing', () => {
    const closed = transition(walk({ type: 'shutdown' }).run, { type: 'stacks_restarted' });
    assert.equal(closed.run.phase, 'closed');
    assert.equal(closed.run.outcome, 'failed');
  });

  it('when a crash cut the backup request short, then the run closes unknown, saying the agent may have started it', () => {
    const closed = transition(walk({ type: 'stacks_stopped' }, { type: 'crash_recovered' }).run, { type: 'stacks_restarted' });
    assert.equal(closed.run.outcome, 'unknown');
    assert.match(closed.run.error!, /whether the agent started it is unknown/);
  });
});

describe('the table itself', () => {
  it('when any phase before resuming meets an event other than progress, then its only exit is resuming', () => {
    const progress = new Set(['stacks_stopped', 'backup_accepted', 'backup_phase', 'poll_failed']);
    const probe: Run = { ...started().run, backupId: 'bk', backupPhase: 'running' };
    for (const phase of ['stopping', 'requesting', 'waiting'] as const) {
      for (const type of Object.keys(table[phase])) {
        if (progress.has(type)) continue;
        const event = (['request_failed', 'stop_failed', 'backup_missing'].includes(type) ? { type, error: said('x') } : { type }) as Event;
        assert.equal(transition({ ...probe, phase }, event).run.phase, 'resuming', `${phase} + ${type}`);
      }
    }
  });

  it('when an event is not expected in a phase, then the transition is refused by name, and a closed run accepts nothing', () => {
    assert.throws(() => transition(started().run, accepted), (e: unknown) => e instanceof IllegalTransition && /backup_accepted is not expected in phase stopping/.test(e.message));
    const closed = transition(walk({ type: 'shutdown' }).run, { type: 'stacks_restarted' }).run;
    for (const type of ['shutdown', 'deadline', 'crash_recovered', 'stacks_restarted'] as const) {
      assert.throws(() => transition(closed, { type }), IllegalTransition);
    }
    assert.deepEqual([...phases], ['stopping', 'requesting', 'waiting', 'resuming', 'tracking', 'closed']);
  });
});

describe('what a closed run says about its backup', () => {
  const closedRun = (resumeReason: Run['resumeReason'], outcome: Run['outcome'], killedOnStop: string[] = []) => ({ phase: 'closed' as const, resumeReason, outcome, killedOnStop });
  it('when the apps stayed down until the snapshot (or the end), then the backup is app-consistent', () => {
    assert.equal(consistencyOf(closedRun('snapshotted', 'succeeded')), 'app');
    assert.equal(consistencyOf(closedRun('backup_done', 'succeeded')), 'app');
  });
  it('when Docker had to kill a container to stop it, then even a backup taken with the apps down is only crash-consistent', () => {
    assert.equal(consistencyOf(closedRun('snapshotted', 'succeeded', ['photos-db-1'])), 'crash');
    const stopped = walk({ type: 'stacks_stopped', killed: ['photos-db-1'] });
    assert.deepEqual(stopped.run.killedOnStop, ['photos-db-1'], 'the run remembers whom the stop killed');
  });
  it('when the apps came back before the snapshot, then a successful backup is only crash-consistent', () => {
    for (const reason of ['crash_recovery', 'agent_unreachable', 'max_quiesce', 'shutdown'] as const) {
      assert.equal(consistencyOf(closedRun(reason, 'succeeded')), 'crash', reason);
    }
  });
  it('when there is no successful backup, or the run is open, then it says nothing', () => {
    assert.equal(consistencyOf(closedRun('backup_failed', 'failed')), null);
    assert.equal(consistencyOf(closedRun('backup_missing', 'unknown')), null);
    assert.equal(consistencyOf({ phase: 'tracking', resumeReason: 'snapshotted', outcome: null, killedOnStop: [] }), null);
  });
});

describe('what the runner and the store ask the table', () => {
  const commands: Command[] = ['stop_stacks', 'settle_stops', 'request_backup', 'poll_backup', 'restart_stacks'];

  it('when the apps are going down, down, or being started again, then the max-quiesce bound holds; from tracking on it does not', () => {
    assert.deepEqual(
      phases.filter((phase) => appsHeldDown(phase)),
      ['stopping', 'requesting', 'waiting', 'resuming'],
    );
  });

  it('when a deadline or shutdown has come, then it cuts short stopping, requesting and waiting, but never the way back up or tracking', () => {
    for (const phase of phases) {
      for (const command of commands) {
        const expected = ['stopping', 'requesting', 'waiting'].includes(phase) && command !== 'restart_stacks';
        assert.equal(interruptsBefore(phase, command), expected, `${command} in ${phase}`);
      }
    }
  });

  it('when a run moves through its phases, then each move marks the moments of its history, and the apps count as resumed only once they run again', () => {
    const marks: string[][] = [];
    let step = started();
    for (const event of [{ type: 'stacks_stopped' }, accepted, seen('snapshotted'), { type: 'stacks_restarted' }, seen('done')] as Event[]) {
      const next = transition(step.run, event);
      marks.push([...momentsOf(step.run.phase, next.run)].sort());
      step = next;
    }
    assert.deepEqual(marks, [
      ['stopped'],
      ['requested'],
      ['requested', 'snapshotted'],
      ['requested', 'resumed', 'snapshotted'],
      ['finished', 'requested'],
    ]);
  });

  it('when a run closes straight from resuming (nothing to track), then that move marks both the restart and the end', () => {
    const resuming = walk({ type: 'stop_failed', error: said('x') });
    assert.equal(momentsOf('stopping', resuming.run).has('resumed'), false, 'starting the stacks is not their running again');
    const closed = transition(resuming.run, { type: 'stacks_restarted' });
    assert.deepEqual([...momentsOf('resuming', closed.run)].sort(), ['finished', 'resumed']);
  });
});
