/**
 * The app manifest, `.felhom.yml` (`felhom.app/v1`, documented in docs/felhom-yml.md).
 * It names the app, points at its compose file and declares every named volume with
 * its placement class. A bulk volume lives outside the guest backup (context/004 §7,
 * §8), so the manifest must carry an explicit backup decision for it: never a silent
 * loss.
 *
 * Errors are one `validation` AppError that lists every bad field by its path and says
 * what it must be; the same list is in `details.issues` for the UI, each problem as a
 * catalog message (`text`) beside its English (`message`).
 */
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { inEnglish, type Message, type MessageKey, type Params } from '../i18n/index.ts';

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
  /** What is wrong, as a catalog message: the UI renders it in the customer's language. */
  text: Message;
  /** The same in English (the API, the log): `text` rendered in English. */
  message: string;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
// No dots: each volume's directory has `<name>.seeded` and `<name>.seeding` beside it.
const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/**
 * zod carries each problem as a string, so the schema's messages are catalog messages
 * written as JSON, and `toIssues` reads them back.
 */
const say = (key: MessageKey, params?: Params): string => JSON.stringify(params ? { key, params } : { key });

/** A required field of a given kind, with messages people understand. */
const typed = (kind: MessageKey | Message) => ({
  error: (issue: { input: unknown }) =>
    issue.input === undefined ? say('manifest.required') : say('manifest.must_be', { kind: typeof kind === 'string' ? { key: kind } : kind }),
});

const text = (max: number) =>
  z
    .string(typed('manifest.kind_string'))
    .trim()
    .min(1, say('manifest.empty'))
    .max(max, say('manifest.too_long', { max }));

const composePath = z
  .string(typed('manifest.kind_string'))
  .min(1, say('manifest.empty'))
  .max(255, say('manifest.too_long', { max: 255 }))
  .refine(isRelativeInside, say('manifest.compose_not_inside'))
  .transform((value) => path.posix.normalize(value.replaceAll('\\', '/')))
  .refine((value) => !['.felhom.yml', 'felhom.override.yml'].includes(value), { message: say('manifest.compose_reserved'), abort: true })
  // Compose reads a dot file such as `.env` as settings of its own.
  .refine((value) => /\.ya?ml$/.test(value) && !value.split('/').some((part) => part.startsWith('.')), say('manifest.compose_not_yaml_file'));

const volumeSchema = z
  .strictObject(
    {
      class: z.enum(['hot', 'bulk'], typed('manifest.kind_class')),
      backup: z.enum(['own', 'none'], typed('manifest.kind_backup')).optional(),
      note: text(500).optional(),
    },
    typed('manifest.kind_volume'),
  )
  .superRefine((volume, ctx) => {
    if (volume.class === 'bulk' && volume.backup === undefined) ctx.addIssue({ code: 'custom', path: ['backup'], message: say('manifest.bulk_backup_missing') });
    if (volume.class === 'hot' && volume.backup !== undefined) ctx.addIssue({ code: 'custom', path: ['backup'], message: say('manifest.hot_backup_set') });
  });

const manifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA, typed({ key: 'manifest.kind_schema', params: { schema: MANIFEST_SCHEMA } })),
  id: z.string(typed('manifest.kind_string')).regex(ID_PATTERN, say('manifest.id_format')),
  name: text(100),
  version: z
    .string({ error: (issue) => say(issue.input === undefined ? 'manifest.required' : 'manifest.version_not_string') })
    .trim()
    .min(1, say('manifest.empty'))
    .max(64, say('manifest.too_long', { max: 64 })),
  description: text(1000).optional(),
  compose: composePath.default('compose.yml'),
  web: z
    .strictObject(
      {
        service: text(63),
        port: z.number(typed('manifest.kind_port')).int(say('manifest.whole_number')).min(1, say('manifest.port_range')).max(65535, say('manifest.port_range')),
      },
      typed('manifest.kind_web'),
    )
    .optional(),
  volumes: z
    .record(z.string().regex(VOLUME_NAME_PATTERN, say('manifest.volume_name_format')), volumeSchema, typed('manifest.kind_volumes'))
    .default({}),
  health_timeout_seconds: z
    .number(typed('manifest.kind_seconds'))
    .int(say('manifest.whole_seconds'))
    .min(10, say('manifest.health_timeout_range'))
    .max(3600, say('manifest.health_timeout_range'))
    .default(DEFAULT_HEALTH_TIMEOUT_SECONDS),
});

