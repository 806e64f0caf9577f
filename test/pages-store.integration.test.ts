/**
 * The app store over HTTP, against a catalog folder of the test's own: each entry's icon
 * served alone with a sandboxing policy and only for entries the catalog lists; the
 * search (case and accents aside, in both languages) and the categories filtered on the
 * server, so the page works without JavaScript; the htmx answer being the results alone;
 * "installed" marks; descriptions in the customer's language; and the icons of installed
 * apps on the home page and the app's page (a real Docker engine installs them).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { busyboxCompose, squareIcon, writeCatalog } from './helpers/catalog.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { removeImage } from './helpers/images.ts';
import { startedWithAgent } from './helpers/pages.ts';
import { requireRegistry, startRegistry } from './helpers/registry.ts';
import { tempDir } from './helpers/temp.ts';
import { signUp } from './helpers/ui.ts';

const ALBUM_ICON = squareIcon('#2a7ab0');

/** Three apps: two with icons, in two categories, and one without an icon. */
function catalogDir(t: TestContext, suffix = ''): string {
  const dir = writeCatalog(tempDir(t, 'felhom-store-catalog-'), [
    { id: `photo-album${suffix}`, name: 'Photo Album', category: 'photos', description: 'Keeps the family photos in one place.', descriptionHu: 'Családi képek és videók egy helyen.', icon: ALBUM_ICON },
    { id: `recipe-box${suffix}`, name: 'Recipe Box', category: 'household', description: 'Recipes for the kitchen.', descriptionHu: 'Receptek a konyhába.', icon: squareIcon('#b0502a') },
    { id: `plain-notes${suffix}`, name: 'Plain Notes', category: 'notes', description: 'Short notes to remember.', descriptionHu: 'Rövid jegyzetek.' },
  ]);
  // A folder the catalog does not list (its manifest is broken): its icon is not served either.
  fs.mkdirSync(path.join(dir, 'broken'));
  fs.writeFileSync(path.join(dir, 'broken', '.felhom.yml'), 'id: [unclosed');
  fs.writeFileSync(path.join(dir, 'broken', 'icon.svg'), squareIcon('#000000'));
  return dir;
}

/** The catalog ids of the cards a store page (or its results fragment) shows, in order. */
const cards = (html: string) => [...html.matchAll(/<li class="card" data-catalog="([^"]+)"/g)].map((m) => m[1]);

