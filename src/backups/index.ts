/**
 * Backups as the customer sees them: the agent's backup state (targets, last success,
 * when the next one is due, the restore test) next to the quiesce runs that stopped the
 * apps for them. The agent's answers are cached for a few seconds.
 */
import type { AgentClient, BackupDue, BackupStatus, RestoreTestStatus } from '../agent/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import { errorMessage } from '../errors.ts';

export { backupPages } from './pages.ts';

export type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

export interface AgentBackupView {
  status: Answer<BackupStatus>;
  due: Answer<BackupDue>;
  restoreTest: Answer<RestoreTestStatus>;
}

export interface Backups {
  agentView(): Promise<AgentBackupView>;
}

async function answer<T>(call: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

export function createBackups(deps: {
  agent: Pick<AgentClient, 'getBackupStatus' | 'getBackupDue' | 'getRestoreTestStatus'>;
  clock: Clock;
  maxAgeMs?: number;
}): Backups {
  const agentView = cachedProbe(deps.clock, deps.maxAgeMs ?? 3_000, () => '', async () => {
    const [status, due, restoreTest] = await Promise.all([
      answer(() => deps.agent.getBackupStatus()),
      answer(() => deps.agent.getBackupDue()),
      answer(() => deps.agent.getRestoreTestStatus()),
    ]);
    return { status, due, restoreTest };
  });
  return { agentView };
}
