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
  type StoppedContainer,
} from './containers.ts';
export { PullTally, type PullOptions, type PullProgress } from './images.ts';
export type { HealthResult, WaitHealthyOptions } from './health.ts';
export type { LogLine, LogsOptions } from './logs.ts';
export type { ProjectEvent, ProjectEventAction, ProjectEventHandler } from './events.ts';
export { parseComposeOutput } from './compose-output.ts';
export {
  oneShotServices,
  readCompose,
  serviceNames,
  volumeMounts,
  type ComposeModel,
  type ComposeService,
  type FileObject,
  type MountType,
  type NetworkAttachment,
  type NetworkDefinition,
  type PortMapping,
  type Protocol,
  type ServiceHook,
  type ServiceMount,
  type VolumeDefinition,
} from './compose-model.ts';
export { canonicalIp, isWildcard } from './compose-ports.ts';
export { isRecord } from './compose-readers.ts';
export { createCompose, type Compose, type ComposeOptions, type ComposeSpec, type OnLine } from './compose.ts';
export { createVolumes, volumeName, seedSentinel, type SeedRequest, type SeedResult, type VolumeRef, type Volumes } from './volumes.ts';
export { runChild, type ChildResult, type ChildOptions } from './child.ts';
