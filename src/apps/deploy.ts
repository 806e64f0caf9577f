/**
 * Deploying an app whose records and folder are in place: download its images, snapshot
 * the guest, realize and seed its volumes, start the stack, and wait until it is
 * healthy; an update that does not come up healthy goes back to its previous images
 * and, with them, to its previous version's folder and record (update-undo.ts).
 * Every step is idempotent, so an install interrupted by a crash is finished by running
 * this again.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { AppError, errorText } from '../errors.ts';
import { inEnglish, type Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { oneShotServices, serviceNames, volumeMounts, type ComposeModel } from '../stacks/index.ts';
import { MANIFEST_FILE, OVERRIDE_FILE, writeOverride } from './app-folder.ts';
import { parseManifest } from './manifest.ts';
import type { InFlight } from './in-flight.ts';
import { ROLLED_BACK_KEY, type Operations, type Progress } from './operations.ts';
import { needsInternet } from './policy/index.ts';
import type { AppsAgent, AppsCompose, AppsDocker, AppsVolumes } from './ports.ts';
import { prunePredeploySnapshots, takePredeploySnapshot } from './snapshots.ts';
import type { VolumePlacement } from './placement.ts';
import type { AppRecord, AppStore } from './store.ts';
import type { UpdateUndo } from './update-undo.ts';

export interface DeployDeps {
  agent: AppsAgent;
  compose: AppsCompose;
  docker: AppsDocker;
  volumes: AppsVolumes;
  store: AppStore;
  clock: Clock;
  logger: Logger;
  appsDir: string;
  keepSnapshots: number;
  /** False (FELHOM_PULL=never): no registry is ever asked. */
  pullImages: boolean;
  /** An offline box (FELHOM_OFFLINE): only the listed registries are asked. */
  offline: boolean;
  allowedRegistries: string[];
  /** How long a download may go without progress before it is given up. */
  pullStallMs: number;
}

export type DeployKind = 'install' | 'update' | 'resume';

/**
 * The compose files of an app. The override exists once a deploy got as far as the
 * volumes; before that (a deploy that failed early) compose runs without it.
 */
export function composeSpec(appsDir: string, app: Pick<AppRecord, 'id' | 'composeFile'>, withOverride = true) {
  const dir = path.join(appsDir, app.id);
  const override = withOverride && existsSync(path.join(dir, OVERRIDE_FILE));
  return { project: app.id, dir, files: override ? [app.composeFile, OVERRIDE_FILE] : [app.composeFile] };
}

/**
 * Refuses to deploy onto storage that is not attached: creating the volume directories
 * would put them on the empty mount point, in the root filesystem.
 */
async function assertStorageAttached(agent: AppsAgent, placements: VolumePlacement[]): Promise<void> {
  const mounts = (await agent.getStorage()).mounts;
  const absent = placements.filter((p) => mounts.find((m) => m.id === p.mountId)?.state !== 'attached');
  if (absent.length > 0) {
    const volumes = absent.map((p) => `volume "${p.volume}" (${p.mountLabel})`).join(', ');
    throw new AppError('conflict', { key: 'error.storage_not_attached', params: { volumes } });
  }
}

/**
 * Downloads the app's images, one at a time through the engine, each with its progress
 * on the operation. An update downloads every image (a tag may point at a new one); an
 * install only those the engine lacks. On an offline box an image from the internet is
 * never asked for: the engine's copy is used. Afterwards every image must be in the
 * engine: `compose up` would otherwise download a missing one by itself, past
 * FELHOM_PULL=never and past the controller's view of it.
 */
async function downloadImages(deps: DeployDeps, kind: DeployKind, model: ComposeModel, progress: Progress, signal: AbortSignal): Promise<void> {
  // What each tag meant before its download. When a later image fails, the tags that
  // moved are put back: the app keeps its containers, and its next `compose up` (a
  // restart) must not start a new image the update never checked.
  const before: PreviousImage[] = [];
  try {
    await downloadAll(deps, kind, model, progress, signal, before);
  } catch (error) {
    await pointBack(deps.docker, before).catch((cause: unknown) => deps.logger.warn({ err: cause }, 'could not point the tags of a failed download back at their previous images'));
    throw error;
  }
}

