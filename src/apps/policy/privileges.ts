/**
 * What a service may ask of the kernel: capabilities, devices, confinement switches,
 * and the limits that decide who wins when the guest runs short (memory, CPU time,
 * processes, shutdown). One rule for one reason: a key that would let the app starve or
 * outlive the guest's own processes is refused whatever spelling it comes in
 * (`oom_kill_disable` and a negative `oom_score_adj`; `cpu_rt_*` and `ulimits.rtprio`;
 * a weight above the default and a memory reservation above the app's own limit).
 * Confinement options are an allow-list: a profile name alone says nothing about what
 * it confines (AppArmor 4 ships an unconfined `runc` profile).
 */
import type { ComposeService } from '../compose-model.ts';
import type { Add } from './policy.ts';

/** Docker's default capability set: adding one back after `cap_drop: [ALL]` grants nothing new. */
export const ALLOWED_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
] as const;

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

export function checkPrivileges(service: ComposeService, add: Add): void {
  if (service.privileged) add('privileged', 'a privileged container has every capability and every device of the guest: it is root on the guest');
  for (const raw of service.capAdd) {
    const cap = raw.trim().toUpperCase().replace(/^CAP_/, '');
    if (cap === 'ALL') add('cap_add', 'ALL grants every capability, which is root on the guest; add back only what the app needs from Docker\'s default set');
    else if (!(ALLOWED_CAPABILITIES as readonly string[]).includes(cap)) {
      add('cap_add', `${raw} is not allowed: only Docker's default capabilities may be added back (${ALLOWED_CAPABILITIES.join(', ')})`);
    }
  }
  if (service.devices.length > 0) add('devices', `host devices (${service.devices.join(', ')}) give the container direct access to the guest's hardware; apps may not use them`);
  if (service.deviceCgroupRules.length > 0) add('device_cgroup_rules', `device rules (${service.deviceCgroupRules.join(', ')}) open the guest's devices to the container; apps may not use them`);
  if (service.deviceReservations.length > 0) add('deploy.resources.reservations.devices', 'device reservations (GPUs and other host devices) give the container the guest\'s hardware; apps may not use them');
  if (service.gpus !== null) add('gpus', 'GPUs are host devices; apps may not use them');
  if (service.build !== null) add('build', 'apps are installed from published images; building an image on the guest is not allowed (remove the build: section and use image:)');
  if (service.provider !== null) add('provider', 'a provider service runs a program on the host instead of a container; apps may not use it');
  for (const hook of service.hooks) {
    if (hook.privileged) add(hook.key, 'a privileged hook runs a command with every capability of the guest; apps may not use it');
  }
  for (const option of service.securityOpt) {
    const reason = confinementEscape(option);
    if (reason) add('security_opt', `${option} ${reason}`);
  }
}

export function checkLimits(service: ComposeService, add: Add): void {
  for (const key of Object.keys(service.sysctls)) {
    if (!NAMESPACED_SYSCTL.test(key)) add('sysctls', `${key} is a setting of the guest's kernel, not of the container's own namespaces; apps may set only net.*, kernel.shm*/msg*/sem and fs.mqueue.*`);
  }
  // Names are read in lower case and -1 as unlimited, as the engine does.
  const { rtprio, nice } = service.ulimits;
  if (rtprio && (rtprio.soft !== 0 || rtprio.hard !== 0)) {
    add('ulimits.rtprio', 'lets the app run with real-time priority without any capability, and real-time scheduling can starve the guest; only 0 is allowed');
  }
  if (nice && Math.max(nice.soft, nice.hard) > MAX_NICE_LIMIT) {
    add('ulimits.nice', `lets the app raise its priority above the guest's own processes without any capability; at most ${MAX_NICE_LIMIT} is allowed`);
  }
  if (service.cpuShares !== null && service.cpuShares > DEFAULT_CPU_SHARES) {
    add('cpu_shares', `${service.cpuShares} weighs the app above the guest's own services and the controller (${DEFAULT_CPU_SHARES} each); at most ${DEFAULT_CPU_SHARES} is allowed`);
  }
  const reserved = service.memReservationBytes;
  if (reserved !== null && reserved > 0 && (service.memLimitBytes === null || reserved > service.memLimitBytes)) {
    add('mem_reservation', 'a memory reservation beyond the app\'s own memory limit makes the kernel take memory from the guest\'s own processes first; set mem_limit and reserve at most that');
  }
  if (service.healthIntervals.some((seconds) => seconds < MIN_HEALTH_INTERVAL_SECONDS)) {
    add('healthcheck', `an interval under ${MIN_HEALTH_INTERVAL_SECONDS} s keeps the engine running checks outside the app's limits; use ${MIN_HEALTH_INTERVAL_SECONDS} s or more`);
  }
  if (service.replicas > MAX_REPLICAS) {
    add('scale', `${service.replicas} containers of one service: each brings engine processes outside the app's limits; at most ${MAX_REPLICAS} are allowed`);
  }
  if (service.oomScoreAdj !== null && service.oomScoreAdj < 0) {
    add('oom_score_adj', `${service.oomScoreAdj} makes the kernel kill the guest's own processes before the app when memory runs out (as oom_kill_disable would); only 0 or more is allowed`);
  }
  if (service.stopGraceSeconds !== null && service.stopGraceSeconds > MAX_STOP_GRACE_SECONDS) {
    add('stop_grace_period', `${service.stopGraceSeconds} s is longer than the ${MAX_STOP_GRACE_SECONDS} s an app may take to stop: a backup stops every app and waits for all of them`);
  }
}

/**
 * Why a security option is refused; null for the options known to keep or tighten the
 * container's confinement.
 */
function confinementEscape(option: string): string | null {
  const match = /^([^:=]+)(?:[:=](.*))?$/.exec(option.trim());
  const key = (match?.[1] ?? '').trim().toLowerCase();
  const value = (match?.[2] ?? '').trim();
  const lower = value.toLowerCase();
  switch (key) {
    case 'no-new-privileges':
      return null;
    case 'seccomp':
      if (lower === 'unconfined') return 'turns off the seccomp filter that blocks dangerous system calls';
      if (lower === 'default' || lower === 'builtin') return null;
      return 'loads a custom seccomp profile, which could allow any system call; apps use Docker\'s default profile';
    case 'apparmor':
      if (lower === 'unconfined') return 'turns off the AppArmor profile that confines the container';
      if (lower === 'docker-default') return null;
      return 'names an AppArmor profile other than docker-default, which may confine nothing (AppArmor 4 ships an unconfined runc profile); apps use docker-default';
    case 'label':
      if (lower === 'disable') return 'turns off SELinux labelling, which confines the container';
      // One level with categories (s0:c100,c200) keeps containers apart; a range spans them all.
      if (/^level:s\d+(:c\d+(,c\d+)*)?$/.test(lower)) return null;
      if (lower === 'type:container_t') return null;
      if (/^type:(spc_t|unconfined_t|container_runtime_t)$/.test(lower)) return 'runs the container as an unconfined SELinux type';
      return 'sets an SELinux type, range, user or role that can leave the container\'s confinement (spc_t, container_runtime_t, nested, s0-s0:c0.c1023); only a single level (level:s0:c100,c200) is allowed';
    case 'systempaths':
      return 'unmasks /proc and /sys paths that Docker hides from containers';
    case 'writable-cgroups':
      return /^(false|0)?$/.test(lower) ? null : 'makes the cgroup file system writable from inside the container';
    default:
      return 'is not a security option the policy knows; only hardening options (such as no-new-privileges:true) are allowed';
  }
}
