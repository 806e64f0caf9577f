/**
 * An app keeps to itself: its own namespaces and its own containers. Everything here
 * refuses a way to reach something outside the app: the guest's namespaces, another
 * container (joined, linked to, or its volumes mounted), or a container name another
 * app or the controller needs.
 */
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import type { MessageKey } from '../../i18n/index.ts';
import { violation, type Add, type PolicyViolation } from './checks.ts';


export function checkNamespaces(service: ComposeService, services: Set<string>, add: Add): void {
  // `allowed` lists the other values permitted; 'any' permits everything but host and container:.
  const shared = (key: string, value: string | null, allowed: string[] | 'any', namespace: MessageKey) => {
    if (value === null) return;
    const trimmed = value.trim();
    const lower = trimmed.toLowerCase();
    const what = { key: namespace };
    if (lower === 'host') add(key, { key: 'policy.namespace_host', params: { what } });
    else if (lower.startsWith('container:')) add(key, { key: 'policy.namespace_container', params: { value, what } });
    else if (lower.startsWith('service:')) {
      if (!services.has(trimmed.slice('service:'.length))) add(key, { key: 'policy.namespace_no_service', params: { value } });
    } else if (allowed !== 'any' && lower !== '' && !allowed.includes(lower)) {
      add(key, { key: 'policy.namespace_value', params: { value, allowed: allowed.join(', ') } });
    }
  };
  const mode = service.networkMode?.trim().toLowerCase();
  if (mode === 'bridge' || mode === 'default') {
    // The engine's default bridge is shared with every container started outside a
    // project, and legacy links on it inject other containers' environments.
    add('network_mode', { key: 'policy.network_mode_bridge', params: { mode: String(service.networkMode) } });
  } else {
    // A network_mode that names a network would join a network outside the app.
    shared('network_mode', service.networkMode, ['none'], 'policy.namespace_of_network');
  }
  shared('pid', service.pid, ['private'], 'policy.namespace_of_pid');
  shared('ipc', service.ipc, ['none', 'private', 'shareable'], 'policy.namespace_of_ipc');
  shared('userns_mode', service.usernsMode, 'any', 'policy.namespace_of_userns');
  shared('uts', service.uts, 'any', 'policy.namespace_of_uts');
  shared('cgroup', service.cgroup, ['private'], 'policy.namespace_of_cgroup');
  if (service.cgroupParent !== null) add('cgroup_parent', { key: 'policy.cgroup_parent', params: { cgroup: service.cgroupParent } });
  for (const entry of service.volumesFrom) {
    const source = entry.replace(/:(ro|rw)$/, '');
    if (source.startsWith('container:')) {
      add('volumes_from', { key: 'policy.volumes_from_container', params: { entry } });
      continue;
    }
    const name = source.replace(/^service:/, '');
    if (!services.has(name)) add('volumes_from', { key: 'policy.volumes_from_unknown', params: { entry } });
  }
}

/** Legacy links: Docker copies a linked container's environment (its passwords) into the app. */
export function checkLinks(service: ComposeService, services: Set<string>, add: Add): void {
  for (const link of service.externalLinks) {
    add('external_links', { key: 'policy.external_links', params: { link } });
  }
  for (const link of service.links) {
    const target = link.split(':')[0] ?? '';
    if (!services.has(target)) add('links', { key: 'policy.links_unknown', params: { link } });
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
    add('container_name', { key: 'policy.container_name', params: { name, prefix: `${appId}-` } });
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
    if (clash) violations.push(violation(service.name, 'container_name', { key: 'policy.container_name_taken', params: { name: clash } }));
  }
  return violations;
}
