/**
 * The controller's view of the Docker engine: whether it answers, and the containers
 * of compose projects (status, logs, start/stop, health, events), through dockerode.
 */
import { silentLogger, type Logger } from '../log.ts';
import {
  containerNamesOutside,
  removeProject,
  type ContainerInfo,
  type ContainerRef,
  listAllContainers,
  listContainers,
  listProjects,
  PROJECT_LABEL,
  startContainers,
  startProject,
  stopProject,
  type StoppedContainer,
} from './containers.ts';
import { connectEngine, unless } from './engine.ts';
import { subscribeProjectEvents, type ProjectEventHandler } from './events.ts';
import { type HealthResult, waitHealthy, type WaitHealthyOptions } from './health.ts';
import { type LogLine, type LogsOptions, projectLogs } from './logs.ts';
import { imageIdOf, pullImage, remoteDigest, repoDigests, tagImage, type PullOptions, type PullProgress } from './images.ts';
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
  /** The host ports the controller's own container publishes; none outside a container. */
  controllerPorts(): Promise<Array<{ published: number; protocol: 'tcp' | 'udp' }>>;
  /** The names of every container in the engine that is not of `project`. */
  containerNamesOutside(project: string): Promise<string[]>;
  /** Removes a project's containers and networks by label, when compose cannot (its volumes stay). */
  removeProject(project: string): Promise<void>;
  /** Stops its running containers in parallel; returns those it stopped. */
  stopProject(project: string): Promise<StoppedContainer[]>;
  /** Starts its stopped containers in parallel; returns those it started. */
  startProject(project: string): Promise<ContainerRef[]>;
  /**
   * Starts exactly these containers, by name, in parallel; one already running or gone
   * is no failure (check afterwards what runs). Throws naming those that failed.
   */
  startContainers(names: string[]): Promise<void>;
  logs(project: string, options: LogsOptions): Promise<LogLine[]>;
  waitHealthy(project: string, options: WaitHealthyOptions): Promise<HealthResult>;
  /** Container start, die, stop and health_status events of compose projects; returns an unsubscribe. */
  onProjectEvents(handler: ProjectEventHandler): () => void;
  /** Whether the engine has the image locally (no registry is asked). */
  hasImage(reference: string): Promise<boolean>;
  /** Pulls one image with progress; bounded by how long it may go without progress (images.ts). */
  pullImage(reference: string, options: PullOptions): Promise<PullProgress>;
  /** The digest the registry holds for the reference's tag, without pulling; bounded by `timeoutMs`. */
  remoteDigest(reference: string, timeoutMs: number): Promise<string>;
  /** The `repo@sha256:…` digests the engine recorded for an image (by id or reference). */
  repoDigests(image: string): Promise<string[]>;
  /** The id of the image a reference points at, or null when the engine lacks it. */
  imageId(reference: string): Promise<string | null>;
  /** Points `reference` at the image `imageId` (an update rolled back). */
  tagImage(imageId: string, reference: string): Promise<void>;
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
    async controllerPorts() {
      if (self === null) return [];
      const own = await unless([404], engine.quick.getContainer(self).inspect());
      const bindings = (own?.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostPort?: string }> | null>;
      return Object.entries(bindings).flatMap(([key, hosts]) =>
        (hosts ?? []).map((host) => ({ published: Number(host.HostPort), protocol: key.endsWith('/udp') ? ('udp' as const) : ('tcp' as const) })).filter((port) => port.published > 0),
      );
    },
    containerNamesOutside: (project) => containerNamesOutside(engine.quick, project),
    removeProject: (project) => removeProject(engine, project, self),
    stopProject: (project) => stopProject(engine, project, self),
    startProject: (project) => startProject(engine, project, self),
    startContainers: (names) => startContainers(engine, names),
    logs: (project, options) => projectLogs(engine.quick, project, options),
    waitHealthy: (project, options) => waitHealthy(engine.quick, project, options),
    onProjectEvents: (handler) => subscribeProjectEvents(engine.stream, handler, { logger }),
    hasImage: async (reference) => (await unless([404], engine.quick.getImage(reference).inspect())) !== null,
    pullImage: (reference, options) => pullImage(engine, reference, options),
    remoteDigest: (reference, timeoutMs) => remoteDigest(engine, reference, timeoutMs),
    repoDigests: (image) => repoDigests(engine, image),
    imageId: (reference) => imageIdOf(engine, reference),
    tagImage: (imageId, reference) => tagImage(engine, imageId, reference),
  };
}
