/**
 * Reading what compose will actually run. The controller feeds the policy the output of
 * `docker compose config` (v2) or `docker-compose config` (v1), never the file as
 * written: anchors are resolved, merge keys applied, variables interpolated, relative
 * paths made absolute. The two versions print different shapes, so everything the
 * policy and the deployer look at is normalized here, once, into one model: the compose
 * adapter returns it from `config()` and nobody reads compose's output again.
 *
 * Unreadable shapes fail closed: a key the policy judges that has a shape we do not
 * recognize throws a `validation` error rather than being skipped.
 *
 * v1 prints short strings (`data:/data:rw`, `127.0.0.1:8081:80/udp`, IPv6 hosts without
 * brackets: `::1:7000:7000/tcp`), expands port ranges into objects, folds `env_file`
 * into `environment`, adds `name` to external volumes. v2 prints long syntax everywhere
 * (`published` as a string), adds `name: <project>_<key>` to every volume and network
 * and a top-level `name`.
 */
import { absent, byteSize, durationSeconds, entries, integer, isRecord, keyValues, list, stringList, stringMap, text, truthy, unreadable } from './compose-readers.ts';
import { readPort, type PortMapping } from './compose-ports.ts';

export type { PortMapping, Protocol } from './compose-ports.ts';

export type MountType = 'volume' | 'bind' | 'tmpfs' | 'other';

export interface ServiceMount {
  type: MountType;
  /** Volume name, absolute host path for binds; null for anonymous volumes and tmpfs. */
  source: string | null;
  target: string;
  readOnly: boolean;
  /** `volume.subpath` of a long-syntax volume mount (v2); null when absent. */
  subpath: string | null;
}

export interface ServiceHook {
  key: 'post_start' | 'pre_stop';
  privileged: boolean;
}

export interface ComposeService {
  name: string;
  image: string | null;
  privileged: boolean;
  capAdd: string[];
  /** Each device mapping as text (`/dev/fuse:/dev/fuse`), long forms rendered the same way. */
  devices: string[];
  deviceCgroupRules: string[];
  /** `deploy.resources.reservations.devices` (GPUs and other device requests). */
  deviceReservations: unknown[];
  /** v2 `gpus:` (`all` or a list); null when absent. */
  gpus: unknown;
  networkMode: string | null;
  pid: string | null;
  ipc: string | null;
  usernsMode: string | null;
  uts: string | null;
  cgroup: string | null;
  cgroupParent: string | null;
  securityOpt: string[];
  /** The `build:` section as printed; null when absent. */
  build: unknown;
  volumesFrom: string[];
  labels: Record<string, string>;
  /** Env file paths, when the compose version still prints them (v1 folds them away). */
  envFile: string[];
  volumes: ServiceMount[];
  ports: PortMapping[];
  /** The networks the service joins, each with the keys of its attachment (aliases, ipv4_address…). */
  networks: NetworkAttachment[];
  /** `links` entries as written: `service` or `service:alias`. */
  links: string[];
  externalLinks: string[];
  sysctls: Record<string, string>;
  /** Each ulimit by name: its soft and hard value (a single number sets both). */
  ulimits: Record<string, { soft: number; hard: number }>;
  oomScoreAdj: number | null;
  /** `stop_grace_period` in seconds; null when absent. */
  stopGraceSeconds: number | null;
  containerName: string | null;
  /** `cpu_shares`; null when absent (Docker's default weight is 1024). */
  cpuShares: number | null;
  /** The memory limit in bytes (`mem_limit` or `deploy.resources.limits.memory`); null when none. */
  memLimitBytes: number | null;
  /** The memory reservation in bytes (`mem_reservation` or `deploy.resources.reservations.memory`); null when none. */
  memReservationBytes: number | null;
  /** The healthcheck's `interval` and `start_interval` in seconds, those that are set. */
  healthIntervals: number[];
  /** How many containers of the service run (`scale` or `deploy.replicas`). */
  replicas: number;
  hooks: ServiceHook[];
  /** v2 `provider:` services (run a host-side plugin); null when absent. */
  provider: unknown;
  /** Every key the service sets, as printed: the policy refuses the ones it does not know. */
  keys: string[];
  /** `runtime`, `pull_policy` and `logging.driver` as text; null when absent. */
  runtime: string | null;
  pullPolicy: string | null;
  loggingDriver: string | null;
  /** The services this one waits on with `condition: service_completed_successfully`. */
  awaitsCompletionOf: string[];
}