async function downloadAll(deps: DeployDeps, kind: DeployKind, model: ComposeModel, progress: Progress, signal: AbortSignal, before: PreviousImage[]): Promise<void> {
  const images = [...new Set(model.services.map((s) => s.image).filter((image): image is string => image !== null))];
  const missing = async () => (await Promise.all(images.map(async (image) => ((await deps.docker.hasImage(image)) ? null : image)))).filter((image) => image !== null);
  if (!deps.pullImages) {
    progress.note({ key: 'deploy_event.pull_off' });
  } else {
    const wanted = kind === 'update' ? images : await missing();
    const unreachable = deps.offline ? wanted.filter((image) => needsInternet(image, deps.allowedRegistries)) : [];
    for (const image of unreachable) progress.note({ key: 'deploy_event.image_offline', params: { image } });
    const reachable = wanted.filter((image) => !unreachable.includes(image));
    for (const image of reachable) {
      signal.throwIfAborted();
      const had = await deps.docker.imageId(image);
      if (had !== null) before.push({ image, imageId: had });
      const done = await deps.docker.pullImage(image, { stallMs: deps.pullStallMs, signal, onProgress: (p) => progress.pull(p) });
      progress.pull(done, true);
      progress.note(
        had !== null && had === (await deps.docker.imageId(image))
          ? { key: 'deploy_event.image_up_to_date', params: { image } }
          : { key: 'deploy_event.image_downloaded', params: { image, layers: done.layers, megabytes: Math.round(done.bytes / 100_000) / 10 } },
      );
    }
  }
  const absent = await missing();
  if (absent.length > 0) {
    const many = absent.length > 1;
    const key = !deps.pullImages
      ? many ? 'error.images_absent_pull_off' : 'error.image_absent_pull_off'
      : deps.offline
        ? many ? 'error.images_need_internet' : 'error.image_needs_internet'
        : many ? 'error.images_not_downloaded' : 'error.image_not_downloaded';
    throw new AppError('unavailable', { key, params: { images: absent.join(', ') } });
  }
}

/** An image a service ran before an update: the reference it names and the image that reference meant then. */
interface PreviousImage {
  image: string;
  imageId: string;
}

/** Points each reference that moved back at the image it meant before. */
async function pointBack(docker: AppsDocker, previous: PreviousImage[]): Promise<void> {
  for (const { image, imageId } of previous) {
    if ((await docker.imageId(image)) !== imageId) await docker.tagImage(imageId, image);
  }
}

/** What the app's containers run now, one entry per image reference. */
async function currentImages(docker: AppsDocker, appId: string): Promise<PreviousImage[]> {
  const seen = new Map<string, string>();
  for (const container of await docker.listContainers(appId)) {
    if (container.imageId && !seen.has(container.image)) seen.set(container.image, container.imageId);
  }
  return [...seen].map(([image, imageId]) => ({ image, imageId }));
}

/** Starts the stack and waits for it; returns null when it is up and healthy, else the reason it is not. */
async function upAndHealthy(deps: DeployDeps, app: AppRecord, oneShot: string[], timeoutMs: number, progress: Progress, signal: AbortSignal): Promise<Message | null> {
  try {
    await deps.compose.up(composeSpec(deps.appsDir, app), (line) => progress.line(line), signal);
  } catch (error) {
    signal.throwIfAborted();
    return errorText(error);
  }
  signal.throwIfAborted();
  progress.step('wait_healthy');
  const health = await deps.docker.waitHealthy(app.id, { timeoutMs, intervalMs: 500, oneShot, signal });
  if (health.healthy) return null;
  // The engine's view of the containers is English text, shown as it is.
  return health.reason ? { key: 'error.cause', params: { cause: health.reason } } : { key: 'error.not_healthy_in_time' };
}

/**
 * Undoes an update that did not come up healthy: puts the previous version's folder
 * and record back (`undo`), points each reference back at the image it meant before
 * and starts the stack again, which recreates just the services that changed. Returns
 * null when the app is healthy again, else why not.
 */
/** How long the app's manifest lets it take to become healthy. */
async function healthTimeoutMs(appsDir: string, appId: string): Promise<number> {
  return parseManifest(await fs.readFile(path.join(appsDir, appId, MANIFEST_FILE), 'utf8')).health_timeout_seconds * 1000;
}

