/**
 * The quiesce loop wired to the controller: the app stacks as the loop's StackPort, the
 * agent as its BackupPort, and a node-cron schedule that asks the agent whether a
 * backup is due. Built by the composition root; recovery runs before serving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { schedule, type ScheduledTask } from 'node-cron';
import { isAgentError, type AgentClient } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import { connectEngine, unless } from '../stacks/engine.ts';
import { QuiesceRunner, type BackupPort, type StackPort } from './runner.ts';
import { createRunStore, type RunStore } from './store.ts';

export { consistencyOf, type Consistency } from './machine.ts';


export interface QuiesceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  apps: Pick<Apps, 'store' | 'docker'>;
  agent: Pick<AgentClient, 'requestBackup' | 'getBackupStatus' | 'getBackupDue' | 'getRestoreTestStatus'>;
  /** The Docker engine, to start again exactly the containers a run stopped. */
  dockerHost: string;
  maxQuiesceMs: number;
  pollIntervalMs: number;
  trackingPollIntervalMs: number;
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

/**
 * Starts these containers (by name) in parallel; already running (304) is fine, and so is
 * one that no longer exists (404): the check after the start finds it missing. Throws
 * naming those that failed.
 */
type ContainerStarter = (names: string[]) => Promise<void>;

function containerStarter(dockerHost: string): ContainerStarter {
  const engine = connectEngine(dockerHost, 10_000);
  return async (ids) => {
    const results = await Promise.allSettled(ids.map((id) => unless([304, 404], engine.slow.getContainer(id).start())));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${String((r.reason as Error)?.message ?? r.reason).trim()}`] : []));
    if (failed.length > 0) throw new Error(`docker: starting containers failed for ${failed.join('; ')}`);
  };
}

/** Up as far as a restart is concerned: running, or a one-shot step that finished well. */
const isUp = (c: ContainerInfo) => c.state === 'running' || (c.oneShot && c.exitCode === 0);

/**
 * Apps meant to run and running now; not those stopped for storage (the storage watch
 * owns them). Each is recorded with its containers running now: only those are started
 * again, so a container that was already down (a finished one-shot init step, one the
 * customer's app had stopped) is neither re-run nor counted as a failed restart.
 */
function stackPort(apps: QuiesceDeps['apps'], startContainers: ContainerStarter): StackPort {
  return {
    async quiescable() {
      const candidates = apps.store.list().filter((app) => app.status === 'installed' && !app.stoppedForStorage);
      const listed = await Promise.all(
        candidates.map(async (app) => [app.id, (await apps.docker.listContainers(app.id)).filter((c) => c.state === 'running').map((c) => c.name).sort()] as const),
      );
      return Object.fromEntries(listed.filter(([, running]) => running.length > 0).sort(([a], [b]) => a.localeCompare(b)));
    },
    async stop(stacks) {
      const results = await Promise.allSettled(stacks.map((id) => apps.docker.stopProject(id)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${stacks[i]}: ${String((r.reason as Error)?.message ?? r.reason)}`] : []));
      if (failed.length > 0) throw new Error(failed.join('; '));
    },
    async start(stacks, recorded) {
      const failed: string[] = [];
      await Promise.all(
        stacks.map(async (id) => {
          const app = apps.store.get(id);
          // Uninstalled meanwhile, its storage went away (the storage watch owns it), or
          // the customer stopped it during the backup: nothing to start here.
          if (!app || app.stoppedForStorage || app.desired === 'stopped') return;
          try {
            const wanted = recorded?.[id];
            if (wanted === undefined) {
              // A run recorded before its containers were: the whole stack, as it was then.
              await apps.docker.startProject(id);
              const all = await apps.docker.listContainers(id);
              if (!(all.length > 0 && all.every(isUp))) failed.push(id);
            } else {
              // Started by the names recorded at the stop, without listing first: the
              // apps are down until this call, so every step before it is downtime.
              await startContainers(wanted);
              const up = new Set((await apps.docker.listContainers(id)).filter(isUp).map((c) => c.name));
              if (!wanted.every((name) => up.has(name))) failed.push(id);
            }
            // The storage watch marked it while it was being started: it must not run on a missing mount.
            if (apps.store.get(id)?.stoppedForStorage) await apps.docker.stopProject(id);
          } catch {
            failed.push(id);
          }
        }),
      );
      return failed.sort();
    },
  };
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
    stacks: stackPort(deps.apps, containerStarter(deps.dockerHost)),
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