export interface VolumeDefinition {
  key: string;
  driver: string | null;
  driverOpts: Record<string, string> | null;
  external: boolean;
  /** The explicit `name:` as printed (v2 prints `<project>_<key>` for every volume). */
  name: string | null;
}

export interface NetworkAttachment {
  network: string;
  /** Every key the attachment sets, values as printed. */
  options: Record<string, unknown>;
}

export interface NetworkDefinition {
  key: string;
  driver: string | null;
  external: boolean;
  name: string | null;
  labels: Record<string, string>;
  /** Every other key the definition sets (driver_opts, ipam, internal…), values as printed. */
  options: Record<string, unknown>;
}

export interface FileObject {
  key: string;
  /** The `file:` source as printed (absolute after config); null for other sources. */
  file: string | null;
  /** The `environment:` source: a variable of compose's own environment; null otherwise. */
  environment: string | null;
}

export interface ComposeModel {
  /** Top-level `name:` (v2 prints the project name); null when absent (v1). */
  projectName: string | null;
  services: ComposeService[];
  volumes: VolumeDefinition[];
  networks: NetworkDefinition[];
  secrets: FileObject[];
  configs: FileObject[];
}


/** Normalizes `compose config` output (v1 or v2, already parsed) into one model. */
export function readCompose(config: unknown): ComposeModel {
  if (!isRecord(config)) unreadable('(top level)', 'a mapping');
  const services = config.services;
  if (!isRecord(services)) unreadable('services', 'a mapping of services');
  return {
    projectName: typeof config.name === 'string' ? config.name : null,
    services: Object.entries(services).map(([name, raw]) => readService(name, raw)),
    volumes: entries(config.volumes, 'volumes').map(([key, raw]) => readVolumeDefinition(key, raw)),
    networks: entries(config.networks, 'networks').map(([key, raw]) => readNetworkDefinition(key, raw)),
    secrets: entries(config.secrets, 'secrets').map(([key, raw]) => readFileObject('secrets', key, raw)),
    configs: entries(config.configs, 'configs').map(([key, raw]) => readFileObject('configs', key, raw)),
  };
}

/** The service names, in the order compose printed them. */
export function serviceNames(compose: ComposeModel): string[] {
  return compose.services.map((service) => service.name);
}

/**
 * Every mount of a named volume, with the image of the service that mounts it: what the
 * deployer needs to seed a volume with the image's files. Services without an image
 * (only possible with `build:`, which the policy refuses) are left out.
 */
export function volumeMounts(compose: ComposeModel): Array<{ service: string; volume: string; image: string; target: string; readOnly: boolean }> {
  const mounts: Array<{ service: string; volume: string; image: string; target: string; readOnly: boolean }> = [];
  for (const service of compose.services) {
    if (service.image === null) continue;
    for (const mount of service.volumes) {
      if (mount.type === 'volume' && mount.source !== null) {
        mounts.push({ service: service.name, volume: mount.source, image: service.image, target: mount.target, readOnly: mount.readOnly });
      }
    }
  }
  return mounts;
}

