/**
 * The guest backup as the customer sees it: the agent's backup state (targets, last
 * success, when the next is due, its restore test), cached for a few seconds, next to
 * the quiesce runs that stopped the apps for it; and "back up now", audited with who
 * asked.
 */
import type { AgentClient, BackupDue, BackupStatus, RestoreTestStatus } from '../agent/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import { errorMessage, errorText } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { Quiesce, StoredRun } from '../quiesce/index.ts';

/** An answer of the agent, or why there is none: in English (the API) and as a catalog message (the pages). */
export type Answer<T> = { ok: true; value: T } | { ok: false; error: string; text: Message };

export interface AgentBackupView {
  status: Answer<BackupStatus>;
  due: Answer<BackupDue>;
  restoreTest: Answer<RestoreTestStatus>;
}

export interface GuestBackups {
  /** For pages: cached for a few seconds, so a page load waits on the agent at most once. */
  agentView(): Promise<AgentBackupView>;
  /** For the API: asked now. */
  agentNow(): Promise<AgentBackupView>;
  current(): StoredRun | null;
  runs(limit?: number): StoredRun[];
  /** Starts a run with the apps stopped; null when one is already in progress. */
  trigger(actor: string): Promise<StoredRun | null>;
}

async function answer<T>(call: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: errorMessage(error), text: errorText(error) };
  }
}

export function createGuestBackups(deps: {
  agent: Pick<AgentClient, 'getBackupStatus' | 'getBackupDue' | 'getRestoreTestStatus'>;
  quiesce: Pick<Quiesce, 'current' | 'runs' | 'trigger'>;
  audit: AuditLog;
  clock: Clock;
  maxAgeMs?: number;
}): GuestBackups {
  const agentNow = async (): Promise<AgentBackupView> => {
    const [status, due, restoreTest] = await Promise.all([
      answer(() => deps.agent.getBackupStatus()),
      answer(() => deps.agent.getBackupDue()),
      answer(() => deps.agent.getRestoreTestStatus()),
    ]);
    return { status, due, restoreTest };
  };
  return {
    agentView: cachedProbe(deps.clock, deps.maxAgeMs ?? 3_000, () => '', agentNow),
    agentNow,
    current: () => deps.quiesce.current(),
    runs: (limit) => deps.quiesce.runs(limit),
    async trigger(actor) {
      const started = await deps.quiesce.trigger('manual');
      deps.audit.record({
        actor,
        action: 'backup.request',
        outcome: started ? 'ok' : 'refused',
        details: started ? { run: started.run.id, stacks: started.run.stacks } : { reason: 'a backup is already in progress' },
      });
      return started?.run ?? null;
    },
  };
}
