/**
 * What an app's compose file may not do. The controller holds the Docker socket, and
 * whoever can make Docker start an arbitrary container is root on the guest: a
 * privileged container, a bind mount of `/`, the host's namespaces or the socket
 * itself are each a way out. So the policy judges what compose will actually run (the
 * normalized `compose config` output, see src/stacks/compose-model.ts), refuses every way out it
 * knows, and says which service and key and why. The checks live beside this file by
 * subject; docs/felhom-yml.md lists every class and how it is closed.
 *
 * Pure: no Docker, no file system. judge.ts runs `compose config`, passes its model
 * and throws `policyError(violations)` when the list is not empty.
 */
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import type { Manifest } from '../manifest.ts';
import { reservedLabel, violation, type Add, type PolicyInput, type PolicyViolation } from './checks.ts';
import { checkPorts } from './host-ports.ts';
import { checkImages } from './images.ts';
import { checkKnownKeys } from './known-keys.ts';
import { checkAppSize, checkLimits } from './limits.ts';
import { checkDeclaredVolumes, checkDefinitions, checkMounts } from './mounts.ts';
import { checkContainerName, checkContainerNames, checkLinks, checkNamespaces } from './namespaces.ts';
import { checkNetworks } from './networks.ts';
import { checkPrivileges } from './privileges.ts';

/** Checks an app against the policy; an empty list means it may be installed. */
export function checkPolicy(input: PolicyInput): PolicyViolation[] {
  const model = input.compose;
  const services = new Set(model.services.map((service) => service.name));
  const violations: PolicyViolation[] = [
    ...checkIdentity(input, model),
    ...checkWeb(input.manifest, services),
  ];
  for (const service of model.services) {
    const add: Add = (key, text) => violations.push(violation(service.name, key, text));
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
  violations.push(...checkAppSize(model));
  violations.push(...checkPorts(model, input));
  violations.push(...checkContainerNames(model, input.manifest.id, input.takenContainerNames ?? []));
  violations.push(...checkImages(model, input.allowedRegistries ?? []));
  violations.push(...checkKnownKeys(model));
  return violations;
}


function checkIdentity(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const { id } = input.manifest;
  const violations: PolicyViolation[] = [];
  if (input.reservedProjects.some((name) => name.toLowerCase() === id)) {
    violations.push(violation(null, 'id', { key: 'policy.id_reserved', params: { id } }));
  }
  if (input.otherApps.some((app) => app.id === id)) {
    violations.push(violation(null, 'id', { key: 'policy.id_taken', params: { id } }));
  }
  if (model.projectName !== null && model.projectName !== id) {
    violations.push(violation(null, 'name', { key: 'policy.project_name', params: { name: model.projectName, id } }));
  }
  return violations;
}

function checkWeb(manifest: Manifest, services: Set<string>): PolicyViolation[] {
  if (!manifest.web || services.has(manifest.web.service)) return [];
  const known = [...services].map((name) => `"${name}"`).join(', ');
  return [violation(null, 'web.service', { key: 'policy.web_service_unknown', params: { service: manifest.web.service, services: known } })];
}

function checkLabels(service: ComposeService, add: Add): void {
  for (const label of Object.keys(service.labels)) {
    const reserved = reservedLabel(label);
    if (reserved) add('labels', reserved);
  }
}