function readService(name: string, raw: unknown): ComposeService {
  const at = `services.${name}`;
  if (!isRecord(raw)) unreadable(at, 'a mapping');
  const deploy = isRecord(raw.deploy) ? raw.deploy : {};
  const resources = isRecord(deploy.resources) ? deploy.resources : {};
  const reservations = isRecord(resources.reservations) ? resources.reservations : {};
  const limits = isRecord(resources.limits) ? resources.limits : {};
  return {
    name,
    image: text(raw.image, `${at}.image`),
    privileged: truthy(raw.privileged),
    capAdd: stringList(raw.cap_add, `${at}.cap_add`),
    devices: list(raw.devices, `${at}.devices`).map((device, i) => deviceText(device, `${at}.devices[${i}]`)),
    deviceCgroupRules: stringList(raw.device_cgroup_rules, `${at}.device_cgroup_rules`),
    deviceReservations: list(reservations.devices, `${at}.deploy.resources.reservations.devices`),
    gpus: absent(raw.gpus) ? null : raw.gpus,
    networkMode: text(raw.network_mode, `${at}.network_mode`),
    pid: text(raw.pid, `${at}.pid`),
    ipc: text(raw.ipc, `${at}.ipc`),
    usernsMode: text(raw.userns_mode, `${at}.userns_mode`),
    uts: text(raw.uts, `${at}.uts`),
    cgroup: text(raw.cgroup, `${at}.cgroup`),
    cgroupParent: text(raw.cgroup_parent, `${at}.cgroup_parent`),
    securityOpt: stringList(raw.security_opt, `${at}.security_opt`),
    build: absent(raw.build) ? null : raw.build,
    volumesFrom: stringList(raw.volumes_from, `${at}.volumes_from`),
    labels: keyValues(raw.labels, `${at}.labels`),
    envFile: list(raw.env_file, `${at}.env_file`).map((file, i) => envFilePath(file, `${at}.env_file[${i}]`)),
    volumes: list(raw.volumes, `${at}.volumes`).map((volume, i) => readMount(volume, `${at}.volumes[${i}]`)),
    ports: list(raw.ports, `${at}.ports`).flatMap((port, i) => readPort(port, `${at}.ports[${i}]`)),
    networks: readAttachments(raw.networks, `${at}.networks`),
    links: stringList(raw.links, `${at}.links`),
    externalLinks: stringList(raw.external_links, `${at}.external_links`),
    sysctls: keyValues(raw.sysctls, `${at}.sysctls`),
    ulimits: readUlimits(raw.ulimits, `${at}.ulimits`),
    oomScoreAdj: absent(raw.oom_score_adj) ? null : integer(raw.oom_score_adj, `${at}.oom_score_adj`),
    stopGraceSeconds: absent(raw.stop_grace_period) ? null : durationSeconds(raw.stop_grace_period, `${at}.stop_grace_period`),
    containerName: text(raw.container_name, `${at}.container_name`),
    cpuShares: absent(raw.cpu_shares) ? null : integer(raw.cpu_shares, `${at}.cpu_shares`),
    memLimitBytes: largest([raw.mem_limit, limits.memory], `${at}.mem_limit`),
    memReservationBytes: largest([raw.mem_reservation, reservations.memory], `${at}.mem_reservation`),
    healthIntervals: readHealthIntervals(raw.healthcheck, `${at}.healthcheck`),
    replicas: absent(raw.scale) && absent(deploy.replicas) ? 1 : Math.max(...[raw.scale, deploy.replicas].filter((n) => !absent(n)).map((n) => integer(n, `${at}.scale`))),
    hooks: [...readHooks(raw.post_start, 'post_start', at), ...readHooks(raw.pre_stop, 'pre_stop', at)],
    provider: absent(raw.provider) ? null : raw.provider,
    keys: Object.keys(raw),
    runtime: asText(raw.runtime),
    pullPolicy: asText(raw.pull_policy),
    loggingDriver: isRecord(raw.logging) ? asText(raw.logging.driver) : null,
    awaitsCompletionOf: completionDependencies(raw.depends_on),
  };
}

/**
 * A value the policy only compares with a few safe words and quotes when it refuses:
 * any shape is kept (as its text), so that an odd one is refused by name, not skipped.
 */
function asText(raw: unknown): string | null {
  return raw === undefined ? null : String(raw);
}

