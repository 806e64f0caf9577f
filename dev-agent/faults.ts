/**
 * Injected misbehaviour, so the controller's handling of a sick agent can be tested:
 * an error status, a request that is never answered, a slow answer.
 */
import { ApiError, DEFAULT_ERROR_CODES, badRequest } from './http.ts';
import type { JsonObject } from './http.ts';

export interface Fault {
  method?: string;
  /** Exact path without query, e.g. '/backup/status'. */
  path: string;
  status?: number;
  code?: string;
  message?: string;
  hang?: boolean;
  delayMs?: number;
  /** How many requests it applies to; unlimited when absent. */
  times?: number;
}

export class FaultSet {
  #faults: Fault[] = [];

  add(fault: Fault): void {
    this.#faults.push(validateFault(fault));
  }

  clear(): void {
    this.#faults = [];
  }

  list(): ReadonlyArray<Fault> {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  /** The first fault matching the request, counting it as used. */
  take(method: string, path: string): Fault | null {
    const index = this.#faults.findIndex((fault) => fault.path === path && (!fault.method || fault.method.toUpperCase() === method));
    const fault = this.#faults[index];
    if (!fault) return null;
    if (fault.times !== undefined && --fault.times <= 0) this.#faults.splice(index, 1);
    return { ...fault };
  }
}

export function faultError(fault: Fault & { status: number }): ApiError {
  const code = fault.code ?? DEFAULT_ERROR_CODES[fault.status] ?? (fault.status >= 500 ? 'internal' : 'bad_request');
  return new ApiError(fault.status, code, fault.message ?? `injected fault on ${fault.path}`);
}

/** Checks a fault given over the control API or in code; throws ApiError 400 naming the field. */
export function validateFault(input: Fault | JsonObject): Fault {
  const value = input as JsonObject;
  const fault: Fault = { path: '' };
  if (typeof value.path !== 'string' || !value.path.startsWith('/')) throw badRequest('path must be an absolute path such as /backup/status');
  fault.path = value.path;
  if (value.method !== undefined) {
    if (typeof value.method !== 'string' || !value.method) throw badRequest('method must be an HTTP method');
    fault.method = value.method.toUpperCase();
  }
  if (value.status !== undefined) {
    if (!Number.isInteger(value.status) || (value.status as number) < 400 || (value.status as number) > 599) throw badRequest('status must be an integer from 400 to 599');
    fault.status = value.status as number;
  }
  for (const field of ['code', 'message'] as const) {
    if (value[field] === undefined) continue;
    if (typeof value[field] !== 'string') throw badRequest(`${field} must be a string`);
    fault[field] = value[field];
  }
  if (value.hang !== undefined) {
    if (typeof value.hang !== 'boolean') throw badRequest('hang must be a boolean');
    fault.hang = value.hang;
  }
  for (const field of ['delayMs', 'times'] as const) {
    if (value[field] === undefined) continue;
    if (!Number.isInteger(value[field]) || (value[field] as number) < (field === 'times' ? 1 : 0)) throw badRequest(`${field} must be a ${field === 'times' ? 'positive' : 'non-negative'} integer`);
    fault[field] = value[field] as number;
  }
  if (fault.status === undefined && !fault.hang && fault.delayMs === undefined) throw badRequest('a fault needs status, hang or delayMs');
  return fault;
}
