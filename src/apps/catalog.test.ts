import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { fixturesDir, tempDir } from '../testing/temp.ts';
import { imagesOfComposeText } from './availability.ts';
import { CATALOG_CATEGORIES, defaultCatalogDir, iconProblems, listCatalog, readCatalogApp } from './catalog.ts';

const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#1971C2"/><circle cx="32" cy="32" r="10" fill="#fff"/></svg>\n';

interface Folder {
  id: string;
  /** The `x-catalog` lines, or null for none. */
  catalog?: string | null;
  icon?: string | null;
  name?: string;
  manifestId?: string;
}

/** A catalog app folder as a maintainer writes it; each field can be spoilt on purpose. */
function writeApp(dir: string, { id, catalog = '  category: files\n  description_hu: "Fájlok a családnak"\n', icon = ICON, name = 'Files', manifestId = id }: Folder): string {
  const folder = path.join(dir, id);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, '.felhom.yml'),
    `schema: felhom.app/v1\nid: ${manifestId}\nname: ${name}\nversion: "1.0"\ndescription: Files for the family\nvolumes:\n  data: { class: hot, note: "the files" }\n` +
      (catalog === null ? '' : `x-catalog:\n${catalog}`),
  );
  fs.writeFileSync(path.join(folder, 'compose.yml'), 'services:\n  web:\n    image: nginx:1.27.2\n    volumes: ["data:/data"]\nvolumes:\n  data:\n');
  if (icon !== null) fs.writeFileSync(path.join(folder, 'icon.svg'), icon);
  return folder;
}

const catalogDir = (t: TestContext) => tempDir(t, 'felhom-catalog-');

