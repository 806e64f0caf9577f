/** The updates domain's public surface (updates.ts tells what it is). */
export { createUpdates, type Updates, type UpdatesDeps } from './updates.ts';
