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
  segments: string[];
  handler: Handler;
}

/** `pattern` segments starting with `:` capture one path segment, e.g. '/snapshots/:name'. */
export function route(method: string, pattern: string, handler: Handler): Route {
  return { method, segments: pattern.split('/'), handler };
}

export const ok = (body: unknown): Reply => ({ status: 200, body });

export function findRoute(routes: readonly Route[], method: string, path: string): { handler: Handler; params: Record<string, string> } | null {
  const segments = path.split('/');
  for (const candidate of routes) {
    if (candidate.method !== method || candidate.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = candidate.segments.every((expected, index) => {
      const actual = segments[index] ?? '';
      if (!expected.startsWith(':')) return expected === actual;
      if (!actual) return false;
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
        return true;
      } catch {
        return false;
      }
    });
    if (matches) return { handler: candidate.handler, params };
  }
  return null;
}
