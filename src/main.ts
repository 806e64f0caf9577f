/**
 * The composition root: builds the real adapters (SQLite, the pinned agent client,
 * Docker) and hands each domain only what it needs. The CLI's `serve` and the
 * integration tests both start the controller through here.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AgentClient } from './agent/index.ts';
import { createAuditLog } from './audit/index.ts';
import { createAccount, createApiTokens, createSessions, issueSetupCode, removeSetupCodeFile, type SetupCode } from './auth/index.ts';
import { createBackups, type Backups } from './backups/index.ts';
import { createHost, type Host } from './host/index.ts';
import { BootstrapService } from './bootstrap/index.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { openDatabase, type Db } from './db/index.ts';
import { AppError, errorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import { createSettings } from './settings/index.ts';
import { createCompose, createDockerPort, createVolumes } from './stacks/index.ts';
import { createStatusService, type StatusService } from './status/index.ts';
import { createApps, type Apps } from './apps/index.ts';
import { createQuiesce, type Quiesce } from './quiesce/index.ts';
import { createUpdates, type Updates } from './updates/index.ts';
import { createWebApp } from './web/index.ts';

export const controllerVersion: string = JSON.parse(
  fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

const BOOTSTRAP_RECHECK_MS = 30_000;

export interface RunningController {
  url: string;
  port: number;
  db: Db;
  bootstrap: BootstrapService;
  agent: AgentClient;
  status: StatusService;
  apps: Apps;
  quiesce: Quiesce;
  backups: Backups;
  host: Host;
  updates: Updates;
  /** The first-run setup code while no account exists. */
  setupCode(): SetupCode | null;
  close(): Promise<void>;
}

export function openDataDir(dataDir: string): string {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (error) {
    throw new Error(`FELHOM_DATA_DIR ${dataDir} is not a writable directory: ${(error as Error).message}`, { cause: error });
  }
  return path.join(dataDir, 'controller.db');
}

