/**
 * The catalog: folders of apps, one sub-folder per app, each a `.felhom.yml` and its
 * compose file, exactly what a customer could upload themselves (docs/catalog.md). The
 * built-in one is compose/apps/; `FELHOM_CATALOG_DIR` may name several folders, and an
 * app id found in two of them is taken from the first: a later folder cannot shadow a
 * built-in app by accident, and one listed earlier can replace it on purpose.
 *
 * Beside the manifest's own fields a catalog app carries `x-catalog` (its category and
 * Hungarian description; parseManifest ignores `x-` fields) and may have an `icon.svg`.
 * Both are presentation: the icon is never copied into the installed app.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { MANIFEST_FILE, type AppFiles } from './app-folder.ts';
import { parseManifest, type Manifest } from './manifest.ts';

export const defaultCatalogDir = fileURLToPath(new URL('../../compose/apps', import.meta.url));

export const CATALOG_CATEGORIES = [
  'photos',
  'files',
  'passwords',
  'media',
  'music',
  'books',
  'documents',
  'notes',
  'household',
  'finance',
  'calendar',
  'network',
  'dashboard',
  'monitoring',
  'development',
  'news',
  'demo',
] as const;
export type CatalogCategory = (typeof CATALOG_CATEGORIES)[number];

export const ICON_FILE = 'icon.svg';
/** An icon is a small drawing; anything bigger is not one of ours. */
const ICON_MAX_BYTES = 32 * 1024;

export interface CatalogEntry {
  id: string;
  manifest: Manifest;
  category: CatalogCategory;
  description: { en: string; hu: string };
  /** Absolute path of the folder's icon.svg, or null when it has none (or one that is refused). */
  icon: string | null;
}

/** A catalog folder that could not be offered, or an icon that was refused, and why (in English: it is for whoever maintains the catalog). */
export interface CatalogProblem {
  folder: string;
  problem: string;
}

export interface CatalogListing {
  entries: CatalogEntry[];
  problems: CatalogProblem[];
}

const catalogSchema = z.strictObject({
  category: z.enum(CATALOG_CATEGORIES, { error: `must be one of ${CATALOG_CATEGORIES.join(', ')}` }),
  description_hu: z.string({ error: 'must be the Hungarian description, as text' }).trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
});

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

/**
 * Every app of the catalog folders, in id order. A broken folder (a manifest that does
 * not parse, a missing or bad `x-catalog`) is left out and reported in `problems`
 * rather than failing the whole listing: one bad entry must not empty the store page.
 */
export async function listCatalog(dirs: string[]): Promise<CatalogListing> {
  const seen = new Set<string>();
  const entries: CatalogEntry[] = [];
  const problems: CatalogProblem[] = [];
  for (const dir of dirs) {
    for (const id of await subfolders(dir)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const folder = path.join(dir, id);
      try {
        const { entry, iconProblem } = await readEntry(folder, id);
        entries.push(entry);
        if (iconProblem) problems.push({ folder, problem: iconProblem });
      } catch (error) {
        problems.push({ folder, problem: (error as Error).message });
      }
    }
  }
  entries.sort((a, b) => a.id.localeCompare(b.id));
  return { entries, problems };
}

