/**
 * Small readers for `compose config` output, shared by the model and the port parser.
 * Each reads one value in the shapes compose v1 or v2 print and throws a `validation`
 * error for any other shape: what the policy judges is never skipped for being odd.
 */
import { AppError } from '../errors.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function unreadable(at: string, expected: string): never {
  throw new AppError('validation', { key: 'error.compose_config_unreadable', params: { at, expected } });
}

export function list(raw: unknown, at: string): unknown[] {
  if (absent(raw)) return [];
  if (!Array.isArray(raw)) unreadable(at, 'a list');
  return raw;
}

export function stringList(raw: unknown, at: string): string[] {
  if (typeof raw === 'string') return [raw];
  return list(raw, at).map((item, i) => {
    if (typeof item !== 'string') unreadable(`${at}[${i}]`, 'a string');
    return item;
  });
}

/**
 * A value that must be text (a name, a mode, a path). A number or boolean here is not
 * taken for its digits: compose v1 prints the text `1e3` unquoted, which a YAML 1.2
 * reader makes the number 1000, and the check would then judge another name.
 */
export function text(raw: unknown, at: string): string | null {
  if (absent(raw)) return null;
  if (typeof raw === 'string') return raw;
  unreadable(at, 'text');
}

export function entries(raw: unknown, at: string): Array<[string, unknown]> {
  if (absent(raw)) return [];
  if (!isRecord(raw)) unreadable(at, 'a mapping');
  return Object.entries(raw);
}

export function stringMap(raw: unknown, at: string): Record<string, string> {
  if (!isRecord(raw)) unreadable(at, 'a mapping');
  return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, absent(value) ? '' : String(value)]));
}

/** `labels` and `sysctls`: a mapping, or a list of `key=value` strings. */
export function keyValues(raw: unknown, at: string): Record<string, string> {
  if (absent(raw)) return {};
  if (Array.isArray(raw)) {
    return Object.fromEntries(
      raw.map((entry, i) => {
        if (typeof entry !== 'string') unreadable(`${at}[${i}]`, 'a "key=value" string');
        const eq = entry.indexOf('=');
        return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return stringMap(raw, at);
}

/** Anything but an explicit false is taken as true: a security flag fails closed. */
export function truthy(value: unknown): boolean {
  if (absent(value) || value === false || value === 0) return false;
  if (typeof value === 'string' && /^(false|no|off|0|)$/i.test(value.trim())) return false;
  return true;
}

export function integer(raw: unknown, at: string): number {
  const value = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value)) unreadable(at, 'a whole number');
  return value;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A compose duration (`1m30s`, `1h30m0s` as v2 prints it, `90s`, `1.5h`, `1ms`) in seconds. */
export function durationSeconds(raw: unknown, at: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw !== 'string' || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(raw.trim())) unreadable(at, 'a duration such as 30s or 1m30s');
  let seconds = 0;
  for (const [, amount, unit] of raw.trim().matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(amount) * (DURATION_UNITS[unit!] ?? 0);
  return seconds;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** A memory size as Docker reads it (`512m`, `1g`, or bytes, which v2 prints) in bytes. */
export function byteSize(raw: unknown, at: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  const match = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw) : null;
  const unit = match?.[2]?.toLowerCase() ?? '';
  if (!match || !Object.hasOwn(SIZE_UNITS, unit)) unreadable(at, 'a size such as 512m or 1g');
  return Number(match[1]) * SIZE_UNITS[unit]!;
}
