/** The host domain's public surface (host.ts tells what it is). */
export { createHost, HOST_HISTORY_RETENTION_MS, type Host } from './host.ts';
export type { LatestMetrics } from './sampler.ts';
