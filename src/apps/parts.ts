/**
 * What the apps domain's own routes and pages use: its internals, built by apps.ts and
 * never handed outside the domain (other domains get `Apps`).
 */
import type { Operations } from './operations.ts';
import type { AppsAgent, AppsDocker } from './ports.ts';
import type { ReconcileReport } from './reconcile.ts';
import type { AppsService } from './service.ts';
import type { AppStore } from './store.ts';
import type { UpdateStateOf } from './view.ts';

export interface AppsParts {
  service: AppsService;
  store: AppStore;
  operations: Operations;
  docker: AppsDocker;
  agent: AppsAgent;
  catalogDir: string;
  updateOf: UpdateStateOf;
  lastReconcile(): ReconcileReport | null;
}