async function rollBack(deps: DeployDeps, app: AppRecord, undo: UpdateUndo | null, previous: PreviousImage[], oneShot: string[], timeoutMs: number, progress: Progress, signal: AbortSignal): Promise<Message | null> {
  progress.step('roll_back');
  let previousApp = app;
  try {
    if (undo) {
      await undo.restore();
      previousApp = deps.store.get(app.id) ?? app;
      // The previous compose file's one-shot services, which the health wait lets exit,
      // and the previous manifest's patience.
      oneShot = oneShotServices(await deps.compose.config(composeSpec(deps.appsDir, previousApp, false)));
      timeoutMs = await healthTimeoutMs(deps.appsDir, app.id);
    }
    await pointBack(deps.docker, previous);
  } catch (error) {
    signal.throwIfAborted();
    return errorText(error);
  }
  const failure = await upAndHealthy(deps, previousApp, oneShot, timeoutMs, progress, signal);
  if (!failure) progress.note({ key: 'deploy_event.rolled_back' });
  return failure;
}

export interface DeployResult {
  /** Why the deploy failed, or null when the app is up and healthy. */
  failure: Message | null;
  /** False when it failed before anything was changed (an update that could not download its images). */
  touched: boolean;
  /** An update that failed once started: whether its previous images run again (`failure` null), or null when not tried. */
  rollback: { failure: Message | null } | null;
}

/**
 * Runs the deploy and says how it ended. Aborting `signal` (the controller is
 * stopping) stops the compose children and ends the deploy at its next step, leaving
 * it to be resumed.
 */
export async function deploy(deps: DeployDeps, app: AppRecord, kind: DeployKind, progress: Progress, signal: AbortSignal, undo: UpdateUndo | null = null): Promise<DeployResult> {
  const stage = { touched: false };
  try {
    return await runDeploy(deps, app, kind, progress, signal, stage, undo);
  } catch (error) {
    // An update that changed nothing runs the previous version: its folder and record
    // say so again. One cancelled by shutdown is left as it is, for the resume.
    if (!stage.touched && undo && !signal.aborted) {
      await undo.restore().catch((cause: unknown) => deps.logger.warn({ err: cause, app: app.id }, 'could not put back the folder and record of the previous version'));
    }
    return { failure: errorText(error), touched: stage.touched, rollback: null };
  }
}

async function runDeploy(deps: DeployDeps, app: AppRecord, kind: DeployKind, progress: Progress, signal: AbortSignal, stage: { touched: boolean }, undo: UpdateUndo | null): Promise<DeployResult> {
  const { agent, compose, docker, volumes, store, clock, logger, appsDir } = deps;
  await assertStorageAttached(agent, store.placements(app.id));

  progress.step('download_images');
  // Images first, before the snapshot and before anything is changed: an update that
  // cannot download them leaves the app running as it was. Seeding a volume copies
  // files out of its image, too.
  const model = await compose.config(composeSpec(appsDir, app, false));
  await downloadImages(deps, kind, model, progress, signal);
  signal.throwIfAborted();
  stage.touched = true;

  if (kind !== 'resume') {
    progress.step('snapshot');
    const snapshot = await takePredeploySnapshot(agent, store, { appId: app.id, appName: app.name, reason: kind, at: clock.now() });
    progress.snapshot(snapshot);
    progress.note({ key: 'deploy_event.snapshot_taken', params: { snapshot } });
    const pruned = await prunePredeploySnapshots(agent, store, app.id, deps.keepSnapshots, logger).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not prune pre-deploy snapshots');
      return [];
    });
    if (pruned.length > 0) progress.note({ key: 'deploy_event.snapshots_pruned', params: { snapshots: pruned.join(', ') } });
  }

  signal.throwIfAborted();
  progress.step('prepare_storage');
  const mounts = volumeMounts(model);
  for (const placement of store.placements(app.id)) {
    await volumes.ensureVolume({ app: app.id, volume: placement.volume, dir: placement.path });
    const user = mounts.find((mount) => mount.volume === placement.volume);
    if (user) {
      const seeded = await volumes.seedVolume({ app: app.id, volume: placement.volume, dir: placement.path, image: user.image, mountPath: user.target });
      if (seeded === 'seeded') progress.note({ key: 'deploy_event.volume_seeded', params: { volume: placement.volume } });
    }
    progress.note({ key: 'deploy_event.volume_placed', params: { volume: placement.volume, disk: placement.mountLabel, path: placement.path } });
  }
  const oneShot = oneShotServices(model);
  await writeOverride(path.join(appsDir, app.id), app.id, store.placements(app.id).map((p) => p.volume), serviceNames(model), oneShot);

  // What runs now, to go back to should the update not come up healthy.
  const previous = kind === 'update' ? await currentImages(docker, app.id) : [];
  const timeoutMs = await healthTimeoutMs(appsDir, app.id);
  signal.throwIfAborted();
  progress.step('start');
  const failure = await upAndHealthy(deps, app, oneShot, timeoutMs, progress, signal);
  if (!failure) {
    progress.note({ key: 'deploy_event.healthy' });
    return { failure: null, touched: true, rollback: null };
  }
  if (previous.length === 0) return { failure, touched: true, rollback: null };
  return { failure, touched: true, rollback: { failure: await rollBack(deps, app, undo, previous, oneShot, timeoutMs, progress, signal) } };
}

