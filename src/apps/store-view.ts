/**
 * What the store page shows of the catalog: each entry in the customer's language, its
 * icon, whether it is installed and whether it can be installed here now, found by a
 * search and narrowed to one category. The search ignores case and accents, so "kep"
 * finds "Képek" and "Kép" finds "kép": people type Hungarian without its accents.
 */
import { locales, translator, type Locale, type MessageKey } from '../i18n/index.ts';
import { CATALOG_CATEGORIES, type CatalogCategory, type CatalogEntry } from './catalog.ts';
import { appIcon, catalogIconUrl, type AppIcon } from './icons.ts';

/**
 * Whether a catalog app can be installed on this server now: `needs_internet` when its
 * images are neither in the engine nor in a registry the server reaches, so installing it
 * has to download them. null when nobody asked (no badge).
 */
export type Availability = 'ready' | 'needs_internet' | null;

/** Decides an entry's availability; the store asks once per entry and page. */
export type CatalogAvailability = (entry: CatalogEntry) => Availability | Promise<Availability>;

export interface StoreCard {
  /** The catalog folder (what an install names). */
  id: string;
  /** The app id it installs as (what its page is under). */
  appId: string;
  name: string;
  version: string;
  description: string;
  category: CatalogCategory;
  icon: AppIcon;
  installed: boolean;
  availability: Availability;
}

export interface StoreView {
  /** The entries that match, in catalog order. */
  cards: StoreCard[];
  /** Every category the catalog has, in the catalog's order, with how many apps it holds (the search aside). */
  categories: Array<{ id: CatalogCategory; count: number }>;
  total: number;
  query: string;
  /** The chosen category; null for all (also when the one asked for has no apps). */
  category: CatalogCategory | null;
}

/** Lower case without accents or other combining marks: what both the query and the text become before they are compared. */
export const fold = (text: string): string => text.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase('hu');

const categoryKey = (category: CatalogCategory) => `category.${category}` as MessageKey;
const translators = locales.map((locale) => translator(locale));

/** Everything a search looks in: the name, the id, the description and the category in every language. */
function haystack(entry: CatalogEntry): string {
  return fold([entry.manifest.name, entry.id, entry.description.en, entry.description.hu, ...translators.map((t) => t(categoryKey(entry.category)))].join('\n'));
}

export function storeView(
  entries: CatalogEntry[],
  options: { locale: Locale; query: string; category: string; installed: (appId: string) => boolean; availability: Map<string, Availability> },
): StoreView {
  const counts = new Map<CatalogCategory, number>();
  for (const entry of entries) counts.set(entry.category, (counts.get(entry.category) ?? 0) + 1);
  const present = CATALOG_CATEGORIES.filter((c) => counts.has(c));
  const category = present.find((c) => c === options.category) ?? null;
  const query = options.query.trim().slice(0, 100);
  // Every word must occur somewhere, in any order.
  const words = fold(query).split(/\s+/).filter(Boolean);
  const cards = entries
    .filter((entry) => category === null || entry.category === category)
    .filter((entry) => {
      const text = haystack(entry);
      return words.every((word) => text.includes(word));
    })
    .map((entry) => ({
      id: entry.id,
      appId: entry.manifest.id,
      name: entry.manifest.name,
      version: entry.manifest.version,
      // Hungarian when the customer reads Hungarian and the catalog has it, else English.
      description: (options.locale === 'hu' && entry.description.hu) || entry.description.en,
      category: entry.category,
      icon: appIcon(entry.manifest.id, entry.manifest.name, entry.icon ? catalogIconUrl(entry.id) : null),
      installed: options.installed(entry.manifest.id),
      availability: options.availability.get(entry.id) ?? null,
    }))
    // What can be installed from here first: on an offline box, the apps that need the internet come last.
    .sort((a, b) => Number(a.availability === 'needs_internet') - Number(b.availability === 'needs_internet'));
  return { cards, categories: present.map((id) => ({ id, count: counts.get(id)! })), total: entries.length, query, category };
}