export async function startController(
  config: Config,
  options: { logger: Logger; clock?: Clock; bootstrapRecheckMs?: number; signInAttempts?: { windowMs: number; limit: number } },
): Promise<RunningController> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const db = openDatabase(openDataDir(config.dataDir), { logger });
  const audit = createAuditLog(db, clock, logger);
  const settings = createSettings(db, clock);
  const bootstrap = new BootstrapService({
    path: config.bootstrapPath,
    db,
    settings,
    audit,
    logger,
    clock,
  });
  await bootstrap.ingest();
  bootstrap.watch(options.bootstrapRecheckMs ?? BOOTSTRAP_RECHECK_MS);

  const agent = new AgentClient(bootstrap, {
    logger: logger.child({ component: 'agent' }),
    timeoutMs: config.agentTimeoutMs,
    onPinMismatch: ({ endpoint, expected, presented }) =>
      audit.record({ actor: 'controller', action: 'agent.pin_mismatch', target: endpoint, outcome: 'refused', details: { expected, presented } }),
  });
  const docker = createDockerPort(config.dockerHost, 10_000, logger);
  const server = http.createServer();
  const status = createStatusService({ version: controllerVersion, checkDatabase: () => db.prepare('SELECT 1').get(), bootstrap, agent, docker, clock });
  const apps = createApps({
    db,
    clock,
    logger,
    audit,
    agent,
    docker,
    compose: createCompose({ ...(config.composeCommand ? { command: config.composeCommand } : {}), dockerHost: config.dockerHost, logger }),
    volumes: createVolumes({ dockerHost: config.dockerHost, logger }),
    dataDir: config.dataDir,
    catalogDirs: config.catalogDirs,
    // Its own deployment, by configuration and by the container it runs in (found by id).
    reservedProjects: async () => [...new Set([config.controllerProject, ...(await docker.controllerProjects().catch(() => []))])],
    // The port it listens on, and those its own container publishes on the guest.
    reservedPorts: async () => [
      { published: (server.address() as AddressInfo | null)?.port ?? config.listen.port, protocol: 'tcp' },
      ...(await docker.controllerPorts().catch(() => [])),
    ],
    allowedRegistries: config.allowedRegistries,
    keepSnapshots: config.keepSnapshots,
    pullImages: config.pullImages,
    offline: config.offline,
    pullStallMs: config.pullStallMs,
    // The updates domain uses the apps' use cases; the apps show its findings through this
    // query, asked only once both exist (apps never import updates: docs/updates.md).
    updateState: (appId) => updates.state(appId),
  });
  const updates = createUpdates({
    db,
    clock,
    logger,
    audit,
    settings,
    apps,
    docker,
    allowedRegistries: config.allowedRegistries,
    offline: config.offline,
    pullImages: config.pullImages,
    schedule: config.updateCheckCron,
  });
  const quiesce = createQuiesce({
    db,
    clock,
    logger,
    audit,
    stacks: apps.quiesceStacks,
    agent,
    maxQuiesceMs: config.maxQuiesceMs,
    pollIntervalMs: config.quiescePollMs,
    trackingPollIntervalMs: config.trackingPollMs,
    schedule: config.backupCheckCron,
  });
  const backups = createBackups({
    db,
    clock,
    logger,
    audit,
    agent,
    quiesce,
    apps,
    config: config.bulk,
    dataDir: config.dataDir,
    storageCheckMs: config.storageCheckMs,
  });
  // Before serving, first: start again the stacks a quiesce run left stopped when the
  // controller died. Only the first attempt is awaited: a stack that cannot start yet
  // (its disk gone) is retried in the background, and the run may go on tracking its
  // backup there too.
  await quiesce.recover()?.resumed;
  // Then converge the records with what Docker runs (an interrupted install, containers
  // that vanished). A Docker engine that is down is reported, not fatal.
  await apps.reconcile().catch((error: unknown) => logger.error({ err: error }, 'could not reconcile apps with Docker at start'));
  apps.watchStorage(config.storageCheckMs);
  // Jobs a crash cut short are closed first; new ones queue behind (the agent may be slow).
  void backups.bulk.recover();
  const host = createHost({ db, clock, logger, agent });
  const account = createAccount(db, clock);
  // No account yet: only someone who can read the log or the data folder may create it.
  let setupCode: SetupCode | null = null;
  if (account.exists()) removeSetupCodeFile(config.dataDir);
  else setupCode = issueSetupCode({ dataDir: config.dataDir, clock, validMs: config.setupCodeValidMs });
  server.on(
    'request',
    createWebApp({
      logger,
      clock,
      apiTokens: createApiTokens(db, clock),
      account,
      sessions: createSessions(db, clock),
      setupCode: () => (setupCode && !account.exists() ? setupCode : null),
      settings,
      status,
      apps,
      agent,
      audit,
      quiesce,
      backups,
      host,
      updates,
      ...(options.signInAttempts ? { signInAttempts: options.signInAttempts } : {}),
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => resolve());
    });
  } catch (error) {
    bootstrap.stopWatching();
    await quiesce.close();
    await backups.bulk.close();
    await updates.close();
    await apps.close();
    await agent.close();
    db.close();
    const reason = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is already in use' : errorMessage(error);
    throw new AppError('validation', `FELHOM_LISTEN ${config.listen.host}:${config.listen.port}: cannot listen there: ${reason}`, { cause: error });
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? 'localhost' : config.listen.host;
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  logger.info({ url, bootstrap: bootstrap.report().state, version: controllerVersion }, 'controller listening');
  if (setupCode) {
    logger.warn(
      { setup_url: `${url}/setup`, setup_code: setupCode.code, valid_until: setupCode.expiresAt.toISOString(), file: setupCode.file },
      `first sign-in: open ${url}/setup and enter the setup code ${setupCode.code} (also in ${setupCode.file}); it is valid until ${setupCode.expiresAt.toISOString()}`,
    );
  }
  quiesce.startSchedule();
  backups.bulk.startSchedule();
  updates.startSchedule();
  host.start(config.hostSampleMs);

  return {
    url,
    port,
    db,
    bootstrap,
    agent,
    status,
    apps,
    quiesce,
    backups,
    host,
    updates,
    setupCode: () => (setupCode && !account.exists() ? setupCode : null),
    async close() {
      bootstrap.stopWatching();
      await host.stop();
      // First, so that a backup in progress has its apps started again (SIGTERM).
      await quiesce.close();
      // A bulk backup in progress is cancelled: restic removes its lock; the run is recorded as cancelled.
      await backups.bulk.close();
      // Before the apps: an automatic update's wait ends; the update itself is the apps'.
      await updates.close();
      await apps.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await agent.close();
      db.close();
    },
  };
}
