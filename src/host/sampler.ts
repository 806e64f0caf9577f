/**
 * Samples the host's health from the agent on an interval: the latest answer is kept in
 * memory for pages (it can always be fetched again), and a few numbers of each go into
 * the bounded history.
 */
import type { AgentClient, HostMetrics } from '../agent/index.ts';
import type { Clock } from '../clock.ts';
import { errorText } from '../errors.ts';
import type { Message } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import type { HostHistory } from './history.ts';

export interface LatestMetrics {
  metrics: HostMetrics | null;
  /** When the agent last answered, or failed to. */
  checkedAt: Date | null;
  /** Why the last sample failed: the agent's error, a catalog message for the customer's language. */
  error: Message | null;
}

export interface HostSampler {
  latest(): LatestMetrics;
  sampleNow(): Promise<LatestMetrics>;
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

export function createHostSampler(deps: {
  agent: Pick<AgentClient, 'getHostMetrics'>;
  history: HostHistory;
  clock: Clock;
  logger: Logger;
}): HostSampler {
  let latest: LatestMetrics = { metrics: null, checkedAt: null, error: null };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<LatestMetrics> | null = null;

  async function sample(): Promise<LatestMetrics> {
    try {
      const metrics = await deps.agent.getHostMetrics();
      const at = deps.clock.now();
      deps.history.add({
        atMs: at.getTime(),
        cpuPercent: metrics.cpu_percent,
        memFraction: metrics.mem_total_bytes > 0 ? metrics.mem_used_bytes / metrics.mem_total_bytes : 0,
        load1: metrics.load[0],
        cpuTempC: metrics.cpu_temp_c,
      });
      latest = { metrics, checkedAt: at, error: null };
    } catch (error) {
      deps.logger.debug({ err: error }, 'could not sample host metrics');
      // The last good numbers stay visible, marked with the failure.
      latest = { metrics: latest.metrics, checkedAt: deps.clock.now(), error: errorText(error) };
    }
    return latest;
  }

  const sampleNow = () => {
    running ??= sample().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    latest: () => latest,
    sampleNow,
    start(intervalMs) {
      void sampleNow();
      timer ??= setInterval(() => void sampleNow(), intervalMs).unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
