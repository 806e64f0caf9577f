/**
 * The updates domain: whether a newer image exists for each installed app's tags
 * (checker.ts), on a schedule and on demand, one check at a time; the last check of each
 * app kept in SQLite (store.ts); and automatic updates, only for the apps whose customer
 * turned them on, only after a scheduled check (auto-update.ts). The apps domain shows
 * the result through `state`, which the composition root hands it (docs/updates.md).
 */
import type { Router } from 'express';
import { schedule, type ScheduledTask } from 'node-cron';
import type { Apps, AppUpdateInfo } from '../apps/index.ts';
import type { UpdatesCore } from './core.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { autoUpdate, type Settings } from '../settings/index.ts';
import { autoUpdateApp } from './auto-update.ts';
import { checkAppImages, sharedRegistryQuestions, updateAvailable, type AskRegistry, type CheckerDocker } from './checker.ts';
import { updatePages } from './pages.ts';
import { updatesApi } from './routes.ts';
import { createUpdateStore, latestOf } from './store.ts';

/** How many apps one check run looks at at the same time. */
const PARALLEL_CHECKS = 4;

export interface UpdatesDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  settings: Pick<Settings, 'get' | 'setByCustomer'>;
  apps: Pick<Apps, 'records' | 'record' | 'update' | 'operation' | 'latestOperation'>;
  docker: CheckerDocker;
  allowedRegistries: string[];
  offline: boolean;
  /** FELHOM_PULL=always: with downloads off no registry is asked (docs/updates.md). */
  pullImages: boolean;
  /** FELHOM_UPDATE_CHECK_CRON. */
  schedule: string;
  /** How long one registry question may take (default 20 s). */
  registryTimeoutMs?: number;
  /** How often an automatic update's operation is looked at (default 1 s). */
  operationPollMs?: number;
}

export interface Updates extends UpdatesCore {
  /** The routes under /api/v1. */
  api: Router;
  /** The check and automatic-update forms of the app and home pages. */
  pages(): Router;
  startSchedule(): void;
  close(): Promise<void>;
}

