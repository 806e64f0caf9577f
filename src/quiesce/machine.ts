/**
 * The quiesce loop as one table: its phases, the events that move it, and what each
 * move asks the outside world to do. Pure: no Docker, no agent, no clock, no storage;
 * the runner persists every new run state before it carries out the commands, so a
 * crash at any point leaves a run that says exactly where it stood (context/004 §8).
 *
 *   stopping ──stacks_stopped──▶ requesting ──backup_accepted──▶ waiting
 *      │                             │                              │ snapshotted / done / failed,
 *      │ stop_failed, deadline,      │ request_failed, deadline,    │ backup_missing, polls failing for
 *      │ shutdown, crash_recovered   │ shutdown, crash_recovered    │ 10 s, deadline, shutdown, crash_recovered
 *      ▼                             ▼                              ▼
 *   resuming ◀────────────────────────────────────────────────────────
 *      │ stacks_restarted
 *      ├── backup still in flight, outcome open ──▶ tracking ──done / failed / backup_missing / tracking_expired──▶ closed
 *      └── otherwise ──────────────────────────────────────────────────────────────────────────────────────────▶ closed
 *
 * Guarantee: from every phase before `resuming`, every event that is not progress
 * leads to `resuming`, whose only way out is restarting the stacks the run stopped
 * (their containers that ran before the stop). A stranded app would need a phase with
 * no such exit; the table has none.
 *
 * Every other decision that depends on the phase lives here too, as small pure
 * functions below the table: which bound holds a run (`appsHeldDown`), whether a
 * deadline or shutdown cuts a command short (`interruptsBefore`), and which moments of
 * its history a move marks (`momentsOf`). The runner and the store only ask.
 */
import { inEnglish, type Message } from '../i18n/index.ts';

export const phases = ['stopping', 'requesting', 'waiting', 'resuming', 'tracking', 'closed'] as const;
export type Phase = (typeof phases)[number];

export type Outcome = 'succeeded' | 'failed' | 'unknown';

/** Why the apps were started again. */
export type ResumeReason =
  | 'snapshotted'
  | 'backup_done'
  | 'backup_failed'
  | 'request_failed'
  | 'agent_unreachable'
  | 'max_quiesce'
  | 'shutdown'
  | 'crash_recovery'
  /** Stopping a stack failed: no backup is asked for while an app may still be writing. */
  | 'stop_failed'
  /** The agent no longer knows the backup (404, or `backup: null`). */
  | 'backup_missing';

export interface Run {
  id: string;
  trigger: 'scheduled' | 'manual';
  /** Exactly the stacks this run stops, and so exactly those it restarts. */
  stacks: string[];
  /**
   * Per stack, the names of its containers that ran before the stop: the restart starts
   * those and succeeds when they run again. Null for a run recorded before this existed.
   */
  containers: Record<string, string[]> | null;
  /** The stacks whose last restart attempt failed (empty once every one runs again). */
  failedRestarts: string[];
  phase: Phase;
  backupId: string | null;
  /** The last backup phase the agent reported. */
  backupPhase: string | null;
  consecutivePollFailures: number;
  resumeReason: ResumeReason | null;
  outcome: Outcome | null;
  /** Containers Docker had to kill to stop them: the backup holds them as after a power cut. */
  killedOnStop: string[];
  /** Why the run failed or its outcome is unknown, in English (the API, the log)… */
  error: string | null;
  /** …and as a catalog message, for the customer's language. */
  errorText: Message | null;
}

export type Event =
  /** `killed`: containers Docker had to kill after their grace period (their files are crash-consistent). */
  | { type: 'stacks_stopped'; killed?: string[] }
  | { type: 'stop_failed'; error: Message }
  | { type: 'backup_accepted'; backupId: string }
  | { type: 'request_failed'; error: Message }
  | { type: 'backup_phase'; phase: string; error?: Message | null }
  /** `failingForMs`: since the first failed poll of this streak was sent. */
  | { type: 'poll_failed'; error: Message; failingForMs: number }
  | { type: 'backup_missing'; error: Message }
  | { type: 'tracking_expired'; error: Message }
  | { type: 'deadline' }
  | { type: 'shutdown' }
  | { type: 'crash_recovered' }
  | { type: 'stacks_restarted' };

/**
 * What the runner must do after persisting the new state. `settle_stops` stops the stacks
 * again only to finish stops a dead process left in flight: its outcome changes nothing,
 * so it reports no event. `close` records the end of the run.
 */
export type Command = 'stop_stacks' | 'settle_stops' | 'request_backup' | 'poll_backup' | 'restart_stacks' | 'close';

export interface Transition {
  run: Run;
  commands: Command[];
}

/**
 * The agent counts as unreachable, and the apps come back without their backup, once
 * status polls have failed for this long and this many times in a row: time, not a count
 * alone, because polls are fast while the apps are down (an agent restarting for a few
 * seconds must not end a quiesce), and a count too, so one hung request is not enough.
 */
