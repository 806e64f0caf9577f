/**
 * What the apps domain needs from the outside world, and nothing more. The real
 * adapters live in src/agent/ and src/stacks/; tests may pass fakes of these.
 */
import type { AgentClient } from '../agent/index.ts';
import type { Compose, DockerPort, Volumes } from '../stacks/index.ts';

export type AppsAgent = Pick<AgentClient, 'getStorage' | 'createSnapshot' | 'listSnapshots' | 'deleteSnapshot' | 'rollback'>;
export type AppsCompose = Pick<Compose, 'config' | 'up' | 'down'>;
export type AppsDocker = Pick<
  DockerPort,
  'listContainers' | 'allContainers' | 'projects' | 'startProject' | 'startContainers' | 'stopProject' | 'waitHealthy' | 'logs' | 'hasImage' | 'remoteDigest' | 'pullImage' | 'imageId' | 'tagImage' | 'containerNamesOutside' | 'removeProject'
>;
export type AppsVolumes = Pick<Volumes, 'ensureVolume' | 'seedVolume' | 'removeVolume'>;
