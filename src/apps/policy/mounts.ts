/**
 * What an app may mount: its declared named volumes (which the controller places on
 * storage), tmpfs, and files from its own folder. Never a host path, the Docker socket,
 * a volume or file it does not own, or a sub-path of a volume (resolved through links
 * the app itself can plant).
 */
import path from 'node:path';
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import type { Message, MessageKey } from '../../i18n/index.ts';
import { violation, type Add, type PolicyInput, type PolicyViolation } from './checks.ts';

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

export const ENVIRONMENT_SOURCE_REFUSED: Message = { key: 'policy.environment_source' };

export function checkMounts(service: ComposeService, input: PolicyInput, add: Add): void {
  const declared = input.manifest.volumes;
  for (const mount of service.volumes) {
    if (mount.type === 'tmpfs') continue;
    if (mount.type === 'bind') {
      add('volumes', bindMessage(mount.source ?? '(unknown)', mount.target));
    } else if (mount.type === 'other') {
      add('volumes', { key: 'policy.mount_other', params: { target: mount.target } });
    } else if (mount.source === null) {
      add('volumes', { key: 'policy.mount_anonymous', params: { target: mount.target } });
    } else if (!Object.hasOwn(declared, mount.source)) {
      add('volumes', { key: 'policy.mount_undeclared', params: { volume: mount.source, target: mount.target } });
    }
    if (mount.subpath !== null) {
      add('volumes', { key: 'policy.mount_subpath', params: { subpath: mount.subpath } });
    }
  }
  for (const file of service.envFile) {
    if (!isInside(input.appDir, file)) add('env_file', { key: 'policy.env_file_outside', params: { file } });
  }
}

function bindMessage(source: string, target: string): Message {
  const normalized = path.posix.normalize(source).replace(/(.)\/+$/, '$1');
  if (normalized.endsWith('docker.sock') || DOCKER_SOCKETS.includes(normalized)) {
    return { key: 'policy.bind_socket', params: { source } };
  }
  const socketParent = DOCKER_SOCKETS.find((socket) => isInside(normalized, socket));
  if (socketParent) {
    return { key: 'policy.bind_socket_parent', params: { source, socket: socketParent } };
  }
  return { key: 'policy.bind', params: { source, target } };
}

export function checkDeclaredVolumes(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const used = new Set(model.services.flatMap((service) => service.volumes.filter((m) => m.type === 'volume').map((m) => m.source)));
  return Object.keys(input.manifest.volumes)
    .filter((name) => !used.has(name))
    .map((name) => violation(null, `volumes.${name}`, { key: 'policy.volume_unused' }));
}

/** Top-level volumes, secrets and configs: the app's own, made by the controller or shipped in its folder. */
export function checkDefinitions(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const id = input.manifest.id;
  const add = (key: string, text: MessageKey, params?: Record<string, string>) => violations.push(violation(null, key, { key: text, ...(params && { params }) }));
  for (const volume of model.volumes) {
    const key = `volumes.${volume.key}`;
    if (volume.external) add(key, 'policy.volume_external');
    else if (volume.name !== null && volume.name !== `${id}_${volume.key}`) add(key, 'policy.volume_name', { name: volume.name });
    if (volume.driver !== null && volume.driver !== 'local') add(key, 'policy.volume_driver', { driver: volume.driver });
    if (volume.driverOpts !== null) add(key, 'policy.volume_driver_opts');
  }
  for (const [kind, objects] of [['secrets', model.secrets], ['configs', model.configs]] as const) {
    for (const object of objects) {
      if (object.file !== null && !isInside(input.appDir, object.file)) {
        add(`${kind}.${object.key}`, 'policy.definition_file_outside', { file: object.file });
      }
      if (object.environment !== null) {
        add(`${kind}.${object.key}`, 'policy.definition_environment', { variable: object.environment });
      }
    }
  }
  return violations;
}

export function isInside(dir: string, file: string): boolean {
  const relative = path.posix.relative(path.posix.resolve(dir), path.posix.resolve(dir, file));
  return relative !== '' && !relative.startsWith('..') && !path.posix.isAbsolute(relative);
}
