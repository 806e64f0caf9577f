import { AppError, type ErrorCode } from '../errors.ts';

/** Codes the agent itself answers with (CONTRACT.md, Errors). */
export const agentReportedCodes = [
  'bad_request',
  'unauthorized',
  'cross_guest',
  'pending_signature',
  'not_owner',
  'not_found',
  'conflict',
  'unprocessable',
  'unavailable',
] as const;

/** Codes for what went wrong on the way to an answer. */
export const channelCodes = [
  'not_configured',
  'pin_mismatch',
  'timeout',
  'unreachable',
  'bad_response',
  'unexpected_status',
] as const;

export type AgentErrorCode = (typeof agentReportedCodes)[number] | (typeof channelCodes)[number];

const APP_CODE: Record<AgentErrorCode, ErrorCode> = {
  bad_request: 'upstream',
  unauthorized: 'upstream',
  cross_guest: 'upstream',
  pending_signature: 'forbidden',
  not_owner: 'forbidden',
  not_found: 'not_found',
  conflict: 'conflict',
  unprocessable: 'policy',
  unavailable: 'unavailable',
  not_configured: 'unavailable',
  pin_mismatch: 'pin_mismatch',
  timeout: 'agent_unreachable',
  unreachable: 'agent_unreachable',
  bad_response: 'upstream',
  unexpected_status: 'upstream',
};

/** What a person should know or do, per code; appended to the agent's own words. */
const HINT: Record<AgentErrorCode, string> = {
  bad_request: 'the controller sent a request the agent could not accept; this is a controller bug',
  unauthorized: 'the agent does not accept the controller token; the agent may have re-issued bootstrap.json',
  cross_guest: 'the agent refused an operation on another guest',
  pending_signature: 'this would destroy data and needs an operator-signed operation from Felhom support',
  not_owner: 'this was not created by the controller, so the controller may not remove it',
  not_found: 'the agent does not know it',
  conflict: 'another operation on this server is in progress; try again when it has finished',
  unprocessable: 'the agent cannot do this in the current state',
  unavailable: 'the host is temporarily unavailable; try again later',
  not_configured: 'the controller has no agent channel yet: bootstrap.json has not been ingested',
  pin_mismatch: 'the server at the agent address is not the agent pinned in bootstrap.json; nothing was sent to it',
  timeout: 'the agent did not answer in time',
  unreachable: 'the agent could not be reached',
  bad_response: 'the agent answered something that does not match the contract',
  unexpected_status: 'the agent answered with a status the contract does not name',
};

export class AgentError extends AppError {
  readonly agentCode: AgentErrorCode;
  readonly agentStatus: number | null;
  /** The in-flight backup named by a 409 on POST /backup. */
  readonly backupId: string | null;

  constructor(
    agentCode: AgentErrorCode,
    operation: string,
    detail: string,
    options: { status?: number; backupId?: string | null; cause?: unknown } = {},
  ) {
    super(APP_CODE[agentCode], `agent ${operation}: ${detail} (${HINT[agentCode]})`, {
      cause: options.cause,
      details: { agent_code: agentCode, ...(options.status ? { agent_status: options.status } : {}) },
    });
    this.name = 'AgentError';
    this.agentCode = agentCode;
    this.agentStatus = options.status ?? null;
    this.backupId = options.backupId ?? null;
  }
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  return error instanceof AgentError && (code === undefined || error.agentCode === code);
}

export function codeForStatus(status: number): AgentErrorCode {
  switch (status) {
    case 400: return 'bad_request';
    case 401: return 'unauthorized';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 422: return 'unprocessable';
    case 503: return 'unavailable';
    default: return 'unexpected_status';
  }
}