export interface DeployOperationDeps extends DeployDeps {
  audit: AuditLog;
  operations: Operations;
}

/**
 * Runs the deploy as the app's operation, in the background: progress the UI follows,
 * and at the end the app's status, the audit record and, for a failure, the stack taken
 * down (stopped and removed, never half up; the data stays). An update that failed
 * before changing anything, or that was rolled back to its previous images, leaves the
 * app installed and running as it was. A deploy cancelled because the controller stops
 * is neither: its operation stays running, and the next start resumes it as it would
 * after a crash (reconcile.ts).
 */
export function startDeploy(deps: DeployOperationDeps, inFlight: InFlight, app: AppRecord, kind: DeployKind, actor: string, undo: UpdateUndo | null = null): { operationId: string } {
  const { store, operations, audit, logger } = deps;
  const progress = operations.start(app.id, kind === 'resume' ? 'resume-install' : kind);
  const { signal } = inFlight;
  // Said at once, while the database is still open.
  const interrupted = () => progress.note({ key: 'deploy_event.interrupted' });
  signal.addEventListener('abort', interrupted, { once: true });
  void inFlight.run(app.id, 'change', async () => {
    let result: DeployResult;
    try {
      result = await deploy(deps, app, kind, progress, signal, undo);
    } finally {
      signal.removeEventListener('abort', interrupted);
    }
    if (signal.aborted) return;
    const { failure, rollback } = result;
    const action = `app.${kind}`;
    if (!failure) {
      store.update(app.id, { status: 'installed', error: null, desired: 'running' });
      progress.finish(null);
      audit.record({ actor, action, target: app.id, outcome: 'ok', details: {} });
      return;
    }
    // The update's record, then its roll-back's.
    const recordRollback = () => {
      if (!rollback) return;
      const rollbackReason = rollback.failure && inEnglish(rollback.failure);
      audit.record({ actor, action: 'app.update_rollback', target: app.id, outcome: rollback.failure ? 'failed' : 'ok', details: rollback.failure ? { reason: rollbackReason } : {} });
      if (rollback.failure) logger.warn({ app: app.id, reason: rollbackReason }, 'could not roll the update back to the previous images');
    };
    if (kind === 'update' && (!result.touched || (rollback && !rollback.failure))) {
      const text: Message = result.touched ? { key: ROLLED_BACK_KEY, params: { reason: failure } } : failure;
      if (result.touched) store.update(app.id, { status: 'installed', error: null, desired: 'running' });
      progress.finish(text);
      audit.record({ actor, action, target: app.id, outcome: 'failed', details: { reason: inEnglish(text) } });
      recordRollback();
      logger.warn({ app: app.id, kind, reason: inEnglish(text) }, 'app update failed; the app runs as before');
      return;
    }
    // The record names the compose file on disk: the previous version's once a roll-back put it back.
    await deps.compose.down(composeSpec(deps.appsDir, store.get(app.id) ?? app)).catch((error: unknown) => {
      logger.warn({ err: error, app: app.id }, 'could not take down a failed deploy');
    });
    const snapshot = operations.get(progress.operationId)?.snapshot;
    const text: Message = snapshot ? { key: 'error.deploy_failed_rollback', params: { reason: failure, snapshot } } : failure;
    store.update(app.id, { status: 'failed', error: text });
    progress.finish(text);
    const reason = inEnglish(failure);
    audit.record({ actor, action, target: app.id, outcome: 'failed', details: { reason } });
    recordRollback();
    logger.warn({ app: app.id, kind, reason }, 'app deploy failed');
  });
  return { operationId: progress.operationId };
}
