/**
 * Publishing host ports is allowed, but never one another app, the controller or the
 * system already uses, and never the same one twice: the conflict is found before
 * anything starts, not as a failed container. The engine starts a proxy process for
 * every published port, outside the app's limits, so an app publishes a bounded number;
 * and a range onto one container port books every port of the range for one, so it is
 * refused.
 */
import { canonicalIp, isWildcard, type ComposeModel, type PortMapping, type Protocol } from '../../stacks/index.ts';
import type { MessageKey } from '../../i18n/index.ts';
import { violation, type HostPort, type PolicyInput, type PolicyViolation } from './checks.ts';

export const MAX_PUBLISHED_PORTS = 64;

export function checkPorts(model: ComposeModel, input: PolicyInput): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  // Random host ports start a proxy each too; a range onto one port starts one (and is
  // refused below for what it books).
  const count = model.services.reduce((sum, service) => sum + service.ports.length, 0);
  if (count > MAX_PUBLISHED_PORTS) {
    // Counted before any pair is compared: a range of every port must not cost the check itself.
    return [tooManyPorts(count)];
  }
  const mine: Array<HostPort & { service: string }> = [];
  for (const service of model.services) {
    for (const port of service.ports) {
      if (port.published === null) continue;
      if (port.anyOf) {
        violations.push(violation(service.name, 'ports', { key: 'policy.port_range_onto_one', params: { low: port.anyOf.low, high: port.anyOf.high, target: port.target } }));
        continue;
      }
      const add = (key: MessageKey, params: Record<string, string> = {}) =>
        violations.push(violation(service.name, 'ports', { key, params: { port: portLabel(port), ...params } }));
      const reserved = (input.reservedPorts ?? []).find((r) => r.published === port.published && r.protocol === port.protocol);
      const other = input.otherApps.find((app) => app.ports.some((p) => overlaps(p, port)));
      const twin = mine.find((p) => overlaps(p, port));
      if (reserved) add('policy.port_reserved');
      if (other) add('policy.port_of_other_app', { app: other.id });
      if (twin) add(twin.service === service.name ? 'policy.port_twice_in_service' : 'policy.port_twice', { service: twin.service });
      mine.push({ ...port, service: service.name });
    }
  }
  return violations;
}

export function tooManyPorts(count: number): PolicyViolation {
  return violation(null, 'ports', { key: 'policy.too_many_ports', params: { count, max: MAX_PUBLISHED_PORTS } });
}

/** The host ports an app publishes (random host ports left out), for recording. */
export function publishedPorts(compose: ComposeModel): Array<{ service: string; hostIp: string | null; published: number; protocol: Protocol }> {
  return compose.services.flatMap((service) =>
    service.ports
      .filter((port): port is PortMapping & { published: number } => port.published !== null)
      .map((port) => ({ service: service.name, hostIp: port.hostIp, published: port.published, protocol: port.protocol })),
  );
}

function overlaps(a: HostPort, b: HostPort): boolean {
  if (a.published === null || b.published === null || a.published !== b.published || a.protocol !== b.protocol) return false;
  const [x, y] = [recorded(a.hostIp), recorded(b.hostIp)];
  return isWildcard(x) || isWildcard(y) || x === y;
}

/** An address as recorded (perhaps by an older controller), in its canonical spelling. */
function recorded(ip: string | null): string | null {
  try {
    return canonicalIp(ip);
  } catch {
    return ip;
  }
}

function portLabel(port: HostPort): string {
  const ip = port.hostIp === null ? '' : port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`;
  return `${ip}${port.published}/${port.protocol}`;
}