export const AGENT_UNREACHABLE_MS = 10_000;
export const MIN_FAILED_POLLS = 3;

/** A backup that has not reached `done` or `failed`; an unknown phase counts as in flight (CONTRACT.md). */
const backupInFlight = (run: Run): boolean => run.backupId !== null && run.backupPhase !== 'done' && run.backupPhase !== 'failed';

/**
 * What a closed run's backup holds. `app`: it succeeded, and the apps stayed down until
 * the agent said its snapshot existed (`snapshotted`) or the backup was done; a run that
 * stopped no app is as good. `crash`: it succeeded, but the apps were started before that
 * (a crash, the bound, an unreachable agent, a shutdown), so it holds running apps, as a
 * power cut would leave them. Null: no successful backup (yet).
 */
export type Consistency = 'app' | 'crash';

export function consistencyOf(run: Pick<Run, 'phase' | 'outcome' | 'resumeReason' | 'killedOnStop'>): Consistency | null {
  if (run.phase !== 'closed' || run.outcome !== 'succeeded') return null;
  if (run.killedOnStop.length > 0) return 'crash';
  return run.resumeReason === 'snapshotted' || run.resumeReason === 'backup_done' ? 'app' : 'crash';
}

export function startRun(input: { id: string; trigger: Run['trigger']; stacks: string[]; containers?: Record<string, string[]> }): Transition {
  const run: Run = {
    id: input.id,
    trigger: input.trigger,
    stacks: [...input.stacks],
    containers: input.containers ? structuredClone(input.containers) : null,
    failedRestarts: [],
    phase: 'stopping',
    backupId: null,
    backupPhase: null,
    consecutivePollFailures: 0,
    killedOnStop: [],
    resumeReason: null,
    outcome: null,
    error: null,
    errorText: null,
  };
  return { run, commands: ['stop_stacks'] };
}

export class IllegalTransition extends Error {
  constructor(phase: Phase, event: Event['type']) {
    super(`quiesce: event ${event} is not expected in phase ${phase}`);
    this.name = 'IllegalTransition';
  }
}

type Handler<E extends Event> = (run: Run, event: E) => Transition;
type Table = { [P in Phase]: { [T in Event['type']]?: Handler<Extract<Event, { type: T }>> } };

const resume = (run: Run, reason: ResumeReason, change: Partial<Run> = {}): Transition => ({
  run: { ...run, ...change, phase: 'resuming', resumeReason: run.resumeReason ?? reason },
  commands: ['restart_stacks'],
});

/** Every way out of a phase in which the apps are (or may be) down: back to running apps. */
const abandon = {
  deadline: (run: Run) => resume(run, 'max_quiesce'),
  shutdown: (run: Run) => resume(run, 'shutdown'),
  crash_recovered: (run: Run) => resume(run, 'crash_recovery'),
};

/** A run's error, kept in English and as its catalog message. */
const because = (text: Message): Pick<Run, 'error' | 'errorText'> => ({ error: inEnglish(text), errorText: text });

const close = (run: Run, outcome: Outcome, change: Partial<Run> = {}): Transition => ({
  run: { ...run, ...change, phase: 'closed', outcome },
  commands: ['close'],
});

function finishedBackup(run: Run): Outcome {
  if (run.backupPhase === 'done') return 'succeeded';
  if (run.backupPhase === 'failed') return 'failed';
  return run.backupId === null ? 'failed' : 'unknown';
}