const KNOWN_FIELDS = Object.keys(manifestSchema.shape);

/** Parses and validates `.felhom.yml` text; throws one `validation` AppError listing every problem. */
export function parseManifest(text: string): Manifest {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MANIFEST_MAX_BYTES) {
    throw invalid([issue('(file)', { key: 'manifest.too_large', params: { bytes, max: MANIFEST_MAX_BYTES } })]);
  }
  // A UTF-16 file read as UTF-8 is full of NUL characters; say so rather than "not a mapping".
  if (text.includes('\u0000')) throw invalid([issue('(file)', { key: 'manifest.not_utf8' })]);
  const raw = parseYaml(text);
  if (raw === null || raw === undefined) throw invalid([issue('(file)', { key: 'manifest.empty_file' })]);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid([issue('(file)', { key: 'manifest.not_mapping' })]);

  // Extension fields (`x-…`) are for the app author's own use; any other unknown key is
  // most likely a typo, and a typo in a volume declaration would lose a backup decision.
  const fields: Record<string, unknown> = {};
  const issues: ManifestIssue[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key.startsWith('x-')) continue;
    if (KNOWN_FIELDS.includes(key)) fields[key] = value;
    else issues.push(issue(key, { key: 'manifest.unknown_field', params: { known: KNOWN_FIELDS.join(', ') } }));
  }
  // zod's records skip `__proto__`: a volume of that name would vanish with its backup decision.
  for (const section of ['volumes', 'web'] as const) {
    const value = fields[section];
    if (value && typeof value === 'object' && Object.hasOwn(value, '__proto__')) issues.push(issue(`${section}.__proto__`, { key: 'manifest.name_not_allowed' }));
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
  if (error) throw new AppError('validation', { key: 'manifest.not_yaml', params: { reason: error.message } }, { cause: error });
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (cause) {
    throw new AppError('validation', { key: 'manifest.not_yaml', params: { reason: (cause as Error).message } }, { cause });
  }
}

function toIssues(problem: z.core.$ZodIssue): ManifestIssue[] {
  const at = problem.path.map(String).join('.');
  if (problem.code === 'unrecognized_keys') {
    const allowed = at.startsWith('volumes.') ? 'class, backup, note' : at === 'web' ? 'service, port' : '';
    const text: Message = allowed ? { key: 'manifest.unknown_key_of', params: { known: allowed } } : { key: 'manifest.unknown_key' };
    return problem.keys.map((key) => issue(at ? `${at}.${key}` : key, text));
  }
  if (problem.code === 'invalid_key') {
    return [issue(at, { key: 'manifest.volume_name_invalid', params: { name: String(problem.path[problem.path.length - 1]) } })];
  }
  return [issue(at || '(file)', readSaid(problem.message))];
}

/** A message of the schema's `say`; a message zod wrote itself is kept as it is, in English. */
function readSaid(message: string): Message {
  try {
    return JSON.parse(message) as Message;
  } catch {
    return { key: 'manifest.unworded', params: { problem: message } };
  }
}

function issue(path: string, text: Message): ManifestIssue {
  return { path, text, message: inEnglish(text) };
}

/** A manifest problem as one line, `path: problem`, in whichever language renders it. */
export function issueLine(problem: ManifestIssue): Message {
  return { key: 'manifest.line', params: { path: problem.path, problem: problem.text } };
}

function invalid(issues: ManifestIssue[]): AppError {
  const lines = issues.map((problem) => `- ${inEnglish(issueLine(problem))}`).join('\n');
  return new AppError('validation', { key: 'manifest.invalid', params: { lines } }, { details: { issues } });
}

function isRelativeInside(value: string): boolean {
  const unified = value.replaceAll('\\', '/');
  if (unified.startsWith('/') || /^[a-zA-Z]:/.test(unified) || unified.includes('\0')) return false;
  if (unified.split('/').includes('..')) return false;
  const normalized = path.posix.normalize(unified);
  return normalized !== '.' && normalized !== '' && !normalized.endsWith('/');
}