/** The list form of `depends_on` has no conditions; the mapping form names one per service. */
function completionDependencies(raw: unknown): string[] {
  if (!isRecord(raw)) return [];
  return Object.entries(raw)
    .filter(([, dependency]) => isRecord(dependency) && dependency.condition === 'service_completed_successfully')
    .map(([name]) => name);
}

// ---- volumes ------------------------------------------------------------------------

/** Reads one service volume entry: a short string (v1) or a long-syntax object (both). */
export function readMount(raw: unknown, at = 'volume'): ServiceMount {
  if (typeof raw === 'string') return parseVolumeSpec(raw, at);
  if (!isRecord(raw)) unreadable(at, 'a volume string or mapping');
  const target = raw.target;
  if (typeof target !== 'string' || target === '') unreadable(`${at}.target`, 'a container path');
  const source = typeof raw.source === 'string' && raw.source !== '' ? raw.source : null;
  const readOnly = truthy(raw.read_only);
  const subpath = isRecord(raw.volume) ? text(raw.volume.subpath, `${at}.volume.subpath`) : null;
  switch (raw.type) {
    case 'volume':
      return { type: 'volume', source, target, readOnly, subpath };
    case 'bind':
      return { type: 'bind', source, target, readOnly, subpath: null };
    case 'tmpfs':
      return { type: 'tmpfs', source: null, target, readOnly, subpath: null };
    case undefined:
    case null:
      // Compose always prints a type; infer it like a short string would, failing closed.
      return { type: source === null ? 'volume' : classifySource(source), source, target, readOnly, subpath };
    default:
      // npipe, image, cluster and whatever comes next: not a named volume.
      return { type: 'other', source, target, readOnly, subpath: null };
  }
}

/**
 * `[source:]target[:mode]`. A source starting with `/`, `.` or `~` (or containing a
 * slash at all) is a host path; otherwise it names a volume. A target alone is an
 * anonymous volume.
 */
export function parseVolumeSpec(spec: string, at = 'volume'): ServiceMount {
  const parts = spec.split(':');
  if (parts.length === 1) return { type: 'volume', source: null, target: nonEmpty(parts[0], at), readOnly: false, subpath: null };
  const [source = '', target = '', ...rest] = parts;
  const mode = rest.join(':');
  const readOnly = mode.split(',').includes('ro');
  if (source === '') return { type: 'volume', source: null, target: nonEmpty(target, at), readOnly, subpath: null };
  return { type: classifySource(source), source, target: nonEmpty(target, at), readOnly, subpath: null };
}

function classifySource(source: string): 'bind' | 'volume' {
  return /^[/.~]/.test(source) || source.includes('/') || source.includes('\\') ? 'bind' : 'volume';
}

function readVolumeDefinition(key: string, raw: unknown): VolumeDefinition {
  const at = `volumes.${key}`;
  if (absent(raw)) return { key, driver: null, driverOpts: null, external: false, name: null };
  if (!isRecord(raw)) unreadable(at, 'a mapping');
  return {
    key,
    driver: text(raw.driver, `${at}.driver`),
    driverOpts: absent(raw.driver_opts) ? null : stringMap(raw.driver_opts, `${at}.driver_opts`),
    external: externalFlag(raw.external),
    name: externalName(raw) ?? text(raw.name, `${at}.name`),
  };
}

function readNetworkDefinition(key: string, raw: unknown): NetworkDefinition {
  const at = `networks.${key}`;
  if (absent(raw)) return { key, driver: null, external: false, name: null, labels: {}, options: {} };
  if (!isRecord(raw)) unreadable(at, 'a mapping');
  const { driver, external, name, labels: rawLabels, ...options } = raw;
  return {
    key,
    driver: text(driver, `${at}.driver`),
    external: externalFlag(external),
    name: externalName(raw) ?? text(name, `${at}.name`),
    labels: keyValues(rawLabels, `${at}.labels`),
    options: Object.fromEntries(Object.entries(options).filter(([, value]) => !absent(value))),
  };
}

