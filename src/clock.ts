export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 3339 in UTC, e.g. 2026-11-23T10:15:02.123Z (readers of ours accept fractions). */
export function rfc3339(date: Date): string {
  return date.toISOString();
}
