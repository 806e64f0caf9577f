/**
 * What an app's compose file may not do. The controller holds the Docker socket, and
 * whoever can make Docker start an arbitrary container is root on the guest: a
 * privileged container, a bind mount of `/`, the host's namespaces or the socket
 * itself are each a way out. So the policy judges what compose will actually run (the
 * normalized `compose config` output, see compose-model.ts), refuses every way out it
 * knows, and says which service and key and why. The checks live beside this file by
 * subject; docs/felhom-yml.md lists every class and how it is closed.
 *
 * Pure: no Docker, no file system. The caller runs `compose config`, passes the parsed
 * output and throws `policyError(violations)` when the list is not empty.
 */
import { AppError } from '../../errors.ts';
import { readCompose, type ComposeModel, type ComposeService, type Protocol } from '../compose-model.ts';
import type { Manifest } from '../manifest.ts';
import { type HostPort, checkPorts } from './host-ports.ts';
import { checkImages } from './images.ts';
import { checkContainerName, checkContainerNames, checkLinks, checkNamespaces, checkNetworks } from './isolation.ts';
import { checkKnownKeys } from './known-keys.ts';
import { checkDeclaredVolumes, checkDefinitions, checkMounts } from './mounts.ts';
import { checkLimits, checkPrivileges } from './privileges.ts';

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
  /** Names of containers in the engine that are not this app's (other apps', the controller's, anyone's). */
  takenContainerNames?: string[];
  /** Registries on the guest or its network the operator allows images from (host[:port]). */
  allowedRegistries?: string[];
}

export interface PolicyViolation {
  /** The compose service at fault; null for the manifest or top-level definitions. */
  service: string | null;
  key: string;
  message: string;
}

/** Records a violation of one service at `key`. */
export type Add = (key: string, message: string) => void;

const RESERVED_LABEL_PREFIXES = [
  ['org.felhom.', 'reserved for the controller, which labels its own objects and each app\'s services with it'],
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
    const add: Add = (key, message) => violations.push({ service: service.name, key, message });
    checkPrivileges(service, add);
    checkLimits(service, add);
    checkNamespaces(service, services, add);
    checkLinks(service, services, add);
    checkContainerName(service, input.manifest.id, add);
    checkMounts(service, input, add);
    checkLabels(service, add);
  }
  violations.push(...checkDeclaredVolumes(input, model));
  violations.push(...checkDefinitions(input, model));
  violations.push(...checkNetworks(model, input.manifest.id));
  violations.push(...checkPorts(model, input));
  violations.push(...checkContainerNames(model, input.manifest.id, input.takenContainerNames ?? []));
  violations.push(...checkImages(model, input.allowedRegistries ?? []));
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

/** What a reserved label namespace is for, when `label` is in one; else null. */
export function reservedLabel(label: string): string | null {
  const reserved = RESERVED_LABEL_PREFIXES.find(([prefix]) => label.toLowerCase().startsWith(prefix));
  return reserved ? `${reserved[0]} namespace is ${reserved[1]}` : null;
}

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

function checkLabels(service: ComposeService, add: Add): void {
  for (const label of Object.keys(service.labels)) {
    const reserved = reservedLabel(label);
    if (reserved) add('labels', `${label}: the ${reserved}`);
  }
}
