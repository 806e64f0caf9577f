/**
 * The policy is a list of what is refused, so a key it has never heard of would pass
 * unjudged: compose v2 keeps adding keys (`use_api_socket` mounts the Docker socket).
 * Here the other half: every service key must be one the policy knows, and a few known
 * ones are refused outright or held to safe values.
 */
import type { Message, MessageKey } from '../../i18n/index.ts';
import type { ComposeModel } from '../../stacks/index.ts';
import { violation, type PolicyViolation } from './checks.ts';

/** Keys judged here or by the other checks of the policy. */
const KNOWN_SERVICE_KEYS = new Set([
  'attach', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'command', 'configs', 'container_name',
  'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_shares', 'cpus', 'cpuset', 'depends_on', 'deploy',
  'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'entrypoint', 'env_file', 'environment',
  'expose', 'external_links', 'extra_hosts', 'gpus', 'group_add', 'healthcheck', 'hostname', 'image', 'init', 'ipc',
  'labels', 'links', 'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit',
  'network_mode', 'networks', 'oom_score_adj', 'pid', 'pids_limit', 'platform', 'ports', 'post_start', 'pre_stop',
  'privileged', 'profiles', 'provider', 'pull_policy', 'read_only', 'restart', 'runtime', 'scale', 'secrets',
  'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal', 'sysctls', 'tmpfs', 'tty', 'ulimits',
  'user', 'userns_mode', 'uts', 'volumes', 'volumes_from', 'working_dir',
]);

/** Service keys refused outright, and why. */
const REFUSED = {
  use_api_socket: 'policy.why_use_api_socket',
  develop: 'policy.why_develop',
  blkio_config: 'policy.why_blkio_config',
  storage_opt: 'policy.why_storage_opt',
  credential_spec: 'policy.why_credential_spec',
  isolation: 'policy.why_isolation',
  oom_kill_disable: 'policy.why_oom_kill_disable',
  cpu_rt_period: 'policy.why_realtime',
  cpu_rt_runtime: 'policy.why_realtime',
  annotations: 'policy.why_annotations',
} as const satisfies Record<string, MessageKey>;

type RefusedKey = keyof typeof REFUSED;

/** Why a service key is refused outright. */
export function refusedKey(key: RefusedKey): Message {
  return { key: 'policy.refused_key', params: { why: { key: REFUSED[key] } } };
}

const PASSIVE_PULL_POLICIES = new Set(['missing', 'never', 'if_not_present']);

const SAFE_LOG_DRIVERS = new Set(['json-file', 'local', 'none']);


export function checkKnownKeys(compose: ComposeModel): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const service of compose.services) {
    const add = (key: string, text: Message) => violations.push(violation(service.name, key, text));
    for (const key of service.keys) {
      if (key.startsWith('x-')) continue;
      if (Object.hasOwn(REFUSED, key)) add(key, refusedKey(key as RefusedKey));
      else if (!KNOWN_SERVICE_KEYS.has(key)) add(key, { key: 'policy.key_unknown' });
    }
    if (service.runtime !== null && service.runtime !== 'runc') {
      add('runtime', { key: 'policy.runtime', params: { runtime: service.runtime } });
    }
    // The controller decides when images are downloaded (FELHOM_PULL, an update);
    // compose up must only use what the deploy checked is in the engine.
    if (service.pullPolicy !== null && !PASSIVE_PULL_POLICIES.has(service.pullPolicy)) {
      add('pull_policy', { key: 'policy.pull_policy', params: { policy: service.pullPolicy } });
    }
    const driver = service.loggingDriver;
    if (driver !== null && !SAFE_LOG_DRIVERS.has(driver)) {
      add('logging.driver', { key: 'policy.log_driver', params: { driver } });
    }
  }
  return violations;
}
