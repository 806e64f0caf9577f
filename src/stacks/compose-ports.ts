/**
 * A service's published ports as compose prints them: v1 short strings
 * (`127.0.0.1:8081:80/udp`, IPv6 hosts without brackets: `::1:7000:7000/tcp`) or long
 * objects (both versions, v2 with `published` as a string). Host addresses are read into
 * one spelling, so `::ffff:0.0.0.0` or `0:0:0:0:0:0:0:0` is seen as every address, as
 * the engine binds it.
 */
import net from 'node:net';
import { AppError } from '../errors.ts';
import { absent, isRecord, unreadable } from './compose-readers.ts';

export type Protocol = 'tcp' | 'udp';

export interface PortMapping {
  /** One canonical spelling; null when compose binds every address. */
  hostIp: string | null;
  /** null when the host port is chosen by Docker at random. */
  published: number | null;
  target: number;
  protocol: Protocol;
  /**
   * A range of host ports onto one container port (`8000-8999:80`): the engine takes
   * one port of the range when it starts, so the whole range is booked. `published` is
   * then its first port.
   */
  anyOf: { low: number; high: number } | null;
}

/** Reads one service port entry: a string (v1), or an object (v1 and v2). Ranges expand. */
export function readPort(raw: unknown, at = 'port'): PortMapping[] {
  if (typeof raw === 'number') return [{ hostIp: null, published: null, target: portNumber(raw, at), protocol: 'tcp', anyOf: null }];
  if (typeof raw === 'string') return parsePortSpec(raw, at);
  if (!isRecord(raw)) unreadable(at, 'a port string or mapping');
  const protocol = readProtocol(raw.protocol, at);
  const hostIp = canonicalIp(typeof raw.host_ip === 'string' ? raw.host_ip : null, at);
  const targets = portRange(raw.target, `${at}.target`);
  const published = absent(raw.published) || raw.published === '' ? null : portRange(raw.published, `${at}.published`);
  return pairPorts(published, targets, hostIp, protocol, at);
}

/** `[ip:][published:]target[/protocol]`, IPv6 hosts with or without brackets, ranges. */
export function parsePortSpec(spec: string, at = 'port'): PortMapping[] {
  const slash = spec.lastIndexOf('/');
  const protocol = readProtocol(slash === -1 ? undefined : spec.slice(slash + 1), at);
  const body = slash === -1 ? spec : spec.slice(0, slash);
  let hostIp: string | null = null;
  let rest = body;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(body);
  if (bracketed) {
    hostIp = bracketed[1] ?? null;
    rest = bracketed[2] ?? '';
  }
  const parts = rest.split(':');
  let publishedText: string | null = null;
  let targetText: string;
  if (parts.length === 1) {
    targetText = parts[0] ?? '';
  } else if (parts.length === 2 || bracketed) {
    if (parts.length !== 2) unreadable(at, 'a port mapping');
    publishedText = parts[0] ?? '';
    targetText = parts[1] ?? '';
  } else {
    hostIp = parts.slice(0, -2).join(':');
    publishedText = parts[parts.length - 2] ?? '';
    targetText = parts[parts.length - 1] ?? '';
  }
  const targets = portRange(targetText, at);
  const published = publishedText === null || publishedText === '' ? null : portRange(publishedText, at);
  return pairPorts(published, targets, canonicalIp(hostIp, at), protocol, at);
}

type Range = { low: number; high: number };

/** Equal-length ranges pair one to one; a published range onto one target books the range. */
function pairPorts(published: Range | null, targets: Range, hostIp: string | null, protocol: Protocol, at: string): PortMapping[] {
  const mapping = (pub: number | null, target: number, anyOf: Range | null = null): PortMapping => ({ hostIp, published: pub, target, protocol, anyOf });
  const count = targets.high - targets.low + 1;
  if (published === null) return Array.from({ length: count }, (_, i) => mapping(null, targets.low + i));
  const publishedCount = published.high - published.low + 1;
  if (publishedCount === count) return Array.from({ length: count }, (_, i) => mapping(published.low + i, targets.low + i));
  if (count === 1) return [mapping(published.low, targets.low, published)];
  unreadable(at, 'a port mapping whose published and target ranges have the same length');
}

function portRange(value: unknown, at: string): Range {
  if (typeof value === 'number') {
    const port = portNumber(value, at);
    return { low: port, high: port };
  }
  if (typeof value !== 'string') unreadable(at, 'a port number');
  const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(value);
  if (!match) unreadable(at, 'a port number or range');
  const low = portNumber(Number(match[1]), at);
  const high = match[2] === undefined ? low : portNumber(Number(match[2]), at);
  if (high < low) unreadable(at, 'a port range from low to high');
  return { low, high };
}

function portNumber(value: number, at: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) unreadable(at, 'a port number (0-65535)');
  return value;
}

function readProtocol(value: unknown, at: string): Protocol {
  if (absent(value) || value === '') return 'tcp';
  if (typeof value === 'string' && (value.toLowerCase() === 'tcp' || value.toLowerCase() === 'udp')) return value.toLowerCase() as Protocol;
  throw new AppError('validation', { key: 'error.compose_protocol_unsupported', params: { at, protocol: JSON.stringify(value) } });
}

/**
 * One spelling per address: IPv6 compressed and lower case (the URL parser's canonical
 * form), IPv4-mapped IPv6 as the IPv4 address it is. Anything that is not an address is
 * refused rather than compared as text.
 */
export function canonicalIp(ip: string | null, at = 'host_ip'): string | null {
  if (ip === null) return null;
  const bare = ip.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare === '') return null;
  if (net.isIPv4(bare)) return bare;
  if (!net.isIPv6(bare)) unreadable(at, `a host IP address (${JSON.stringify(ip)})`);
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Every address of the guest: what compose binds when no address is given. */
export function isWildcard(ip: string | null): boolean {
  return ip === null || ip === '0.0.0.0' || ip === '::';
}
