export { AgentClient, sameChannel, type AgentChannel, type ChannelSource } from './client.ts';
export { AgentError, isAgentError, type AgentErrorCode } from './errors.ts';
export { parsePin, formatPin, certificatePin } from './pin.ts';
export * from './schemas.ts';
