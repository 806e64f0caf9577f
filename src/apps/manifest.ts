/**
 * The app manifest, `.felhom.yml` (`felhom.app/v1`, documented in docs/felhom-yml.md).
 * It names the app, points at its compose file and declares every named volume with
 * its placement class. A bulk volume lives outside the guest backup (context/004 §7,
 * §8), so the manifest must carry an explicit backup decision for it: never a silent
 * loss.
 *
 * Errors are one `validation` AppError that lists every bad field by its path and says
 * what it must be; the same list is in `details.issues` for the UI.
 */
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';

export const MANIFEST_SCHEMA = 'felhom.app/v1';
export const MANIFEST_MAX_BYTES = 64 * 1024;
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 120;

export type VolumeClass = 'hot' | 'bulk';
export type VolumeBackup = 'own' | 'none';

/**
 * One declared volume. `backup` is present exactly when `class` is `bulk` (a hot volume
 * is always in the guest backup); the type stays flat so callers can read both fields.
 */
export interface ManifestVolume {
  class: VolumeClass;
  backup?: VolumeBackup | undefined;
  note?: string | undefined;
}

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  /** The compose project name too. */
  id: string;
  name: string;
  version: string;
  description?: string | undefined;
  /** Relative path of the compose file inside the app folder. */
  compose: string;
  web?: { service: string; port: number } | undefined;
  volumes: Record<string, ManifestVolume>;
  health_timeout_seconds: number;
}

