/**
 * Host health: what the agent reports of the Proxmox host (CPU, memory, storage, SMART),
 * sampled into a bounded local history for the charts on the host page.
 */
import type { AgentClient } from '../agent/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log.ts';
import { createHostHistory, type HostHistory } from './history.ts';
import { createHostSampler, type HostSampler, type LatestMetrics } from './sampler.ts';

export const HOST_HISTORY_RETENTION_MS = 8 * 24 * 3600_000;

export interface Host {
  sampler: HostSampler;
  history: HostHistory;
  latest(): LatestMetrics;
}

export function createHost(deps: { db: Db; clock: Clock; logger: Logger; agent: Pick<AgentClient, 'getHostMetrics'> }): Host {
  const history = createHostHistory(deps.db, HOST_HISTORY_RETENTION_MS);
  const sampler = createHostSampler({ agent: deps.agent, history, clock: deps.clock, logger: deps.logger.child({ component: 'host' }) });
  return { sampler, history, latest: () => sampler.latest() };
}