/** The files of a catalog app, to install or update it: the first folder holding the id. */
export async function readCatalogApp(dirs: string[], id: string): Promise<AppFiles> {
  if (!ID_PATTERN.test(id)) throw new AppError('validation', { key: 'error.catalog_id_invalid', params: { id } });
  for (const dir of dirs) {
    const folder = path.join(dir, id);
    let names: string[];
    try {
      names = (await fs.readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    } catch {
      continue;
    }
    const files: Record<string, string> = {};
    for (const name of names) {
      if (name !== MANIFEST_FILE && name !== ICON_FILE) files[name] = await fs.readFile(path.join(folder, name), 'utf8');
    }
    return { manifest: await fs.readFile(path.join(folder, MANIFEST_FILE), 'utf8'), files };
  }
  throw new AppError('not_found', { key: 'error.catalog_no_app', params: { id } });
}

/**
 * What is wrong with an icon, empty when nothing: it must be an SVG drawing with a
 * viewBox and nothing that runs or fetches. The store serves it from the controller's
 * own origin, where a script in it would act as the signed-in customer.
 */
export function iconProblems(svg: string): string[] {
  const problems: string[] = [];
  if (Buffer.byteLength(svg, 'utf8') > ICON_MAX_BYTES) problems.push(`is larger than ${ICON_MAX_BYTES} bytes`);
  // Comments and the XML declaration aside, the file is one <svg> element.
  const body = svg.replace(/<!--[\s\S]*?-->/g, '').replace(/^\s*<\?xml[^>]*\?>/, '');
  const root = /^\s*<svg\b([^>]*)>/.exec(body);
  if (!root || !/<\/svg>\s*$/.test(body)) problems.push('is not an SVG document (<svg …> … </svg>)');
  else if (!/\sviewBox\s*=\s*["'][^"']+["']/.test(root[1] ?? '')) problems.push('has no viewBox on <svg>');
  else if (!wellFormed(body)) problems.push('is not well-formed (a tag not closed, or closed out of order)');
  if (/<script\b/i.test(svg)) problems.push('holds a <script>');
  if (/<foreignObject\b/i.test(svg)) problems.push('holds a <foreignObject>');
  if (/\son[a-z]+\s*=/i.test(svg)) problems.push('has an event attribute (on…=)');
  if (/href\s*=\s*["']?\s*(https?:|\/\/|javascript:|data:)/i.test(svg)) problems.push('refers to something outside the file (href)');
  if (/url\(\s*["']?\s*(https?:|\/\/|data:|javascript:)/i.test(svg) || /@import/i.test(svg)) problems.push('refers to something outside the file (url() or @import)');
  if (/<!(DOCTYPE|ENTITY)/i.test(svg)) problems.push('declares a DOCTYPE or entities');
  return problems;
}

/** Tags open and close in order: enough to tell a drawing from a broken or truncated file. */
function wellFormed(body: string): boolean {
  const tags = [...body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>/g)];
  // Every `<` must start a tag the pattern read: a stray one is a broken tag or attribute.
  if (tags.length !== (body.match(/</g) ?? []).length) return false;
  const open: string[] = [];
  for (const [, closing, name, selfClosing] of tags) {
    if (closing) {
      if (open.pop() !== name) return false;
    } else if (!selfClosing) open.push(name!);
  }
  return open.length === 0;
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    // A catalog folder that is not there offers nothing; the others still do.
    return [];
  }
}

async function readEntry(folder: string, id: string): Promise<{ entry: CatalogEntry; iconProblem: string | null }> {
  const text = await fs.readFile(path.join(folder, MANIFEST_FILE), 'utf8');
  const manifest = parseManifest(text);
  if (manifest.id !== id) throw new Error(`the manifest's id "${manifest.id}" is not the folder's name "${id}"`);
  if (!manifest.description) throw new Error('a catalog app needs a description (the English one)');
  const extra = (parse(text, { merge: true }) as Record<string, unknown>)['x-catalog'];
  if (extra === undefined) throw new Error('x-catalog is missing: a catalog app needs { category, description_hu }');
  const parsed = catalogSchema.safeParse(extra);
  if (!parsed.success) {
    const said = parsed.error.issues.map((issue) => `x-catalog${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')} (known: category, description_hu)` : issue.message}`);
    throw new Error(said.join('; '));
  }
  const { icon, iconProblem } = await readIcon(folder);
  return {
    entry: { id, manifest, category: parsed.data.category, description: { en: manifest.description, hu: parsed.data.description_hu }, icon },
    iconProblem,
  };
}

async function readIcon(folder: string): Promise<{ icon: string | null; iconProblem: string | null }> {
  const file = path.join(folder, ICON_FILE);
  let svg: string;
  try {
    svg = await fs.readFile(file, 'utf8');
  } catch {
    return { icon: null, iconProblem: null };
  }
  const problems = iconProblems(svg);
  return problems.length === 0 ? { icon: file, iconProblem: null } : { icon: null, iconProblem: `${ICON_FILE} refused: it ${problems.join(', ')}` };
}
