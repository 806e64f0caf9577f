/**
 * An automatic update of one app, after a scheduled check found a newer image and only
 * when the customer turned automatic updates on for it. It is the customer's own update
 * use case (a pre-deploy snapshot first, then pull, recreate and a health wait; an app
 * that does not become healthy is put back on its previous images), run with the actor
 * `auto-update`; what came of it is audited as `app.auto_update_run`.
 */
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { errorMessage } from '../errors.ts';
import type { DockerPort } from '../stacks/index.ts';

export const AUTO_UPDATE_ACTOR = 'auto-update';

export type AutoUpdateApps = Pick<Apps, 'update' | 'operation'>;

export interface AutoUpdateDeps {
  apps: AutoUpdateApps;
  docker: Pick<DockerPort, 'listContainers'>;
  audit: AuditLog;
  /** How often the update's operation is looked at while it runs. */
  pollMs: number;
  /** Aborted when the controller stops: the wait ends, the update resumes at the next start. */
  signal: AbortSignal;
}

export type AutoUpdateResult = 'ok' | 'failed' | 'rolled_back';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The image id each service's container runs. */
async function imagesRunning(docker: AutoUpdateDeps['docker'], appId: string): Promise<Map<string, string>> {
  const containers = await docker.listContainers(appId);
  return new Map(containers.filter((c) => c.state === 'running').map((c) => [c.service, c.imageId]));
}

/**
 * Updates the app and waits for the update to end; returns what came of it, or null when
 * the controller stopped meanwhile (then nothing is audited: the update is resumed).
 */
export async function autoUpdateApp(deps: AutoUpdateDeps, appId: string): Promise<AutoUpdateResult | null> {
  const before = await imagesRunning(deps.docker, appId).catch(() => new Map<string, string>());
  let result: AutoUpdateResult;
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
      result = 'ok';
    } else {
      reason = operation?.error ?? null;
      // Back on the images it ran before, every one of them: the update was rolled back.
      const after = await imagesRunning(deps.docker, appId).catch(() => new Map<string, string>());
      const back = before.size > 0 && [...before].every(([service, imageId]) => after.get(service) === imageId);
      result = back ? 'rolled_back' : 'failed';
    }
  } catch (error) {
    // Refused before it began (the app is busy, its storage is away, the policy changed).
    result = 'failed';
    reason = errorMessage(error);
  }
  deps.audit.record({
    actor: AUTO_UPDATE_ACTOR,
    action: 'app.auto_update_run',
    target: appId,
    outcome: result === 'ok' ? 'ok' : 'failed',
    details: { result, ...(operationId ? { operation: operationId } : {}), ...(reason ? { reason } : {}) },
  });
  return result;
}
