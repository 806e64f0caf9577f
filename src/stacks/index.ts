export { createDockerPort, type DockerPort, type DockerEngineInfo } from './docker.ts';
export {
  ONE_SHOT_LABEL,
  PROJECT_LABEL,
  SERVICE_LABEL,
  type ContainerHealth,
  type ContainerInfo,
  type ContainerRef,
  type ContainerState,
  type PublishedPort,
} from './containers.ts';
export type { HealthResult, WaitHealthyOptions } from './health.ts';
export type { LogLine, LogsOptions } from './logs.ts';
export type { ProjectEvent, ProjectEventAction, ProjectEventHandler } from './events.ts';
export { parseComposeOutput } from './compose-output.ts';
export { createCompose, type Compose, type ComposeOptions, type ComposeSpec, type OnLine } from './compose.ts';
export { createVolumes, volumeName, seedSentinel, type SeedRequest, type SeedResult, type VolumeRef, type Volumes } from './volumes.ts';
export { runChild, type ChildResult, type ChildOptions } from './child.ts';
