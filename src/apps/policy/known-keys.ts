/**
 * The policy is a list of what is refused, so a key it has never heard of would pass
 * unjudged: compose v2 keeps adding keys (`use_api_socket` mounts the Docker socket).
 * Here the other half: every service key must be one the policy knows, and a few known
 * ones are refused outright or held to safe values.
 */
import type { ComposeModel } from '../../stacks/index.ts';
import type { PolicyViolation } from './checks.ts';

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

const REFUSED: Record<string, string> = {
  use_api_socket: 'mounts the Docker socket into the container: whoever holds it is root on the guest',
  develop: 'syncs files from the host into the container',
  blkio_config: 'names host block devices',
  storage_opt: 'changes how the container is stored on the guest',
  credential_spec: 'is for Windows containers and names a file compose would read',
  isolation: 'is for Windows containers',
  oom_kill_disable: 'would let the app exhaust the guest memory',
  cpu_rt_period: 'real-time scheduling can starve the guest',
  cpu_rt_runtime: 'real-time scheduling can starve the guest',
  annotations: 'passes annotations to the container runtime, which may act on them',
};

/** Why a service key is refused outright. */
export function refusedKey(key: string): string {
  return `${REFUSED[key] ?? 'is refused'}; not allowed for apps`;
}

const PASSIVE_PULL_POLICIES = new Set(['missing', 'never', 'if_not_present']);

const SAFE_LOG_DRIVERS = new Set(['json-file', 'local', 'none']);


export function checkKnownKeys(compose: ComposeModel): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const service of compose.services) {
    const add = (key: string, message: string) => violations.push({ service: service.name, key, message });
    for (const key of service.keys) {
      if (key.startsWith('x-')) continue;
      if (Object.hasOwn(REFUSED, key)) add(key, refusedKey(key));
      else if (!KNOWN_SERVICE_KEYS.has(key)) add(key, 'the controller does not know this key, so it cannot tell that it is safe; not allowed');
    }
    if (service.runtime !== null && service.runtime !== 'runc') {
      add('runtime', `runtime "${service.runtime}" is not allowed; apps run with Docker's default runtime`);
    }
    // The controller decides when images are downloaded (FELHOM_PULL, an update);
    // compose up must only use what the deploy checked is in the engine.
    if (service.pullPolicy !== null && !PASSIVE_PULL_POLICIES.has(service.pullPolicy)) {
      add('pull_policy', `"${service.pullPolicy}" makes compose up download images by itself; the controller downloads them (use missing or never, or leave it out)`);
    }
    const driver = service.loggingDriver;
    if (driver !== null && !SAFE_LOG_DRIVERS.has(driver)) {
      add('logging.driver', `"${driver}" would make the Docker engine send logs elsewhere; use json-file or local`);
    }
  }
  return violations;
}
