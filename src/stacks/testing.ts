/** Helpers for the stacks integration tests: unique names, local images, and cleanup. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import Docker from 'dockerode';
import { dockerHost } from '../testing/docker.ts';
import { dockerOptionsFor } from './engine.ts';
import { PROJECT_LABEL } from './containers.ts';

export const BUSYBOX = 'felhom-test/busybox:latest';

export const testDocker = () => new Docker(dockerOptionsFor(dockerHost));

/** A project or app name no other test uses: `ft-<hex>`. */
export const uniqueName = () => `ft-${randomBytes(4).toString('hex')}`;

/** Builds an image FROM the local busybox (no registry needed); removed when the test ends. */
export function buildImage(t: TestContext, dockerfileBody: string): string {
  const tag = `felhom-test/${uniqueName()}:latest`;
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], {
    input: `FROM ${BUSYBOX}\n${dockerfileBody}\n`,
    env: { ...process.env, DOCKER_HOST: dockerHost },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  t.after(() => void execFileSync('docker', ['rmi', '-f', tag], { env: { ...process.env, DOCKER_HOST: dockerHost }, stdio: 'ignore' }));
  return tag;
}

/** Runs a one-off command in a container with `volume` at `target`; returns its stdout. */
export function runWithVolume(volume: string, target: string, script: string, image = BUSYBOX): string {
  return execFileSync('docker', ['run', '--rm', '-v', `${volume}:${target}`, image, 'sh', '-c', script], {
    env: { ...process.env, DOCKER_HOST: dockerHost },
    encoding: 'utf8',
  });
}

/**
 * When the test ends, removes every container, network and volume of project/app
 * `name`: containers and networks by the compose label, seeding leftovers by name,
 * volumes by the `felhom_<name>_` and `felhom-seed.<name>.` prefixes.
 */
export function cleanUpAfter(t: TestContext, name: string): void {
  t.after(async () => {
    const docker = testDocker();
    const containers = [
      ...(await docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${name}`] } })),
      ...(await docker.listContainers({ all: true, filters: { name: [`felhom-seed.${name}.`] } })),
    ];
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    const networks = await docker.listNetworks({ filters: { label: [`${PROJECT_LABEL}=${name}`] } });
    await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
    const { Volumes: volumes } = await docker.listVolumes();
    const ours = (volumes ?? []).filter((v) => v.Name.startsWith(`felhom_${name}_`) || v.Name.startsWith(`felhom-seed.${name}.`));
    await Promise.all(ours.map((v) => docker.getVolume(v.Name).remove({ force: true }).catch(() => undefined)));
  });
}