export const table: Table = {
  stopping: {
    stacks_stopped: (run, e) => ({ run: { ...run, phase: 'requesting', killedOnStop: e.killed ?? [] }, commands: ['request_backup'] }),
    // A stack that did not stop may still be writing: its backup would not be consistent.
    stop_failed: (run, e) => resume(run, 'stop_failed', { outcome: 'failed', ...because(e.error) }),
    ...abandon,
    // Docker goes on with a stop it was asked for after the controller died, and would
    // win over a start issued meanwhile: finish the stops first, then start.
    crash_recovered: (run) => ({ ...resume(run, 'crash_recovery'), commands: ['settle_stops', 'restart_stacks'] }),
  },
  requesting: {
    backup_accepted: (run, e) => ({ run: { ...run, phase: 'waiting', backupId: e.backupId, backupPhase: 'queued' }, commands: ['poll_backup'] }),
    request_failed: (run, e) => resume(run, 'request_failed', because(e.error)),
    ...abandon,
    // The request was in flight: the agent may have started the backup, and it is not asked again.
    crash_recovered: (run) =>
      resume(run, 'crash_recovery', { outcome: 'unknown', ...because({ key: 'error.quiesce_request_interrupted' }) }),
  },
  waiting: {
    backup_phase: (run, e) => {
      const seen = { ...run, backupPhase: e.phase, consecutivePollFailures: 0 };
      // 8B.2: from `snapshotted` on the backup reads the snapshot, which froze the stopped apps.
      if (e.phase === 'snapshotted') return resume(seen, 'snapshotted');
      if (e.phase === 'done') return resume(seen, 'backup_done');
      if (e.phase === 'failed') return resume(seen, 'backup_failed', because(e.error ?? { key: 'error.quiesce_backup_failed' }));
      return { run: seen, commands: ['poll_backup'] };
    },
    poll_failed: (run, e) => {
      const failures = run.consecutivePollFailures + 1;
      if (failures >= MIN_FAILED_POLLS && e.failingForMs >= AGENT_UNREACHABLE_MS) {
        return resume(run, 'agent_unreachable', { consecutivePollFailures: failures, ...because(e.error) });
      }
      return { run: { ...run, consecutivePollFailures: failures }, commands: ['poll_backup'] };
    },
    // Nothing left to wait for: the apps come back and the run ends without an outcome.
    backup_missing: (run, e) => resume(run, 'backup_missing', { outcome: 'unknown', ...because(e.error) }),
    ...abandon,
  },
  resuming: {
    // An outcome already settled (the stop failed, the backup went missing) is not tracked.
    stacks_restarted: (run) =>
      run.outcome === null && backupInFlight(run)
        ? { run: { ...run, phase: 'tracking' }, commands: ['poll_backup'] }
        : close(run, run.outcome ?? finishedBackup(run)),
    // Already resuming: restarting is idempotent, so any of these simply restarts again.
    crash_recovered: (run) => ({ run, commands: ['restart_stacks'] }),
    shutdown: (run) => ({ run, commands: ['restart_stacks'] }),
    deadline: (run) => ({ run, commands: ['restart_stacks'] }),
  },
  tracking: {
    backup_phase: (run, e) => {
      const seen = { ...run, backupPhase: e.phase, consecutivePollFailures: 0 };
      if (e.phase === 'done') return close(seen, 'succeeded');
      if (e.phase === 'failed') return close(seen, 'failed', because(e.error ?? { key: 'error.quiesce_backup_failed' }));
      return { run: seen, commands: ['poll_backup'] };
    },
    // The apps run again; a silent agent only delays learning the outcome.
    poll_failed: (run) => ({ run: { ...run, consecutivePollFailures: run.consecutivePollFailures + 1 }, commands: ['poll_backup'] }),
    // Tracking ends: an open run blocks every later backup (single flight).
    backup_missing: (run, e) => close(run, 'unknown', because(e.error)),
    tracking_expired: (run, e) => close(run, 'unknown', because(e.error)),
    // After a crash: make sure the stacks run, then go on tracking.
    crash_recovered: (run) => ({ run, commands: ['restart_stacks'] }),
    stacks_restarted: (run) => ({ run, commands: ['poll_backup'] }),
    // The apps already run: nothing to undo; the run stays open and is tracked after a restart.
    shutdown: (run) => ({ run, commands: [] }),
    deadline: (run) => ({ run, commands: ['poll_backup'] }),
  },
  closed: {},
};

/**
 * Whether the run's apps are (or may be) down for the backup: the phases the max-quiesce
 * deadline bounds and the fast poll interval serves. From `tracking` on they run again,
 * and only the tracking limit bounds the run.
 */
export const appsHeldDown = (phase: Phase): boolean => phase !== 'tracking' && phase !== 'closed';

/**
 * Whether a deadline or a shutdown that has already come ends the phase before this
 * command is carried out (the runner then feeds it as the event instead). Only while the
 * apps go down or wait for the backup; the way back up (`resuming`, restarting) is never
 * cut short, and `tracking` polls answer interruptions themselves.
 */
export const interruptsBefore = (phase: Phase, command: Command): boolean =>
  (phase === 'stopping' || phase === 'requesting' || phase === 'waiting') && command !== 'restart_stacks';

/** The moments a run's history records, for the customer and the downtime figure. */
export type Moment = 'stopped' | 'requested' | 'snapshotted' | 'resumed' | 'finished';

/**
 * The moments a move from phase `from` to the state `run` marks; the store stamps each
 * the first time it is marked. `resumed` is when the stacks run again (leaving
 * `resuming`): the apps were down from the run's start until then.
 */
export function momentsOf(from: Phase, run: Run): Set<Moment> {
  const marked = new Set<Moment>();
  if (run.phase === 'requesting') marked.add('stopped');
  if (run.backupId !== null) marked.add('requested');
  if (run.backupPhase === 'snapshotted') marked.add('snapshotted');
  if (run.phase === 'tracking' || (run.phase === 'closed' && from === 'resuming')) marked.add('resumed');
  if (run.phase === 'closed') marked.add('finished');
  return marked;
}

export function transition(run: Run, event: Event): Transition {
  const handler = table[run.phase][event.type] as Handler<Event> | undefined;
  if (!handler) throw new IllegalTransition(run.phase, event.type);
  return handler(run, event);
}
