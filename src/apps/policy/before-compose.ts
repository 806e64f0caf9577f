/**
 * What must be judged before compose runs at all. `compose config` itself opens files
 * the compose file names and folds their contents into its output, or fails with an
 * error that tells whether they exist: `env_file` and `label_file` (their contents),
 * `extends.file` and `include` (other compose files, outside this check's reach), a
 * `build` context (v1 checks it exists), a custom seccomp profile (v1 reads it as JSON,
 * so the agent's bootstrap.json would land in the output). A path outside the app folder
 * would leak the guest's files (/etc/shadow, the controller's database, another app's
 * secrets) before the policy saw a thing.
 *
 * So a file compose reads must be a plain relative path inside the app folder: no
 * `..`, no `~` (compose expands it to the home directory) and no `$` (compose
 * interpolates before it opens the file, so `${X:-/etc/shadow}` is /etc/shadow). Other
 * compose files are never read: the app is its one compose file. The file must also
 * have a `services` mapping, since compose v1 reads a file without one as the legacy
 * format, where every top-level key is a service that this check would not see.
 */
import { isRecord } from '../../stacks/index.ts';
import type { Message } from '../../i18n/index.ts';
import { violation, type PolicyViolation } from './checks.ts';
import type { ComposeDocument } from './compose-text.ts';
import { MAX_PUBLISHED_PORTS, tooManyPorts } from './host-ports.ts';
import { refusedKey } from './known-keys.ts';
import { MAX_CONTAINERS } from './limits.ts';
import { ENVIRONMENT_SOURCE_REFUSED } from './mounts.ts';
import { BUILD_REFUSED } from './privileges.ts';

const TOP_LEVEL_KEYS = new Set(['services', 'volumes', 'networks', 'secrets', 'configs', 'name', 'version']);

/** A relative path of plain names: what compose resolves inside the folder, whatever it expands. */
const PLAIN_RELATIVE_PATH = /^(?:\.\/)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_.][A-Za-z0-9._-]*$/;
const SECCOMP_BUILTIN = new Set(['unconfined', 'default', 'builtin']);

export function checkBeforeCompose(document: ComposeDocument): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const add = (service: string | null, key: string, text: Message) => violations.push(violation(service, key, text));

  for (const key of Object.keys(document)) {
    if (key.startsWith('x-') || TOP_LEVEL_KEYS.has(key)) continue;
    if (key === 'include') add(null, 'include', { key: 'policy.include' });
    else add(null, key, { key: 'policy.top_level_unknown' });
  }
  // compose v1 reads a file without services (or with none) as the legacy format, where
  // every top-level key, `x-` ones too, is a service that no check here would see.
  if (!isRecord(document.services) || Object.keys(document.services).length === 0) {
    add(null, 'services', { key: 'policy.services_missing' });
    return violations;
  }
  const serviceCount = Object.keys(document.services).length;
  if (serviceCount > MAX_CONTAINERS) add(null, 'services', { key: 'policy.too_many_services', params: { count: serviceCount, max: MAX_CONTAINERS } });

  for (const [name, service] of Object.entries(document.services)) {
    if (!isRecord(service)) {
      add(name, '(service)', { key: 'policy.service_not_mapping' });
      continue;
    }
    for (const entry of asList(service.env_file)) {
      const problem = fileProblem(isRecord(entry) ? entry.path : entry);
      if (problem) add(name, 'env_file', problem);
    }
    if (service.label_file !== undefined) add(name, 'label_file', { key: 'policy.label_file' });
    if (isRecord(service.extends) && service.extends.file !== undefined) {
      add(name, 'extends.file', { key: 'policy.extends_file' });
    }
    // compose v1 checks that a build context exists, and reads a credential spec's file.
    if (service.build !== undefined) add(name, 'build', BUILD_REFUSED);
    if (service.credential_spec !== undefined) add(name, 'credential_spec', refusedKey('credential_spec'));
    for (const option of asList(service.security_opt)) {
      // compose v1 opens a seccomp profile during config, after interpolating: the value
      // judged here must be the one it opens, so options hold no variables.
      if (typeof option !== 'string' || option.includes('$')) {
        add(name, 'security_opt', { key: 'policy.security_opt_variable', params: { option: JSON.stringify(option) } });
        continue;
      }
      const profile = /seccomp\s*[:=](.*)$/i.exec(option)?.[1]?.trim();
      if (profile !== undefined && !SECCOMP_BUILTIN.has(profile.toLowerCase())) {
        add(name, 'security_opt', { key: 'policy.seccomp_file', params: { profile } });
      }
    }
  }

  // Counted before compose expands the ranges: 1-65535 costs compose gigabytes to print.
  const ports = Object.values(document.services).reduce((sum: number, service) => sum + (isRecord(service) ? asList(service.ports).reduce((n: number, port) => n + portCount(port), 0) : 0), 0);
  if (ports > MAX_PUBLISHED_PORTS) violations.push(tooManyPorts(ports));

  for (const kind of ['secrets', 'configs'] as const) {
    const definitions = isRecord(document[kind]) ? document[kind] : {};
    for (const [key, definition] of Object.entries(definitions)) {
      if (!isRecord(definition)) continue;
      if (definition.file !== undefined) {
        const problem = fileProblem(definition.file);
        if (problem) add(null, `${kind}.${key}.file`, problem);
      }
      if (definition.environment !== undefined) {
        add(null, `${kind}.${key}.environment`, ENVIRONMENT_SOURCE_REFUSED);
      }
    }
  }
  return violations;
}

/** Why a file path compose would open is refused, or null when it is plainly inside the folder. */
function fileProblem(file: unknown): Message | null {
  if (typeof file !== 'string') return { key: 'policy.file_not_path', params: { value: JSON.stringify(file) ?? String(file) } };
  if (!PLAIN_RELATIVE_PATH.test(file) || file.split('/').includes('..')) {
    return { key: 'policy.file_not_inside', params: { file } };
  }
  return null;
}

/** How many ports one `ports` entry makes: as many as its container ports, as written. */
function portCount(port: unknown): number {
  const target = isRecord(port) ? String(port.target ?? '') : (String(port).split('/')[0] ?? '').split(':').pop() ?? '';
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(target);
  return range ? Math.abs(Number(range[2]) - Number(range[1])) + 1 : 1;
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
