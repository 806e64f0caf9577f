/**
 * The app's own networks, in the shape compose creates by default. The engine gives
 * each a bridge and an address range from its own pool, which every app shares.
 */
import type { ComposeModel } from '../../stacks/index.ts';
import type { Message } from '../../i18n/index.ts';
import { reservedLabel, violation, type PolicyViolation } from './checks.ts';

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
    violations.push(violation(null, 'networks', { key: 'policy.too_many_networks', params: { count: model.networks.length, max: MAX_NETWORKS } }));
  }
  for (const network of model.networks) {
    const key = `networks.${network.key}`;
    const add = (text: Message, at = key) => violations.push(violation(null, at, text));
    if (network.driver === 'host' || network.name === 'host') add({ key: 'policy.network_host' });
    else if (network.external) add({ key: 'policy.network_external', params: { network: network.name ?? network.key } });
    else if (network.name !== null && network.name !== `${appId}_${network.key}`) add({ key: 'policy.network_name', params: { name: network.name } });
    if (network.driver !== null && network.driver !== 'bridge' && network.driver !== 'host') add({ key: 'policy.network_driver', params: { driver: network.driver } }, `${key}.driver`);
    for (const [option, value] of Object.entries(network.options)) {
      if (option === 'driver_opts') add({ key: 'policy.network_driver_opts', params: { options: Object.keys(value as object).join(', ') } }, `${key}.driver_opts`);
      else if (option === 'ipam') {
        if (!isDefaultIpam(value)) add({ key: 'policy.network_ipam' }, `${key}.ipam`);
      } else if (!PLAIN_NETWORK_KEYS.has(option)) add({ key: 'policy.network_option_unknown', params: { option } }, `${key}.${option}`);
    }
    for (const label of Object.keys(network.labels)) {
      const reserved = reservedLabel(label);
      if (reserved) add(reserved, `${key}.labels`);
    }
  }
  for (const service of model.services) {
    for (const attachment of service.networks) {
      for (const option of Object.keys(attachment.options)) {
        if (PLAIN_ATTACHMENT_KEYS.has(option)) continue;
        const why = /^(ipv4_address|ipv6_address|link_local_ips)$/.test(option) ? 'policy.attachment_fixed_address' : 'policy.attachment_unknown';
        violations.push(violation(service.name, `networks.${attachment.network}.${option}`, { key: why }));
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
