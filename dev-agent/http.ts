/**
 * The wire conventions every answer shares: JSON bodies, the version header, and the
 * contract's error body `{"error": {"code", "message", ...}}`.
 */
import type { ServerResponse } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';

const AGENT_VERSION = '0.15.0-dev';
const MAX_BODY_BYTES = 64 * 1024;

export const DEFAULT_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'cross_guest',
  404: 'not_found',
  409: 'conflict',
  422: 'unprocessable',
  500: 'internal',
  503: 'unavailable',
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;

  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.extra = extra;
  }

  body(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export const badRequest = (message: string) => new ApiError(400, 'bad_request', message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const conflict = (message: string, extra: Record<string, unknown> = {}) => new ApiError(409, 'conflict', message, extra);
export const unprocessable = (message: string) => new ApiError(422, 'unprocessable', message);

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
    'X-Felhom-Agent-Version': AGENT_VERSION,
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

export type JsonObject = Record<string, unknown>;

// No content type is required: a client that sends JSON without saying so is answered.
const parseJson = express.json({ type: () => true, limit: MAX_BODY_BYTES, strict: false });

/**
 * Reads the body into `req.body` as a JSON object. An empty body reads as `{}`, so a
 * missing field is reported by name rather than as bad JSON; a body that cannot be read
 * as JSON, or is not an object, is the contract's 400.
 */
export function readJsonObject(req: Request, res: Response, next: NextFunction): void {
  parseJson(req, res, (error?: unknown) => {
    if (error) return next(unreadableBody(error));
    // body-parser leaves `req.body` undefined when there is no body at all; a JSON null is not an object.
    const body: unknown = req.body === undefined ? {} : req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return next(badRequest('body must be a JSON object'));
    req.body = body;
    next();
  });
}

function unreadableBody(error: unknown): ApiError {
  // body-parser tags what it refused with a type; any other refusal (a charset or an
  // encoding it does not read) leaves bytes that are not JSON to the contract.
  const type = (error as { type?: unknown }).type;
  return type === 'entity.too.large' ? badRequest(`body is larger than ${MAX_BODY_BYTES} bytes`) : badRequest('body is not valid JSON');
}

export function requireString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`${field} is required`);
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  if (value.length === 0) throw badRequest(`${field} must not be empty`);
  return value;
}

export function optionalString(body: JsonObject, field: string, fallback: string): string {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  return value;
}

export function requireOneOf<T extends string>(body: JsonObject, field: string, allowed: readonly T[]): T {
  const value = requireString(body, field);
  if (!(allowed as readonly string[]).includes(value)) throw badRequest(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}
