/**
 * One request, in the contract's order, as an express app: authenticate (guest token, or
 * control token for /_dev), apply injected faults, find the route, read the body, refuse
 * a cross-guest `guest_id`, run the handler, and answer JSON with the version header
 * whatever happens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import type { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from '../src/log.ts';
import { hashToken } from './credentials.ts';
import { faultError } from './faults.ts';
import type { FaultSet } from './faults.ts';
import { ApiError, badRequest, readJsonObject, sendJson } from './http.ts';
import type { Route } from './router.ts';
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

/** What every step needs to know about the request, kept in `res.locals`. */
interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  isControl: boolean;
  /** Set once the token is accepted. */
  guestId: string;
}

const CONTROL_PREFIX = '/_dev/';
const UNAUTHORIZED = new ApiError(401, 'unauthorized', 'missing or unknown token');
// Paths match exactly, as the contract writes them: no trailing slash, no other case.
const ROUTER_OPTIONS = { caseSensitive: true, strict: true };

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

const exchange = (res: Response): Exchange => res.locals as Exchange;

export function createAgentApp(deps: DispatchDependencies): Express {
  function answer(res: Response, status: number, body: unknown): void {
    const { method, path, isControl } = exchange(res);
    if (!res.destroyed) sendJson(res, status, body);
    if (!isControl) deps.record({ method, path, status });
    deps.logger.debug({ method, path, status }, 'dev agent: request');
  }

  /** The path as the WHATWG URL parser reads it (dot segments resolved), for routing, faults and the request log alike. */
  const readUrl: RequestHandler = (req, res, next) => {
    const url = new URL(req.url, 'https://dev-agent.invalid');
    req.url = url.pathname + url.search;
    Object.assign(res.locals, { method: req.method, path: url.pathname, query: url.searchParams, isControl: url.pathname.startsWith(CONTROL_PREFIX) });
    next();
  };

  const acceptGuestToken: RequestHandler = (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    const guestId = token === null ? undefined : deps.store.state.tokens[hashToken(token)];
    if (guestId === undefined) throw UNAUTHORIZED;
    exchange(res).guestId = guestId;
    next();
  };

  const acceptControlToken: RequestHandler = (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token === null || !sameSecret(token, deps.controlToken)) throw UNAUTHORIZED;
    exchange(res).guestId = deps.guestId;
    next();
  };

  const applyFault: RequestHandler = async (_req, res, next) => {
    const { method, path } = exchange(res);
    const fault = deps.faults.take(method, path);
    if (fault?.hang) {
      // Never answered and never passed on: the socket is destroyed when the agent closes.
      deps.record({ method, path, status: 0 });
      return;
    }
    if (fault?.delayMs) await sleep(fault.delayMs, undefined, { signal: deps.closing });
    if (fault?.status !== undefined) throw faultError({ ...fault, status: fault.status });
    next();
  };

  const refuseCrossGuest: RequestHandler = (req, res, next) => {
    const { query, guestId } = exchange(res);
    for (const named of query.getAll('guest_id')) checkGuestId(named, guestId);
    checkGuestId((req.body as Record<string, unknown> | undefined)?.guest_id, guestId);
    next();
  };

  function mount(router: Router, { method, pattern, handler }: Route, checks: RequestHandler[]): void {
    // express would answer HEAD with a GET route (and OPTIONS by itself); the contract
    // has neither, so only the route's own method reaches it and the rest find no endpoint.
    const onlyItsMethod: RequestHandler = (req, _res, next) => next(req.method === method ? undefined : 'route');
    const body = method === 'GET' ? [] : [readJsonObject];
    router.all(pattern, onlyItsMethod, ...body, ...checks, async (req: Request, res: Response) => {
      const { guestId, query } = exchange(res);
      const reply = await handler({ guestId, params: req.params as Record<string, string>, query, body: req.body ?? {} });
      answer(res, reply.status, reply.body);
    });
  }

  const endpointMissing = (res: Response): ApiError => {
    const { method, path, isControl } = exchange(res);
    return new ApiError(404, 'not_found', `${isControl ? 'no control endpoint' : 'no endpoint'} ${method} ${path}`);
  };

  function routerFor(accept: RequestHandler[], routes: readonly Route[], checks: RequestHandler[]): Router {
    const built = express.Router(ROUTER_OPTIONS);
    built.use(...accept);
    for (const entry of routes) mount(built, entry, checks);
    built.use((_req, res) => {
      throw endpointMissing(res);
    });
    return built;
  }

  const contract = routerFor([acceptGuestToken, applyFault], deps.contractRoutes, [refuseCrossGuest]);
  const control = routerFor([acceptControlToken], deps.controlRoutes, []);

  const app = express();
  app.disable('x-powered-by');
  app.use(readUrl);
  app.use((req, res, next) => (exchange(res).isControl ? control : contract)(req, res, next));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (deps.closing.aborted) {
      res.destroy();
      return;
    }
    const apiError = error instanceof ApiError ? error : unexpected(error, res);
    answer(res, apiError.status, apiError.body());
  });

  function unexpected(error: unknown, res: Response): ApiError {
    // A path segment that is not valid percent-encoding names no endpoint; express's router reports it as a URIError.
    if (error instanceof URIError) return endpointMissing(res);
    const { method, path } = exchange(res);
    deps.logger.error({ err: error, method, path }, 'dev agent: request failed');
    return new ApiError(500, 'internal', 'the development agent failed to handle the request');
  }

  return app;
}
