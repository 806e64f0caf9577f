/**
 * The controller's view of the Docker engine: whether it answers, and the containers
 * of compose projects (status, logs, start/stop, health, events), through dockerode.
 */
import { silentLogger, type Logger } from '../log.ts';
import {
  type ContainerInfo,
  type ContainerRef,
  listAllContainers,
  listContainers,
  listProjects,
  PROJECT_LABEL,
  startProject,
  stopProject,
} from './containers.ts';
import { connectEngine, unless } from './engine.ts';
import { subscribeProjectEvents, type ProjectEventHandler } from './events.ts';
import { type HealthResult, waitHealthy, type WaitHealthyOptions } from './health.ts';
import { type LogLine, type LogsOptions, projectLogs } from './logs.ts';
import { ownContainerId } from './self.ts';

export interface DockerEngineInfo {
  version: string;
  apiVersion: string;
}

export interface DockerPort {
  info(): Promise<DockerEngineInfo>;
  /** All containers of the project, running or not, selected by its compose label. */
  listContainers(project: string): Promise<ContainerInfo[]>;
  /** The containers of every compose project at once, from Docker's list alone (no start times). */
  allContainers(): Promise<Map<string, ContainerInfo[]>>;
  /** Every compose project that has containers. */
  projects(): Promise<string[]>;
  /** The compose project of the controller's own container (found by its id, never a label); none outside a container. */
  controllerProjects(): Promise<string[]>;
  /** Stops its running containers in parallel; returns those it stopped. */
  stopProject(project: string): Promise<ContainerRef[]>;
  /** Starts its stopped containers in parallel; returns those it started. */
  startProject(project: string): Promise<ContainerRef[]>;
  logs(project: string, options: LogsOptions): Promise<LogLine[]>;
  waitHealthy(project: string, options: WaitHealthyOptions): Promise<HealthResult>;
  /** Container start, die, stop and health_status events of compose projects; returns an unsubscribe. */
  onProjectEvents(handler: ProjectEventHandler): () => void;
  /** Whether the engine has the image locally (no registry is asked). */
  hasImage(reference: string): Promise<boolean>;
}

/**
 * `self` is the controller's own container id (see self.ts): it is left out of every
 * app's containers and never stopped or started, whatever its labels say.
 */
export function createDockerPort(dockerHost: string, timeoutMs = 5_000, logger: Logger = silentLogger(), self: string | null = ownContainerId()): DockerPort {
  const engine = connectEngine(dockerHost, timeoutMs);
  const notSelf = (containers: ContainerInfo[]) => containers.filter((c) => c.id !== self);
  return {
    async info() {
      const version = await engine.quick.version();
      return { version: version.Version, apiVersion: version.ApiVersion };
    },
    listContainers: async (project) => notSelf(await listContainers(engine.quick, project)),
    allContainers: async () => new Map([...(await listAllContainers(engine.quick))].map(([project, containers]) => [project, notSelf(containers)])),
    projects: () => listProjects(engine.quick),
    async controllerProjects() {
      if (self === null) return [];
      const own = await unless([404], engine.quick.getContainer(self).inspect());
      const project = own?.Config.Labels[PROJECT_LABEL];
      return project === undefined ? [] : [project];
    },
    stopProject: (project) => stopProject(engine, project, self),
    startProject: (project) => startProject(engine, project, self),
    logs: (project, options) => projectLogs(engine.quick, project, options),
    waitHealthy: (project, options) => waitHealthy(engine.quick, project, options),
    onProjectEvents: (handler) => subscribeProjectEvents(engine.stream, handler, { logger }),
    hasImage: async (reference) => (await unless([404], engine.quick.getImage(reference).inspect())) !== null,
  };
}
