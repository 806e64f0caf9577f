/**
 * The apps use cases: install, start, stop, restart, update, uninstall, roll back.
 * Everything that can be refused (a bad manifest, a policy violation, no storage) is
 * refused before anything is created; long work then runs as an operation whose
 * progress the UI and the API can follow. Every action goes to the audit log.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError, errorMessage, errorText } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import { volumeName } from '../stacks/index.ts';
import { admitApp, planApp, readForUpdate, readSource, type AdmissionDeps, type InstallSource } from './admission.ts';
import { assertDeletionConfirmed, confirmationCode, deleteVolumeData } from './data-removal.ts';
import { composeSpec, startDeploy, type DeployKind, type DeployOperationDeps } from './deploy.ts';
import { InFlight } from './in-flight.ts';
import type { Manifest } from './manifest.ts';
import type { PlacementPlan } from './placement.ts';
import type { AppRecord } from './store.ts';
import { keepForUndo, type UpdateUndo } from './update-undo.ts';

export type { InstallSource } from './admission.ts';

export interface AppsServiceDeps extends DeployOperationDeps, AdmissionDeps {
  /** How long closing waits for deploys before it cancels them (tests shorten it). */
  shutdownDeadlineMs?: number;
}

export interface Actor {
  actor: string;
}

export class AppsService {
  readonly #deps: AppsServiceDeps;
  /** Deploys, removals and restores running in this process, one per app. */
  readonly #inFlight = new InFlight();
  readonly #readers = new Map<string, (reason: Message) => Promise<void>>();
  #installs: Promise<void> = Promise.resolve();

  constructor(deps: AppsServiceDeps) {
    this.#deps = deps;
  }

