/**
 * Whether a freshly deployed project became healthy. Compose v1 has no `up --wait`, so
 * we watch the containers ourselves: healthy means every container runs and passes its
 * healthcheck if it has one. A container that exited, keeps restarting or is unhealthy
 * will not get better by waiting, so it ends the wait at once with a reason.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { type ContainerInfo, inspectProject, serviceOf, toContainerInfo } from './containers.ts';

export interface WaitHealthyOptions {
  timeoutMs: number;
  intervalMs: number;
  /** Services meant to run once and exit 0 (others depend on them completing): an init step. */
  oneShot?: readonly string[];
  /** Aborting ends the wait at the next look (the controller is stopping). */
  signal?: AbortSignal | undefined;
}

export interface HealthResult {
  healthy: boolean;
  containers: ContainerInfo[];
  /** Why not healthy, naming the service. */
  reason?: string;
}

type Verdict = { state: 'healthy' } | { state: 'failed' | 'waiting'; reason: string };

export function judgeHealth(containers: Docker.ContainerInspectInfo[], oneShot: readonly string[] = []): Verdict {
  if (containers.length === 0) return { state: 'waiting', reason: 'the project has no containers' };
  let waiting: string | null = null;
  for (const c of containers) {
    const service = `service ${serviceOf(c)}`;
    const { Status: status, ExitCode: exitCode, OOMKilled: oomKilled, Health: health } = c.State;
    if (status === 'exited' && exitCode === 0 && oneShot.includes(serviceOf(c))) continue;
    if (status === 'exited' || status === 'dead') {
      return { state: 'failed', reason: `${service} ${status} with code ${exitCode}${oomKilled ? ' (out of memory)' : ''}` };
    }
    if (status === 'restarting') {
      return { state: 'failed', reason: `${service} keeps restarting (last exit code ${exitCode}, ${c.RestartCount} restarts)` };
    }
    if (health?.Status === 'unhealthy') {
      const output = health.Log.at(-1)?.Output.trim().slice(0, 300);
      return { state: 'failed', reason: `${service} is unhealthy${output ? `: ${output}` : ''}` };
    }
    if (status !== 'running') waiting ??= `${service} is ${status}`;
    else if (health?.Status === 'starting') waiting ??= `${service} is still starting (its healthcheck has not passed yet)`;
  }
  return waiting === null ? { state: 'healthy' } : { state: 'waiting', reason: waiting };
}

export async function waitHealthy(docker: Docker, project: string, options: WaitHealthyOptions): Promise<HealthResult> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const inspected = await inspectProject(docker, project);
    const verdict = judgeHealth(inspected, options.oneShot);
    const containers = inspected.map(toContainerInfo);
    if (verdict.state === 'healthy') return { healthy: true, containers };
    if (verdict.state === 'failed') return { healthy: false, containers, reason: verdict.reason };
    if (options.signal?.aborted) return { healthy: false, containers, reason: 'the wait was cancelled: the controller is stopping' };
    const left = deadline - Date.now();
    if (left <= 0) {
      return { healthy: false, containers, reason: `not healthy after ${options.timeoutMs / 1000} s: ${verdict.reason}` };
    }
    await sleep(Math.min(options.intervalMs, left));
  }
}
