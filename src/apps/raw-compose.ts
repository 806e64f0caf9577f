/**
 * What must be judged before `compose config` runs: config itself reads the files an
 * app names in `env_file`, `label_file`, `extends.file` and `include`, and folds their
 * contents into its output, so a path outside the app folder (/etc/shadow, the
 * controller's database) would leak host files into the app before the policy saw it.
 */
import path from 'node:path';
import { parse } from 'yaml';
import { AppError } from '../errors.ts';
import type { PolicyViolation } from './policy.ts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function checkRawCompose(text: string, appDir: string): PolicyViolation[] {
  let document: unknown;
  try {
    document = parse(text, { merge: true, maxAliasCount: 1000 });
  } catch (error) {
    throw new AppError('validation', `the compose file is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isObject(document)) throw new AppError('validation', 'the compose file must be a YAML mapping with a "services" key');
  const violations: PolicyViolation[] = [];
  const outside = (service: string | null, key: string, file: unknown) => {
    if (typeof file !== 'string') return;
    const resolved = path.resolve(appDir, file);
    if (resolved !== appDir && !resolved.startsWith(appDir + path.sep)) {
      violations.push({ service, key, message: `reads ${file}, outside the app folder; only files shipped with the app may be used` });
    }
  };

  for (const entry of asList(document.include)) {
    if (isObject(entry)) {
      for (const file of asList(entry.path)) outside(null, 'include', file);
      for (const file of asList(entry.env_file)) outside(null, 'include.env_file', file);
      outside(null, 'include.project_directory', entry.project_directory);
    } else {
      outside(null, 'include', entry);
    }
  }
  const services = isObject(document.services) ? document.services : {};
  for (const [name, service] of Object.entries(services)) {
    if (!isObject(service)) continue;
    for (const file of asList(service.env_file)) outside(name, 'env_file', isObject(file) ? file.path : file);
    for (const file of asList(service.label_file)) outside(name, 'label_file', file);
    if (isObject(service.extends)) outside(name, 'extends.file', service.extends.file);
  }
  return violations;
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
