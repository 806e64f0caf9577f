/**
 * An app keeps to itself: its own namespaces, its own networks, its own containers.
 * Everything here refuses a way to reach something outside the app: the guest's
 * namespaces, another container (joined, linked to, or its volumes mounted), a network
 * the app does not own, the guest's own networking through a network's options, or a
 * container name another app or the controller needs.
 */
import type { ComposeModel, ComposeService } from '../compose-model.ts';
import type { Add, PolicyViolation } from './policy.ts';
import { reservedLabel } from './policy.ts';

/** Each network is a bridge and a route in the guest and takes a range from the engine's pool (about 30 in all). */
export const MAX_NETWORKS = 4;
/** Keys of a network definition in the shape compose creates by default; anything else reaches past it. */
const PLAIN_NETWORK_KEYS = new Set(['internal', 'attachable', 'enable_ipv6', 'enable_ipv4']);
/** Keys of a service's attachment to one of its networks that only name it inside the app. */
const PLAIN_ATTACHMENT_KEYS = new Set(['aliases', 'priority', 'gw_priority', 'mac_address']);

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

/**
 * The app's networks are bridges the engine creates with its own defaults and address
 * pool. Driver options can rename the bridge onto an existing one (docker0, the LAN
 * bridge), and a custom address range or fixed address can shadow the guest's routes to
 * its LAN, so only the shapes compose creates by default are allowed.
 */
export function checkNetworks(model: ComposeModel, appId: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  if (model.networks.length > MAX_NETWORKS) {
    violations.push({ service: null, key: 'networks', message: `the app would create ${model.networks.length} networks; each takes an address range from the engine's pool, which all apps share, so at most ${MAX_NETWORKS} are allowed` });
  }
  for (const network of model.networks) {
    const key = `networks.${network.key}`;
    const add = (message: string, at = key) => violations.push({ service: null, key: at, message });
    if (network.driver === 'host' || network.name === 'host') add('the host network shares the guest\'s network stack with the app; apps keep their own');
    else if (network.external) add(`external: an app may join only its own networks, not "${network.name ?? network.key}" (it could be another app's or the controller's)`);
    else if (network.name !== null && network.name !== `${appId}_${network.key}`) add(`name: "${network.name}" could be another app's or the controller's network; remove name:`);
    if (network.driver !== null && network.driver !== 'bridge' && network.driver !== 'host') add(`"${network.driver}" networks reach past the guest's own; apps use bridge networks`, `${key}.driver`);
    for (const [option, value] of Object.entries(network.options)) {
      if (option === 'driver_opts') add(`driver options (${Object.keys(value as object).join(', ')}) can put the app on one of the guest's own bridges (docker0, the LAN); not allowed`, `${key}.driver_opts`);
      else if (option === 'ipam') {
        if (!isDefaultIpam(value)) add('a custom address range can overlap the guest\'s routes to its LAN and take its traffic; the engine chooses the app\'s addresses', `${key}.ipam`);
      } else if (!PLAIN_NETWORK_KEYS.has(option)) add(`${option} is not a network option the controller knows, so it cannot tell that it is safe; not allowed`, `${key}.${option}`);
    }
    for (const label of Object.keys(network.labels)) {
      const reserved = reservedLabel(label);
      if (reserved) add(`${label}: the ${reserved}`, `${key}.labels`);
    }
  }
  for (const service of model.services) {
    for (const attachment of service.networks) {
      for (const option of Object.keys(attachment.options)) {
        if (PLAIN_ATTACHMENT_KEYS.has(option)) continue;
        const why = /^(ipv4_address|ipv6_address|link_local_ips)$/.test(option)
          ? 'a fixed address needs a custom address range, which can shadow the guest\'s routes'
          : 'it is not an attachment option the controller knows, so it cannot tell that it is safe';
        violations.push({ service: service.name, key: `networks.${attachment.network}.${option}`, message: `${why}; not allowed` });
      }
    }
  }
  return violations;
}

/** `ipam: {}` or `{ driver: default }`: what the engine does anyway. */
function isDefaultIpam(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([key, item]) => (key === 'driver' ? item === 'default' : item === null || (Array.isArray(item) && item.length === 0)));
}
