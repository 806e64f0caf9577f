/** The status domain's public surface (status.ts tells what it is). */
export { createStatusService, type AgentStatus, type ControllerStatus, type DockerStatus, type PinState, type Readiness, type ReadinessCheck, type StatusDeps, type StatusService } from './status.ts';
