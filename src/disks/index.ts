/** The disks domain's public surface (disks.ts tells what it is). */
export { disksApi } from './api.ts';
export { diskPages } from './pages.ts';
export type { DisksDeps } from './disks.ts';