describe('the app store', () => {
  it('when an icon is asked for, then only a listed entry’s icon is served, as a sandboxed SVG that may be cached, and only to the signed-in', async (t) => {
    const { c, url } = await startedWithAgent(t, { FELHOM_CATALOG_DIR: catalogDir(t) });
    await request(url).get('/store/icons/photo-album.svg').expect(303).expect('location', /\/(login|setup)/);
    const { agent } = await signUp(url, c.dataDir);

    const icon = await agent.get('/store/icons/photo-album.svg').buffer(true).parse((res, done) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => done(null, body));
    });
    assert.equal(icon.status, 200);
    assert.equal(icon.body, ALBUM_ICON, 'the file as it is');
    assert.match(icon.headers['content-type']!, /^image\/svg\+xml/);
    assert.equal(icon.headers['x-content-type-options'], 'nosniff');
    assert.equal(icon.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    assert.match(icon.headers['cache-control']!, /private, max-age=\d+/);
    assert.ok(icon.headers.etag, 'an ETag, so a changed catalog icon is fetched again');
    await agent.get('/store/icons/photo-album.svg').set('If-None-Match', icon.headers.etag!).expect(304);

    for (const missing of [
      '/store/icons/no-such-app.svg', // not in the catalog
      '/store/icons/plain-notes.svg', // listed, without an icon
      '/store/icons/broken.svg', // an icon.svg in a folder the catalog does not list
      '/store/icons/photo-album.png',
      '/store/icons/..%2Fphoto-album%2Ficon.svg',
      '/store/icons/..%2F..%2Fetc%2Fpasswd',
      '/store/icons/Photo-Album.svg',
    ]) {
      const response = await agent.get(missing);
      assert.equal(response.status, 404, missing);
      assert.doesNotMatch(response.headers['content-type'] ?? '', /svg/, missing);
    }
    assert.equal((await agent.get('/store/icons/../photo-album/icon.svg')).status, 404, 'a path outside the route is no icon either');
  });

  it('when the customer searches or picks a category, then the server filters the cards, ignoring case and accents, with the filter in the address', async (t) => {
    const { c, url } = await startedWithAgent(t, { FELHOM_CATALOG_DIR: catalogDir(t) });
    const { agent } = await signUp(url, c.dataDir);

    const all = (await agent.get('/store').expect(200)).text;
    assert.deepEqual(cards(all), ['photo-album', 'plain-notes', 'recipe-box']);
    assert.match(all, /<img class="app-icon" src="\/store\/icons\/photo-album.svg" alt="" width="48" height="48">/, 'a card with an icon shows it, described by the name beside it');
    assert.match(all, /data-catalog="plain-notes">\s*<div class="card-head">\s*<span class="app-icon monogram tone-\d" aria-hidden="true">P<\/span>/, 'one without gets its monogram');
    assert.match(all, /<label for="store-q">Search the apps<\/label>/);
    assert.match(all, /<form method="get" action="\/store" role="search"/, 'a plain GET form: it works without JavaScript');
    assert.match(all, /hx-get="\/store" hx-trigger="input delay:300ms, submit" hx-target="#store-results" hx-replace-url="true"/);
    assert.match(all, /Showing 3 of 3 apps\./);
    assert.match(all, /<a href="\/store" aria-current="true">All \(3\)<\/a>/, 'all is chosen, with how many');
    for (const category of ['photos', 'household', 'notes']) assert.match(all, new RegExp(`<a href="/store\\?category=${category}" data-category="${category}">[^<]+ \\(1\\)</a>`), category);
    assert.match(all, /Keeps the family photos in one place\./, 'the English description');

    const search = async (query: string) => cards((await agent.get('/store').query(query).expect(200)).text);
    assert.deepEqual(await search('q=recipe'), ['recipe-box']);
    assert.deepEqual(await search('q=RECIPE+kitchen'), ['recipe-box'], 'every word, in any case');
    assert.deepEqual(await search('q=kepek'), ['photo-album'], 'the Hungarian description, without its accents');
    assert.deepEqual(await search('q=K%C3%89PEK'), ['photo-album'], 'and with them, in capitals');
    assert.deepEqual(await search('q=jegyzet'), ['plain-notes']);
    assert.deepEqual(await search('q=photo+recipe'), [], 'every word must match');

    const household = (await agent.get('/store?category=household').expect(200)).text;
    assert.deepEqual(cards(household), ['recipe-box']);
    assert.match(household, /<a href="\/store\?category=household" data-category="household" aria-current="true">/, 'the chosen category is marked');
    assert.match(household, /<input type="hidden" name="category" value="household">/, 'a search keeps the category');
    assert.deepEqual(await search('category=household&q=photo'), []);
    assert.deepEqual(await search('category=no-such&q=photo'), ['photo-album'], 'an unknown category is no filter');

    const none = (await agent.get('/store?q=%3Cb%3Ezzz').expect(200)).text;
    assert.deepEqual(cards(none), []);
    assert.match(none, /No app matches “&lt;b&gt;zzz”\. <a href="\/store">Show all apps<\/a>/, 'says so, with the query escaped');
    assert.match(none, /value="&lt;b&gt;zzz"/, 'the box keeps what was typed');
    assert.match(none, /Showing 0 of 3 apps\./);
    assert.match(none, /<a href="\/store\?q=%3Cb%3Ezzz&amp;category=photos"/, 'the categories keep the search');

    // htmx asks the same address for the results alone, and the count beside the box out of band.
    const live = await agent.get('/store?q=recipe').set('HX-Request', 'true').expect(200);
    assert.doesNotMatch(live.text, /<html|<form method="get" action="\/store"|upload-title/, 'no layout, no search box, no upload');
    assert.deepEqual(cards(live.text), ['recipe-box']);
    assert.match(live.text, /<p id="store-count" hx-swap-oob="innerHTML">\s*Showing 1 of 3 apps\./);
    assert.match(live.headers.vary ?? '', /HX-Request/i, 'caches keep the page and the fragment apart');
  });

  it('when the customer reads Hungarian, then the store gives the Hungarian descriptions and category names', async (t) => {
    const { c, url } = await startedWithAgent(t, { FELHOM_CATALOG_DIR: catalogDir(t) });
    const { agent, csrf } = await signUp(url, c.dataDir);
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu' }).expect(303);
    const page = (await agent.get('/store').expect(200)).text;
    assert.match(page, /Családi képek és videók egy helyen\./);
    assert.doesNotMatch(page, /Keeps the family photos/);
    assert.match(page, /<label for="store-q">Keresés az alkalmazások között<\/label>/);
    assert.match(page, /Összes \(3\)/);
    assert.deepEqual(cards((await agent.get('/store?q=family+photos').expect(200)).text), ['photo-album'], 'the English words still find it');
  });

  it('when the box is offline, then apps whose images are neither in the engine nor in the listed registry are marked as needing internet', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const inRegistry = registry.push('felhom-test/busybox:latest', `felhom/store-${process.pid}:1`);
    removeImage(inRegistry);
    const compose = (image: string) => busyboxCompose.replace('felhom-test/busybox:latest', image);
    const dir = writeCatalog(tempDir(t, 'felhom-store-catalog-'), [
      { id: 'in-engine', name: 'In Engine', category: 'notes', description: 'Its image is in the engine.', descriptionHu: 'A motorban van.' },
      { id: 'in-registry', name: 'In Registry', category: 'notes', description: 'Its image is in the local registry.', descriptionHu: 'A helyi tárolóban van.', compose: compose(inRegistry) },
      { id: 'from-internet', name: 'From Internet', category: 'notes', description: 'Its image is on the internet.', descriptionHu: 'Az interneten van.', compose: compose('felhom.invalid/never/asked:1') },
      { id: 'withdrawn', name: 'Withdrawn', category: 'notes', description: 'The registry lacks its tag.', descriptionHu: 'A tárolóból hiányzik.', compose: compose(`${registry.address}/felhom/withdrawn:1`) },
    ]);
    const badged = (html: string) => [...html.matchAll(/<li class="card" data-catalog="([^"]+)"[\s\S]*?<\/li>/g)].filter((m) => m[0].includes('Needs internet')).map((m) => m[1]);
    const offline = await startedWithAgent(t, { FELHOM_CATALOG_DIR: dir, FELHOM_OFFLINE: 'true', FELHOM_REGISTRIES: registry.address });
    const { agent } = await signUp(offline.url, offline.c.dataDir);
    assert.deepEqual(badged((await agent.get('/store').expect(200)).text), ['from-internet', 'withdrawn']);
    const listed = (await request(offline.url).get('/api/v1/catalog').set({ Authorization: `Bearer ${offline.c.token}` }).expect(200)).body.apps as Array<{ id: string; availability: string | null }>;
    assert.deepEqual(Object.fromEntries(listed.map((app) => [app.id, app.availability])), { 'in-engine': 'ready', 'in-registry': 'ready', 'from-internet': 'needs_internet', withdrawn: 'needs_internet' }, 'the API says the same');

    // With internet the store does not second-guess the registries: no badge, nothing asked.
    const online = await startedWithAgent(t, { FELHOM_CATALOG_DIR: dir, FELHOM_OFFLINE: 'false', FELHOM_REGISTRIES: registry.address });
    const signedIn = await signUp(online.url, online.c.dataDir);
    assert.deepEqual(badged((await signedIn.agent.get('/store').expect(200)).text), []);
  });

  it('when catalog apps are installed, then the store marks them with a link, and the home and app pages show their icons (a monogram for an upload)', async (t) => {
    if (!(await requireDocker(t))) return;
    const suffix = `-${process.pid % 10000}`;
    const { c, url } = await startedWithAgent(t, { FELHOM_CATALOG_DIR: catalogDir(t, suffix) });
    const album = `photo-album${suffix}`;
    const upload = `uploaded${suffix}`;
    cleanUpProject(t, album);
    cleanUpProject(t, upload);
    const api = (body: object) => request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send(body).expect(202);
    await api({ catalog: album });
    await api({
      manifest: `schema: felhom.app/v1\nid: ${upload}\nname: zebra Board\nversion: "2"\nvolumes:\n  data: { class: hot }\n`,
      compose: 'services:\n  main:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n',
    });
    await c.controller.apps.settled();
    assert.equal(c.controller.apps.record(album)?.status, 'installed');
    assert.equal(c.controller.apps.record(upload)?.status, 'installed');
    const { agent } = await signUp(url, c.dataDir);

    const store = (await agent.get('/store').expect(200)).text;
    const albumCard = store.slice(store.indexOf(`data-catalog="${album}"`), store.indexOf('</li>', store.indexOf(`data-catalog="${album}"`)));
    assert.match(albumCard, new RegExp(`<span class="badge ok">Installed</span> <a href="/apps/${album}">Manage Photo Album</a>`));
    assert.doesNotMatch(albumCard, /Install Photo Album/);
    assert.match(store, /<button type="submit">Install Recipe Box<\/button>/, 'the others can still be installed');

    const home = (await agent.get('/').expect(200)).text;
    assert.match(home, new RegExp(`data-app="${album}">\\s*<div class="card-head"><img class="app-icon" src="/store/icons/${album}.svg" alt="" width="48" height="48">`));
    const monogram = new RegExp(`data-app="${upload}">\\s*<div class="card-head"><span class="app-icon monogram tone-(\\d)" aria-hidden="true">Z</span>`);
    const tone = monogram.exec(home)?.[1];
    assert.ok(tone, 'the uploaded app has its monogram, the first letter in capitals');
    assert.match((await agent.get('/home/live').set('HX-Request', 'true').expect(200)).text, monogram, 'the live refresh keeps the icons');
    assert.equal(monogram.exec((await agent.get('/').expect(200)).text)?.[1], tone, 'in the same colour every time');

    const albumPage = (await agent.get(`/apps/${album}`).expect(200)).text;
    assert.match(albumPage, new RegExp(`<div class="with-icon"><img class="app-icon large" src="/store/icons/${album}.svg" alt="" width="64" height="64"><h1>Photo Album`));
    assert.match((await agent.get(`/apps/${upload}`).expect(200)).text, /<div class="with-icon"><span class="app-icon monogram tone-\d large" aria-hidden="true">Z<\/span><h1>zebra Board/);
  });
});
