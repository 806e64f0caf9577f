/** The backups domain's public surface (backups.ts tells what it is). */
export { createBackups, type AppVolume, type Backups, type BackupsApps, type BackupsDeps } from './backups.ts';
export { backupsApi } from './api.ts';
export { backupPages } from './pages.ts';
export type { AgentBackupView, GuestBackups } from './guest.ts';
export { coverageOf, type PlacedVolume, type VolumeCoverage } from './coverage.ts';
export type { BulkBackups } from './bulk.ts';
