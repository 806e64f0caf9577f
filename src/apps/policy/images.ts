/**
 * Where the engine fetches an app's images from. Docker speaks plain HTTP to registries
 * on 127.0.0.0/8 and follows a registry's authentication realm wherever it points, so an
 * image named `127.0.0.1:8443/x` makes the engine send requests to the guest's own
 * services. Images come from registries on the internet, named by a public DNS name;
 * a registry on the guest, an address or a local name is allowed only when the operator
 * lists it (FELHOM_REGISTRIES).
 */
import net from 'node:net';
import type { ComposeModel } from '../../stacks/index.ts';
import { violation, type PolicyViolation } from './checks.ts';

const LOCAL_SUFFIXES = ['.local', '.localhost', '.internal', '.lan', '.home', '.home.arpa', '.localdomain'];

/** The registry an image reference names (`host[:port]`), or null for Docker Hub. */
export function registryOf(image: string): string | null {
  const slash = image.indexOf('/');
  if (slash === -1) return null;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : null;
}

export function checkImages(model: ComposeModel, allowedRegistries: string[]): PolicyViolation[] {
  const allowed = new Set(allowedRegistries.map((registry) => registry.toLowerCase()));
  const violations: PolicyViolation[] = [];
  for (const service of model.services) {
    const registry = service.image === null ? null : registryOf(service.image);
    if (registry === null || allowed.has(registry.toLowerCase())) continue;
    const host = registry.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const local = host === 'localhost' || net.isIP(host) !== 0 || !host.includes('.') || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix));
    if (local) {
      violations.push(violation(service.name, 'image', { key: 'policy.image_local_registry', params: { image: service.image!, registry } }));
    }
  }
  return violations;
}

/**
 * Whether pulling `image` needs the internet: its registry is not one the operator
 * listed (FELHOM_REGISTRIES). On an offline box (FELHOM_OFFLINE) such an image is
 * never asked for.
 */
export function needsInternet(image: string, allowedRegistries: string[]): boolean {
  const registry = registryOf(image);
  return registry === null || !allowedRegistries.some((allowed) => allowed.toLowerCase() === registry.toLowerCase());
}
