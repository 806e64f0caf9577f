import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatter, translator, type Locale } from '../i18n/index.ts';
import { createViews } from '../ui/index.ts';
import type { CatalogEntry } from './catalog.ts';
import { appIcon } from './icons.ts';
import { parseManifest } from './manifest.ts';
import { fold, storeView, type Availability } from './store-view.ts';

const entry = (id: string, name: string, category: CatalogEntry['category'], en: string, hu: string, icon: string | null = null): CatalogEntry => ({
  id,
  manifest: parseManifest(`schema: felhom.app/v1\nid: ${id}\nname: ${name}\nversion: "1"\ndescription: ${en}\n`),
  category,
  description: { en, hu },
  icon,
});

const catalog = [
  entry('album', 'Album', 'photos', 'Family photos', 'Családi fényképek', '/catalog/album/icon.svg'),
  entry('ledger', 'Ledger', 'finance', 'Household money', 'A háztartás pénzügyei'),
  entry('wiki', 'Wiki', 'notes', 'Notes for everyone', 'Jegyzetek mindenkinek'),
];

const view = (options: Partial<{ locale: Locale; query: string; category: string; availability: Map<string, Availability> }> = {}) =>
  storeView(catalog, { locale: 'en', query: '', category: '', installed: (id) => id === 'wiki', availability: new Map(), ...options });
const ids = (v: ReturnType<typeof view>) => v.cards.map((c) => c.id);

describe('the store’s view of the catalog', () => {
  it('when text is folded, then case and every accent go, Hungarian long ones too', () => {
    assert.equal(fold('ŐSZI Fényképek Űrlap'), 'oszi fenykepek urlap');
  });

  it('when the customer searches, then every word must occur in the name, id, either description or either category name', () => {
    assert.deepEqual(ids(view({ query: 'fenykep' })), ['album'], 'accents aside, in the Hungarian description and category');
    assert.deepEqual(ids(view({ query: 'MONEY household' })), ['ledger']);
    assert.deepEqual(ids(view({ query: 'pénzügyek' })), ['ledger'], 'the Hungarian category name, even in English');
    assert.deepEqual(ids(view({ query: 'family money' })), []);
    assert.deepEqual(ids(view({ query: '   ' })), ['album', 'ledger', 'wiki'], 'blank is everything');
  });

  it('when a category is chosen, then only its apps show, and the counts stay those of the whole catalog', () => {
    const finance = view({ category: 'finance', query: 'zzz' });
    assert.deepEqual(ids(finance), []);
    assert.equal(finance.category, 'finance');
    assert.deepEqual(finance.categories, [{ id: 'photos', count: 1 }, { id: 'notes', count: 1 }, { id: 'finance', count: 1 }], 'in the order of CATALOG_CATEGORIES, not of the apps');
    assert.equal(view({ category: 'music' }).category, null, 'a category the catalog does not have is no filter');
    assert.deepEqual(ids(view({ category: 'music' })), ['album', 'ledger', 'wiki']);
  });

  it('when a card is made, then it has the description in the customer’s language, its icon or monogram, the installed mark and the availability', () => {
    const availability = new Map<string, Availability>([['ledger', 'needs_internet'], ['wiki', 'ready']]);
    const cards = view({ locale: 'hu', availability }).cards;
    assert.deepEqual(cards.map((c) => c.id), ['album', 'wiki', 'ledger'], 'what needs the internet comes last');
    const [album, wiki, ledger] = cards;
    assert.equal(album!.description, 'Családi fényképek');
    assert.equal(view().cards[0]!.description, 'Family photos');
    assert.deepEqual(album!.icon, { src: '/store/icons/album.svg', letter: 'A', tone: appIcon('album', 'Album', null).tone });
    assert.equal(ledger!.icon.src, null, 'no icon: a monogram');
    assert.deepEqual([album!.installed, wiki!.installed], [false, true]);
    assert.deepEqual([album!.availability, ledger!.availability, wiki!.availability], [null, 'needs_internet', 'ready']);
  });

  it('when a card needs internet, then the page shows it as a badge with its explanation, in the customer’s language', () => {
    const views = createViews();
    const render = (locale: Locale, availability: Map<string, Availability>) => {
      const t = translator(locale);
      const ui = { locale, t, fmt: formatter(locale, t), csrf: 'x', path: '/store', signedIn: true };
      return views.render('apps/store-results', { ui, view: storeView(catalog, { locale, query: '', category: '', installed: () => false, availability }) });
    };
    const card = (html: string, id: string) => html.slice(html.indexOf(`data-catalog="${id}"`), html.indexOf('</li>', html.indexOf(`data-catalog="${id}"`)));
    const needs = new Map<string, Availability>([['ledger', 'needs_internet'], ['album', 'ready']]);
    const en = render('en', needs);
    assert.match(card(en, 'ledger'), /<span class="badge warn">Needs internet<\/span>/);
    assert.match(card(en, 'ledger'), /installing it downloads them, so the server must be online/);
    assert.doesNotMatch(card(en, 'album'), /Needs internet/, 'ready: no badge');
    assert.doesNotMatch(render('en', new Map()), /Needs internet/, 'nobody asked: no badge');
    assert.match(card(render('hu', needs), 'ledger'), /<span class="badge warn">Internet kell<\/span>/);
  });

  it('when a monogram is made, then it is the first letter in capitals, in a colour that depends only on the id', () => {
    assert.deepEqual(appIcon('zebra', 'ëlan', null).letter, 'Ë');
    assert.equal(appIcon('zebra', 'x', null).tone, appIcon('zebra', 'y', null).tone);
    const tones = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((id) => appIcon(id, 'x', null).tone));
    assert.ok(tones.size >= 5, `ids spread over the colours: ${[...tones]}`);
  });
});
