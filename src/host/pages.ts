import { Router } from 'express';
import type { Clock } from '../clock.ts';
import type { Ui } from '../ui/index.ts';
import { lineChart } from './chart.ts';
import { chartRanges, isChartRange, type ChartRange, type HostHistory } from './history.ts';
import type { HostSampler } from './sampler.ts';

// A live view asks the agent at most this often, however many tabs are open.
const LIVE_MAX_AGE_MS = 4_000;

export function hostCharts(history: HostHistory, range: ChartRange, nowMs: number) {
  const series = history.series(range, nowMs);
  const { spanMs, bucketMs } = chartRanges[range];
  const options = { fromMs: nowMs - spanMs, toMs: nowMs, gapMs: bucketMs * 3 };
  const chart = (pick: (s: (typeof series)[number]) => number | null, max: number) =>
    lineChart(series.map((s) => ({ atMs: s.atMs, value: pick(s) })), { ...options, max });
  return {
    cpu: chart((s) => s.cpuPercent, 100),
    memory: chart((s) => s.memFraction * 100, 100),
    load: chart((s) => s.load1, 1),
    temperature: chart((s) => s.cpuTempC, 60),
  };
}

export function hostPages(deps: { sampler: HostSampler; history: HostHistory; clock: Clock; ui: Ui }): Router {
  const router = Router();
  const fresh = async () => {
    const latest = deps.sampler.latest();
    const age = latest.checkedAt ? deps.clock.now().getTime() - latest.checkedAt.getTime() : Infinity;
    return age > LIVE_MAX_AGE_MS ? deps.sampler.sampleNow() : latest;
  };
  const data = async (rangeParam: unknown) => {
    const range: ChartRange = isChartRange(rangeParam) ? rangeParam : 'hour';
    return { latest: await fresh(), range, ranges: Object.keys(chartRanges), charts: hostCharts(deps.history, range, deps.clock.now().getTime()) };
  };
  router.get('/host', async (req, res) => {
    deps.ui.page(res, 'host/page', { title: res.locals.ui.t('nav.host'), ...(await data(req.query.range)) });
  });
  router.get('/host/live', async (req, res) => {
    deps.ui.fragment(res, 'host/live', await data(req.query.range));
  });
  return router;
}
