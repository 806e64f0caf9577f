/**
 * Routes as data: each module lists its endpoints with `route()`, and dispatch.ts mounts
 * them on express routers. Handlers see the request as the contract describes it and
 * return the answer, so they stay free of express.
 */
import type { JsonObject } from './http.ts';

export interface RequestContext {
  /** The guest the caller's token speaks for (for /_dev, the guest this agent serves). */
  guestId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: JsonObject;
}

export interface Reply {
  status: number;
  body: unknown;
}

export type Handler = (context: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** An express path: segments starting with `:` capture one path segment, e.g. '/snapshots/:name'. */
  pattern: string;
  handler: Handler;
}

export function route(method: string, pattern: string, handler: Handler): Route {
  return { method, pattern, handler };
}

export const ok = (body: unknown): Reply => ({ status: 200, body });
