/**
 * Connections to the Docker engine and how its failures become AppErrors. Shared by
 * the container adapter and the volume adapter.
 */
import Docker from 'dockerode';
import { AppError, errorMessage } from '../errors.ts';

export function dockerOptionsFor(dockerHost: string): Docker.DockerOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port), protocol: 'http' };
}

/**
 * dockerode's `timeout` is an idle timeout on every request, so one client cannot
 * serve all calls: a query should fail fast when the engine hangs, a container stop
 * may wait its grace period in silence, and an event stream is silent for hours.
 */
export interface Engine {
  /** Queries and quick changes: list, inspect, logs, volumes. */
  quick: Docker;
  /** Calls that may legitimately be silent for a while: stop, start, create. */
  slow: Docker;
  /** Long-lived streams (events): no timeout at all. */
  stream: Docker;
}

const SLOW_TIMEOUT_MS = 5 * 60_000;

export function connectEngine(dockerHost: string, timeoutMs: number): Engine {
  const options = dockerOptionsFor(dockerHost);
  return {
    quick: new Docker({ ...options, timeout: timeoutMs }),
    slow: new Docker({ ...options, timeout: Math.max(timeoutMs, SLOW_TIMEOUT_MS) }),
    stream: new Docker(options),
  };
}

/** The HTTP status of a dockerode error (304 already done, 404 gone, 409 in use…). */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Wraps an engine failure with what we were doing. */
export function upstream(what: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('upstream', { key: 'error.docker_failed', params: { what, cause: errorMessage(error).trim() } }, { cause: error });
}

/** Resolves to null when the engine answers with one of `statuses` (e.g. 404 for "already gone"). */
export async function unless<T>(statuses: number[], call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (statuses.includes(statusOf(error) ?? 0)) return null;
    throw error;
  }
}
