/**
 * What the apps domain's own routes and pages use: its internals, built by apps.ts and
 * never handed outside the domain (other domains get `Apps`).
 */
import type { CatalogEntry } from './catalog.ts';
import type { Operations } from './operations.ts';
import type { AppsAgent, AppsDocker } from './ports.ts';
import type { ReconcileReport } from './reconcile.ts';
import type { AppsService } from './service.ts';
import type { AppStore } from './store.ts';
import type { CatalogAvailability } from './store-view.ts';
import type { UpdateStateOf } from './view.ts';

export interface AppsParts {
  service: AppsService;
  store: AppStore;
  operations: Operations;
  docker: AppsDocker;
  agent: AppsAgent;
  /** The catalog's apps, read again every few seconds at most; a folder that cannot be offered is logged and left out. */
  catalog(): Promise<CatalogEntry[]>;
  availability: CatalogAvailability;
  updateOf: UpdateStateOf;
  lastReconcile(): ReconcileReport | null;
}
