/**
 * What an app's compose file may not do. The controller holds the Docker socket, and
 * whoever can make Docker start an arbitrary container is root on the guest: a
 * privileged container, a bind mount of `/`, the host's namespaces or the socket
 * itself are each a way out. So the policy judges what compose will actually run (the
 * normalized `compose config` output, see compose-model.ts), refuses every way out it
 * knows, and says which service and key and why. Publishing host ports is allowed, but
 * never one another app (or the controller) already uses.
 *
 * Pure: no Docker, no file system. The caller runs `compose config`, passes the parsed
 * output and throws `policyError(violations)` when the list is not empty.
 */
import path from 'node:path';
import { AppError } from '../errors.ts';
import { readCompose, type ComposeModel, type ComposeService, type PortMapping, type Protocol } from './compose-model.ts';
import type { Manifest } from './manifest.ts';
import { checkKnownKeys } from './known-keys.ts';

export interface HostPort {
  hostIp: string | null;
  published: number | null;
  protocol: Protocol;
}

export interface PolicyInput {
  manifest: Manifest;
  /** The parsed output of `compose config` (v1 or v2), or a model from readCompose. */
  compose: unknown;
  /** Absolute path of the app folder compose config ran in. */
  appDir: string;
  /** Every other installed app (leave the app being updated out). */
  otherApps: Array<{ id: string; ports: HostPort[] }>;
  /** Compose project names that are not apps: the controller's own, for one. */
  reservedProjects: string[];
  /** Host ports the controller or the system uses, on any address. */
  reservedPorts?: Array<{ published: number; protocol: Protocol }>;
}

export interface PolicyViolation {
  /** The compose service at fault; null for the manifest or top-level definitions. */
  service: string | null;
  key: string;
  message: string;
}

/** Docker's default capability set: adding one back after `cap_drop: [ALL]` grants nothing new. */
export const ALLOWED_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
] as const;

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];
const RESERVED_LABEL_PREFIXES = [
  ['org.felhom.', 'reserved for the controller, which uses it to tell its own containers (which it never stops) from apps'],
  ['com.docker.compose.', 'reserved for compose, whose labels the controller uses to find each app\'s containers'],
] as const;

/** Checks an app against the policy; an empty list means it may be installed. */
export function checkPolicy(input: PolicyInput): PolicyViolation[] {
  const model = readCompose(input.compose);
  const services = new Set(model.services.map((service) => service.name));
  const violations: PolicyViolation[] = [
    ...checkIdentity(input, model),
    ...checkWeb(input.manifest, services),
  ];
  for (const service of model.services) {
    const add = (key: string, message: string) => violations.push({ service: service.name, key, message });
    checkPrivileges(service, add);
    checkNamespaces(service, services, add);
    checkMounts(service, input, add);
    checkLabels(service, add);
  }
  violations.push(...checkDeclaredVolumes(input.manifest, model));
  violations.push(...checkDefinitions(input, model));
  violations.push(...checkPorts(model, input));
  violations.push(...checkKnownKeys(input.compose));
  return violations;
}

/** One `policy` AppError listing every violation, each as `service "web": key: why`. */
export function policyError(violations: PolicyViolation[]): AppError {
  const lines = violations.map(describeViolation);
  const count = violations.length === 1 ? 'a rule' : `${violations.length} rules`;
  return new AppError(
    'policy',
    `the app breaks ${count} of the app policy (the controller holds the Docker socket, which is root on the guest, so an app may not use it to reach the host):\n` +
      lines.map((line) => `- ${line}`).join('\n'),
    { details: { violations } },
  );
}

export function describeViolation(violation: PolicyViolation): string {
  return violation.service === null ? `${violation.key}: ${violation.message}` : `service "${violation.service}": ${violation.key}: ${violation.message}`;
}

/** The host ports an app publishes (random host ports left out), for recording. */
export function publishedPorts(compose: unknown): Array<{ service: string; hostIp: string | null; published: number; protocol: Protocol }> {
  return readCompose(compose).services.flatMap((service) =>
    service.ports
      .filter((port): port is PortMapping & { published: number } => port.published !== null)
      .map((port) => ({ service: service.name, hostIp: port.hostIp, published: port.published, protocol: port.protocol })),
  );
}

type Add = (key: string, message: string) => void;

function checkIdentity(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const { id } = input.manifest;
  const violations: PolicyViolation[] = [];
  if (input.reservedProjects.some((name) => name.toLowerCase() === id)) {
    violations.push({ service: null, key: 'id', message: `"${id}" is the name of a compose project the controller reserves (its own stack); choose another app id` });
  }
  if (input.otherApps.some((app) => app.id === id)) {
    violations.push({ service: null, key: 'id', message: `an app with id "${id}" is already installed; choose another app id` });
  }
  if (model.projectName !== null && model.projectName !== id) {
    violations.push({ service: null, key: 'name', message: `the compose project name is "${model.projectName}", not the app id "${id}": remove the top-level name: from the compose file` });
  }
  return violations;
}

