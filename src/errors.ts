import { inEnglish, type Message } from './i18n/index.ts';

/**
 * The controller's one error type. `code` is for machines (API clients, the error
 * middleware, tests); `message` is for the person reading it and says what to do, in
 * English (the API, the log). Built from a catalog `Message`, it keeps that as `text`,
 * so that the UI shows it in the customer's language.
 */
export type ErrorCode =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'policy'
  | 'agent_unreachable'
  | 'pin_mismatch'
  | 'upstream'
  | 'unavailable'
  | 'internal';

const HTTP_STATUS: Record<ErrorCode, number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  policy: 422,
  agent_unreachable: 502,
  pin_mismatch: 502,
  upstream: 502,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly text: Message | undefined;

  constructor(code: ErrorCode, message: string | Message, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(typeof message === 'string' ? message : inEnglish(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.text = typeof message === 'string' ? undefined : message;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's text to keep for the customer: its catalog text, or else its English message as it is. */
export function errorText(error: unknown): Message {
  return error instanceof AppError && error.text ? error.text : { key: 'error.cause', params: { cause: errorMessage(error) } };
}