export interface ManifestIssue {
  path: string;
  message: string;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
// No dots: each volume's directory has `<name>.seeded` and `<name>.seeding` beside it.
const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

const messages = {
  id: 'must be 1-31 characters: lower-case letters, digits, dashes, starting with a letter or digit',
  volumeName: 'must be a volume name: letters, digits, "_" and "-", starting with a letter or digit',
  bulkBackup:
    'a bulk volume must say how it is backed up: "backup: own" (the controller backs it up to a target of its own) or "backup: none" ' +
    '(the data can be re-created or downloaded again), because bulk volumes are excluded from the guest backup',
  hotBackup: 'a hot volume must not set backup: it is always covered by the guest backup (remove the field, or make the volume bulk)',
  compose: 'must be a relative path inside the app folder, without ".." segments (e.g. compose.yml)',
};

/** A required field of a given kind, with messages people understand. */
const typed = (kind: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`),
});

const text = (max: number) =>
  z
    .string(typed('a string'))
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const composePath = z
  .string(typed('a string'))
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine(isRelativeInside, messages.compose)
  .transform((value) => path.posix.normalize(value.replaceAll('\\', '/')))
  .refine((value) => !['.felhom.yml', 'felhom.override.yml'].includes(value), { message: 'must not be the manifest or the override file the controller writes', abort: true })
  // Compose reads a dot file such as `.env` as settings of its own.
  .refine((value) => /\.ya?ml$/.test(value) && !value.split('/').some((part) => part.startsWith('.')), 'must be a .yml or .yaml file, with no part of its path starting with "."');

const volumeSchema = z
  .strictObject(
    {
      class: z.enum(['hot', 'bulk'], typed('"hot" or "bulk"')),
      backup: z.enum(['own', 'none'], typed('"own" or "none"')).optional(),
      note: text(500).optional(),
    },
    typed('a mapping with class: hot or bulk'),
  )
  .superRefine((volume, ctx) => {
    if (volume.class === 'bulk' && volume.backup === undefined) ctx.addIssue({ code: 'custom', path: ['backup'], message: messages.bulkBackup });
    if (volume.class === 'hot' && volume.backup !== undefined) ctx.addIssue({ code: 'custom', path: ['backup'], message: messages.hotBackup });
  });

const manifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA, typed(`"${MANIFEST_SCHEMA}"`)),
  id: z.string(typed('a string')).regex(ID_PATTERN, messages.id),
  name: text(100),
  version: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string: quote it, e.g. version: "1.4.2"') })
    .trim()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters'),
  description: text(1000).optional(),
  compose: composePath.default('compose.yml'),
  web: z
    .strictObject(
      {
        service: text(63),
        port: z.number(typed('a port number')).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535'),
      },
      typed('a mapping with service and port'),
    )
    .optional(),
  volumes: z
    .record(z.string().regex(VOLUME_NAME_PATTERN, messages.volumeName), volumeSchema, typed('a mapping of volume names'))
    .default({}),
  health_timeout_seconds: z
    .number(typed('a number of seconds'))
    .int('must be a whole number of seconds')
    .min(10, 'must be 10-3600 seconds')
    .max(3600, 'must be 10-3600 seconds')
    .default(DEFAULT_HEALTH_TIMEOUT_SECONDS),
});

const KNOWN_FIELDS = Object.keys(manifestSchema.shape);

/** Parses and validates `.felhom.yml` text; throws one `validation` AppError listing every problem. */
export function parseManifest(text: string): Manifest {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MANIFEST_MAX_BYTES) {
    throw invalid([{ path: '(file)', message: `is ${bytes} bytes; a manifest may be at most ${MANIFEST_MAX_BYTES} bytes (64 KiB)` }]);
  }
  // A UTF-16 file read as UTF-8 is full of NUL characters; say so rather than "not a mapping".
  if (text.includes('\u0000')) throw invalid([{ path: '(file)', message: 'is not UTF-8 text (it holds NUL characters; a UTF-16 file?); save it as UTF-8' }]);
  const raw = parseYaml(text);
  if (raw === null || raw === undefined) throw invalid([{ path: '(file)', message: 'is empty' }]);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid([{ path: '(file)', message: 'must be a mapping of fields (schema, id, name, …)' }]);

  // Extension fields (`x-…`) are for the app author's own use; any other unknown key is
  // most likely a typo, and a typo in a volume declaration would lose a backup decision.
  const fields: Record<string, unknown> = {};
  const issues: ManifestIssue[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key.startsWith('x-')) continue;
    if (KNOWN_FIELDS.includes(key)) fields[key] = value;
    else issues.push({ path: key, message: `is not a manifest field (known: ${KNOWN_FIELDS.join(', ')}; extension fields start with "x-")` });
  }
  // zod's records skip `__proto__`: a volume of that name would vanish with its backup decision.
  for (const section of ['volumes', 'web'] as const) {
    const value = fields[section];
    if (value && typeof value === 'object' && Object.hasOwn(value, '__proto__')) issues.push({ path: `${section}.__proto__`, message: 'is not a name the manifest may use' });
  }
  const result = manifestSchema.safeParse(fields);
  if (!result.success) issues.push(...result.error.issues.flatMap(toIssues));
  if (issues.length > 0) throw invalid(issues);
  const manifest: Manifest = result.data!;
  return manifest;
}

/** The declared volumes as a list, in manifest order (the shape placement takes). */
export function manifestVolumes(manifest: Manifest): Array<{ volume: string } & ManifestVolume> {
  return Object.entries(manifest.volumes).map(([volume, spec]) => ({ volume, ...spec }));
}

function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) throw new AppError('validation', `the app manifest (.felhom.yml) is not valid YAML: ${error.message}`, { cause: error });
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (cause) {
    throw new AppError('validation', `the app manifest (.felhom.yml) is not valid YAML: ${(cause as Error).message}`, { cause });
  }
}

function toIssues(issue: z.core.$ZodIssue): ManifestIssue[] {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = at.startsWith('volumes.') ? 'class, backup, note' : at === 'web' ? 'service, port' : '';
    return issue.keys.map((key) => ({ path: at ? `${at}.${key}` : key, message: `is not a known field${allowed ? ` (known: ${allowed})` : ''}` }));
  }
  if (issue.code === 'invalid_key') {
    return [{ path: at, message: `"${String(issue.path[issue.path.length - 1])}" ${messages.volumeName}` }];
  }
  return [{ path: at || '(file)', message: issue.message }];
}

function invalid(issues: ManifestIssue[]): AppError {
  const lines = issues.map((issue) => `${issue.path}: ${issue.message}`);
  return new AppError('validation', `the app manifest (.felhom.yml) is not valid:\n${lines.map((line) => `- ${line}`).join('\n')}`, {
    details: { issues },
  });
}

function isRelativeInside(value: string): boolean {
  const unified = value.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[a-zA-Z]:/.test(unified) || unified.includes('\0')) return false;
  if (unified.split('/').includes('..')) return false;
  const normalized = path.posix.normalize(unified);
  return normalized !== '.' && normalized !== '' && !normalized.endsWith('/');
}
