/**
 * Publishing host ports is allowed, but never one another app, the controller or the
 * system already uses, and never the same one twice: the conflict is found before
 * anything starts, not as a failed container.
 */
import type { ComposeModel, PortMapping, Protocol } from '../compose-model.ts';
import { readCompose } from '../compose-model.ts';
import type { PolicyInput, PolicyViolation } from './policy.ts';

export interface HostPort {
  hostIp: string | null;
  published: number | null;
  protocol: Protocol;
}

export function checkPorts(model: ComposeModel, input: PolicyInput): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const mine: Array<HostPort & { service: string }> = [];
  for (const service of model.services) {
    for (const port of service.ports) {
      if (port.published === null) continue;
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

/** The host ports an app publishes (random host ports left out), for recording. */
export function publishedPorts(compose: unknown): Array<{ service: string; hostIp: string | null; published: number; protocol: Protocol }> {
  return readCompose(compose).services.flatMap((service) =>
    service.ports
      .filter((port): port is PortMapping & { published: number } => port.published !== null)
      .map((port) => ({ service: service.name, hostIp: port.hostIp, published: port.published, protocol: port.protocol })),
  );
}

function overlaps(a: HostPort, b: HostPort): boolean {
  if (a.published === null || b.published === null || a.published !== b.published || a.protocol !== b.protocol) return false;
  return isWildcard(a.hostIp) || isWildcard(b.hostIp) || a.hostIp === b.hostIp;
}

function isWildcard(ip: string | null): boolean {
  return ip === null || ip === '' || ip === '0.0.0.0' || ip === '::' || ip === '[::]';
}

function portLabel(port: HostPort): string {
  const ip = port.hostIp === null ? '' : port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`;
  return `${ip}${port.published}/${port.protocol}`;
}