  /** What installing would do, and every reason it would be refused (admission.ts). */
  async plan(source: InstallSource): Promise<{ manifest: Manifest; plan: PlacementPlan }> {
    const { manifest, files } = await readSource(this.#deps, source);
    return { manifest, plan: await planApp(this.#deps, manifest, files) };
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
    const { store, audit } = this.#deps;
    const { manifest, files } = await readSource(this.#deps, source);
    const sourceName = 'catalog' in source ? `catalog:${source.catalog}` : 'upload';
    try {
      if (store.get(manifest.id)) throw new AppError('conflict', { key: 'error.app_already_installed', params: { id: manifest.id } });
      this.#inFlight.assertIdle(manifest.id);
      // Compose would treat its containers as ours (and `--remove-orphans` would remove them).
      if ((await this.#deps.docker.projects()).includes(manifest.id)) {
        throw new AppError('conflict', { key: 'error.project_not_felhom', params: { id: manifest.id } });
      }
      await admitApp(this.#deps, manifest, files, options.confirmBulkOnPrimary ?? false, (placements, ports) =>
        store.insert(
          { id: manifest.id, name: manifest.name, version: manifest.version, source: sourceName, composeFile: manifest.compose, web: manifest.web ?? null },
          placements,
          ports,
        ),
        'install',
      );
    } catch (error) {
      audit.record({ actor: options.actor, action: 'app.install', target: manifest.id, outcome: refusedOrFailed(error), details: { reason: errorMessage(error) } });
      throw error;
    }
    return this.#runDeploy(manifest.id, 'install', options.actor);
  }

  async update(id: string, options: Actor): Promise<{ operationId: string }> {
    const app = this.#require(id);
    this.#inFlight.assertIdle(id);
    this.#assertStorageBack(app, 'update', options.actor);
    let undo: UpdateUndo;
    try {
      // Before the new version's files and record replace these: a failed update goes back to them.
      undo = await keepForUndo(this.#deps.store, this.#deps.appsDir, app);
      await this.#rejudge(app);
    } catch (error) {
      this.#deps.audit.record({ actor: options.actor, action: 'app.update', target: id, outcome: refusedOrFailed(error), details: { reason: errorMessage(error) } });
      throw error;
    }
    await this.#stopReaders(id, 'updated');
    return this.#runDeploy(id, 'update', options.actor, undo);
  }

  async start(id: string, options: Actor): Promise<void> {
    const app = this.#require(id);
    this.#inFlight.assertIdle(id);
    this.#assertStorageBack(app, 'start', options.actor);
    await this.#simple(id, 'start', options.actor, async () => {
      await this.#deps.docker.startProject(id);
      this.#deps.store.update(id, { desired: 'running' });
    });
  }

  async stop(id: string, options: Actor): Promise<void> {
    this.#require(id);
    this.#inFlight.assertIdle(id);
    await this.#simple(id, 'stop', options.actor, async () => {
      await this.#deps.docker.stopProject(id);
      this.#deps.store.update(id, { desired: 'stopped' });
    });
  }

  async restart(id: string, options: Actor): Promise<void> {
    const app = this.#require(id);
    if (app.stoppedForStorage) return this.start(id, options);
    this.#inFlight.assertIdle(id);
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
    if (!app && placements.length === 0) throw new AppError('not_found', { key: 'error.no_app_or_data', params: { id } });
    if (options.deleteData) assertDeletionConfirmed(id, placements.map((p) => p.path), options.confirm);
    this.#inFlight.assertIdle(id);
    if (app) {
      await this.#stopReaders(id, 'removed');
      const operation = this.#deps.operations.start(id, 'uninstall');
      const { signal } = this.#inFlight;
      await this.#inFlight.run(id, 'change', async () => {
        try {
          await compose.down(composeSpec(appsDir, app), signal).catch(async (error: unknown) => {
            signal.throwIfAborted();
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
          operation.finish(errorText(error));
          audit.record({ actor: options.actor, action: 'app.uninstall', target: id, outcome: 'failed', details: { reason: errorMessage(error) } });
          throw error;
        }
      });
    }
    const deletedPaths: string[] = [];
    if (options.deleteData) {
      deletedPaths.push(...(await deleteVolumeData(placements.map((p) => p.path))));
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

  /** The code that confirms deleting exactly these paths (data-removal.ts). */
  deletionCode(id: string): { paths: string[]; confirm: string } {
    const paths = this.#deps.store.placements(id).map((p) => p.path);
    return { paths, confirm: confirmationCode(id, paths) };
  }

  /** Rolls the whole guest back to one of the controller's pre-deploy snapshots. */
  async rollback(id: string, snapshot: string, options: Actor & { confirm: boolean }): Promise<void> {
    const { store, agent, audit } = this.#deps;
    if (!store.snapshots(id).some((s) => s.name === snapshot)) {
      throw new AppError('not_found', { key: 'error.not_deploy_snapshot', params: { snapshot, id } });
    }
    if (!options.confirm) {
      throw new AppError('validation', { key: 'error.confirm_rollback' });
    }
    audit.record({ actor: options.actor, action: 'app.rollback', target: id, outcome: 'ok', details: { snapshot } });
    await agent.rollback(snapshot);
  }

  /** Why the app's volumes must not be read or replaced now, or null. */
  busy(id: string): Message | null {
    const app = this.#deps.store.get(id);
    if (!app) return { key: 'error.app_not_installed', params: { id } };
    const work = this.#inFlight.busyWith(id);
    if (work === 'restore') return { key: 'error.busy_restoring', params: { app: app.name } };
    if (work === 'change' || app.status === 'installing') return { key: 'error.busy_changing', params: { app: app.name } };
    return null;
  }

  /**
   * Stops the app, runs `work` (a restore replacing a volume), and starts the app again
   * if it is meant to run. Meanwhile the app is busy: no install, update, start or stop.
   */
  async whileStopped<T>(id: string, actor: string, work: () => Promise<T>): Promise<T> {
    const app = this.#require(id);
    this.#inFlight.assertIdle(id);
    try {
      return await this.#inFlight.run(id, 'restore', async () => {
        await this.#simple(id, 'stop', actor, async () => void (await this.#deps.docker.stopProject(id)));
        return await work();
      });
    } finally {
      await this.startIfWanted(app.id, actor).catch((error: unknown) => this.#deps.logger.error({ err: error, app: id }, 'could not start the app again after a restore'));
    }
  }

  /**
   * A backup reading the app's volumes registers here; an update or an uninstall first
   * asks it to stop (the backup run is recorded as cancelled, with the reason).
   */
  whileReading(id: string, stop: (reason: Message) => Promise<void>): () => void {
    this.#readers.set(id, stop);
    return () => {
      if (this.#readers.get(id) === stop) this.#readers.delete(id);
    };
  }

  async #stopReaders(id: string, change: 'updated' | 'removed'): Promise<void> {
    await this.#readers.get(id)?.({ key: change === 'updated' ? 'error.backup_stopped_for_update' : 'error.backup_stopped_for_removal' });
  }

  /** Starts the app when it is meant to run and its storage is there. */
  async startIfWanted(id: string, actor = 'controller'): Promise<void> {
    const app = this.#deps.store.get(id);
    if (!app || app.desired !== 'running' || app.stoppedForStorage || app.status !== 'installed') return;
    await this.#simple(id, 'start', actor, async () => void (await this.#deps.docker.startProject(id)));
  }

  /** Waits for deploys started in this process (tests). */
  async settled(): Promise<void> {
    await this.#inFlight.settled();
  }

  /**
   * Shutdown: waits for deploys up to a deadline, then cancels them (in-flight.ts); a
   * cancelled deploy is resumed at the next start.
   */
  async close(): Promise<void> {
    const cancelled = await this.#inFlight.shutdown(this.#deps.shutdownDeadlineMs);
    if (cancelled.length > 0) this.#deps.logger.warn({ apps: cancelled }, 'stopping: cancelled what was still running for these apps; deploys resume at the next start');
  }

  /** Deploys again an install that a crash interrupted; every step is idempotent. */
  resume(id: string): { operationId: string } {
    return this.#runDeploy(id, 'resume', 'controller');
  }

  #runDeploy(id: string, kind: DeployKind, actor: string, undo: UpdateUndo | null = null): { operationId: string } {
    return startDeploy(this.#deps, this.#inFlight, this.#require(id), kind, actor, undo);
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

  /** Judges the app again before an update, as the policy stands today (admission.ts). */
  async #rejudge(app: AppRecord): Promise<void> {
    const { manifest, files } = await readForUpdate(this.#deps, app);
    await admitApp(this.#deps, manifest, files, false, (placements, ports) =>
      this.#deps.store.replace(
        { id: app.id, name: manifest.name, version: manifest.version, source: app.source, composeFile: manifest.compose, web: manifest.web ?? null },
        placements,
        ports,
      ),
      'update',
    );
  }

  #assertStorageBack(app: AppRecord, action: string, actor: string): void {
    if (!app.stoppedForStorage) return;
    const error = new AppError('conflict', { key: 'error.stopped_for_storage', params: { app: app.name, disks: app.stoppedForStorage.join(', ') } });
    this.#deps.audit.record({ actor, action: `app.${action}`, target: app.id, outcome: 'refused', details: { reason: error.message } });
    throw error;
  }

  #require(id: string): AppRecord {
    const app = this.#deps.store.get(id);
    if (!app) throw new AppError('not_found', { key: 'error.app_not_installed', params: { id } });
    return app;
  }
}

function refusedOrFailed(error: unknown): 'refused' | 'failed' {
  return error instanceof AppError && ['validation', 'policy', 'conflict', 'not_found'].includes(error.code) ? 'refused' : 'failed';
}
