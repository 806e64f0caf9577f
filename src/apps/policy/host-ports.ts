/**
 * Publishing host ports is allowed, but never one another app, the controller or the
 * system already uses, and never the same one twice: the conflict is found before
 * anything starts, not as a failed container. The engine starts a proxy process for
 * every published port, outside the app's limits, so an app publishes a bounded number;
 * and a range onto one container port books every port of the range for one, so it is
 * refused.
 */
import { canonicalIp, isWildcard, type ComposeModel, type PortMapping, type Protocol } from '../../stacks/index.ts';
import type { HostPort, PolicyInput, PolicyViolation } from './checks.ts';

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
        violations.push({ service: service.name, key: 'ports', message: `host ports ${port.anyOf.low}-${port.anyOf.high} onto the one container port ${port.target} book the whole range for one port; publish one host port` });
        continue;
      }
      const label = `host port ${portLabel(port)}`;
      const add = (message: string) => violations.push({ service: service.name, key: 'ports', message: `${label} ${message}` });
      const reserved = (input.reservedPorts ?? []).find((r) => r.published === port.published && r.protocol === port.protocol);
      const other = input.otherApps.find((app) => app.ports.some((p) => overlaps(p, port)));
      const twin = mine.find((p) => overlaps(p, port));
      if (reserved) add('is reserved for the controller or the system; choose another host port');
      if (other) add(`is already used by the app "${other.id}"; choose another host port`);
      if (twin) add(`is also published by ${twin.service === service.name ? 'this service' : `service "${twin.service}"`}; each host port can be published once`);
      mine.push({ ...port, service: service.name });
    }
  }
  return violations;
}

export function tooManyPorts(count: number): PolicyViolation {
  return { service: null, key: 'ports', message: `the app publishes ${count} host ports; the engine runs a process for each, outside the app's limits, so at most ${MAX_PUBLISHED_PORTS} are allowed` };
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
