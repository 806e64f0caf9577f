/**
 * Admitting an app: the one pipeline install and update share, from the app's files to
 * its records. The files are judged by the policy in a staging folder, their volumes
 * placed on storage, the folder moved into place and the records written; everything
 * that can be refused is refused before anything runs. A plan is the same pipeline
 * stopped before the folder moves, with every refusal listed instead of thrown.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.ts';
import { inEnglish, type Message } from '../i18n/index.ts';
import type { ComposeModel } from '../stacks/index.ts';
import { commitAppFolder, MANIFEST_FILE, stageAppFolder, type AppFiles } from './app-folder.ts';
import { readCatalogApp } from './catalog.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { planPlacement, type PlacementPlan } from './placement.ts';
import { judgeApp, needsInternet, publishedPorts, violationLine, violationsOf, type JudgeDeps } from './policy/index.ts';
import type { AppsAgent, AppsCompose, AppsDocker } from './ports.ts';
import type { AppRecord, AppStore } from './store.ts';

export type InstallSource = { manifest: string; compose: string } | { catalog: string };

export interface AdmissionDeps {
  agent: AppsAgent;
  compose: AppsCompose;
  docker: AppsDocker;
  store: AppStore;
  appsDir: string;
  catalogDirs: string[];
  /** Compose project names that are not apps (the controller's own). */
  reservedProjects: () => Promise<string[]>;
  /** Host ports no app may publish (the controller's own, known once it listens, and its container's). */
  reservedPorts: () => Promise<Array<{ published: number; protocol: 'tcp' | 'udp' }>>;
  /** Registries on the guest or its network that apps may take images from. */
  allowedRegistries: string[];
  /** FELHOM_PULL=always: images the engine lacks can be downloaded. */
  pullImages: boolean;
  /** FELHOM_OFFLINE: only the listed registries can be reached. */
  offline: boolean;
}

/** Writes the records of an admitted app: where its volumes go and the host ports it publishes. */
export type RecordApp = (placements: PlacementPlan['placements'], ports: ReturnType<typeof publishedPorts>) => void;

/** The manifest and files of an install: uploaded, or an app of the catalog. */
export async function readSource(deps: AdmissionDeps, source: InstallSource): Promise<{ manifest: Manifest; files: AppFiles }> {
  const files: AppFiles = 'catalog' in source ? await readCatalogApp(deps.catalogDirs, source.catalog) : { manifest: source.manifest, files: {} };
  const manifest = parseManifest(files.manifest);
  if (!('catalog' in source)) files.files[manifest.compose] = source.compose;
  if (files.files[manifest.compose] === undefined) {
    throw new AppError('validation', { key: 'manifest.compose_missing', params: { file: manifest.compose } });
  }
  return { manifest, files };
}

/**
 * The files an update judges, as the policy stands today: a catalog app's from the
 * catalog's newer files, an uploaded one's from its folder as installed. An app
 * installed before a rule existed is refused an update until it keeps to it.
 */
export async function readForUpdate(deps: AdmissionDeps, app: AppRecord): Promise<{ manifest: Manifest; files: AppFiles }> {
  const files = app.source.startsWith('catalog:') ? await readCatalogApp(deps.catalogDirs, app.source.slice('catalog:'.length)) : await installedFiles(deps.appsDir, app);
  return { manifest: parseManifest(files.manifest), files };
}

/**
 * What installing would do: where each volume would go, what must be confirmed, and
 * every reason the app policy refuses it, so the customer sees a refusal before
 * pressing Install, not after.
 */
export async function planApp(deps: AdmissionDeps, manifest: Manifest, files: AppFiles): Promise<PlacementPlan> {
  const plan = placementPlan(deps, manifest, (await deps.agent.getStorage()).mounts, false);
  try {
    const unobtainable = await judged(deps, manifest, files, async (_staging, model) => imagesOutOfReach(deps, model));
    if (unobtainable) plan.problems.push(unobtainable);
  } catch (error) {
    const violations = violationsOf(error);
    if (!violations) throw error;
    plan.problems.push(...violations.map(violationLine));
  }
  return plan;
}

/**
 * Judges, places, moves the folder into place and records (`record`), or refuses. An
 * install is also refused when its images cannot be had here (an update keeps running
 * what the engine has: its download step says so).
 */
