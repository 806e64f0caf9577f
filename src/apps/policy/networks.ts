/**
 * The app's own networks, in the shape compose creates by default. The engine gives
 * each a bridge and an address range from its own pool, which every app shares.
 */
import type { ComposeModel } from '../../stacks/index.ts';
import { reservedLabel, type PolicyViolation } from './checks.ts';

/** Keys of a network definition in the shape compose creates by default; anything else reaches past it. */
const PLAIN_NETWORK_KEYS = new Set(['internal', 'attachable', 'enable_ipv6', 'enable_ipv4']);
/** Keys of a service's attachment to one of its networks that only name it inside the app. */
const PLAIN_ATTACHMENT_KEYS = new Set(['aliases', 'priority', 'gw_priority', 'mac_address']);

/** Each network is a bridge and a route in the guest and takes a range from the engine's pool (about 30 in all). */
export const MAX_NETWORKS = 4;

/**
 * The app's networks are bridges the engine creates with its own defaults and address
 * pool. Driver options can rename the bridge onto an existing one (docker0, the LAN
 * bridge), and a custom address range or fixed address can shadow the guest's routes to
 * its LAN, so only the shapes compose creates by default are allowed.
 */
export function checkNetworks(model: ComposeModel, appId: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  if (model.networks.length > MAX_NETWORKS) {
    violations.push({ service: null, key: 'networks', message: `the app would create ${model.networks.length} networks; each takes an address range from the engine's pool, which all apps share, so at most ${MAX_NETWORKS} are allowed` });
  }
  for (const network of model.networks) {
    const key = `networks.${network.key}`;
    const add = (message: string, at = key) => violations.push({ service: null, key: at, message });
    if (network.driver === 'host' || network.name === 'host') add('the host network shares the guest\'s network stack with the app; apps keep their own');
    else if (network.external) add(`external: an app may join only its own networks, not "${network.name ?? network.key}" (it could be another app's or the controller's)`);
    else if (network.name !== null && network.name !== `${appId}_${network.key}`) add(`name: "${network.name}" could be another app's or the controller's network; remove name:`);
    if (network.driver !== null && network.driver !== 'bridge' && network.driver !== 'host') add(`"${network.driver}" networks reach past the guest's own; apps use bridge networks`, `${key}.driver`);
    for (const [option, value] of Object.entries(network.options)) {
      if (option === 'driver_opts') add(`driver options (${Object.keys(value as object).join(', ')}) can put the app on one of the guest's own bridges (docker0, the LAN); not allowed`, `${key}.driver_opts`);
      else if (option === 'ipam') {
        if (!isDefaultIpam(value)) add('a custom address range can overlap the guest\'s routes to its LAN and take its traffic; the engine chooses the app\'s addresses', `${key}.ipam`);
      } else if (!PLAIN_NETWORK_KEYS.has(option)) add(`${option} is not a network option the controller knows, so it cannot tell that it is safe; not allowed`, `${key}.${option}`);
    }
    for (const label of Object.keys(network.labels)) {
      const reserved = reservedLabel(label);
      if (reserved) add(`${label}: the ${reserved}`, `${key}.labels`);
    }
  }
  for (const service of model.services) {
    for (const attachment of service.networks) {
      for (const option of Object.keys(attachment.options)) {
        if (PLAIN_ATTACHMENT_KEYS.has(option)) continue;
        const why = /^(ipv4_address|ipv6_address|link_local_ips)$/.test(option)
          ? 'a fixed address needs a custom address range, which can shadow the guest\'s routes'
          : 'it is not an attachment option the controller knows, so it cannot tell that it is safe';
        violations.push({ service: service.name, key: `networks.${attachment.network}.${option}`, message: `${why}; not allowed` });
      }
    }
  }
  return violations;
}

/** `ipam: {}` or `{ driver: default }`: what the engine does anyway. */
function isDefaultIpam(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([key, item]) => (key === 'driver' ? item === 'default' : item === null || (Array.isArray(item) && item.length === 0)));
}
