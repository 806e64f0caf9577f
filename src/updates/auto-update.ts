/**
 * An automatic update of one app, after a scheduled check found a newer image and only
 * when the customer turned automatic updates on for it. It is the customer's own update
 * use case (the images downloaded first, then a pre-deploy snapshot, recreate and a
 * health wait; an app
 * that does not become healthy is put back on its previous images), run with the actor
 * `auto-update`; what came of it is audited as `app.auto_update_run`.
 */
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { errorMessage } from '../errors.ts';

export const AUTO_UPDATE_ACTOR = 'auto-update';

export type AutoUpdateApps = Pick<Apps, 'update' | 'operation'>;

export interface AutoUpdateDeps {
  apps: AutoUpdateApps;
  audit: AuditLog;
  /** How often the update's operation is looked at while it runs. */
  pollMs: number;
  /** Aborted when the controller stops: the wait ends, the update resumes at the next start. */
  signal: AbortSignal;
}

/** What is audited as the run's `result`. */
export type AutoUpdateResult = 'ok' | 'failed' | 'rolled_back';

export interface AutoUpdateRun {
  result: AutoUpdateResult;
  /**
   * The update never touched the app: refused (busy, storage away) or its download failed
   * (registry down). Tried again at the next scheduled check, unlike an update that ran
   * and failed, which is not tried again on the same images.
   */
  temporary: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Updates the app and waits for the update to end; returns what came of it, or null when
 * the controller stopped meanwhile (then nothing is audited: the update is resumed).
 */
export async function autoUpdateApp(deps: AutoUpdateDeps, appId: string): Promise<AutoUpdateRun | null> {
  let run: AutoUpdateRun;
  let reason: string | null = null;
  let operationId: string | null = null;
  try {
    ({ operationId } = await deps.apps.update(appId, AUTO_UPDATE_ACTOR));
    let operation = deps.apps.operation(operationId);
    while (operation?.state === 'running') {
      await sleep(deps.pollMs, deps.signal);
      if (deps.signal.aborted) return null;
      operation = deps.apps.operation(operationId);
    }
    if (operation?.state === 'succeeded') {
      run = { result: 'ok', temporary: false };
    } else if (operation?.rolledBack) {
      // Not healthy on the new images: every service runs its previous one again.
      run = { result: 'rolled_back', temporary: false };
      reason = operation.error;
    } else {
      reason = operation?.error ?? null;
      // No snapshot taken: it failed before touching the app (the download comes first).
      run = { result: 'failed', temporary: operation !== null && operation.snapshot === null };
    }
  } catch (error) {
    // Refused before it began (the app is busy, its storage is away, the policy changed).
    run = { result: 'failed', temporary: true };
    reason = errorMessage(error);
  }
  deps.audit.record({
    actor: AUTO_UPDATE_ACTOR,
    action: 'app.auto_update_run',
    target: appId,
    outcome: run.result === 'ok' ? 'ok' : 'failed',
    details: { result: run.result, ...(operationId ? { operation: operationId } : {}), ...(reason ? { reason } : {}) },
  });
  return run;
}
