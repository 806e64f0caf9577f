/**
 * Small server-side SVG line charts: no script, so the page's CSP stays strict. The
 * y axis runs from 0 to `max` (or the data's own maximum, whichever is larger).
 */
export interface ChartPoint {
  atMs: number;
  value: number | null;
}

export interface LineChart {
  width: number;
  height: number;
  /** The `points` attribute of each polyline; a gap in the data starts a new line. */
  lines: string[];
  max: number;
  empty: boolean;
}

export function lineChart(points: ChartPoint[], options: { fromMs: number; toMs: number; max: number; width?: number; height?: number; gapMs: number }): LineChart {
  const width = options.width ?? 300;
  const height = options.height ?? 60;
  const values = points.filter((p) => p.value !== null && Number.isFinite(p.value));
  const max = Math.max(options.max, ...values.map((p) => p.value!));
  const x = (atMs: number) => (((atMs - options.fromMs) / Math.max(1, options.toMs - options.fromMs)) * width).toFixed(1);
  const y = (value: number) => (height - (value / (max || 1)) * height).toFixed(1);
  const lines: string[][] = [];
  let previous: number | null = null;
  for (const point of values) {
    if (previous === null || point.atMs - previous > options.gapMs) lines.push([]);
    lines.at(-1)!.push(`${x(point.atMs)},${y(point.value!)}`);
    previous = point.atMs;
  }
  return { width, height, lines: lines.map((line) => line.join(' ')), max, empty: values.length === 0 };
}
