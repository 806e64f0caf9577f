/**
 * Apps and the storage under them. When a mount an app's volumes live on is
 * disconnected or gone, the app is stopped and marked stopped-for-storage: running on,
 * it would write into the empty mount point on the root filesystem. It may not be
 * started until every one of its mounts is attached again; then it restarts by itself.
 * An agent that does not answer says nothing about the storage, so it stops nothing.
 */
import type { Mount } from '../agent/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AppsAgent, AppsDocker } from './ports.ts';
import type { AppStore } from './store.ts';

export interface StorageWatchDeps {
  agent: AppsAgent;
  docker: AppsDocker;
  store: AppStore;
  audit: AuditLog;
  logger: Logger;
  /** Mounts about to go (an eject in progress): counted as absent even while still attached. */
  heldMounts: ReadonlySet<string>;
}

/** Looks at the storage once and stops or restarts apps to match. */
export async function reconcileStorage(deps: StorageWatchDeps): Promise<void> {
  let mounts: Mount[];
  try {
    mounts = (await deps.agent.getStorage()).mounts;
  } catch (error) {
    deps.logger.debug({ err: error }, 'storage check skipped: the agent did not answer');
    return;
  }
  const attached = new Set(mounts.filter((m) => m.state === 'attached' && !deps.heldMounts.has(m.id)).map((m) => m.id));
  for (const app of deps.store.list()) {
    if (app.status === 'installing') continue;
    const missing = [...new Set(deps.store.placements(app.id).map((p) => p.mountId))].filter((id) => !attached.has(id));
    if (missing.length > 0 && !app.stoppedForStorage) {
      await stopForStorage(deps, app.id, missing, 'storage-watch');
    } else if (missing.length === 0 && app.stoppedForStorage) {
      deps.store.update(app.id, { stoppedForStorage: null });
      if (app.desired === 'running') {
        try {
          await deps.docker.startProject(app.id);
          deps.audit.record({ actor: 'controller', action: 'app.start', target: app.id, outcome: 'ok', details: { reason: 'its storage is attached again' } });
        } catch (error) {
          deps.store.update(app.id, { stoppedForStorage: app.stoppedForStorage });
          deps.logger.error({ err: error, app: app.id }, 'could not restart an app whose storage came back; will try again');
        }
      }
    }
  }
}

/**
 * Stops every app with a volume on `mountId` (before an eject) and marks it. Throws if
 * one could not be stopped: the eject must not pull storage from under a running app.
 */
export async function stopAppsOnMount(deps: StorageWatchDeps, mountId: string, actor: string): Promise<string[]> {
  const stopped: string[] = [];
  const failed: string[] = [];
  for (const app of deps.store.list()) {
    if (!deps.store.placements(app.id).some((p) => p.mountId === mountId)) continue;
    const ok = await stopForStorage(deps, app.id, [...new Set([...(app.stoppedForStorage ?? []), mountId])], actor);
    (ok ? stopped : failed).push(app.id);
  }
  if (failed.length > 0) {
    throw new AppError('conflict', { key: 'error.eject_stop_failed', params: { apps: failed.join(', ') } });
  }
  return stopped;
}

async function stopForStorage(deps: StorageWatchDeps, appId: string, mountIds: string[], actor: string): Promise<boolean> {
  // Marked first: if stopping fails halfway, the app must still not be started again.
  deps.store.update(appId, { stoppedForStorage: mountIds });
  try {
    await deps.docker.stopProject(appId);
    deps.audit.record({ actor, action: 'app.stop', target: appId, outcome: 'ok', details: { reason: 'storage not attached', mounts: mountIds } });
    deps.logger.warn({ app: appId, mounts: mountIds }, 'stopped an app: its storage is not attached');
    return true;
  } catch (error) {
    deps.audit.record({ actor, action: 'app.stop', target: appId, outcome: 'failed', details: { reason: 'storage not attached', mounts: mountIds } });
    deps.logger.error({ err: error, app: appId }, 'could not stop an app whose storage is not attached');
    return false;
  }
}