function checkWeb(manifest: Manifest, services: Set<string>): PolicyViolation[] {
  if (!manifest.web || services.has(manifest.web.service)) return [];
  const known = [...services].map((name) => `"${name}"`).join(', ');
  return [{ service: null, key: 'web.service', message: `"${manifest.web.service}" is not a service of the compose file (its services: ${known})` }];
}

function checkPrivileges(service: ComposeService, add: Add): void {
  if (service.privileged) add('privileged', 'a privileged container has every capability and every device of the guest: it is root on the guest');
  for (const raw of service.capAdd) {
    const cap = raw.trim().toUpperCase().replace(/^CAP_/, '');
    if (cap === 'ALL') add('cap_add', 'ALL grants every capability, which is root on the guest; add back only what the app needs from Docker\'s default set');
    else if (!(ALLOWED_CAPABILITIES as readonly string[]).includes(cap)) {
      add('cap_add', `${raw} is not allowed: only Docker's default capabilities may be added back (${ALLOWED_CAPABILITIES.join(', ')})`);
    }
  }
  if (service.devices.length > 0) add('devices', `host devices (${service.devices.join(', ')}) give the container direct access to the guest's hardware; apps may not use them`);
  if (service.deviceCgroupRules.length > 0) add('device_cgroup_rules', `device rules (${service.deviceCgroupRules.join(', ')}) open the guest's devices to the container; apps may not use them`);
  if (service.deviceReservations.length > 0) add('deploy.resources.reservations.devices', 'device reservations (GPUs and other host devices) give the container the guest\'s hardware; apps may not use them');
  if (service.gpus !== null) add('gpus', 'GPUs are host devices; apps may not use them');
  if (service.build !== null) add('build', 'apps are installed from published images; building an image on the guest is not allowed (remove the build: section and use image:)');
  if (service.provider !== null) add('provider', 'a provider service runs a program on the host instead of a container; apps may not use it');
  for (const hook of service.hooks) {
    if (hook.privileged) add(hook.key, 'a privileged hook runs a command with every capability of the guest; apps may not use it');
  }
  for (const option of service.securityOpt) {
    const reason = confinementEscape(option);
    if (reason) add('security_opt', `${option} ${reason}`);
  }
}

/** Why a security option weakens the container's confinement; null for hardening and harmless ones. */
function confinementEscape(option: string): string | null {
  const match = /^([^:=]+)(?:[:=](.*))?$/.exec(option.trim());
  const key = (match?.[1] ?? '').trim().toLowerCase();
  const value = (match?.[2] ?? '').trim();
  const lower = value.toLowerCase();
  switch (key) {
    case 'no-new-privileges':
      return null;
    case 'seccomp':
      if (lower === 'unconfined') return 'turns off the seccomp filter that blocks dangerous system calls';
      if (lower === 'default' || lower === 'builtin') return null;
      return 'loads a custom seccomp profile, which could allow any system call; apps use Docker\'s default profile';
    case 'apparmor':
      return lower === 'unconfined' ? 'turns off the AppArmor profile that confines the container' : null;
    case 'label':
      if (lower === 'disable') return 'turns off SELinux labelling, which confines the container';
      if (/^type:(spc_t|unconfined_t)$/.test(lower)) return 'runs the container as an unconfined SELinux type';
      return null;
    case 'systempaths':
      return lower === 'unconfined' ? 'unmasks /proc and /sys paths that Docker hides from containers' : null;
    case 'writable-cgroups':
      return /^(false|0)?$/.test(lower) ? null : 'makes the cgroup file system writable from inside the container';
    default:
      return 'is not a security option the policy knows; only hardening options (such as no-new-privileges:true) are allowed';
  }
}

