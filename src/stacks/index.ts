export { createDockerPort, type DockerPort, type DockerEngineInfo } from './docker.ts';
