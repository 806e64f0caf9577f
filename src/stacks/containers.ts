/**
 * The containers of a compose project, through dockerode. A project's containers are
 * found by the label compose puts on them, never by name: v1 names them `app_web_1`,
 * v2 `app-web-1`.
 */
import type Docker from 'dockerode';
import { AppError, errorMessage } from '../errors.ts';
import { type Engine, unless, upstream } from './engine.ts';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';

/** Docker's container states (API `ContainerState.Status`). */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
/** null: the container has no healthcheck. */
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting' | null;

export interface PublishedPort {
  published: number;
  target: number;
  protocol: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  service: string;
  state: ContainerState;
  health: ContainerHealth;
  image: string;
  /** The id of the image the container was created from (the tag may have moved since). */
  imageId: string;
  /** RFC 3339; null for a container never started. */
  startedAt: string | null;
  ports: PublishedPort[];
  /** The exit code of an exited container, else null. */
  exitCode: number | null;
  /** Labelled by the controller as an init step that runs once and exits. */
  oneShot: boolean;
}

/**
 * Set by the controller's override on every service of an app, `true` or `false`, so an
 * image cannot claim it (a container's labels override its image's).
 */
export const ONE_SHOT_LABEL = 'org.felhom.one-shot';

/** A container something was done to. */
export interface ContainerRef {
  id: string;
  name: string;
  service: string;
}

/** Every container of the project (or of one of its services), running or not, inspected. */
export async function inspectProject(docker: Docker, project: string, service?: string): Promise<Docker.ContainerInspectInfo[]> {
  const label = [`${PROJECT_LABEL}=${project}`, ...(service === undefined ? [] : [`${SERVICE_LABEL}=${service}`])];
  try {
    const listed = await docker.listContainers({ all: true, filters: { label } });
    // A container removed between the list and its inspection is simply not there.
    const inspected = await Promise.all(listed.map((c) => unless([404], docker.getContainer(c.Id).inspect())));
    return inspected.filter((c): c is Docker.ContainerInspectInfo => c !== null).sort((a, b) => a.Name.localeCompare(b.Name));
  } catch (error) {
    throw upstream(`reading the containers of project ${project}`, error);
  }
}

export const serviceOf = (c: Docker.ContainerInspectInfo): string => c.Config.Labels[SERVICE_LABEL] ?? containerName(c);
const containerName = (c: Docker.ContainerInspectInfo): string => c.Name.replace(/^\//, '');
const refOf = (c: Docker.ContainerInspectInfo): ContainerRef => ({ id: c.Id, name: containerName(c), service: serviceOf(c) });

export function toContainerInfo(c: Docker.ContainerInspectInfo): ContainerInfo {
  const health = c.State.Health?.Status;
  return {
    ...refOf(c),
    state: c.State.Status as ContainerState,
    health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : null,
    image: c.Config.Image,
    imageId: c.Image,
    // Docker reports the zero time for a container that never ran.
    startedAt: c.State.StartedAt.startsWith('0001-') ? null : c.State.StartedAt,
    ports: publishedPorts(c),
    exitCode: c.State.Status === 'exited' ? c.State.ExitCode : null,
    oneShot: c.Config.Labels[ONE_SHOT_LABEL] === 'true',
  };
}

/** The ports bound now when it runs, else the ones it will bind (a fixed host port). */
function publishedPorts(c: Docker.ContainerInspectInfo): PublishedPort[] {
  const bindings = (c.State.Running ? c.NetworkSettings.Ports : c.HostConfig.PortBindings) as
    | Record<string, Array<{ HostPort: string }> | null>
    | null
    | undefined;
  const ports = new Map<string, PublishedPort>();
  for (const [key, hosts] of Object.entries(bindings ?? {})) {
    const [target, protocol = 'tcp'] = key.split('/');
    for (const host of hosts ?? []) {
      const published = Number(host.HostPort);
      // IPv4 and IPv6 bindings of one port are one port to a person.
      if (published > 0) ports.set(`${published}/${protocol}`, { published, target: Number(target), protocol });
    }
  }
  return [...ports.values()];
}

export async function listContainers(docker: Docker, project: string): Promise<ContainerInfo[]> {
  return (await inspectProject(docker, project)).map(toContainerInfo);
}

/**
 * Every container of every compose project from one list call, without inspecting each:
 * cheap enough for a page that shows all apps. Health and the exit code come from the
 * list's status text ("Up 2 minutes (healthy)", "Exited (0) 3 minutes ago"); the start
 * time is not in the list, so it is null here.
 */
export async function listAllContainers(docker: Docker): Promise<Map<string, ContainerInfo[]>> {
  let listed: Docker.ContainerInfo[];
  try {
    listed = await docker.listContainers({ all: true, filters: { label: [PROJECT_LABEL] } });
  } catch (error) {
    throw upstream('listing the containers of all compose projects', error);
  }
  const byProject = new Map<string, ContainerInfo[]>();
  for (const c of listed) {
    const project = c.Labels[PROJECT_LABEL];
    if (project === undefined) continue;
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1];
    const exited = /^Exited \((-?\d+)\)/.exec(c.Status);
    const info: ContainerInfo = {
      id: c.Id,
      name,
      service: c.Labels[SERVICE_LABEL] ?? name,
      state: c.State as ContainerState,
      health: health === 'health: starting' ? 'starting' : ((health as ContainerHealth | undefined) ?? null),
      image: c.Image,
      imageId: c.ImageID,
      startedAt: null,
      ports: [...new Map(c.Ports.filter((p) => p.PublicPort).map((p) => [`${p.PublicPort}/${p.Type}`, { published: p.PublicPort, target: p.PrivatePort, protocol: p.Type }])).values()],
      exitCode: exited ? Number(exited[1]) : null,
      oneShot: c.Labels[ONE_SHOT_LABEL] === 'true',
    };
    byProject.set(project, [...(byProject.get(project) ?? []), info]);
  }
  return byProject;
}

