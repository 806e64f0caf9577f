/**
 * The quiesce loop wired to the controller: the app stacks (the apps domain's StackPort),
 * the agent as its BackupPort, and a node-cron schedule that asks the agent whether a
 * backup is due. Built by the composition root; recovery runs before serving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { schedule, type ScheduledTask } from 'node-cron';
import { isAgentError, type AgentClient } from '../agent/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { QuiesceRunner, type BackupPort, type StackPort } from './runner.ts';
import type { Run } from './machine.ts';
import { createRunStore, type StoredRun } from './store.ts';

export interface QuiesceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  /** The app stacks the loop stops and starts again; supplied by the apps domain. */
  stacks: StackPort;
  agent: Pick<AgentClient, 'requestBackup' | 'getBackupStatus' | 'getBackupDue'>;
  maxQuiesceMs: number;
  pollIntervalMs: number;
  trackingPollIntervalMs: number;
  /** When to ask the agent whether a backup is due (cron syntax). */
  schedule: string;
}

export interface Quiesce {
  /**
   * At start, before serving: finishes a run a crash left open (null when none is).
   * `resumed` settles once its stacks were first tried again; `done` when it is closed.
   */
  recover(): { resumed: Promise<void>; done: Promise<StoredRun> } | null;
  /** Starts a run with the apps stopped; null when one is already open. */
  trigger(reason: Run['trigger']): Promise<{ run: StoredRun; done: Promise<StoredRun> } | null>;
  /** The open run, if any. */
  current(): StoredRun | null;
  /** The latest runs, newest first. */
  runs(limit?: number): StoredRun[];
  startSchedule(): void;
  /** Asks the agent now; starts a run when a backup is due. */
  checkDue(): Promise<void>;
  close(): Promise<void>;
}

function backupPort(agent: QuiesceDeps['agent']): BackupPort {
  return {
    requestBackup: async (reason) => ({ id: (await agent.requestBackup(reason)).id }),
    async backupStatus(id) {
      try {
        // No retries: the loop polls again anyway, and bounds each poll by its own deadline.
        const status = await agent.getBackupStatus(id, { retries: 0 });
        // An agent that has no such backup (any more): not a failed poll, a final answer.
        if (status.backup === null) return null;
        return { phase: status.backup.phase, error: status.backup.error ?? null };
      } catch (error) {
        if (isAgentError(error, 'not_found')) return null;
        throw error;
      }
    },
  };
}

export function createQuiesce(deps: QuiesceDeps): Quiesce {
  const logger = deps.logger.child({ component: 'quiesce' });
  const store = createRunStore(deps.db, deps.clock);
  const runner = new QuiesceRunner({
    stacks: deps.stacks,
    backups: backupPort(deps.agent),
    store,
    clock: deps.clock,
    audit: deps.audit,
    logger,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
    options: {
      maxQuiesceMs: deps.maxQuiesceMs,
      pollIntervalMs: deps.pollIntervalMs,
      trackingPollIntervalMs: deps.trackingPollIntervalMs,
      restartBackoffMs: 1_000,
    },
  });
  let task: ScheduledTask | null = null;
  const checkDue = async () => {
    if (runner.busy || store.open()) return;
    try {
      if ((await deps.agent.getBackupDue()).due) await runner.trigger('scheduled');
    } catch (error) {
      logger.warn({ err: error }, 'could not ask the agent whether a backup is due');
    }
  };
  return {
    recover: () => runner.recover(),
    trigger: (reason) => runner.trigger(reason),
    current: () => store.open(),
    runs: (limit) => store.list(limit),
    checkDue,
    startSchedule() {
      task ??= schedule(deps.schedule, checkDue, { noOverlap: true });
    },
    async close() {
      await task?.stop();
      task = null;
      await runner.shutdown();
    },
  };
}
