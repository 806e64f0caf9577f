/**
 * The apps domain: installing and running the customer's apps as compose stacks, each
 * volume placed on storage by class. Built once by the composition root.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { createOperations, type Operations } from './operations.ts';
import type { AppsAgent, AppsCompose, AppsDocker, AppsVolumes } from './ports.ts';
import { reconcileApps, type ReconcileReport } from './reconcile.ts';
import { AppsService } from './service.ts';
import { reconcileStorage, stopAppsOnMount } from './storage-watch.ts';
import { createAppStore, type AppStore } from './store.ts';

export { appsApi } from './routes.ts';
export { appPages } from './pages.ts';
export { defaultCatalogDir } from './catalog.ts';
export type { ReconcileReport } from './reconcile.ts';

export interface AppsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  agent: AppsAgent;
  compose: AppsCompose;
  docker: AppsDocker;
  volumes: AppsVolumes;
  dataDir: string;
  catalogDir: string;
  reservedProjects: () => Promise<string[]>;
  reservedPorts: () => Promise<Array<{ published: number; protocol: 'tcp' | 'udp' }>>;
  allowedRegistries: string[];
  keepSnapshots?: number;
  pullImages: boolean;
}

export interface Apps {
  service: AppsService;
  store: AppStore;
  operations: Operations;
  docker: AppsDocker;
  agent: AppsAgent;
  catalogDir: string;
  /** Converges records and Docker at start; see reconcile.ts. */
  reconcile(): Promise<ReconcileReport>;
  lastReconcile(): ReconcileReport | null;
  /** Checks the storage now; the watch runs this on an interval. */
  checkStorage(): Promise<void>;
  watchStorage(intervalMs: number): void;
  /**
   * Stops every app with a volume on the mount and keeps them stopped while `work` (the
   * eject) runs; afterwards the storage watch decides as usual.
   */
  whileMountHeld<T>(mountId: string, actor: string, work: (stoppedApps: string[]) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Staging folders are an install's first step; one left behind is from a crash and holds nothing kept. */
async function removeStagingLeftovers(appsDir: string): Promise<void> {
  const entries = await fs.readdir(appsDir).catch(() => [] as string[]);
  await Promise.all(entries.filter((name) => name.startsWith('.staging-')).map((name) => fs.rm(path.join(appsDir, name), { recursive: true, force: true })));
}

export function createApps(deps: AppsDeps): Apps {
  const store = createAppStore(deps.db, deps.clock);
  const operations = createOperations(deps.db, deps.clock);
  const logger = deps.logger.child({ component: 'apps' });
  const service = new AppsService({
    ...deps,
    logger,
    store,
    operations,
    appsDir: path.join(deps.dataDir, 'apps'),
    keepSnapshots: deps.keepSnapshots ?? 5,
  });
  const heldMounts = new Set<string>();
  const storageDeps = { agent: deps.agent, docker: deps.docker, store, audit: deps.audit, logger, heldMounts };
  let report: ReconcileReport | null = null;
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<void> | null = null;
  const checkStorage = () => {
    checking ??= reconcileStorage(storageDeps).finally(() => {
      checking = null;
    });
    return checking;
  };
  return {
    service,
    store,
    operations,
    docker: deps.docker,
    agent: deps.agent,
    catalogDir: deps.catalogDir,
    async reconcile() {
      await removeStagingLeftovers(path.join(deps.dataDir, 'apps'));
      // Storage first: an app whose drive went away while the controller was down must
      // be marked before anything is started or re-created.
      await checkStorage();
      report = await reconcileApps({ store, operations, docker: deps.docker, audit: deps.audit, logger, reservedProjects: deps.reservedProjects }, service);
      return report;
    },
    lastReconcile: () => report,
    checkStorage,
    watchStorage(intervalMs) {
      timer ??= setInterval(() => void checkStorage(), intervalMs).unref();
    },
    async whileMountHeld(mountId, actor, work) {
      heldMounts.add(mountId);
      try {
        await checking;
        return await work(await stopAppsOnMount(storageDeps, mountId, actor));
      } finally {
        heldMounts.delete(mountId);
      }
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = null;
      await service.close();
      await checking;
    },
  };
}