describe('catalog entries (x-catalog)', () => {
  it('when an app has a category, both descriptions and an icon, then its entry carries them', async (t) => {
    const dir = catalogDir(t);
    const folder = writeApp(dir, { id: 'files' });
    const { entries, problems } = await listCatalog([dir]);
    assert.deepEqual(problems, []);
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.equal(entry!.id, 'files');
    assert.equal(entry!.manifest.name, 'Files');
    assert.equal(entry!.category, 'files');
    assert.deepEqual(entry!.description, { en: 'Files for the family', hu: 'Fájlok a családnak' });
    assert.equal(entry!.icon, path.join(folder, 'icon.svg'));
  });

  it('when the complete example of docs/felhom-yml.md is read as a catalog app, then it is a valid entry', async () => {
    const { entries } = await listCatalog([path.join(fixturesDir, 'compose', 'apps')]);
    const photoprism = entries.find((e) => e.id === 'photoprism');
    assert.equal(photoprism?.category, 'photos');
    assert.match(photoprism.description.hu, /fényképei/);
  });

  it('when an app has no icon, then its entry has none, and it is still offered', async (t) => {
    const dir = catalogDir(t);
    writeApp(dir, { id: 'files', icon: null });
    const { entries, problems } = await listCatalog([dir]);
    assert.deepEqual(problems, []);
    assert.equal(entries[0]!.icon, null);
  });

  it('when an entry is broken, then it is left out and reported with why, and the others are still offered', async (t) => {
    const dir = catalogDir(t);
    writeApp(dir, { id: 'good' });
    writeApp(dir, { id: 'unknown-category', catalog: '  category: toys\n  description_hu: "Játékok"\n' });
    writeApp(dir, { id: 'no-hungarian', catalog: '  category: files\n' });
    writeApp(dir, { id: 'no-catalog', catalog: null });
    writeApp(dir, { id: 'typo', catalog: '  category: files\n  description_hu: "Fájlok"\n  colour: blue\n' });
    writeApp(dir, { id: 'bad-manifest', name: '' });
    writeApp(dir, { id: 'renamed', manifestId: 'other' });
    fs.mkdirSync(path.join(dir, 'empty-folder'));

    const { entries, problems } = await listCatalog([dir]);
    assert.deepEqual(entries.map((e) => e.id), ['good']);
    const why = Object.fromEntries(problems.map((p) => [path.basename(p.folder), p.problem]));
    assert.deepEqual(Object.keys(why).sort(), ['bad-manifest', 'empty-folder', 'no-catalog', 'no-hungarian', 'renamed', 'typo', 'unknown-category']);
    assert.match(why['unknown-category']!, /x-catalog\.category: must be one of photos, files, .*demo/);
    assert.match(why['no-hungarian']!, /x-catalog\.description_hu: must be the Hungarian description/);
    assert.match(why['no-catalog']!, /x-catalog is missing/);
    assert.match(why['typo']!, /unknown key colour/);
    assert.match(why['bad-manifest']!, /name: /);
    assert.match(why['renamed']!, /the manifest's id "other" is not the folder's name "renamed"/);
    assert.match(why['empty-folder']!, /ENOENT/);
  });

  it('when an id is in two catalog folders, then the first folder wins, for the listing and the install alike', async (t) => {
    const first = catalogDir(t);
    const second = catalogDir(t);
    writeApp(first, { id: 'files', name: 'Files (first)' });
    writeApp(second, { id: 'files', name: 'Files (second)' });
    writeApp(second, { id: 'photos', name: 'Photos' });

    const { entries, problems } = await listCatalog([first, second]);
    assert.deepEqual(problems, []);
    assert.deepEqual(entries.map((e) => [e.id, e.manifest.name]), [['files', 'Files (first)'], ['photos', 'Photos']]);
    assert.match((await readCatalogApp([first, second], 'files')).manifest, /Files \(first\)/);
    assert.match((await readCatalogApp([first, second], 'photos')).manifest, /name: Photos/);
    // A folder that does not exist offers nothing and breaks nothing.
    assert.deepEqual((await listCatalog([path.join(first, 'missing'), second])).entries.map((e) => e.manifest.name), ['Files (second)', 'Photos']);
  });

  it('when a catalog app is read to install, then its icon is not among its files: it is the store\'s, not the app\'s', async (t) => {
    const dir = catalogDir(t);
    writeApp(dir, { id: 'files' });
    const files = await readCatalogApp([dir], 'files');
    assert.deepEqual(Object.keys(files.files), ['compose.yml']);
    await assert.rejects(readCatalogApp([dir], 'nothing'), { code: 'not_found' });
    await assert.rejects(readCatalogApp([dir], '../files'), { code: 'validation' });
  });
});

describe('catalog icons', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['a script', ICON.replace('</svg>', '<script>alert(1)</script></svg>'), /holds a <script>/],
    ['an event attribute', ICON.replace('<circle ', '<circle onload="alert(1)" '), /event attribute/],
    ['a link to the web', ICON.replace('<circle ', '<image href="https://example.com/x.png" width="1" height="1"/><circle '), /outside the file \(href\)/],
    ['an xlink to javascript', ICON.replace('<circle ', '<a xlink:href="javascript:alert(1)"><circle ').replace('</svg>', '</a></svg>'), /outside the file \(href\)/],
    ['a style fetching from the web', ICON.replace('fill="#fff"', 'style="fill: url(https://example.com/p.svg#x)"'), /url\(\) or @import/],
    ['a foreignObject', ICON.replace('</svg>', '<foreignObject width="10" height="10"></foreignObject></svg>'), /foreignObject/],
    ['no viewBox', ICON.replace(' viewBox="0 0 64 64"', ''), /no viewBox/],
    ['not an SVG', '<html><body>icon</body></html>', /not an SVG document/],
    ['a tag never closed', ICON.replace('<circle cx="32" cy="32" r="10" fill="#fff"/>', '<g><circle cx="32" cy="32" r="10" fill="#fff"/>'), /not well-formed/],
    ['a broken attribute', ICON.replace('r="10"', 'r=10'), /not well-formed/],
    ['entities', `<!DOCTYPE svg [<!ENTITY x "y">]>${ICON}`, /not an SVG document|DOCTYPE/],
  ];
  it('when an icon is a plain drawing, then nothing is wrong with it', () => {
    assert.deepEqual(iconProblems(ICON), []);
    assert.deepEqual(iconProblems(`<?xml version="1.0" encoding="UTF-8"?>\n<!-- ours -->\n${ICON}`), []);
  });
  for (const [what, svg, problem] of bad) {
    it(`when an icon has ${what}, then it is refused`, () => {
      assert.match(iconProblems(svg).join('; '), problem);
    });
  }
  it('when a catalog folder has a bad icon, then the app is offered without it and the icon is reported', async (t) => {
    const dir = catalogDir(t);
    writeApp(dir, { id: 'files', icon: bad[0]![1] });
    const { entries, problems } = await listCatalog([dir]);
    assert.equal(entries[0]!.icon, null);
    assert.deepEqual(problems, [{ folder: path.join(dir, 'files'), problem: 'icon.svg refused: it holds a <script>' }]);
  });
});

