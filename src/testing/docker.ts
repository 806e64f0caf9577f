import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { createDockerPort } from '../stacks/index.ts';

export const dockerHost = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

let engine: Promise<boolean> | null = null;

function engineAnswers(): Promise<boolean> {
  engine ??= createDockerPort(dockerHost, 3_000)
    .info()
    .then(() => true, () => false);
  return engine;
}

/**
 * For tests that need a real Docker engine. Without one they skip, loudly; under
 * CI=true a missing engine fails the test instead, so CI can never pass by skipping.
 */
export async function requireDocker(t: TestContext): Promise<boolean> {
  if (await engineAnswers()) return true;
  const message = `no Docker engine answers at ${dockerHost}`;
  if (process.env.CI === 'true') throw new Error(`${message}, and CI=true: Docker-dependent tests must run in CI (run scripts/engine.sh)`);
  process.stderr.write(`\n*** SKIPPING "${t.name}": ${message}. Run scripts/engine.sh to start one. ***\n\n`);
  t.skip(message);
  return false;
}

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Removes what a compose project left in Docker: containers, its volumes, networks. */
export function removeProject(project: string): void {
  const ids = (...args: string[]) => docker(...args).split('\n').filter(Boolean);
  const containers = ids('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`);
  if (containers.length) docker('rm', '-f', ...containers);
  const volumes = ids('volume', 'ls', '-q', '--filter', `label=org.felhom.app=${project}`);
  if (volumes.length) docker('volume', 'rm', '-f', ...volumes);
  for (const network of ids('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`)) docker('network', 'rm', network);
}

/** After the test, removes what a compose project left in Docker. */
export function cleanUpProject(t: TestContext, project: string): void {
  t.after(() => {
    removeProject(project);
  });
}
