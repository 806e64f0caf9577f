/**
 * What an app may mount: its declared named volumes (which the controller places on
 * storage), tmpfs, and files from its own folder. Never a host path, the Docker socket,
 * a volume or file it does not own, or a sub-path of a volume (resolved through links
 * the app itself can plant).
 */
import path from 'node:path';
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import type { Add, PolicyInput, PolicyViolation } from './checks.ts';

const DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];

export const ENVIRONMENT_SOURCE_REFUSED = 'takes its value from the controller\'s environment; an app ships its secrets as files in its folder or inline';

export function checkMounts(service: ComposeService, input: PolicyInput, add: Add): void {
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
    if (mount.subpath !== null) {
      add('volumes', `volume.subpath ${mount.subpath} mounts a path inside the volume that the app itself can turn into a link elsewhere; mount the whole volume`);
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

export function checkDeclaredVolumes(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
  const used = new Set(model.services.flatMap((service) => service.volumes.filter((m) => m.type === 'volume').map((m) => m.source)));
  return Object.keys(input.manifest.volumes)
    .filter((name) => !used.has(name))
    .map((name) => ({ service: null, key: `volumes.${name}`, message: `is declared in .felhom.yml but no service mounts it (a typo?)` }));
}

/** Top-level volumes, secrets and configs: the app's own, made by the controller or shipped in its folder. */
export function checkDefinitions(input: PolicyInput, model: ComposeModel): PolicyViolation[] {
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
  for (const [kind, objects] of [['secrets', model.secrets], ['configs', model.configs]] as const) {
    for (const object of objects) {
      if (object.file !== null && !isInside(input.appDir, object.file)) {
        add(`${kind}.${object.key}`, `file: ${object.file} is outside the app folder; an app may only ship files from its own folder`);
      }
      if (object.environment !== null) {
        add(`${kind}.${object.key}`, `environment: ${object.environment} ${ENVIRONMENT_SOURCE_REFUSED}`);
      }
    }
  }
  return violations;
}

export function isInside(dir: string, file: string): boolean {
  const relative = path.posix.relative(path.posix.resolve(dir), path.posix.resolve(dir, file));
  return relative !== '' && !relative.startsWith('..') && !path.posix.isAbsolute(relative);
}
