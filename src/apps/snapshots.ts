/**
 * Snapshots before a deploy: the guest is snapshotted before an install or update so
 * the customer can roll back if the new stack does not come up. The controller labels
 * what it creates (a name prefix and its own record) and prunes only those.
 */
import type { Logger } from '../log.ts';
import type { AppsAgent } from './ports.ts';
import type { AppStore } from './store.ts';

export const SNAPSHOT_PREFIX = 'felhom-pre-';
const MAX_NAME = 40;

/** `felhom-pre-<app>-<UTC stamp>`, inside the agent's name rule `^[A-Za-z][A-Za-z0-9_-]{1,39}$`. */
export function snapshotName(appId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const room = MAX_NAME - SNAPSHOT_PREFIX.length - 1 - stamp.length;
  return `${SNAPSHOT_PREFIX}${appId.slice(0, room).replace(/-+$/, '')}-${stamp}`;
}

export async function takePredeploySnapshot(
  agent: AppsAgent,
  store: AppStore,
  input: { appId: string; appName: string; reason: 'install' | 'update'; at: Date },
): Promise<string> {
  const name = snapshotName(input.appId, input.at);
  const snapshot = await agent.createSnapshot({ name, description: `before ${input.reason} of ${input.appName}`.slice(0, 200) });
  store.recordSnapshot({ name: snapshot.name, appId: input.appId, reason: input.reason, createdAt: snapshot.created_at });
  return snapshot.name;
}

/**
 * Keeps the newest `keep` pre-deploy snapshots of the app and deletes its older ones,
 * but only those the controller recorded itself and the agent lists as the
 * controller's. Per app, so deploying one app never takes another's rollback point.
 */
export async function prunePredeploySnapshots(agent: AppsAgent, store: AppStore, appId: string, keep: number, logger: Logger): Promise<string[]> {
  const ours = store.snapshots(appId);
  const listed = new Map((await agent.listSnapshots()).map((snapshot) => [snapshot.name, snapshot]));
  const deleted: string[] = [];
  for (const record of ours.slice(keep)) {
    const snapshot = listed.get(record.name);
    if (!snapshot) {
      store.markSnapshotDeleted(record.name);
      continue;
    }
    if (snapshot.owner !== 'controller') continue;
    try {
      await agent.deleteSnapshot(record.name);
      store.markSnapshotDeleted(record.name);
      deleted.push(record.name);
    } catch (error) {
      logger.warn({ err: error, snapshot: record.name }, 'could not prune a pre-deploy snapshot; will try again after the next deploy');
    }
  }
  return deleted;
}
