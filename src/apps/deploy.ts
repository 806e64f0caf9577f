/**
 * Deploying an app whose records and folder are in place: snapshot the guest, realize
 * and seed its volumes, start the stack, and wait until it is healthy. Every step is
 * idempotent, so an install interrupted by a crash is finished by running this again.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { AppError, errorMessage, errorText } from '../errors.ts';
import { inEnglish, type Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { oneShotServices, serviceNames, volumeMounts, type ComposeModel } from '../stacks/index.ts';
import { MANIFEST_FILE, OVERRIDE_FILE, writeOverride } from './app-folder.ts';
import { parseManifest } from './manifest.ts';
import type { InFlight } from './in-flight.ts';
import type { Operations, Progress } from './operations.ts';
import type { AppsAgent, AppsCompose, AppsDocker, AppsVolumes } from './ports.ts';
import { prunePredeploySnapshots, takePredeploySnapshot } from './snapshots.ts';
import type { VolumePlacement } from './placement.ts';
import type { AppRecord, AppStore } from './store.ts';

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
  /** False on an offline box: no registry is ever asked. */
  pullImages: boolean;
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
 * An update downloads every image; an install only those the engine lacks. Afterwards
 * every image must be in the engine: `compose up` would otherwise download a missing one
 * by itself, past FELHOM_PULL=never and past the controller's view of it.
 */
async function downloadImages(deps: DeployDeps, app: AppRecord, kind: DeployKind, model: ComposeModel, progress: Progress, signal: AbortSignal): Promise<void> {
  const images = [...new Set(model.services.map((s) => s.image).filter((image): image is string => image !== null))];
  const missing = async () => (await Promise.all(images.map(async (image) => ((await deps.docker.hasImage(image)) ? null : image)))).filter((image) => image !== null);
  if (!deps.pullImages) {
    progress.note({ key: 'deploy_event.pull_off' });
  } else if (kind === 'update' || (await missing()).length > 0) {
    progress.step('download_images');
    await deps.compose.pull(composeSpec(deps.appsDir, app, false), (line) => progress.line(line), signal).catch((error: unknown) => {
      signal.throwIfAborted();
      // A registry hiccup: what the engine already has is used.
      progress.note({ key: 'deploy_event.pull_failed', params: { cause: errorMessage(error) } });
    });
  }
  const absent = await missing();
  if (absent.length > 0) {
    const key = deps.pullImages
      ? absent.length > 1 ? 'error.images_not_downloaded' : 'error.image_not_downloaded'
      : absent.length > 1 ? 'error.images_absent_pull_off' : 'error.image_absent_pull_off';
    throw new AppError('unavailable', { key, params: { images: absent.join(', ') } });
  }
}

/**
 * Runs the deploy; returns null when the stack is up and healthy, else the reason it is
 * not. Aborting `signal` (the controller is stopping) stops the compose children and
 * ends the deploy at its next step, leaving it to be resumed.
 */
export async function deploy(deps: DeployDeps, app: AppRecord, kind: DeployKind, progress: Progress, signal: AbortSignal): Promise<Message | null> {
  const { agent, compose, docker, volumes, store, clock, logger, appsDir } = deps;
  await assertStorageAttached(agent, store.placements(app.id));

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

  const model = await compose.config(composeSpec(appsDir, app, false));
  // Images first: seeding a volume copies files out of its image.
  await downloadImages(deps, app, kind, model, progress, signal);

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

  const spec = composeSpec(appsDir, app);
  signal.throwIfAborted();
  progress.step('start');
  await compose.up(spec, (line) => progress.line(line), signal);

  signal.throwIfAborted();
  progress.step('wait_healthy');
  const manifest = parseManifest(await fs.readFile(path.join(appsDir, app.id, MANIFEST_FILE), 'utf8'));
  const health = await docker.waitHealthy(app.id, {
    timeoutMs: manifest.health_timeout_seconds * 1000,
    intervalMs: 500,
    oneShot,
    signal,
  });
  if (health.healthy) {
    progress.note({ key: 'deploy_event.healthy' });
    return null;
  }
  // The engine's view of the containers is English text, shown as it is.
  return health.reason ? { key: 'error.cause', params: { cause: health.reason } } : { key: 'error.not_healthy_in_time' };
}

export interface DeployOperationDeps extends DeployDeps {
  audit: AuditLog;
  operations: Operations;
}

/**
 * Runs the deploy as the app's operation, in the background: progress the UI follows,
 * and at the end the app's status, the audit record and, for a failure, the stack taken
 * down (stopped and removed, never half up; the data stays). A deploy cancelled because
 * the controller stops is neither: its operation stays running, and the next start
 * resumes it as it would after a crash (reconcile.ts).
 */
export function startDeploy(deps: DeployOperationDeps, inFlight: InFlight, app: AppRecord, kind: DeployKind, actor: string): { operationId: string } {
  const { store, operations, audit, logger } = deps;
  const progress = operations.start(app.id, kind === 'resume' ? 'resume-install' : kind);
  const { signal } = inFlight;
  // Said at once, while the database is still open.
  const interrupted = () => progress.note({ key: 'deploy_event.interrupted' });
  signal.addEventListener('abort', interrupted, { once: true });
  void inFlight.run(app.id, 'change', async () => {
    let failure: Message | null;
    try {
      failure = await deploy(deps, app, kind, progress, signal);
    } catch (error) {
      failure = errorText(error);
    } finally {
      signal.removeEventListener('abort', interrupted);
    }
    if (signal.aborted) return;
    if (failure) {
      await deps.compose.down(composeSpec(deps.appsDir, app)).catch((error: unknown) => {
        logger.warn({ err: error, app: app.id }, 'could not take down a failed deploy');
      });
    }
    const snapshot = operations.get(progress.operationId)?.snapshot;
    const text: Message | null = failure && snapshot ? { key: 'error.deploy_failed_rollback', params: { reason: failure, snapshot } } : failure;
    const message = text && inEnglish(text);
    store.update(app.id, text ? { status: 'failed', error: text } : { status: 'installed', error: null, desired: 'running' });
    progress.finish(text);
    audit.record({ actor, action: `app.${kind}`, target: app.id, outcome: failure ? 'failed' : 'ok', details: failure ? { reason: message } : {} });
    if (failure) logger.warn({ app: app.id, kind, reason: message }, 'app deploy failed');
  });
  return { operationId: progress.operationId };
}
