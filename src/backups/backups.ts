/**
 * The backups domain: the guest backup (the agent's, with the apps quiesced around it)
 * and the controller's own restic backups of bulk volumes, with their pages and API.
 * Built once by the composition root.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { AgentClient, Mount } from '../agent/index.ts';
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
  apps: BackupsApps;
  config: BulkBackupConfig;
  dataDir: string;
  storageCheckMs: number;
}

/** An app's volume where it is placed, as the apps domain lists it. */
export interface AppVolume extends PlacedVolume {
  mountLabel: string;
  path: string;
  appInstalledAt: string;
}

/** What the backups need of the apps domain: its volumes, and stopping an app around a restore. */
export type BackupsApps = Omit<BulkApps, 'ownVolumes'> & { volumes(appId?: string): AppVolume[] };

function bulkApps(apps: BackupsApps): BulkApps {
  return {
    ownVolumes: () =>
      apps
        .volumes()
        .filter((v) => v.class === 'bulk' && v.backup === 'own')
        .map((v): OwnVolume => ({ appId: v.appId, appName: v.appName, volume: v.volume, mountId: v.mountId, mountLabel: v.mountLabel, path: v.path, since: v.appInstalledAt })),
    busy: (appId) => apps.busy(appId),
    whileStopped: (appId, actor, work) => apps.whileStopped(appId, actor, work),
    startIfWanted: (appId) => apps.startIfWanted(appId),
    whileReading: (appId, stop) => apps.whileReading(appId, stop),
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
      deps.apps.volumes(appId).map((v) => ({ appId: v.appId, appName: v.appName, volume: v.volume, class: v.class, backup: v.backup, inGuestBackup: v.inGuestBackup, mountId: v.mountId })),
  };
}
