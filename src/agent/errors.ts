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
    // The agent's own words stay as they are; what a person should know or do is in the catalogs (agent_error.*).
    super(APP_CODE[agentCode], { key: 'error.agent', params: { operation, detail, hint: { key: `agent_error.${agentCode}` } } }, {
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
