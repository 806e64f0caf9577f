/**
 * Host health: what the agent reports of the Proxmox host (CPU, memory, storage, SMART),
 * sampled into a bounded local history for the charts on the host page.
 */
import type { AgentClient } from '../agent/index.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { Router } from 'express';
import type { Logger } from '../log.ts';
import type { Ui } from '../ui/index.ts';
import { createHostHistory } from './history.ts';
import { hostPages } from './pages.ts';
import { createHostSampler, type LatestMetrics } from './sampler.ts';

export const HOST_HISTORY_RETENTION_MS = 8 * 24 * 3600_000;

export interface Host {
  /** The host page, its live view and charts. */
  pages(ui: Ui): Router;
  /** The newest sample, for the home page. */
  latest(): LatestMetrics;
  /** How many samples the history holds. */
  samples(): number;
  /** Samples the agent every `intervalMs` into the history. */
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function createHost(deps: { db: Db; clock: Clock; logger: Logger; agent: Pick<AgentClient, 'getHostMetrics'> }): Host {
  const history = createHostHistory(deps.db, HOST_HISTORY_RETENTION_MS);
  const sampler = createHostSampler({ agent: deps.agent, history, clock: deps.clock, logger: deps.logger.child({ component: 'host' }) });
  return {
    pages: (ui) => hostPages({ sampler, history, clock: deps.clock, ui }),
    latest: () => sampler.latest(),
    samples: () => history.count(),
    start: (intervalMs) => sampler.start(intervalMs),
    stop: () => sampler.stop(),
  };
}
