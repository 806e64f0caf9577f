import { Router } from 'express';
import { AppError, errorMessage } from '../errors.ts';
import type { Quiesce } from './index.ts';
import type { StoredRun } from './store.ts';

function presentRun(run: StoredRun | null) {
  return (
    run && {
      id: run.id,
      trigger: run.trigger,
      stacks: run.stacks,
      // Stacks whose last restart failed (retried until they run): empty when all run again.
      failed_restarts: run.failedRestarts,
      phase: run.phase,
      backup_id: run.backupId,
      backup_phase: run.backupPhase,
      resume_reason: run.resumeReason,
      outcome: run.outcome,
      error: run.error,
      started_at: run.startedAt,
      stopped_at: run.stoppedAt,
      requested_at: run.requestedAt,
      snapshotted_at: run.snapshottedAt,
      resumed_at: run.resumedAt,
      finished_at: run.finishedAt,
      downtime_ms: run.downtimeMs,
    }
  );
}

/** What the agent says, or why it could not say it: the runs are shown either way. */
async function fromAgent<T>(call: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await call();
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

export function quiesceApi(quiesce: Quiesce): Router {
  const router = Router();
  router.get('/backups', async (_req, res) => {
    const [status, restoreTest] = await Promise.all([fromAgent(() => quiesce.agent.getBackupStatus()), fromAgent(() => quiesce.agent.getRestoreTestStatus())]);
    res.json({ current: presentRun(quiesce.store.open()), runs: quiesce.store.list().map(presentRun), agent: { status, restore_test: restoreTest } });
  });
  router.get('/backups/current', (_req, res) => {
    res.json({ run: presentRun(quiesce.store.open()) });
  });
  router.post('/backups', async (_req, res) => {
    const started = await quiesce.runner.trigger('manual');
    if (!started) throw new AppError('conflict', 'a backup with the apps stopped is already in progress; it can be followed at GET /api/v1/backups/current');
    res.status(202).json({ run: presentRun(started.run) });
  });
  return router;
}
