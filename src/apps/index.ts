/** The apps domain's public surface (apps.ts tells what it is). */
export { createApps, type AppOverview, type Apps, type AppsDeps, type AppVolume } from './apps.ts';
export { defaultCatalogDir } from './catalog.ts';
export type { AppRecord } from './store.ts';
export type { ReconcileReport } from './reconcile.ts';
