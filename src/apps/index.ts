/** The apps domain's public surface (apps.ts tells what it is). */
export { createApps, type AppOverview, type Apps, type AppsDeps, type AppVolume } from './apps.ts';
export { defaultCatalogDir } from './catalog.ts';
export type { AppRecord } from './store.ts';
export type { ReconcileReport } from './reconcile.ts';
export type { Operation } from './operations.ts';
export type { AppUpdateInfo, UpdateStateOf } from './view.ts';
export { needsInternet } from './policy/index.ts';
