/**
 * Host health history: one row per sample, kept for a bounded time, read back as
 * averaged buckets so an hour, a day and a week each draw with a few dozen points.
 */
import type { Db } from '../db/index.ts';

export interface HostSample {
  atMs: number;
  cpuPercent: number;
  memFraction: number;
  load1: number;
  cpuTempC: number | null;
}

export const chartRanges = {
  hour: { spanMs: 3600_000, bucketMs: 60_000 },
  day: { spanMs: 24 * 3600_000, bucketMs: 15 * 60_000 },
  week: { spanMs: 7 * 24 * 3600_000, bucketMs: 2 * 3600_000 },
} as const;
export type ChartRange = keyof typeof chartRanges;
export const isChartRange = (value: unknown): value is ChartRange => typeof value === 'string' && Object.hasOwn(chartRanges, value);

export interface HostHistory {
  add(sample: HostSample): void;
  /** Averages per bucket over the range ending at `nowMs`, oldest first. */
  series(range: ChartRange, nowMs: number): HostSample[];
  count(): number;
}

export function createHostHistory(db: Db, retentionMs: number): HostHistory {
  const insert = db.prepare(
    'INSERT OR REPLACE INTO host_samples (at_ms, cpu_percent, mem_fraction, load1, cpu_temp_c) VALUES (?, ?, ?, ?, ?)',
  );
  const prune = db.prepare('DELETE FROM host_samples WHERE at_ms < ?');
  const bucketed = db.prepare<[{ bucket: number; from: number; to: number; limit: number }], HostSample>(
    // Parameters bind as REAL: the cast makes the division an integer one, i.e. a bucket.
    `SELECT (at_ms / CAST(@bucket AS INTEGER)) * @bucket AS atMs, AVG(cpu_percent) AS cpuPercent, AVG(mem_fraction) AS memFraction,
            AVG(load1) AS load1, AVG(cpu_temp_c) AS cpuTempC
       FROM host_samples WHERE at_ms > @from AND at_ms <= @to GROUP BY at_ms / CAST(@bucket AS INTEGER) ORDER BY atMs LIMIT @limit`,
  );
  return {
    add(sample) {
      db.transaction(() => {
        insert.run(sample.atMs, sample.cpuPercent, sample.memFraction, sample.load1, sample.cpuTempC);
        prune.run(sample.atMs - retentionMs);
      })();
    },
    series(range, nowMs) {
      const { spanMs, bucketMs } = chartRanges[range];
      return bucketed.all({ bucket: bucketMs, from: nowMs - spanMs, to: nowMs, limit: Math.ceil(spanMs / bucketMs) + 1 });
    },
    count: () => (db.prepare('SELECT COUNT(*) AS n FROM host_samples').get() as { n: number }).n,
  };
}
