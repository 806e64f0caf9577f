/**
 * The apps domain: installing and running the customer's apps as compose stacks, each
 * volume placed on storage by class. Built once by the composition root; other domains
 * see only `Apps`: its routes, a few queries, and the use cases they lend (a volume's
 * backup stops its app through here). The store, the operations and the service stay
 * inside, shared with this domain's own routes through `AppsParts`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Router } from 'express';
import type { AuditLog } from '../audit/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import type { StackPort } from '../quiesce/index.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import type { Ui } from '../ui/index.ts';
import { createAvailability, imagesOfComposeText } from './availability.ts';
import { listCatalog, readCatalogApp } from './catalog.ts';
import { installedAppIcon, type AppIcon } from './icons.ts';
import { createOperations, type Operation } from './operations.ts';
import { appPages } from './pages.ts';
import type { AppsParts } from './parts.ts';
import { createQuiesceStacks } from './quiesce-stacks.ts';
import type { VolumePlacement } from './placement.ts';
import type { AppsAgent, AppsCompose, AppsDocker, AppsVolumes } from './ports.ts';
import { reconcileApps, type ReconcileReport } from './reconcile.ts';
import { appsApi } from './routes.ts';
import { AppsService } from './service.ts';
import { reconcileStorage, stopAppsOnMount } from './storage-watch.ts';
import { createAppStore, type AppRecord } from './store.ts';
import { deriveState, type AppState, type AppUpdateInfo, type UpdateStateOf } from './view.ts';

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
  /** The catalog folders, in order (catalog.ts). */
  catalogDirs: string[];
  reservedProjects: () => Promise<string[]>;
  reservedPorts: () => Promise<Array<{ published: number; protocol: 'tcp' | 'udp' }>>;
  allowedRegistries: string[];
  keepSnapshots?: number;
  pullImages: boolean;
  /** FELHOM_OFFLINE: an image from a registry not in `allowedRegistries` is never asked for. */
  offline: boolean;
  /** How long an image download may go without progress (FELHOM_PULL_STALL_SECONDS). */
  pullStallMs: number;
  /** Whether a newer image exists for the app (the updates domain's query, handed in by main.ts). */
  updateState: UpdateStateOf;
}

/** A placed volume of an installed app, for the domains that back volumes up or show them. */
export interface AppVolume extends VolumePlacement {
  appId: string;
  appName: string;
  /** When the app was installed: a volume without a backup since then has never had one. */
  appInstalledAt: string;
}

/** An installed app as the home page shows it, its state from Docker now. */
export interface AppOverview {
  id: string;
  name: string;
  version: string;
  /** `unknown` while Docker cannot be asked. */
  state: AppState | 'unknown';
  error: string | null;
  /** The error as a catalog message, to show in the customer's language. */
  errorText: Message | null;
  stoppedForStorage: string[] | null;
  /** The guest's port that publishes the app's web UI, when it runs. */
  webPort: number | null;
  icon: AppIcon;
  /** Whether a newer image exists, as last checked. */
  update: AppUpdateInfo;
}

