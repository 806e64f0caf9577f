/**
 * The controller's view of the Docker engine. For now only whether it answers;
 * the stacks domain grows here.
 */
import Docker from 'dockerode';

export interface DockerEngineInfo {
  version: string;
  apiVersion: string;
}

export interface DockerPort {
  info(): Promise<DockerEngineInfo>;
}

export function dockerOptionsFor(dockerHost: string): Docker.DockerOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port), protocol: 'http' };
}

export function createDockerPort(dockerHost: string, timeoutMs = 5_000): DockerPort {
  const docker = new Docker({ ...dockerOptionsFor(dockerHost), timeout: timeoutMs });
  return {
    async info() {
      const version = await docker.version();
      return { version: version.Version, apiVersion: version.ApiVersion };
    },
  };
}
