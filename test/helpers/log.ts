/** A real pino logger whose lines a test can read back (parsed JSON, in order). */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/log.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function recordingLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

/** pino's level number for error and above. */
export const ERROR_LEVEL = 50;
