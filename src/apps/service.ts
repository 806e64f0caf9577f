/**
 * The apps use cases: install, start, stop, restart, update, uninstall, roll back.
 * Everything that can be refused (a bad manifest, a policy violation, no storage) is
 * refused before anything is created; long work then runs as an operation whose
 * progress the UI and the API can follow. Every action goes to the audit log.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.ts';
import { AppError, errorMessage } from '../errors.ts';
import { seedSentinel, volumeName } from '../stacks/index.ts';
import { commitAppFolder, MANIFEST_FILE, stageAppFolder, type AppFiles } from './app-folder.ts';
import { readCatalogApp } from './catalog.ts';
import { deploy, composeSpec, type DeployDeps, type DeployKind } from './deploy.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import type { Operations } from './operations.ts';
import { planPlacement, type PlacementPlan } from './placement.ts';
import { describeViolation, judgeApp, publishedPorts, violationsOf, type JudgeDeps } from './policy/index.ts';
import type { ComposeModel } from '../stacks/index.ts';
import type { AppRecord } from './store.ts';

export type InstallSource = { manifest: string; compose: string } | { catalog: string };

export interface AppsServiceDeps extends DeployDeps {
  audit: AuditLog;
  operations: Operations;
  catalogDir: string;
  /** Compose project names that are not apps (the controller's own). */
  reservedProjects: () => Promise<string[]>;
  /** Host ports no app may publish (the controller's own, known once it listens, and its container's). */
  reservedPorts: () => Promise<Array<{ published: number; protocol: 'tcp' | 'udp' }>>;
  /** Registries on the guest or its network that apps may take images from. */
  allowedRegistries: string[];
}

export interface Actor {
  actor: string;
}

export class AppsService {
  readonly #deps: AppsServiceDeps;
  /** Deploys running in this process, so tests and shutdown can wait for them. */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #restoring = new Set<string>();
  readonly #readers = new Map<string, (reason: string) => Promise<void>>();
  #installs: Promise<void> = Promise.resolve();

  constructor(deps: AppsServiceDeps) {
    this.#deps = deps;
  }

  /**
   * What installing would do: the manifest, where each volume would go, what must be
   * confirmed, and every reason the app policy refuses it, so the customer sees a
   * refusal before pressing Install, not after.
   */
  async plan(source: InstallSource): Promise<{ manifest: Manifest; plan: PlacementPlan }> {
    const { manifest, files } = await this.#read(source);
    const storage = await this.#deps.agent.getStorage();
    const plan = this.#placementPlan(manifest, storage.mounts, false);
    try {
      await this.#judged(manifest, files, async () => undefined);
    } catch (error) {
      const violations = violationsOf(error);
      if (!violations) throw error;
      plan.problems.push(...violations.map(describeViolation));
    }
    return { manifest, plan };
  }

