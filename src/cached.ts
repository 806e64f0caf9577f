import type { Clock } from './clock.ts';

/**
 * Re-runs `probe` when its last answer is older than maxAgeMs or was about another
 * `key()`; callers meanwhile share one run. For what pages show of the agent and Docker:
 * a page load never waits on more than one call of each.
 */
export function cachedProbe<T>(clock: Clock, maxAgeMs: number, key: () => string, probe: () => Promise<T>): () => Promise<T> {
  let last: { at: number; key: string; value: T } | null = null;
  let running: Promise<T> | null = null;
  return () => {
    const current = key();
    if (last && last.key === current && clock.now().getTime() - last.at < maxAgeMs) return Promise.resolve(last.value);
    running ??= probe()
      .then((value) => {
        last = { at: clock.now().getTime(), key: current, value };
        return value;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
}
