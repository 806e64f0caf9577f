/**
 * An app keeps to itself: its own namespaces and its own containers. Everything here
 * refuses a way to reach something outside the app: the guest's namespaces, another
 * container (joined, linked to, or its volumes mounted), or a container name another
 * app or the controller needs.
 */
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import type { Add, PolicyViolation } from './checks.ts';


export function checkNamespaces(service: ComposeService, services: Set<string>, add: Add): void {
  // `allowed` lists the other values permitted; 'any' permits everything but host and container:.
  const shared = (key: string, value: string | null, allowed: string[] | 'any', what: string) => {
    if (value === null) return;
    const trimmed = value.trim();
    const lower = trimmed.toLowerCase();
    if (lower === 'host') add(key, `host shares the guest's ${what} with the container; apps keep their own`);
    else if (lower.startsWith('container:')) add(key, `${value} joins the ${what} of a container outside the app (it could be the controller's); only service:<name> within the app is allowed`);
    else if (lower.startsWith('service:')) {
      if (!services.has(trimmed.slice('service:'.length))) add(key, `${value} names no service of this app`);
    } else if (allowed !== 'any' && lower !== '' && !allowed.includes(lower)) {
      add(key, `${value} is not allowed: use ${allowed.join(', ')} or service:<name>`);
    }
  };
  const mode = service.networkMode?.trim().toLowerCase();
  if (mode === 'bridge' || mode === 'default') {
    // The engine's default bridge is shared with every container started outside a
    // project, and legacy links on it inject other containers' environments.
    add('network_mode', `${service.networkMode} puts the container on the engine's default bridge, shared with containers outside the app; leave network_mode out (the app gets its own network)`);
  } else {
    // A network_mode that names a network would join a network outside the app.
    shared('network_mode', service.networkMode, ['none'], 'network stack');
  }
  shared('pid', service.pid, ['private'], 'process namespace');
  shared('ipc', service.ipc, ['none', 'private', 'shareable'], 'IPC namespace');
  shared('userns_mode', service.usernsMode, 'any', 'user namespace (opting out of user-namespace remapping)');
  shared('uts', service.uts, 'any', 'host name (UTS namespace)');
  shared('cgroup', service.cgroup, ['private'], 'cgroup namespace');
  if (service.cgroupParent !== null) add('cgroup_parent', `placing the container under the cgroup "${service.cgroupParent}" takes it out of Docker's control of its resources; apps may not set it`);
  for (const entry of service.volumesFrom) {
    const source = entry.replace(/:(ro|rw)$/, '');
    if (source.startsWith('container:')) {
      add('volumes_from', `${entry} mounts the volumes of a container outside the app (it could be the controller's); only services of this app are allowed`);
      continue;
    }
    const name = source.replace(/^service:/, '');
    if (!services.has(name)) add('volumes_from', `${entry} names no service of this app (compose would look for a container of that name outside the app)`);
  }
}

/** Legacy links: Docker copies a linked container's environment (its passwords) into the app. */
export function checkLinks(service: ComposeService, services: Set<string>, add: Add): void {
  for (const link of service.externalLinks) {
    add('external_links', `${link} links to a container outside the app, and Docker copies that container's environment (its passwords) into this one; not allowed`);
  }
  for (const link of service.links) {
    const target = link.split(':')[0] ?? '';
    if (!services.has(target)) add('links', `${link} names no service of this app; links may reach only the app's own services`);
  }
}

/**
 * A container name is one for the whole engine: an app that takes another's (or a name
 * the controller uses) breaks it. Names that start with the app id are the app's own.
 */
export function checkContainerName(service: ComposeService, appId: string, add: Add): void {
  const name = service.containerName;
  if (name === null) return;
  if (name !== appId && !name.startsWith(`${appId}-`) && !name.startsWith(`${appId}_`)) {
    add('container_name', `"${name}" is a name for the whole Docker engine, which could be another app's or the controller's; leave it out, or start it with "${appId}-"`);
  }
}

/**
 * Every container the app would create takes its name for the whole engine: its
 * `container_name`, or compose's `<app>-<service>-<n>` (v2) and `<app>_<service>_<n>`
 * (v1). A name another container already has would make the start fail after the
 * snapshot (app `a` with a service `b-web` is `a-b-web-1`, as is the service `web` of
 * app `a-b`), so it is refused before anything starts.
 */
export function checkContainerNames(model: ComposeModel, appId: string, taken: string[]): PolicyViolation[] {
  const existing = new Set(taken.map((name) => name.replace(/^\//, '')));
  const violations: PolicyViolation[] = [];
  for (const service of model.services) {
    const names = service.containerName !== null
      ? [service.containerName]
      : Array.from({ length: service.replicas }, (_, i) => [`${appId}-${service.name}-${i + 1}`, `${appId}_${service.name}_${i + 1}`]).flat();
    const clash = names.find((name) => existing.has(name));
    if (clash) violations.push({ service: service.name, key: 'container_name', message: `its container would be named "${clash}", which a container outside the app already has; rename the service` });
  }
  return violations;
}
