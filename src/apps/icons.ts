/**
 * An app's icon as the pages show it: the catalog's icon.svg when the app comes from the
 * catalog and has one, else a monogram (the first letter of its name on a coloured
 * square). The colour is picked from the id, so an app keeps its colour on every page and
 * across restarts, and two apps with the same initial usually differ.
 */
import type { CatalogEntry } from './catalog.ts';

export interface AppIcon {
  /** Where the image is served (GET /store/icons/<id>.svg), or null for the monogram. */
  src: string | null;
  letter: string;
  /** Which of the stylesheet's monogram colours (`.tone-0` … `.tone-7`). */
  tone: number;
}

export const MONOGRAM_TONES = 8;

export const catalogIconUrl = (catalogId: string) => `/store/icons/${encodeURIComponent(catalogId)}.svg`;

/** The catalog folder an app was installed from (`catalog:<id>`), or null for an upload. */
const catalogIdOf = (source: string): string | null => (source.startsWith('catalog:') ? source.slice('catalog:'.length) || null : null);

export function appIcon(id: string, name: string, src: string | null): AppIcon {
  // The first character as a person sees it (not half of a surrogate pair).
  const first = Array.from(name.trim())[0] ?? Array.from(id)[0] ?? '?';
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return { src, letter: first.toLocaleUpperCase(), tone: hash % MONOGRAM_TONES };
}

/** An installed app's icon: the catalog's when it was installed from the catalog and the entry there has one. */
export function installedAppIcon(app: { id: string; name: string; source: string }, catalog: CatalogEntry[]): AppIcon {
  const catalogId = catalogIdOf(app.source);
  const entry = catalogId === null ? undefined : catalog.find((e) => e.id === catalogId);
  return appIcon(app.id, app.name, entry?.icon ? catalogIconUrl(entry.id) : null);
}
