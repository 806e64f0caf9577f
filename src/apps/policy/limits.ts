/**
 * The limits that decide who wins when the guest runs short (memory, CPU time,
 * processes, shutdown), and what an app costs outside its own limits (engine processes
 * per container). One rule for one reason: a key that would let the app starve or
 * outlive the guest's own processes is refused whatever spelling it comes in
 * (`oom_kill_disable` and a negative `oom_score_adj`; `cpu_rt_*` and `ulimits.rtprio`;
 * a weight above the default and a memory reservation above the app's own limit).
 */
import type { ComposeModel, ComposeService } from '../../stacks/index.ts';
import { violation, type Add, type PolicyViolation } from './checks.ts';

/**
 * The longest a service may ask Docker to wait for it to stop. A backup stops every app
 * and waits for all of them, so one app's hour-long grace period (and a stop signal it
 * ignores) would hold every other app down and the backup hostage.
 */
export const MAX_STOP_GRACE_SECONDS = 300;
/** Docker's default CPU weight: more would put the app ahead of the guest's own services. */
const DEFAULT_CPU_SHARES = 1024;
/** A healthcheck runs a process through the engine, outside the app's limits, every interval. */
const MIN_HEALTH_INTERVAL_SECONDS = 1;
/** Each container brings a shim of its own in the engine's cgroup, outside the app's limits. */
export const MAX_REPLICAS = 10;
/** RLIMIT_NICE allows a nice value of 20 - limit: above 20, the app outranks the guest's processes. */
const MAX_NICE_LIMIT = 20;

/**
 * Sysctls Docker sets inside the container's own namespaces (network, IPC, message
 * queues): they change the container's view, never the guest's. Any other key is the
 * guest's kernel.
 */
const NAMESPACED_SYSCTL = /^(net\..+|kernel\.(shmmax|shmall|shmmni|shm_rmid_forced|msgmax|msgmnb|msgmni|sem)|fs\.mqueue\..+)$/;

/** Containers of one app in all: each brings engine processes outside the app's limits. */
export const MAX_CONTAINERS = 32;

export function checkLimits(service: ComposeService, add: Add): void {
  for (const key of Object.keys(service.sysctls)) {
    if (!NAMESPACED_SYSCTL.test(key)) add('sysctls', { key: 'policy.sysctl', params: { sysctl: key } });
  }
  // Names are read in lower case and -1 as unlimited, as the engine does.
  const { rtprio, nice } = service.ulimits;
  if (rtprio && (rtprio.soft !== 0 || rtprio.hard !== 0)) {
    add('ulimits.rtprio', { key: 'policy.rtprio' });
  }
  if (nice && Math.max(nice.soft, nice.hard) > MAX_NICE_LIMIT) {
    add('ulimits.nice', { key: 'policy.nice', params: { max: MAX_NICE_LIMIT } });
  }
  if (service.cpuShares !== null && service.cpuShares < 0) add('cpu_shares', { key: 'policy.cpu_shares_negative', params: { value: service.cpuShares } });
  if (service.cpuShares !== null && service.cpuShares > DEFAULT_CPU_SHARES) {
    add('cpu_shares', { key: 'policy.cpu_shares_high', params: { value: service.cpuShares, max: DEFAULT_CPU_SHARES } });
  }
  const reserved = service.memReservationBytes;
  if (reserved !== null && reserved > 0 && (service.memLimitBytes === null || reserved > service.memLimitBytes)) {
    add('mem_reservation', { key: 'policy.mem_reservation' });
  }
  if (service.healthIntervals.some((seconds) => seconds < MIN_HEALTH_INTERVAL_SECONDS)) {
    add('healthcheck', { key: 'policy.health_interval', params: { min: MIN_HEALTH_INTERVAL_SECONDS } });
  }
  if (service.replicas > MAX_REPLICAS) {
    add('scale', { key: 'policy.scale', params: { count: service.replicas, max: MAX_REPLICAS } });
  }
  if (service.oomScoreAdj !== null && service.oomScoreAdj < 0) {
    add('oom_score_adj', { key: 'policy.oom_score_adj', params: { value: service.oomScoreAdj } });
  }
  if (service.stopGraceSeconds !== null && service.stopGraceSeconds > MAX_STOP_GRACE_SECONDS) {
    add('stop_grace_period', { key: 'policy.stop_grace', params: { seconds: service.stopGraceSeconds, max: MAX_STOP_GRACE_SECONDS } });
  }
}

export function checkAppSize(model: ComposeModel): PolicyViolation[] {
  const containers = model.services.reduce((sum, service) => sum + service.replicas, 0);
  if (containers <= MAX_CONTAINERS) return [];
  return [violation(null, 'services', { key: 'policy.too_many_containers', params: { count: containers, max: MAX_CONTAINERS } })];
}
