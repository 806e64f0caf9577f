import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

/**
 * Paths pino blanks out wherever they appear. Secrets are also wrapped in `Secret`
 * (which prints as "[redacted]"), so this is the second of two guards.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
];

export function createLogger(options: { level?: string; format?: LogFormat; name?: string } = {}): Logger {
  const base: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(options.name ? { name: options.name } : {}),
  };
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } });
  }
  return pino(base);
}

/** A logger that drops everything: for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
