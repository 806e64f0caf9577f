/**
 * One request, in the contract's order: authenticate (guest token, or control token for
 * /_dev), apply injected faults, find the route, read the body, refuse a cross-guest
 * `guest_id`, run the handler, and answer JSON with the version header whatever happens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../src/log.ts';
import { hashToken } from './credentials.ts';
import { faultError } from './faults.ts';
import type { FaultSet } from './faults.ts';
import { ApiError, badRequest, parseJsonObject, readBody, sendJson } from './http.ts';
import type { JsonObject } from './http.ts';
import { findRoute } from './router.ts';
import type { Reply, Route } from './router.ts';
import type { StateStore } from './state.ts';

export interface RequestRecord {
  method: string;
  path: string;
  /** 0 for a request that was never answered (an injected hang). */
  status: number;
}

export interface DispatchDependencies {
  store: StateStore;
  guestId: string;
  contractRoutes: readonly Route[];
  controlRoutes: readonly Route[];
  controlToken: string;
  faults: FaultSet;
  record: (entry: RequestRecord) => void;
  closing: AbortSignal;
  logger: Logger;
}

const CONTROL_PREFIX = '/_dev/';
const UNAUTHORIZED = new ApiError(401, 'unauthorized', 'missing or unknown token');

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** `guest_id` may be given as a decimal string or a number; any other guest than the token's is refused. */
function checkGuestId(value: unknown, guestId: string): void {
  if (value === undefined) return;
  let named: string;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) named = String(value);
  else if (typeof value === 'string' && /^\d+$/.test(value)) named = value;
  else throw badRequest('guest_id must be a decimal guest id');
  if (BigInt(named) !== BigInt(guestId)) throw new ApiError(403, 'cross_guest', `guest ${named} is not this token's guest`);
}

export function createDispatcher(deps: DispatchDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  async function contract(req: IncomingMessage, method: string, url: URL, token: string | null): Promise<Reply | 'hang'> {
    const guestId = token === null ? undefined : deps.store.state.tokens[hashToken(token)];
    if (guestId === undefined) throw UNAUTHORIZED;

    const fault = deps.faults.take(method, url.pathname);
    if (fault?.hang) return 'hang';
    if (fault?.delayMs) await sleep(fault.delayMs, undefined, { signal: deps.closing });
    if (fault?.status !== undefined) throw faultError({ ...fault, status: fault.status });

    const found = findRoute(deps.contractRoutes, method, url.pathname);
    if (!found) throw new ApiError(404, 'not_found', `no endpoint ${method} ${url.pathname}`);
    const body = method === 'GET' || method === 'HEAD' ? {} : parseJsonObject(await readBody(req));
    for (const named of url.searchParams.getAll('guest_id')) checkGuestId(named, guestId);
    checkGuestId(body.guest_id, guestId);
    return found.handler({ guestId, params: found.params, query: url.searchParams, body });
  }

  async function control(req: IncomingMessage, method: string, url: URL, token: string | null): Promise<Reply> {
    if (token === null || !sameSecret(token, deps.controlToken)) throw UNAUTHORIZED;
    const found = findRoute(deps.controlRoutes, method, url.pathname);
    if (!found) throw new ApiError(404, 'not_found', `no control endpoint ${method} ${url.pathname}`);
    const body: JsonObject = method === 'GET' ? {} : parseJsonObject(await readBody(req));
    return found.handler({ guestId: deps.guestId, params: found.params, query: url.searchParams, body });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://dev-agent.invalid');
    const isControl = url.pathname.startsWith(CONTROL_PREFIX);
    const token = bearerToken(req.headers.authorization);
    let status: number;
    try {
      const reply = isControl ? await control(req, method, url, token) : await contract(req, method, url, token);
      if (reply === 'hang') {
        deps.record({ method, path: url.pathname, status: 0 });
        return;
      }
      status = reply.status;
      if (!res.destroyed) sendJson(res, reply.status, reply.body);
    } catch (error) {
      if (deps.closing.aborted) {
        res.destroy();
        return;
      }
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'internal', 'the development agent failed to handle the request');
      if (!(error instanceof ApiError)) deps.logger.error({ err: error, method, path: url.pathname }, 'dev agent: request failed');
      status = apiError.status;
      if (!res.destroyed) sendJson(res, apiError.status, apiError.body());
    }
    if (!isControl) deps.record({ method, path: url.pathname, status });
    deps.logger.debug({ method, path: url.pathname, status }, 'dev agent: request');
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'dev agent: request failed');
      res.destroy();
    });
  };
}