describe('the built-in catalog, as the store shows it', () => {
  it('when it is listed, then every app has a category, an English and a Hungarian description and a clean icon of its own', async () => {
    const { entries, problems } = await listCatalog([defaultCatalogDir]);
    assert.deepEqual(problems, []);
    assert.ok(entries.length >= 21, `${entries.length} apps`);
    for (const entry of entries) {
      assert.ok(CATALOG_CATEGORIES.includes(entry.category), entry.id);
      assert.ok(entry.description.en.length > 10 && entry.description.hu.length > 10, `${entry.id}: both descriptions`);
      assert.notEqual(entry.description.hu, entry.description.en, `${entry.id}: the Hungarian is a translation`);
      assert.ok(entry.icon, `${entry.id}: has icon.svg`);
      assert.deepEqual(iconProblems(fs.readFileSync(entry.icon, 'utf8')), [], `${entry.id}: icon.svg`);
      for (const [volume, spec] of Object.entries(entry.manifest.volumes)) assert.ok(spec.note, `${entry.id}: volume ${volume} says what it holds`);
    }
  });

  it('when a catalog app is installed, then it runs the versions the catalog names: every image pinned to a version, none to `latest`', () => {
    const unpinned = (image: string) => {
      const tag = /^(?:[^/]+\/)*[^/:@]+:([^/@]+)$/.exec(image)?.[1];
      return tag === undefined || /^(latest|stable|main|master|release|nightly)$/.test(tag) || !/\d/.test(tag);
    };
    assert.equal(unpinned('postgres:16.6-alpine'), false);
    for (const image of ['postgres', 'postgres:latest', 'ghcr.io/x/y:stable', 'registry:5000/x', 'x/y:main']) assert.equal(unpinned(image), true, image);
    for (const id of fs.readdirSync(defaultCatalogDir)) {
      const images = imagesOfComposeText(fs.readFileSync(path.join(defaultCatalogDir, id, 'compose.yml'), 'utf8'));
      assert.ok(images.length > 0, `${id} names its images`);
      for (const image of images) assert.equal(unpinned(image), false, `${id}: ${image} is pinned to a version`);
    }
  });

  it('when two catalog apps are installed, then they never want the same host port', () => {
    const owner = new Map<string, string>();
    for (const id of fs.readdirSync(defaultCatalogDir)) {
      const compose = parse(fs.readFileSync(path.join(defaultCatalogDir, id, 'compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { ports?: string[] }> };
      for (const service of Object.values(compose.services)) {
        for (const port of service.ports ?? []) {
          const [, published, protocol = 'tcp'] = /^(?:.*:)?(\d+):\d+(?:\/(tcp|udp))?$/.exec(port) ?? [];
          assert.ok(published, `${id}: "${port}" publishes a fixed host port`);
          const key = `${published}/${protocol}`;
          assert.equal(owner.get(key) ?? id, id, `${key} is wanted by ${owner.get(key)} and ${id}`);
          owner.set(key, id);
        }
      }
    }
    // The controller's own default port stays free.
    assert.equal(owner.get('8080/tcp'), undefined);
  });
});