  async install(source: InstallSource, options: Actor & { confirmBulkOnPrimary?: boolean }): Promise<{ operationId: string }> {
    // One at a time: the checks (id, ports) and the record they protect must not interleave.
    const turn = this.#installs.then(() => this.#install(source, options));
    this.#installs = turn.then(
      () => {},
      () => {},
    );
    return turn;
  }

  async #install(source: InstallSource, options: Actor & { confirmBulkOnPrimary?: boolean }): Promise<{ operationId: string }> {
    const { store, appsDir, audit } = this.#deps;
    const { manifest, files } = await this.#read(source);
    const sourceName = 'catalog' in source ? `catalog:${source.catalog}` : 'upload';
    try {
      if (store.get(manifest.id)) throw new AppError('conflict', `an app with id "${manifest.id}" is already installed`);
      this.#assertIdle(manifest.id);
      // Compose would treat its containers as ours (and `--remove-orphans` would remove them).
      if ((await this.#deps.docker.projects()).includes(manifest.id)) {
        throw new AppError('conflict', `containers of a compose project named "${manifest.id}" already run in Docker and are not a Felhom app; choose another id`);
      }
      await this.#admit(manifest, files, options.confirmBulkOnPrimary ?? false, (placements, ports) =>
        store.insert(
          { id: manifest.id, name: manifest.name, version: manifest.version, source: sourceName, composeFile: manifest.compose, web: manifest.web ?? null },
          placements,
          ports,
        ),
      );
    } catch (error) {
      audit.record({ actor: options.actor, action: 'app.install', target: manifest.id, outcome: refusedOrFailed(error), details: { reason: errorMessage(error) } });
      throw error;
    }
    return this.#runDeploy(manifest.id, 'install', options.actor);
  }

  async update(id: string, options: Actor): Promise<{ operationId: string }> {
    const app = this.#require(id);
    this.#assertIdle(id);
    this.#assertStorageBack(app, 'update', options.actor);
    try {
      await this.#rejudge(app);
    } catch (error) {
      this.#deps.audit.record({ actor: options.actor, action: 'app.update', target: id, outcome: refusedOrFailed(error), details: { reason: errorMessage(error) } });
      throw error;
    }
    await this.#stopReaders(id, 'updated');
    return this.#runDeploy(id, 'update', options.actor);
  }

  async start(id: string, options: Actor): Promise<void> {
    const app = this.#require(id);
    this.#assertIdle(id);
    this.#assertStorageBack(app, 'start', options.actor);
    await this.#simple(id, 'start', options.actor, async () => {
      await this.#deps.docker.startProject(id);
      this.#deps.store.update(id, { desired: 'running' });
    });
  }

  async stop(id: string, options: Actor): Promise<void> {
    this.#require(id);
    this.#assertIdle(id);
    await this.#simple(id, 'stop', options.actor, async () => {
      await this.#deps.docker.stopProject(id);
      this.#deps.store.update(id, { desired: 'stopped' });
    });
  }

  async restart(id: string, options: Actor): Promise<void> {
    const app = this.#require(id);
    if (app.stoppedForStorage) return this.start(id, options);
    this.#assertIdle(id);
    await this.#simple(id, 'restart', options.actor, async () => {
      await this.#deps.docker.stopProject(id);
      await this.#deps.docker.startProject(id);
      this.#deps.store.update(id, { desired: 'running' });
    });
  }

  /**
   * Removes the app. Its data stays unless `deleteData` is set, and deleting data needs
   * `confirm` equal to the code that the refusal returns together with the paths.
   */
  async uninstall(id: string, options: Actor & { deleteData?: boolean; confirm?: string }): Promise<{ deletedPaths: string[] }> {
    const { store, compose, volumes, appsDir, audit } = this.#deps;
    const app = store.get(id);
    const placements = store.placements(id);
    if (!app && placements.length === 0) throw new AppError('not_found', `no app "${id}" is installed and no data of it is kept`);
    if (options.deleteData) this.#assertDeletionConfirmed(id, placements.map((p) => p.path), options.confirm);
    this.#assertIdle(id);
    if (app) {
      await this.#stopReaders(id, 'removed');
      const operation = this.#deps.operations.start(id, 'uninstall');
      let done!: () => void;
      this.#inFlight.set(id, new Promise<void>((resolve) => (done = resolve)));
      try {
        await compose.down(composeSpec(appsDir, app)).catch(async (error: unknown) => {
          // A folder compose no longer reads (an older controller's file) must not keep
          // the app from being removed: its containers and networks go by label.
          this.#deps.logger.warn({ err: error, app: id }, 'compose down failed; removing the app\'s containers by label');
          await this.#deps.docker.removeProject(id);
        });
        for (const placement of placements) await volumes.removeVolume(volumeName(id, placement.volume));
        store.remove(id);
        await fs.rm(path.join(appsDir, id), { recursive: true, force: true });
        operation.finish();
      } catch (error) {
        operation.finish(errorMessage(error));
        audit.record({ actor: options.actor, action: 'app.uninstall', target: id, outcome: 'failed', details: { reason: errorMessage(error) } });
        throw error;
      } finally {
        this.#inFlight.delete(id);
        done();
      }
    }
    const deletedPaths: string[] = [];
    if (options.deleteData) {
      for (const placement of placements) {
        await fs.rm(placement.path, { recursive: true, force: true });
        await fs.rm(seedSentinel(placement.path), { force: true });
        deletedPaths.push(placement.path, ...(await removeNamedAfter(placement.path)));
      }
      store.forgetPlacements(id);
    }
    audit.record({
      actor: options.actor,
      action: 'app.uninstall',
      target: id,
      outcome: 'ok',
      details: { data: options.deleteData ? 'deleted' : 'kept', paths: placements.map((p) => p.path) },
    });
    return { deletedPaths };
  }

  /** The code that confirms deleting exactly these paths: a changed list needs a new confirmation. */
  deletionCode(id: string): { paths: string[]; confirm: string } {
    const paths = this.#deps.store.placements(id).map((p) => p.path);
    return { paths, confirm: confirmationCode(id, paths) };
  }

  /** Rolls the whole guest back to one of the controller's pre-deploy snapshots. */
  async rollback(id: string, snapshot: string, options: Actor & { confirm: boolean }): Promise<void> {
    const { store, agent, audit } = this.#deps;
    if (!store.snapshots(id).some((s) => s.name === snapshot)) {
      throw new AppError('not_found', `"${snapshot}" is not a snapshot the controller took before a deploy of "${id}"`);
    }
    if (!options.confirm) {
      throw new AppError(
        'validation',
        'rolling back returns the whole server, every app and its data on fast storage, to the moment of the snapshot; the controller restarts. Confirm to go ahead',
      );
    }
    audit.record({ actor: options.actor, action: 'app.rollback', target: id, outcome: 'ok', details: { snapshot } });
    await agent.rollback(snapshot);
  }

  /** Why the app's volumes must not be read or replaced now, or null. */
  busy(id: string): string | null {
    const app = this.#deps.store.get(id);
    if (!app) return `no app "${id}" is installed`;
    if (this.#restoring.has(id)) return `"${app.name}" is being restored`;
    if (this.#inFlight.has(id) || app.status === 'installing') return `"${app.name}" is being installed, updated or removed`;
    return null;
  }

  /**
   * Stops the app, runs `work` (a restore replacing a volume), and starts the app again
   * if it is meant to run. Meanwhile the app is busy: no install, update, start or stop.
   */
  async whileStopped<T>(id: string, actor: string, work: () => Promise<T>): Promise<T> {
    const app = this.#require(id);
    this.#assertIdle(id);
    const done = Promise.withResolvers<void>();
    this.#inFlight.set(id, done.promise);
    this.#restoring.add(id);
    try {
      await this.#simple(id, 'stop', actor, async () => void (await this.#deps.docker.stopProject(id)));
      return await work();
    } finally {
      this.#restoring.delete(id);
      this.#inFlight.delete(id);
      done.resolve();
      await this.startIfWanted(app.id, actor).catch((error: unknown) => this.#deps.logger.error({ err: error, app: id }, 'could not start the app again after a restore'));
    }
  }

  /**
   * A backup reading the app's volumes registers here; an update or an uninstall first
   * asks it to stop (the backup run is recorded as cancelled, with the reason).
   */
  whileReading(id: string, stop: (reason: string) => Promise<void>): () => void {
    this.#readers.set(id, stop);
    return () => {
      if (this.#readers.get(id) === stop) this.#readers.delete(id);
    };
  }

  async #stopReaders(id: string, what: string): Promise<void> {
    await this.#readers.get(id)?.(`the app is being ${what}; its folders are backed up at the next run`);
  }

  /** Starts the app when it is meant to run and its storage is there. */
  async startIfWanted(id: string, actor = 'controller'): Promise<void> {
    const app = this.#deps.store.get(id);
    if (!app || app.desired !== 'running' || app.stoppedForStorage || app.status !== 'installed') return;
    await this.#simple(id, 'start', actor, async () => void (await this.#deps.docker.startProject(id)));
  }

  /** Waits for deploys started in this process (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Deploys again an install that a crash interrupted; every step is idempotent. */
  resume(id: string): { operationId: string } {
    return this.#runDeploy(id, 'resume', 'controller');
  }

  #runDeploy(id: string, kind: DeployKind, actor: string): { operationId: string } {
    const { store, operations, audit, logger } = this.#deps;
    const progress = operations.start(id, kind === 'resume' ? 'resume-install' : kind);
    const run = (async () => {
      let failure: string | null;
      try {
        failure = await deploy(this.#deps, this.#require(id), kind, progress);
      } catch (error) {
        failure = errorMessage(error);
      }
      if (failure) {
        // Stopped and removed, never half up; the data stays.
        await this.#deps.compose.down(composeSpec(this.#deps.appsDir, this.#require(id))).catch((error: unknown) => {
          logger.warn({ err: error, app: id }, 'could not take down a failed deploy');
        });
      }
      const snapshot = operations.get(progress.operationId)?.snapshot;
      const message = failure
        ? `${failure}${snapshot ? `. The server can be rolled back to snapshot ${snapshot} from the app page.` : ''}`
        : null;
      store.update(id, failure ? { status: 'failed', error: message } : { status: 'installed', error: null, desired: 'running' });
      progress.finish(message);
      audit.record({ actor, action: `app.${kind}`, target: id, outcome: failure ? 'failed' : 'ok', details: failure ? { reason: message } : {} });
      if (failure) logger.warn({ app: id, kind, reason: message }, 'app deploy failed');
    })().finally(() => this.#inFlight.delete(id));
    this.#inFlight.set(id, run);
    return { operationId: progress.operationId };
  }

  async #simple(id: string, action: 'start' | 'stop' | 'restart', actor: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.#deps.audit.record({ actor, action: `app.${action}`, target: id, outcome: 'ok' });
    } catch (error) {
      this.#deps.audit.record({ actor, action: `app.${action}`, target: id, outcome: 'failed', details: { reason: errorMessage(error) } });
      throw error;
    }
  }

  async #read(source: InstallSource): Promise<{ manifest: Manifest; files: AppFiles }> {
    const files: AppFiles =
      'catalog' in source ? await readCatalogApp(this.#deps.catalogDir, source.catalog) : { manifest: source.manifest, files: {} };
    const manifest = parseManifest(files.manifest);
    if (!('catalog' in source)) files.files[manifest.compose] = source.compose;
    if (files.files[manifest.compose] === undefined) {
      throw new AppError('validation', `the manifest names compose file "${manifest.compose}", which is not in the app folder`);
    }
    return { manifest, files };
  }

  /**
   * Judges the app in a staging folder that holds its compose file as the policy read
   * it (compose then runs exactly what was checked), and hands both to `then`. The
   * staging folder is gone afterwards: moved into place by `then`, or removed.
   */
  async #judged<T>(manifest: Manifest, files: AppFiles, then: (staging: string, model: ComposeModel) => Promise<T>): Promise<T> {
    let staging: string | null = null;
    const stage = async (canonical: string) => {
      staging = await stageAppFolder(this.#deps.appsDir, manifest.id, { ...files, files: { ...files.files, [manifest.compose]: canonical } });
      return staging;
    };
    try {
      const model = await judgeApp({ manifest, composeText: files.files[manifest.compose] ?? '', stage }, this.#judgeDeps);
      return await then(staging!, model);
    } finally {
      if (staging) await fs.rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * The pipeline of install and update: judged, placed, moved into place, recorded
   * (`record` gets the placements and the host ports), all before anything runs.
   */
  async #admit(manifest: Manifest, files: AppFiles, confirmBulkOnPrimary: boolean, record: (placements: PlacementPlan['placements'], ports: ReturnType<typeof publishedPorts>) => void): Promise<void> {
    await this.#judged(manifest, files, async (staging, model) => {
      const storage = await this.#deps.agent.getStorage();
      const plan = this.#placementPlan(manifest, storage.mounts, confirmBulkOnPrimary);
      refuseUnplaceable(plan);
      await commitAppFolder(staging, path.join(this.#deps.appsDir, manifest.id));
      record(plan.placements, publishedPorts(model));
    });
  }

  readonly #judgeDeps: JudgeDeps = {
    compose: { config: (spec) => this.#deps.compose.config(spec) },
    surroundings: async (appId) => ({
      otherApps: this.#deps.store.portsOfOtherApps(appId),
      reservedProjects: await this.#deps.reservedProjects(),
      reservedPorts: await this.#deps.reservedPorts(),
      takenContainerNames: await this.#deps.docker.containerNamesOutside(appId),
      allowedRegistries: this.#deps.allowedRegistries,
    }),
  };

  #placementPlan(manifest: Manifest, mounts: Parameters<typeof planPlacement>[0]['mounts'], confirmBulkOnPrimary: boolean) {
    return planPlacement({
      appId: manifest.id,
      volumes: Object.entries(manifest.volumes).map(([volume, spec]) => ({ volume, class: spec.class, backup: spec.backup, note: spec.note })),
      mounts,
      existing: this.#deps.store.placements(manifest.id).map((p) => ({ volume: p.volume, class: p.class, mountId: p.mountId, path: p.path })),
      confirmBulkOnPrimary,
    });
  }

  /**
   * Judges the app again before an update, as the policy stands today: a catalog app
   * from the catalog's newer files, an uploaded one from its folder as installed. An app
   * installed before a rule existed is refused an update until it keeps to it.
   */
  async #rejudge(app: AppRecord): Promise<void> {
    const files = app.source.startsWith('catalog:') ? await readCatalogApp(this.#deps.catalogDir, app.source.slice('catalog:'.length)) : await this.#installedFiles(app);
    const manifest = parseManifest(files.manifest);
    await this.#admit(manifest, files, false, (placements, ports) =>
      this.#deps.store.replace(
        { id: app.id, name: manifest.name, version: manifest.version, source: app.source, composeFile: manifest.compose, web: manifest.web ?? null },
        placements,
        ports,
      ),
    );
  }

  async #installedFiles(app: AppRecord): Promise<AppFiles> {
    const dir = path.join(this.#deps.appsDir, app.id);
    return {
      manifest: await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8'),
      files: { [app.composeFile]: await fs.readFile(path.join(dir, app.composeFile), 'utf8') },
    };
  }

  #assertDeletionConfirmed(id: string, paths: string[], confirm: string | undefined): void {
    const expected = confirmationCode(id, paths);
    if (confirm !== expected) {
      throw new AppError('conflict', `deleting the data of "${id}" removes these folders for good: ${paths.join(', ')}. Repeat with confirm=${expected}`, {
        details: { confirmation_required: true, paths, confirm: expected },
      });
    }
  }

  #assertStorageBack(app: AppRecord, action: string, actor: string): void {
    if (!app.stoppedForStorage) return;
    const error = new AppError(
      'conflict',
      `"${app.name}" was stopped because its storage (${app.stoppedForStorage.join(', ')}) is not attached; it starts again by itself when the storage is back`,
    );
    this.#deps.audit.record({ actor, action: `app.${action}`, target: app.id, outcome: 'refused', details: { reason: error.message } });
    throw error;
  }

  #assertIdle(id: string): void {
    if (this.#restoring.has(id)) throw new AppError('conflict', `"${id}" is being restored from a backup; wait until that has finished`);
    if (this.#inFlight.has(id)) throw new AppError('conflict', `"${id}" is being installed, updated or removed; wait until that has finished`);
  }

  #require(id: string): AppRecord {
    const app = this.#deps.store.get(id);
    if (!app) throw new AppError('not_found', `no app "${id}" is installed`);
    return app;
  }
}

