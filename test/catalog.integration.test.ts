/**
 * The built-in catalog (compose/apps/) holds real public images that cannot be pulled
 * here, so its apps are checked the way an install checks them, short of starting:
 * the manifest parses and what compose will run passes the policy. Installing from a
 * catalog is then proven with a catalog of local images.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import request from 'supertest';
import { defaultCatalogDir } from '../src/apps/index.ts';
import { listCatalog } from '../src/apps/catalog.ts';
import { requireComposeVersions } from './helpers/compose-versions.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

/** What a household finds in the store, by id. */
const CATALOG_APPS = [
  'actual',
  'adguard-home',
  'audiobookshelf',
  'baikal',
  'forgejo',
  'homarr',
  'immich',
  'jellyfin',
  'kavita',
  'linkding',
  'mealie',
  'memos',
  'miniflux',
  'navidrome',
  'nextcloud',
  'ntfy',
  'paperless-ngx',
  'syncthing',
  'uptime-kuma',
  'vaultwarden',
  'wiki-js',
];

describe('the built-in catalog', () => {
  it('when it is listed, then it offers the apps a household uses (photos, files, passwords, media, music, books, documents, notes, recipes, budget, calendars, ad blocking, a start page, monitoring, code, news), none left out as broken', async () => {
    const { entries, problems } = await listCatalog([defaultCatalogDir]);
    assert.deepEqual(problems, []);
    assert.deepEqual(entries.map((e) => e.id), CATALOG_APPS);
    for (const entry of entries) assert.equal(entry.manifest.id, entry.id, 'the folder is named after the app id');
  });

  for (const which of ['v1', 'v2'] as const) {
    it(`when each app is planned as an install would, with compose ${which}, then it passes the policy, every volume is placed and every bulk volume has a backup decision`, async (t) => {
      if (!(await requireDocker(t))) return;
      const version = requireComposeVersions(t).find((v) => v.name === which);
      if (!version) return;
      const agent = await devAgent(t);
      // As on a customer's server: online, downloads on. Planning asks no registry (the
      // images' availability is the engine's answer alone), and nothing is installed.
      const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_COMPOSE: version.command.join(' '), FELHOM_PULL: 'always', FELHOM_OFFLINE: 'false' } });
      const api = request(c.controller.url);
      for (const { id, manifest } of (await listCatalog([defaultCatalogDir])).entries) {
        const plan = (await api.post('/api/v1/apps/plan').set({ Authorization: `Bearer ${c.token}` }).send({ catalog: id }).expect(200)).body;
        assert.deepEqual(plan.problems, [], id);
        assert.deepEqual(plan.placements.map((p: { volume: string }) => p.volume).sort(), Object.keys(manifest.volumes).sort(), `${id}: every volume placed`);
        for (const [volume, spec] of Object.entries(manifest.volumes)) {
          if (spec.class === 'bulk') assert.ok(spec.backup, `${id}: bulk volume ${volume} has a backup decision`);
        }
      }
    });
  }
});

describe('installing from a catalog', () => {
  const IMAGE = 'felhom-test/webapp:catalog';
  before(() => buildWebImageIfEngine(IMAGE, 'catalog-app'));

  it('when the customer picks a catalog app, then it installs; when the catalog has a newer version, update brings it', async (t) => {
    if (!(await requireDocker(t))) return;
    const catalog = tempDir(t, 'felhom-catalog-');
    const id = `cat-${process.pid % 10000}`;
    const port = 23000 + (process.pid % 1000);
    const folder = path.join(catalog, id);
    fs.mkdirSync(folder);
    const manifest = (version: string) =>
      `schema: felhom.app/v1\nid: ${id}\nname: Catalog site\nversion: "${version}"\ndescription: A site\ncompose: compose.yml\nvolumes:\n  site: { class: hot }\nx-catalog: { category: demo, description_hu: Egy honlap }\n`;
    fs.writeFileSync(path.join(folder, '.felhom.yml'), manifest('1.0.0'));
    fs.writeFileSync(
      path.join(folder, 'compose.yml'),
      `services:\n  web:\n    image: ${IMAGE}\n    ports: ["127.0.0.1:${port}:8080"]\n    volumes: ["site:/srv/www"]\nvolumes:\n  site:\n`,
    );
    fs.writeFileSync(path.join(folder, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#868E96"/></svg>\n');
    cleanUpProject(t, id);

    const agent = await devAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_CATALOG_DIR: catalog } });
    const api = request(c.controller.url);
    const auth = { Authorization: `Bearer ${c.token}` };
    const listed = (await api.get('/api/v1/catalog').set(auth).expect(200)).body.apps;
    assert.deepEqual(listed.map((a: { id: string; installed: boolean }) => [a.id, a.installed]), [[id, false]]);
    assert.deepEqual([listed[0].category, listed[0].description, listed[0].icon], ['demo', { en: 'A site', hu: 'Egy honlap' }, true]);

    const waitFor = (operationId: string) =>
      until(async () => (await api.get(`/api/v1/operations/${operationId}`).set(auth).expect(200)).body.operation, {
        what: `operation ${operationId} to finish`,
        done: (operation) => operation.state !== 'running',
        timeoutMs: 50_000,
        intervalMs: 250,
      });
    const installed = await api.post('/api/v1/apps').set(auth).send({ catalog: id }).expect(202);
    assert.equal((await waitFor(installed.body.operation.id)).state, 'succeeded');
    const app = (await api.get(`/api/v1/apps/${id}`).set(auth).expect(200)).body;
    assert.equal(app.source, `catalog:${id}`);
    assert.equal(app.version, '1.0.0');
    assert.equal((await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())).trim(), 'catalog-app');
    // The icon is the store's: the installed app's folder has the manifest and compose file only.
    assert.deepEqual(fs.readdirSync(path.join(c.dataDir, 'apps', id)).filter((name) => !name.startsWith('felhom.override')).sort(), ['.felhom.yml', 'compose.yml']);

    fs.writeFileSync(path.join(folder, '.felhom.yml'), manifest('1.1.0'));
    const updated = await api.post(`/api/v1/apps/${id}/update`).set(auth).expect(202);
    assert.equal((await waitFor(updated.body.operation.id)).state, 'succeeded');
    assert.equal((await api.get(`/api/v1/apps/${id}`).set(auth).expect(200)).body.version, '1.1.0');

    await api.post('/api/v1/apps').set(auth).send({ catalog: 'no-such-app' }).expect(404);
  });
});
