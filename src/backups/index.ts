/**
 * The backups domain: the guest backup (the agent's, with the apps quiesced around it)
 * and the controller's own restic backups of bulk volumes, with their pages and API.
 * Built once by the composition root.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { AgentClient, Mount } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import type { BulkBackupConfig } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import type { Quiesce } from '../quiesce/index.ts';
import { BulkBackups } from './bulk.ts';
import { createCoverage, type CoverageOf, type PlacedVolume } from './coverage.ts';
import { createGuestBackups, type GuestBackups } from './guest.ts';
import type { BulkApps, OwnVolume } from './jobs.ts';
import type { VolumeRun } from './store.ts';
import { createRestic } from './restic.ts';
import { createBulkStore } from './store.ts';

export { backupsApi } from './api.ts';
export { backupPages } from './pages.ts';
export type { AgentBackupView, GuestBackups } from './guest.ts';
export type { VolumeCoverage, PlacedVolume } from './coverage.ts';
export { coverageOf } from './coverage.ts';
export type { BulkBackups } from './bulk.ts';

export interface Backups {
  guest: GuestBackups;
  bulk: BulkBackups;
  coverage: CoverageOf;
  /** The latest volume runs, of all jobs. */
  runsOfRecent(limit: number): VolumeRun[];
  /** The volume runs of one backup job. */
  runsOfJob(jobId: string): VolumeRun[];
  /** Every volume of every app, as the coverage wants it. */
  placedVolumes(appId?: string): PlacedVolume[];
}

export interface BackupsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  agent: Pick<AgentClient, 'getBackupStatus' | 'getBackupDue' | 'getRestoreTestStatus' | 'getStorage'>;
  quiesce: Pick<Quiesce, 'current' | 'runs' | 'trigger'>;
  apps: Pick<Apps, 'store' | 'service'>;
  config: BulkBackupConfig;
  dataDir: string;
  storageCheckMs: number;
}

function bulkApps(apps: BackupsDeps['apps']): BulkApps {
  return {
    ownVolumes: () =>
      apps.store.list().flatMap((app) =>
        apps.store
          .placements(app.id)
          .filter((p) => p.class === 'bulk' && p.backup === 'own')
          .map((p): OwnVolume => ({ appId: app.id, appName: app.name, volume: p.volume, mountId: p.mountId, mountLabel: p.mountLabel, path: p.path, since: app.createdAt })),
      ),
    busy: (appId) => apps.service.busy(appId),
    whileStopped: (appId, actor, work) => apps.service.whileStopped(appId, actor, work),
    startIfWanted: (appId) => apps.service.startIfWanted(appId),
    whileReading: (appId, stop) => apps.service.whileReading(appId, stop),
  };
}

export function createBackups(deps: BackupsDeps): Backups {
  const store = createBulkStore(deps.db, deps.clock);
  const cacheDir = path.join(deps.dataDir, 'cache', 'restic');
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  // Jobs ask the agent each time; what a request shows comes from a short cache and waits
  // at most 3 s, so an agent that hangs never holds a page or an API answer.
  const storage = () => deps.agent.getStorage().then((s): Mount[] | null => s.mounts, () => null);
  const cached = cachedProbe(deps.clock, 5_000, () => '', storage);
  const storageSoon = () => Promise.race([cached(), new Promise<null>((resolve) => setTimeout(resolve, 3_000, null).unref())]);
  const bulk = new BulkBackups({
    store,
    restic: createRestic({ command: deps.config.restic, cacheDir }),
    apps: bulkApps(deps.apps),
    storage,
    storageSoon,
    audit: deps.audit,
    logger: deps.logger.child({ component: 'backups' }),
    clock: deps.clock,
    settings: { keep: deps.config.keep, readDataSubset: deps.config.readDataSubset, storageCheckMs: deps.storageCheckMs },
    schedules: { backup: deps.config.backupCron, prune: deps.config.pruneCron, restoreTest: deps.config.restoreTestCron },
  });
  return {
    guest: createGuestBackups({ agent: deps.agent, quiesce: deps.quiesce, audit: deps.audit, clock: deps.clock }),
    bulk,
    coverage: createCoverage({ bulk, store, storage: storageSoon, clock: deps.clock }),
    runsOfJob: (jobId) => store.runs({ jobId }),
    runsOfRecent: (limit) => store.runs({ limit }),
    placedVolumes: (appId) =>
      deps.apps.store
        .list()
        .filter((app) => appId === undefined || app.id === appId)
        .flatMap((app) =>
          deps.apps.store.placements(app.id).map((p) => ({ appId: app.id, appName: app.name, volume: p.volume, class: p.class, backup: p.backup, inGuestBackup: p.inGuestBackup, mountId: p.mountId })),
        ),
  };
}