function refuseUnplaceable(plan: PlacementPlan): void {
  if (plan.problems.length > 0) {
    throw new AppError('policy', `the app's volumes cannot be placed: ${plan.problems.join('; ')}`, { details: { problems: plan.problems } });
  }
  if (plan.needsConfirmation.length > 0) {
    throw new AppError(
      'conflict',
      `no bulk storage is attached, so ${plan.needsConfirmation.join(', ')} would go on the fast internal storage; confirm that to install (confirm_bulk_on_primary)`,
      { details: { confirmation_required: true, volumes: plan.needsConfirmation } },
    );
  }
}

function refusedOrFailed(error: unknown): 'refused' | 'failed' {
  return error instanceof AppError && ['validation', 'policy', 'conflict', 'not_found'].includes(error.code) ? 'refused' : 'failed';
}

/**
 * Removes what lives beside a volume under its name: copies and kept data of its
 * restores (`<volume>.restore-…`, `<volume>.before-restore-…`) and seeding leftovers.
 */
async function removeNamedAfter(volumePath: string): Promise<string[]> {
  const dir = path.dirname(volumePath);
  const prefix = `${path.basename(volumePath)}.`;
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith(prefix));
  for (const name of names) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  return names.map((name) => path.join(dir, name));
}

function confirmationCode(id: string, paths: string[]): string {
  return createHash('sha256').update(JSON.stringify([id, ...paths])).digest('hex').slice(0, 12);
}
