/**
 * What a service may ask of the kernel: capabilities, devices, confinement switches,
 * and the limits that decide who wins when the guest runs short (memory, CPU time,
 * shutdown). One rule for one reason: a key that would let the app starve or outlive
 * the guest's own processes is refused whatever spelling it comes in
 * (`oom_kill_disable` and a negative `oom_score_adj`; `cpu_rt_*` and `ulimits.rtprio`).
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
  const rtprio = service.ulimits.rtprio;
  if (rtprio && Math.max(rtprio.soft, rtprio.hard) > 0) {
    add('ulimits.rtprio', 'lets the app run with real-time priority without any capability, and real-time scheduling can starve the guest; not allowed for apps');
  }
  if (service.oomScoreAdj !== null && service.oomScoreAdj < 0) {
    add('oom_score_adj', `${service.oomScoreAdj} makes the kernel kill the guest's own processes before the app when memory runs out (as oom_kill_disable would); only 0 or more is allowed`);
  }
  if (service.stopGraceSeconds !== null && service.stopGraceSeconds > MAX_STOP_GRACE_SECONDS) {
    add('stop_grace_period', `${service.stopGraceSeconds} s is longer than the ${MAX_STOP_GRACE_SECONDS} s an app may take to stop: a backup stops every app and waits for all of them`);
  }
}

/** Why a security option weakens the container's confinement; null for hardening and harmless ones. */
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
      return lower === 'unconfined' ? 'turns off the AppArmor profile that confines the container' : null;
    case 'label':
      if (lower === 'disable') return 'turns off SELinux labelling, which confines the container';
      if (/^type:(spc_t|unconfined_t)$/.test(lower)) return 'runs the container as an unconfined SELinux type';
      return null;
    case 'systempaths':
      return lower === 'unconfined' ? 'unmasks /proc and /sys paths that Docker hides from containers' : null;
    case 'writable-cgroups':
      return /^(false|0)?$/.test(lower) ? null : 'makes the cgroup file system writable from inside the container';
    default:
      return 'is not a security option the policy knows; only hardening options (such as no-new-privileges:true) are allowed';
  }
}