export async function admitApp(deps: AdmissionDeps, manifest: Manifest, files: AppFiles, confirmBulkOnPrimary: boolean, record: RecordApp, kind: 'install' | 'update'): Promise<void> {
  await judged(deps, manifest, files, async (staging, model) => {
    const plan = placementPlan(deps, manifest, (await deps.agent.getStorage()).mounts, confirmBulkOnPrimary);
    refuseUnplaceable(plan);
    const unobtainable = kind === 'install' ? await imagesOutOfReach(deps, model) : null;
    if (unobtainable) throw new AppError('conflict', unobtainable);
    await commitAppFolder(staging, path.join(deps.appsDir, manifest.id));
    record(plan.placements, publishedPorts(model));
  });
}

/**
 * Judges the app in a staging folder that holds its compose file as the policy read it
 * (compose then runs exactly what was checked), and hands both to `then`. The staging
 * folder is gone afterwards: moved into place by `then`, or removed.
 */
async function judged<T>(deps: AdmissionDeps, manifest: Manifest, files: AppFiles, then: (staging: string, model: ComposeModel) => Promise<T>): Promise<T> {
  let staging: string | null = null;
  const stage = async (canonical: string) => {
    staging = await stageAppFolder(deps.appsDir, manifest.id, { ...files, files: { ...files.files, [manifest.compose]: canonical } });
    return staging;
  };
  try {
    const model = await judgeApp({ manifest, composeText: files.files[manifest.compose] ?? '', stage }, judgeDeps(deps));
    return await then(staging!, model);
  } finally {
    if (staging) await fs.rm(staging, { recursive: true, force: true });
  }
}

function judgeDeps(deps: AdmissionDeps): JudgeDeps {
  return {
    compose: deps.compose,
    surroundings: async (appId) => ({
      otherApps: deps.store.portsOfOtherApps(appId),
      reservedProjects: await deps.reservedProjects(),
      reservedPorts: await deps.reservedPorts(),
      takenContainerNames: await deps.docker.containerNamesOutside(appId),
      allowedRegistries: deps.allowedRegistries,
    }),
  };
}

/**
 * Why some of the app's images cannot be had on this server, or null: the engine lacks
 * them and downloads are off, or they come from the internet and the server is offline.
 * Said before anything is created, rather than by an install that fails half-way.
 */
async function imagesOutOfReach(deps: AdmissionDeps, model: ComposeModel): Promise<Message | null> {
  const images = [...new Set(model.services.map((s) => s.image).filter((image): image is string => image !== null))];
  const absent = (await Promise.all(images.map(async (image) => ((await deps.docker.hasImage(image)) ? null : image)))).filter((image) => image !== null);
  const out = deps.pullImages ? absent.filter((image) => deps.offline && needsInternet(image, deps.allowedRegistries)) : absent;
  if (out.length === 0) return null;
  return { key: deps.pullImages ? 'manifest.images_need_internet' : 'manifest.images_absent_pull_off', params: { images: out.join(', ') } };
}

function placementPlan(deps: AdmissionDeps, manifest: Manifest, mounts: Parameters<typeof planPlacement>[0]['mounts'], confirmBulkOnPrimary: boolean): PlacementPlan {
  return planPlacement({
    appId: manifest.id,
    volumes: Object.entries(manifest.volumes).map(([volume, spec]) => ({ volume, class: spec.class, backup: spec.backup, note: spec.note })),
    mounts,
    existing: deps.store.placements(manifest.id).map((p) => ({ volume: p.volume, class: p.class, mountId: p.mountId, path: p.path })),
    confirmBulkOnPrimary,
  });
}

function refuseUnplaceable(plan: PlacementPlan): void {
  if (plan.problems.length > 0) {
    const problems = plan.problems.map(inEnglish).join('; ');
    throw new AppError('policy', { key: 'manifest.volumes_unplaceable', params: { problems } }, { details: { problems: plan.problems } });
  }
  if (plan.needsConfirmation.length > 0) {
    throw new AppError(
      'conflict',
      { key: 'manifest.confirm_bulk_on_primary', params: { volumes: plan.needsConfirmation.join(', ') } },
      { details: { confirmation_required: true, volumes: plan.needsConfirmation } },
    );
  }
}

async function installedFiles(appsDir: string, app: AppRecord): Promise<AppFiles> {
  const dir = path.join(appsDir, app.id);
  return {
    manifest: await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8'),
    files: { [app.composeFile]: await fs.readFile(path.join(dir, app.composeFile), 'utf8') },
  };
}
