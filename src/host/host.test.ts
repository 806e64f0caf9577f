import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../db/index.ts';
import { silentLogger } from '../log.ts';
import { lineChart } from './chart.ts';
import { createHostHistory } from './history.ts';

function history(t: { after(fn: () => void): void }, retentionMs: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-host-'));
  const db = openDatabase(path.join(dir, 'c.db'), { logger: silentLogger() });
  t.after(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return createHostHistory(db, retentionMs);
}

const sample = (atMs: number, cpuPercent: number) => ({ atMs, cpuPercent, memFraction: 0.5, load1: 1, cpuTempC: null });

test('when samples are older than the retention, then they are pruned as new ones arrive', (t) => {
  const h = history(t, 10 * 60_000);
  for (let minute = 0; minute < 30; minute += 1) h.add(sample(minute * 60_000, minute));
  assert.equal(h.count(), 11, 'the last ten minutes plus the sample at the edge');
});

test('when a day is charted, then samples are averaged into 15-minute buckets over the last 24 hours', (t) => {
  const h = history(t, 8 * 24 * 3600_000);
  const now = 2 * 24 * 3600_000;
  h.add(sample(now - 25 * 3600_000, 99)); // outside the day
  h.add(sample(now - 60_000 * 14, 10));
  h.add(sample(now - 60_000 * 13, 30));
  const series = h.series('day', now);
  assert.equal(series.length, 1);
  assert.equal(series[0]!.cpuPercent, 20);
  assert.equal(series[0]!.cpuTempC, null, 'an unknown temperature stays unknown, not 0');
});

test('when the data has a gap, then the chart starts a new line instead of drawing across it', () => {
  const chart = lineChart(
    [
      { atMs: 0, value: 10 },
      { atMs: 60_000, value: 20 },
      { atMs: 10 * 60_000, value: 30 },
    ],
    { fromMs: 0, toMs: 10 * 60_000, max: 100, gapMs: 3 * 60_000, width: 100, height: 50 },
  );
  assert.deepEqual(chart.lines, ['0.0,45.0 10.0,40.0', '100.0,35.0']);
  assert.equal(chart.empty, false);
});

test('when a value exceeds the nominal maximum, then the scale grows to fit it', () => {
  const chart = lineChart([{ atMs: 0, value: 4 }], { fromMs: 0, toMs: 1, max: 1, gapMs: 1, height: 40 });
  assert.equal(chart.max, 4);
  assert.deepEqual(chart.lines, ['0.0,0.0']);
});

test('when there is no data, then the chart says it is empty', () => {
  assert.equal(lineChart([{ atMs: 0, value: null }], { fromMs: 0, toMs: 1, max: 1, gapMs: 1 }).empty, true);
});
