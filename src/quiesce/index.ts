/**
 * The quiesce loop wired to the controller: the app stacks as the loop's StackPort, the
 * agent as its BackupPort, and a node-cron schedule that asks the agent whether a
 * backup is due. Built by the composition root; recovery runs before serving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { schedule, type ScheduledTask } from 'node-cron';
import type { AgentClient } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { QuiesceRunner, type BackupPort, type StackPort } from './runner.ts';
import { createRunStore, type RunStore } from './store.ts';

export { quiesceApi } from './routes.ts';

export interface QuiesceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  apps: Pick<Apps, 'store' | 'docker'>;
  agent: Pick<AgentClient, 'requestBackup' | 'getBackupStatus' | 'getBackupDue' | 'getRestoreTestStatus'>;
  maxQuiesceMs: number;
  pollIntervalMs: number;
  /** When to ask the agent whether a backup is due (cron syntax). */
  schedule: string;
}

export interface Quiesce {
  runner: QuiesceRunner;
  store: RunStore;
  agent: QuiesceDeps['agent'];
  startSchedule(): void;
  /** Asks the agent now; starts a run when a backup is due. */
  checkDue(): Promise<void>;
  close(): Promise<void>;
}

/** Apps meant to run and running now; not those stopped for storage (the storage watch owns them). */
function stackPort(apps: QuiesceDeps['apps']): StackPort {
  const runs = async (id: string) => {
    const containers = await apps.docker.listContainers(id);
    return containers.length > 0 && containers.every((c) => c.state === 'running' || (c.oneShot && c.exitCode === 0));
  };
  return {
    async quiescable() {
      const candidates = apps.store.list().filter((app) => app.status === 'installed' && !app.stoppedForStorage);
      const running = await Promise.all(
        candidates.map(async (app) => ((await apps.docker.listContainers(app.id)).some((c) => c.state === 'running') ? app.id : null)),
      );
      return running.filter((id): id is string => id !== null).sort();
    },
    async stop(stacks) {
      await Promise.all(stacks.map((id) => apps.docker.stopProject(id)));
    },
    async start(stacks) {
      const failed: string[] = [];
      await Promise.all(
        stacks.map(async (id) => {
          const app = apps.store.get(id);
          // Uninstalled meanwhile, its storage went away (the storage watch owns it), or
          // the customer stopped it during the backup: nothing to start here.
          if (!app || app.stoppedForStorage || app.desired === 'stopped') return;
          try {
            await apps.docker.startProject(id);
            if (!(await runs(id))) failed.push(id);
          } catch {
            failed.push(id);
          }
        }),
      );
      return failed;
    },
  };
}

function backupPort(agent: QuiesceDeps['agent']): BackupPort {
  return {
    requestBackup: async (reason) => ({ id: (await agent.requestBackup(reason)).id }),
    async backupStatus(id) {
      const status = await agent.getBackupStatus(id);
      return { phase: status.backup?.phase ?? 'unknown', error: status.backup?.error ?? null };
    },
  };
}

export function createQuiesce(deps: QuiesceDeps): Quiesce {
  const logger = deps.logger.child({ component: 'quiesce' });
  const store = createRunStore(deps.db, deps.clock);
  const runner = new QuiesceRunner({
    stacks: stackPort(deps.apps),
    backups: backupPort(deps.agent),
    store,
    clock: deps.clock,
    audit: deps.audit,
    logger,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
    options: { maxQuiesceMs: deps.maxQuiesceMs, pollIntervalMs: deps.pollIntervalMs, restartBackoffMs: 1_000 },
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
    runner,
    store,
    agent: deps.agent,
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