/** The names of every container in the engine, except those of `project`. */
export async function containerNamesOutside(docker: Docker, project: string): Promise<string[]> {
  try {
    const listed = await docker.listContainers({ all: true });
    return listed.filter((c) => c.Labels[PROJECT_LABEL] !== project).flatMap((c) => c.Names.map((name) => name.replace(/^\//, '')));
  } catch (error) {
    throw upstream('listing container names', error);
  }
}

/**
 * Removes what is left of a project when compose itself cannot take it down (a file it
 * no longer reads): its containers and networks, found by compose's label. Volumes are
 * left: the data is never deleted this way.
 */
export async function removeProject(engine: Engine, project: string, spare: string | null = null): Promise<void> {
  const label = [`${PROJECT_LABEL}=${project}`];
  try {
    const containers = (await engine.quick.listContainers({ all: true, filters: { label } })).filter((c) => c.Id !== spare);
    await Promise.all(containers.map((c) => unless([404], engine.slow.getContainer(c.Id).remove({ force: true }))));
    const networks = await engine.quick.listNetworks({ filters: { label } });
    await Promise.all(networks.map((n) => unless([404], engine.quick.getNetwork(n.Id).remove())));
  } catch (error) {
    throw upstream(`removing the containers of project ${project}`, error);
  }
}

/** Every compose project with at least one container, running or not. */
export const listProjects = (docker: Docker) => projectsWith(docker, PROJECT_LABEL, 'listing compose projects');

async function projectsWith(docker: Docker, label: string, what: string): Promise<string[]> {
  try {
    const listed = await docker.listContainers({ all: true, filters: { label: [label] } });
    return [...new Set(listed.map((c) => c.Labels[PROJECT_LABEL]).filter((p) => p !== undefined))].sort();
  } catch (error) {
    throw upstream(what, error);
  }
}

/**
 * Stops every running container of the project at once, each with its own stop grace
 * period, and says which it stopped, so a caller restarts exactly those. `spare` is a
 * container never to touch: the controller's own.
 */
/** A container a stop ended: `killed` when Docker had to kill it after its grace period. */
export interface StoppedContainer extends ContainerRef {
  killed: boolean;
}

export async function stopProject(engine: Engine, project: string, spare: string | null = null): Promise<StoppedContainer[]> {
  const running = (await inspectProject(engine.quick, project)).filter((c) => c.Id !== spare && ['running', 'restarting', 'paused'].includes(c.State.Status));
  // 304: it stopped by itself meanwhile.
  const stopped = await actOn(running, `stopping containers of project ${project}`, (c) => unless([304], engine.slow.getContainer(c.Id).stop()));
  // A container that did not stop within its grace period was killed (SIGKILL, exit 137):
  // its files are as after a power cut, which a backup must not call app-consistent.
  const after = new Map((await inspectProject(engine.quick, project)).map((c) => [c.Id, c.State]));
  return stopped.map((ref) => ({ ...ref, killed: after.get(ref.id)?.ExitCode === 137 || after.get(ref.id)?.OOMKilled === true }));
}

/**
 * Starts every stopped container of the project at once. Unlike `compose start` this
 * ignores depends_on order; apps that need it retry until their dependency answers.
 */
export async function startProject(engine: Engine, project: string, spare: string | null = null): Promise<ContainerRef[]> {
  const stopped = (await inspectProject(engine.quick, project)).filter((c) => c.Id !== spare && ['created', 'exited'].includes(c.State.Status));
  // 304: already running, which is what we wanted.
  return actOn(stopped, `starting containers of project ${project}`, (c) => unless([304], engine.slow.getContainer(c.Id).start()));
}

/**
 * Starts these containers by name, in parallel, without listing first (a quiesce restart
 * counts every step before the start as downtime). Already running (304) is fine, and so
 * is one that no longer exists (404): the caller's check after the start finds it
 * missing. Throws naming those that failed.
 */
export async function startContainers(engine: Engine, names: string[]): Promise<void> {
  const results = await Promise.allSettled(names.map((name) => unless([304, 404], engine.slow.getContainer(name).start())));
  const failed = failuresOf(names, results);
  if (failed.length > 0) throw failedFor('starting containers', failed);
}

/** Runs `act` on all containers; if any fail, the error names them and carries what succeeded. */
async function actOn(
  containers: Docker.ContainerInspectInfo[],
  what: string,
  act: (c: Docker.ContainerInspectInfo) => Promise<unknown>,
): Promise<ContainerRef[]> {
  const results = await Promise.allSettled(containers.map(act));
  const done = containers.filter((_, i) => results[i]?.status === 'fulfilled').map(refOf);
  const failed = failuresOf(containers.map(containerName), results);
  if (failed.length > 0) throw failedFor(what, failed, { done });
  return done;
}

type Failure = { name: string; reason: unknown };

/** The names whose call was rejected, each with its reason (results in the order of names). */
function failuresOf(names: string[], results: PromiseSettledResult<unknown>[]): Failure[] {
  return names.flatMap((name, i) => {
    const result = results[i];
    return result?.status === 'rejected' ? [{ name, reason: result.reason as unknown }] : [];
  });
}

function failedFor(what: string, failed: Failure[], details?: Record<string, unknown>): AppError {
  const list = failed.map((f) => `${f.name}: ${errorMessage(f.reason).trim()}`).join('; ');
  return new AppError('upstream', { key: 'error.docker_failed_for', params: { what, containers: list } }, { cause: failed[0]?.reason, ...(details ? { details } : {}) });
}