/** A list of network names (short form) or a mapping of names to attachment options. */
function readAttachments(raw: unknown, at: string): NetworkAttachment[] {
  if (Array.isArray(raw)) return stringList(raw, at).map((network) => ({ network, options: {} }));
  return entries(raw, at).map(([network, options]) => {
    if (absent(options)) return { network, options: {} };
    if (!isRecord(options)) unreadable(`${at}.${network}`, 'a mapping');
    return { network, options: Object.fromEntries(Object.entries(options).filter(([, value]) => !absent(value))) };
  });
}

/** `external: true`, or the old `external: { name: x }` form. */
function externalFlag(value: unknown): boolean {
  return isRecord(value) ? true : truthy(value);
}

function externalName(raw: Record<string, unknown>): string | null {
  return isRecord(raw.external) && typeof raw.external.name === 'string' ? raw.external.name : null;
}

function readFileObject(kind: string, key: string, raw: unknown): FileObject {
  if (absent(raw)) return { key, file: null, environment: null };
  if (!isRecord(raw)) unreadable(`${kind}.${key}`, 'a mapping');
  return { key, file: text(raw.file, `${kind}.${key}.file`), environment: text(raw.environment, `${kind}.${key}.environment`) };
}

// ---- readers of single service keys --------------------------------------------------

function readHooks(raw: unknown, key: ServiceHook['key'], at: string): ServiceHook[] {
  return list(raw, `${at}.${key}`).map((hook) => ({ key, privileged: isRecord(hook) && truthy(hook.privileged) }));
}

function deviceText(raw: unknown, at: string): string {
  if (typeof raw === 'string') return raw;
  if (isRecord(raw)) {
    return [raw.source, raw.target, raw.permissions].filter((part) => typeof part === 'string' && part !== '').join(':') || JSON.stringify(raw);
  }
  unreadable(at, 'a device mapping');
}

function envFilePath(raw: unknown, at: string): string {
  if (typeof raw === 'string') return raw;
  if (isRecord(raw) && typeof raw.path === 'string') return raw.path;
  unreadable(at, 'an env file path');
}

/** Each ulimit by its name in lower case (the engine upper-cases it), -1 as unlimited. */
function readUlimits(raw: unknown, at: string): Record<string, { soft: number; hard: number }> {
  const limit = (value: unknown, where: string) => {
    const n = integer(value, where);
    return n < 0 ? Infinity : n;
  };
  const result: Record<string, { soft: number; hard: number }> = {};
  for (const [name, value] of entries(raw, at)) {
    const key = name.trim().toLowerCase();
    // The engine keeps both RTPRIO and rtprio and applies the last; the check must not pick one.
    if (Object.hasOwn(result, key)) unreadable(`${at}.${name}`, `a limit named once (it is also given as another spelling of ${key})`);
    result[key] = isRecord(value) ? { soft: limit(value.soft, `${at}.${name}.soft`), hard: limit(value.hard, `${at}.${name}.hard`) } : { soft: limit(value, `${at}.${name}`), hard: limit(value, `${at}.${name}`) };
  }
  return result;
}

/** The largest of the sizes that are set, in bytes; null when none is. */
function largest(values: unknown[], at: string): number | null {
  const sizes = values.filter((value) => !absent(value)).map((value) => byteSize(value, at));
  return sizes.length === 0 ? null : Math.max(...sizes);
}

function readHealthIntervals(raw: unknown, at: string): number[] {
  if (!isRecord(raw) || truthy(raw.disable)) return [];
  return (['interval', 'start_interval'] as const).filter((key) => !absent(raw[key])).map((key) => durationSeconds(raw[key], `${at}.${key}`));
}

function nonEmpty(value: string | undefined, at: string): string {
  if (value === undefined || value === '') unreadable(at, 'a volume with a container path');
  return value;
}

/**
 * Services that others wait on with `condition: service_completed_successfully`: they
 * run once (a migration, an init step) and exit 0 by design.
 */
export function oneShotServices(compose: ComposeModel): string[] {
  return [...new Set(compose.services.flatMap((service) => service.awaitsCompletionOf))].sort();
}