export function createUpdates(deps: UpdatesDeps): Updates {
  const store = createUpdateStore(deps.db, deps.clock);
  const logger = deps.logger.child({ component: 'updates' });
  const checker = { docker: deps.docker, allowedRegistries: deps.allowedRegistries, offline: deps.offline, pullImages: deps.pullImages, timeoutMs: deps.registryTimeoutMs ?? 20_000 };
  const stopping = new AbortController();
  let task: ScheduledTask | null = null;
  let scheduled: Promise<void> | null = null;

  // One check at a time: a request for what a pending or running check covers joins it
  // ('*' covers every app), anything else queues behind.
  const pending = new Map<string, Promise<void>>();
  let tail: Promise<void> = Promise.resolve();

  const checkOne = async (appId: string, ask: AskRegistry) => {
    try {
      store.save(appId, await checkAppImages(checker, appId, ask));
    } catch (error) {
      // The engine did not answer: the last check stays as it was.
      logger.warn({ err: error, app: appId }, 'could not check the app for newer images');
    }
  };
  const run = async (scope: string) => {
    // Within one run the registry is asked once per image reference, whichever apps use it.
    const ask = sharedRegistryQuestions(checker);
    const apps = deps.apps.records();
    if (scope === '*') {
      store.keepOnly(apps.map((a) => a.id));
      // A few apps at a time: a registry that hangs costs one timeout per few apps, not
      // one per app in a row.
      const queue = apps.map((a) => a.id);
      const worker = async () => {
        for (let id = queue.shift(); id !== undefined && !stopping.signal.aborted; id = queue.shift()) await checkOne(id, ask);
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_CHECKS, queue.length) }, worker));
    } else if (deps.apps.record(scope)) {
      await checkOne(scope, ask);
    }
  };
  const check = (appId?: string): Promise<void> => {
    const scope = appId ?? '*';
    const joined = pending.get('*') ?? pending.get(scope);
    if (joined) return joined;
    const turn = tail.then(() => run(scope));
    pending.set(scope, turn);
    // Logged here once, whoever waits for it (a page form does not).
    tail = turn.finally(() => pending.delete(scope)).catch((error: unknown) => logger.warn({ err: error, scope }, 'the update check failed'));
    return turn;
  };

  // The setting names the installation it was given for: an app removed and installed
  // again starts with automatic updates off, as any new app does.
  const installation = (appId: string) => deps.apps.record(appId)?.createdAt ?? null;
  const automatic = (appId: string) => {
    const installed = installation(appId);
    return installed !== null && deps.settings.get(autoUpdate(appId))?.value === `on ${installed}`;
  };
  const state = (appId: string): AppUpdateInfo => {
    const last = store.get(appId);
    // Updated since the check (Update now): the check speaks of images the app no longer
    // runs, so it offers no update until the next check says what is newer.
    const op = deps.apps.latestOperation(appId);
    const updatedSince = last !== null && op?.kind === 'update' && op.state === 'succeeded' && (op.finishedAt ?? '') > last.checkedAt;
    return {
      available: last !== null && !updatedSince && updateAvailable(last.images),
      checked_at: last?.checkedAt ?? null,
      automatic: automatic(appId),
      images: (last?.images ?? []).map((i) => ({ service: i.service, image: i.image, running: i.running, latest: i.latest, error: i.errorEnglish, error_text: i.error })),
    };
  };

  const runScheduled = async () => {
    await check();
    // Only here, never after a check the customer asked for: an update the customer did
    // not start happens at the time they expect the scheduled work.
    for (const app of deps.apps.records()) {
      if (stopping.signal.aborted) return;
      const last = store.get(app.id);
      if (!automatic(app.id) || !last || !updateAvailable(last.images)) continue;
      // An update starts the app: one the customer stopped, or whose disk is away, or that
      // is not installed as it should be, waits for the customer.
      if (app.status !== 'installed' || app.desired !== 'running' || app.stoppedForStorage) continue;
      // An update that ran and failed (rolled back, or failed after changing things) is not
      // tried again every night on the same images: only when the registry has other
      // ones, or when the customer updates.
      if (last.autoFailed === latestOf(last.images)) continue;
      logger.info({ app: app.id }, 'a newer image exists and automatic updates are on: updating');
      const run = await autoUpdateApp({ apps: deps.apps, audit: deps.audit, pollMs: deps.operationPollMs ?? 1_000, signal: stopping.signal }, app.id);
      if (run === null) return;
      // A refusal or a failed download left the app as it was: tried again next time.
      if (run.result !== 'ok' && !run.temporary) store.autoFailed(app.id, latestOf(last.images));
      // So that the pages say what runs now.
      await check(app.id);
    }
  };

  const core: UpdatesCore = {
    check,
    runScheduled() {
      scheduled ??= runScheduled()
        .catch((error: unknown) => logger.warn({ err: error }, 'the scheduled update check failed'))
        .finally(() => {
          scheduled = null;
        });
      return scheduled;
    },
    state,
    automatic,
    setAutomatic(appId, enabled, actor) {
      deps.settings.setByCustomer(autoUpdate(appId), enabled ? `on ${installation(appId)}` : 'off');
      deps.audit.record({ actor, action: 'app.auto_update', target: appId, outcome: 'ok', details: { enabled: enabled ? 'on' : 'off' } });
    },
  };
  return {
    ...core,
    api: updatesApi(core, deps.apps),
    pages: () => updatePages(core, deps.apps),
    startSchedule() {
      // No node-cron overlap guard: runScheduled is single-flight itself (and the guard logs on every skipped tick).
      task ??= schedule(deps.schedule, () => core.runScheduled());
    },
    async close() {
      await task?.stop();
      task = null;
      stopping.abort();
      await scheduled;
      await tail;
    },
  };
}
