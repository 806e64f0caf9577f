/**
 * What a service may ask of the kernel: capabilities, devices and confinement switches.
 * Confinement options are an allow-list: a profile name alone says nothing about what
 * it confines (AppArmor 4 ships an unconfined `runc` profile).
 */
import type { ComposeService } from '../../stacks/index.ts';
import type { Add } from './checks.ts';

/** Docker's default capability set: adding one back after `cap_drop: [ALL]` grants nothing new. */
export const ALLOWED_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
] as const;



export const BUILD_REFUSED = 'apps are installed from published images; building an image on the guest is not allowed (remove the build: section and use image:)';

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
  if (service.build !== null) add('build', BUILD_REFUSED);
  if (service.provider !== null) add('provider', 'a provider service runs a program on the host instead of a container; apps may not use it');
  for (const hook of service.hooks) {
    if (hook.privileged) add(hook.key, 'a privileged hook runs a command with every capability of the guest; apps may not use it');
  }
  for (const option of service.securityOpt) {
    const reason = confinementEscape(option);
    if (reason) add('security_opt', `${option} ${reason}`);
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
