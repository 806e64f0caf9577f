/**
 * What a service may ask of the kernel: capabilities, devices and confinement switches.
 * Confinement options are an allow-list: a profile name alone says nothing about what
 * it confines (AppArmor 4 ships an unconfined `runc` profile).
 */
import type { ComposeService } from '../../stacks/index.ts';
import type { Message, MessageKey } from '../../i18n/index.ts';
import type { Add } from './checks.ts';

/** Docker's default capability set: adding one back after `cap_drop: [ALL]` grants nothing new. */
export const ALLOWED_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
] as const;



export const BUILD_REFUSED: Message = { key: 'policy.build' };

export function checkPrivileges(service: ComposeService, add: Add): void {
  if (service.privileged) add('privileged', { key: 'policy.privileged' });
  for (const raw of service.capAdd) {
    const cap = raw.trim().toUpperCase().replace(/^CAP_/, '');
    if (cap === 'ALL') add('cap_add', { key: 'policy.cap_all' });
    else if (!(ALLOWED_CAPABILITIES as readonly string[]).includes(cap)) {
      add('cap_add', { key: 'policy.cap_not_default', params: { cap: raw, allowed: ALLOWED_CAPABILITIES.join(', ') } });
    }
  }
  if (service.devices.length > 0) add('devices', { key: 'policy.devices', params: { devices: service.devices.join(', ') } });
  if (service.deviceCgroupRules.length > 0) add('device_cgroup_rules', { key: 'policy.device_cgroup_rules', params: { rules: service.deviceCgroupRules.join(', ') } });
  if (service.deviceReservations.length > 0) add('deploy.resources.reservations.devices', { key: 'policy.device_reservations' });
  if (service.gpus !== null) add('gpus', { key: 'policy.gpus' });
  if (service.build !== null) add('build', BUILD_REFUSED);
  if (service.provider !== null) add('provider', { key: 'policy.provider' });
  for (const hook of service.hooks) {
    if (hook.privileged) add(hook.key, { key: 'policy.hook_privileged' });
  }
  for (const option of service.securityOpt) {
    const reason = confinementEscape(option);
    if (reason) add('security_opt', { key: reason, params: { option } });
  }
}

/**
 * Why a security option is refused (a message about `{option}`); null for the options
 * known to keep or tighten the container's confinement.
 */
function confinementEscape(option: string): MessageKey | null {
  const match = /^([^:=]+)(?:[:=](.*))?$/.exec(option.trim());
  const key = (match?.[1] ?? '').trim().toLowerCase();
  const value = (match?.[2] ?? '').trim();
  const lower = value.toLowerCase();
  switch (key) {
    case 'no-new-privileges':
      return null;
    case 'seccomp':
      if (lower === 'unconfined') return 'policy.seccomp_unconfined';
      if (lower === 'default' || lower === 'builtin') return null;
      return 'policy.seccomp_custom';
    case 'apparmor':
      if (lower === 'unconfined') return 'policy.apparmor_unconfined';
      if (lower === 'docker-default') return null;
      return 'policy.apparmor_other';
    case 'label':
      if (lower === 'disable') return 'policy.selinux_disable';
      // One level with categories (s0:c100,c200) keeps containers apart; a range spans them all.
      if (/^level:s\d+(:c\d+(,c\d+)*)?$/.test(lower)) return null;
      if (lower === 'type:container_t') return null;
      if (/^type:(spc_t|unconfined_t|container_runtime_t)$/.test(lower)) return 'policy.selinux_unconfined_type';
      return 'policy.selinux_other';
    case 'systempaths':
      return 'policy.systempaths';
    case 'writable-cgroups':
      return /^(false|0)?$/.test(lower) ? null : 'policy.writable_cgroups';
    default:
      return 'policy.security_opt_unknown';
  }
}
