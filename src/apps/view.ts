/**
 * What the API and the UI show of an app: its record joined with what Docker says
 * now. State is derived on every read, never stored.
 */
import type { Message } from '../i18n/index.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import type { Operation, Operations } from './operations.ts';
import type { AppsDocker } from './ports.ts';
import type { AppRecord, AppStore } from './store.ts';

export type AppState = 'installing' | 'failed' | 'stopped_for_storage' | 'running' | 'unhealthy' | 'partial' | 'stopped' | 'missing';

export function deriveState(app: AppRecord, all: ContainerInfo[]): AppState {
  if (app.status === 'installing') return 'installing';
  if (app.stoppedForStorage) return 'stopped_for_storage';
  if (app.status === 'failed') return 'failed';
  // An init step that ran and exited 0 is done, not down.
  const containers = all.filter((c) => !(c.oneShot && c.state === 'exited' && c.exitCode === 0));
  if (containers.length === 0) return 'missing';
  const running = containers.filter((c) => c.state === 'running');
  if (running.length === 0) return 'stopped';
  if (running.length < containers.length) return 'partial';
  return running.some((c) => c.health === 'unhealthy') ? 'unhealthy' : 'running';
}

/**
 * Whether a newer image exists for the app's tags, as the updates domain last found it
 * (docs/updates.md). The apps domain does not check: the composition root hands it the
 * updates domain's query (`AppsDeps.updateState`), so the app JSON and pages carry it.
 */
export interface AppUpdateInfo {
  available: boolean;
  /** RFC 3339; null before the first check. */
  checked_at: string | null;
  /** The customer turned automatic updates on for the app. */
  automatic: boolean;
  images: Array<{ service: string; image: string; running: string | null; latest: string | null; error: string | null; error_text: Message | null }>;
}

export type UpdateStateOf = (appId: string) => AppUpdateInfo;

function summarize(app: AppRecord, containers: ContainerInfo[], updateOf: UpdateStateOf) {
  return {
    id: app.id,
    name: app.name,
    version: app.version,
    source: app.source,
    state: deriveState(app, containers),
    desired: app.desired,
    stopped_for_storage: app.stoppedForStorage,
    error: app.error,
    // The same as a catalog message, for the pages to word in the customer's language.
    error_text: app.errorText,
    web: app.web,
    installed_at: app.createdAt,
    updated_at: app.updatedAt,
    update: updateOf(app.id),
  };
}

function detailOf(deps: { store: AppStore; operations: Operations; updateOf: UpdateStateOf }, app: AppRecord, containers: ContainerInfo[]) {
  return {
    ...summarize(app, containers, deps.updateOf),
    services: containers.map((c) => ({ service: c.service, state: c.state, health: c.health, image: c.image, started_at: c.startedAt, ports: c.ports })),
    volumes: deps.store.placements(app.id).map((p) => ({
      volume: p.volume,
      class: p.class,
      backup: p.backup,
      note: p.note,
      mount_id: p.mountId,
      mount_label: p.mountLabel,
      path: p.path,
      in_guest_backup: p.inGuestBackup,
    })),
    snapshots: deps.store.snapshots(app.id).map((s) => ({ name: s.name, reason: s.reason, created_at: s.createdAt })),
    operation: presentOperation(deps.operations.latest(app.id)),
  };
}

export type AppSummary = ReturnType<typeof summarize>;
export type AppDetail = ReturnType<typeof detailOf>;
type ViewDeps = { store: AppStore; docker: AppsDocker; operations: Operations; updateOf: UpdateStateOf };

export async function describeApp(deps: ViewDeps, app: AppRecord, detail: false): Promise<AppSummary>;
export async function describeApp(deps: ViewDeps, app: AppRecord, detail: true): Promise<AppDetail>;
export async function describeApp(deps: ViewDeps, app: AppRecord, detail: boolean): Promise<AppSummary | AppDetail> {
  const containers = await deps.docker.listContainers(app.id).catch(() => [] as ContainerInfo[]);
  return detail ? detailOf(deps, app, containers) : summarize(app, containers, deps.updateOf);
}

export function presentOperation(operation: Operation | null) {
  return (
    operation && {
      id: operation.id,
      app_id: operation.appId,
      kind: operation.kind,
      state: operation.state,
      step: operation.step,
      snapshot: operation.snapshot,
      error: operation.error,
      error_text: operation.errorText,
      started_at: operation.startedAt,
      finished_at: operation.finishedAt,
      events: operation.events,
      // Each image's download: layers and compressed bytes, done and in all.
      pull: operation.pull.map((p) => ({ image: p.image, layers: p.layers, layers_done: p.layersDone, bytes: p.bytes, bytes_done: p.bytesDone, done: p.done })),
      // A failed update whose previous images run again (the app is as it was).
      rolled_back: operation.rolledBack,
    }
  );
}