export interface Apps {
  /** The routes under /api/v1. */
  api: Router;
  /** The app store and each app's page. */
  pages(ui: Ui): Router;
  /** Every installed app, with one Docker call for all. */
  overview(): Promise<{ apps: AppOverview[]; dockerDown: boolean }>;
  /** Every placed volume of every app, or of one. */
  volumes(appId?: string): AppVolume[];
  /** The apps that keep data on this mount. */
  appsOnMount(mountId: string): string[];
  /** The app's record, or null when no such app is installed. */
  record(id: string): AppRecord | null;
  /** Every installed app's record. */
  records(): AppRecord[];
  /** The update use case (snapshot, pull, recreate, health wait) as an operation in the background. */
  update(id: string, actor: string): Promise<{ operationId: string }>;
  /** An operation by id (to follow one that `update` started), or null. */
  operation(id: string): Operation | null;
  /** The app's newest operation (an install, update or uninstall), or null. */
  latestOperation(appId: string): Operation | null;
  /** Resolves once no install, update or start of an app is in flight. */
  settled(): Promise<void>;
  /** Why the app cannot be stopped or changed now (an install, an update), or null. */
  busy(id: string): Message | null;
  /** Stops the app, runs `work`, and starts it again if it should run (a restore). */
  whileStopped<T>(id: string, actor: string, work: () => Promise<T>): Promise<T>;
  /** Registers a reader of the app's volumes (a backup) that `stop` ends before an update or uninstall. */
  whileReading(id: string, stop: (reason: Message) => Promise<void>): () => void;
  startIfWanted(id: string): Promise<void>;
  /** The apps as the quiesce loop stops and restarts them around a backup. */
  quiesceStacks: StackPort;
  /** Converges records and Docker at start; see reconcile.ts. */
  reconcile(): Promise<ReconcileReport>;
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

/** The published guest port of the app's web service, on TCP. */
function webPortOf(app: AppRecord, containers: ContainerInfo[]): number | null {
  const { web } = app;
  if (!web) return null;
  return containers.filter((c) => c.service === web.service).flatMap((c) => c.ports).find((p) => p.target === web.port && p.protocol === 'tcp')?.published ?? null;
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
  // However many icons a page asks for, the catalog folders are read (and their problems logged) once every few seconds at most.
  const catalog = cachedProbe(deps.clock, 5_000, () => '', async () => {
    const { entries, problems } = await listCatalog(deps.catalogDirs);
    for (const { folder, problem } of problems) logger.warn({ folder }, `catalog: ${problem}`);
    return entries;
  });
  const imagesReady = createAvailability({ docker: deps.docker, clock: deps.clock, offline: deps.offline, allowedRegistries: deps.allowedRegistries });
  const parts: AppsParts = {
    service,
    store,
    operations,
    docker: deps.docker,
    agent: deps.agent,
    catalog,
    availability: async (entry) => imagesReady(imagesOfComposeText((await readCatalogApp(deps.catalogDirs, entry.id)).files[entry.manifest.compose] ?? '')),
    updateOf: deps.updateState,
    lastReconcile: () => report,
  };
  return {
    api: appsApi(parts),
    pages: (ui) => appPages(parts, ui),
    async overview() {
      const [containers, entries] = await Promise.all([deps.docker.allContainers().catch(() => null), catalog().catch(() => [])]);
      const apps = store.list().map((app) => {
        const own = containers?.get(app.id) ?? [];
        return { id: app.id, name: app.name, version: app.version, state: containers ? deriveState(app, own) : ('unknown' as const), error: app.error, errorText: app.errorText, stoppedForStorage: app.stoppedForStorage, webPort: webPortOf(app, own), icon: installedAppIcon(app, entries), update: deps.updateState(app.id) };
      });
      return { apps, dockerDown: containers === null };
    },
    volumes: (appId) =>
      store
        .list()
        .filter((app) => appId === undefined || app.id === appId)
        .flatMap((app) => store.placements(app.id).map((p) => ({ ...p, appId: app.id, appName: app.name, appInstalledAt: app.createdAt }))),
    appsOnMount: (mountId) => store.appsWithData().filter((id) => store.placements(id).some((p) => p.mountId === mountId)),
    record: (id) => store.get(id),
    records: () => store.list(),
    update: (id, actor) => service.update(id, { actor }),
    operation: (id) => operations.get(id),
    latestOperation: (appId) => operations.latest(appId),
    settled: () => service.settled(),
    busy: (id) => service.busy(id),
    whileStopped: (id, actor, work) => service.whileStopped(id, actor, work),
    whileReading: (id, stop) => service.whileReading(id, stop),
    startIfWanted: (id) => service.startIfWanted(id),
    quiesceStacks: createQuiesceStacks({ store, docker: deps.docker }),
    async reconcile() {
      await removeStagingLeftovers(path.join(deps.dataDir, 'apps'));
      // Storage first: an app whose drive went away while the controller was down must
      // be marked before anything is started or re-created.
      await checkStorage();
      report = await reconcileApps({ store, operations, docker: deps.docker, audit: deps.audit, logger, reservedProjects: deps.reservedProjects }, service);
      return report;
    },
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