function checkNamespaces(service: ComposeService, services: Set<string>, add: Add): void {
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
  // A network_mode that names a network would join a network outside the app.
  shared('network_mode', service.networkMode, ['none', 'bridge', 'default'], 'network stack');
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

function checkMounts(service: ComposeService, input: PolicyInput, add: Add): void {
  const declared = input.manifest.volumes;
  for (const mount of service.volumes) {
    if (mount.type === 'tmpfs') continue;
    if (mount.type === 'bind') {
      add('volumes', bindMessage(mount.source ?? '(unknown)', mount.target));
    } else if (mount.type === 'other') {
      add('volumes', `the mount at ${mount.target} is neither a named volume nor tmpfs; apps may use only named volumes declared in .felhom.yml and tmpfs`);
    } else if (mount.source === null) {
      add('volumes', `the anonymous volume at ${mount.target} would land on the guest's root file system: declare it as a named volume in .felhom.yml so it is placed on storage`);
    } else if (!Object.hasOwn(declared, mount.source)) {
      add('volumes', `the named volume "${mount.source}" (at ${mount.target}) is not declared in .felhom.yml: declare it under volumes with class hot or bulk so the controller places it on storage`);
    }
  }
  for (const file of service.envFile) {
    if (!isInside(input.appDir, file)) add('env_file', `${file} is outside the app folder; an app may only read env files from its own folder`);
  }
}

function bindMessage(source: string, target: string): string {
  const normalized = path.posix.normalize(source).replace(/(.)\/+$/, '$1');
  if (normalized.endsWith('docker.sock') || DOCKER_SOCKETS.includes(normalized)) {
    return `${source} is the Docker socket: whoever holds it can start any container and so is root on the guest; apps may never mount it`;
  }
  const socketParent = DOCKER_SOCKETS.find((socket) => isInside(normalized, socket));
  if (socketParent) {
    return `bind-mounts the host path ${source}, which contains the Docker socket (${socketParent}): whoever holds it is root on the guest; apps may never mount it`;
  }
  return `bind-mounts the host path ${source} into ${target}: apps may not reach into the guest's files; declare a named volume in .felhom.yml instead (the controller places it on storage)`;
}

function checkLabels(service: ComposeService, add: Add): void {
  for (const label of Object.keys(service.labels)) {
    const reserved = RESERVED_LABEL_PREFIXES.find(([prefix]) => label.toLowerCase().startsWith(prefix));
    if (reserved) add('labels', `${label}: the ${reserved[0]} namespace is ${reserved[1]}`);
  }
}

function checkDeclaredVolumes(manifest: Manifest, model: ComposeModel): PolicyViolation[] {
  const used = new Set(model.services.flatMap((service) => service.volumes.filter((m) => m.type === 'volume').map((m) => m.source)));
  return Object.keys(manifest.volumes)
    .filter((name) => !used.has(name))
    .map((name) => ({ service: null, key: `volumes.${name}`, message: `is declared in .felhom.yml but no service mounts it (a typo?)` }));
}

function checkDefinitions(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const id = input.manifest.id;
  const add = (key: string, message: string) => violations.push({ service: null, key, message });
  for (const volume of model.volumes) {
    const key = `volumes.${volume.key}`;
    const why = 'the controller creates every app volume itself, on the storage .felhom.yml asks for';
    if (volume.external) add(key, `external: an app may not use a volume it does not own (it could be another app's or the controller's); ${why}`);
    else if (volume.name !== null && volume.name !== `${id}_${volume.key}`) add(key, `name: "${volume.name}" could be another app's or the controller's volume; ${why}`);
    if (volume.driver !== null && volume.driver !== 'local') add(key, `driver: "${volume.driver}" is not allowed; ${why}`);
    if (volume.driverOpts !== null) add(key, `driver_opts can bind any host path into the volume; ${why}`);
  }
  for (const network of model.networks) {
    const key = `networks.${network.key}`;
    if (network.driver === 'host' || network.name === 'host') add(key, 'the host network shares the guest\'s network stack with the app; apps keep their own');
    else if (network.external) add(key, `external: an app may join only its own networks, not "${network.name ?? network.key}" (it could be another app's or the controller's)`);
    else if (network.name !== null && network.name !== `${id}_${network.key}`) add(key, `name: "${network.name}" could be another app's or the controller's network; remove name:`);
  }
  for (const [kind, objects] of [['secrets', model.secrets], ['configs', model.configs]] as const) {
    for (const object of objects) {
      if (object.file !== null && !isInside(input.appDir, object.file)) {
        add(`${kind}.${object.key}`, `file: ${object.file} is outside the app folder; an app may only ship files from its own folder`);
      }
    }
  }
  return violations;
}

function checkPorts(model: ComposeModel, input: PolicyInput): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const mine: Array<HostPort & { service: string }> = [];
  for (const service of model.services) {
    for (const port of service.ports) {
      if (port.published === null) continue;
      const label = `host port ${portLabel(port)}`;
      const add = (message: string) => violations.push({ service: service.name, key: 'ports', message: `${label} ${message}` });
      const reserved = (input.reservedPorts ?? []).find((r) => r.published === port.published && r.protocol === port.protocol);
      const other = input.otherApps.find((app) => app.ports.some((p) => overlaps(p, port)));
      const twin = mine.find((p) => overlaps(p, port));
      if (reserved) add('is reserved for the controller or the system; choose another host port');
      if (other) add(`is already used by the app "${other.id}"; choose another host port`);
      if (twin) add(`is also published by ${twin.service === service.name ? 'this service' : `service "${twin.service}"`}; each host port can be published once`);
      mine.push({ ...port, service: service.name });
    }
  }
  return violations;
}

function overlaps(a: HostPort, b: HostPort): boolean {
  if (a.published === null || b.published === null || a.published !== b.published || a.protocol !== b.protocol) return false;
  return isWildcard(a.hostIp) || isWildcard(b.hostIp) || a.hostIp === b.hostIp;
}

function isWildcard(ip: string | null): boolean {
  return ip === null || ip === '' || ip === '0.0.0.0' || ip === '::' || ip === '[::]';
}

function portLabel(port: HostPort): string {
  const ip = port.hostIp === null ? '' : port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`;
  return `${ip}${port.published}/${port.protocol}`;
}

function isInside(dir: string, file: string): boolean {
  const relative = path.posix.relative(path.posix.resolve(dir), path.posix.resolve(dir, file));
  return relative !== '' && !relative.startsWith('..') && !path.posix.isAbsolute(relative);
}
