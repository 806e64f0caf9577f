/**
 * Keeping an app's folder and record before an update and putting them back, over a
 * real database and folder: what a failed catalog update goes back to.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../clock.ts';
import { openDatabase } from '../db/index.ts';
import { tempDir } from '../testing/temp.ts';
import { MANIFEST_FILE, OVERRIDE_FILE } from './app-folder.ts';
import type { VolumePlacement } from './placement.ts';
import { createAppStore } from './store.ts';
import { keepForUndo } from './update-undo.ts';

const placement = (volume: string, note: string | null): VolumePlacement => ({
  volume,
  class: 'hot',
  backup: 'guest',
  note,
  mountId: 'local-fast',
  mountLabel: 'Fast disk',
  path: `/srv/fast/felhom/apps/site/${volume}`,
  inGuestBackup: true,
  bulkOnPrimary: false,
});

describe('undoing an update', () => {
  it("when an update replaced the app's folder and record, then restoring brings back the previous version's files, override, record and ports", async (t) => {
    const dir = tempDir(t);
    const db = openDatabase(`${dir}/felhom.db`);
    t.after(() => db.close());
    const store = createAppStore(db, systemClock);
    const appsDir = path.join(dir, 'apps');
    const appDir = path.join(appsDir, 'site');
    fs.mkdirSync(path.join(appDir, 'config'), { recursive: true });
    fs.writeFileSync(path.join(appDir, MANIFEST_FILE), 'version: "1"\n');
    fs.writeFileSync(path.join(appDir, 'compose.yml'), 'image: x:1\n');
    fs.writeFileSync(path.join(appDir, 'config', 'site.conf'), 'v1\n');
    fs.writeFileSync(path.join(appDir, OVERRIDE_FILE), 'volumes: v1\n');
    store.insert({ id: 'site', name: 'Site', version: '1', source: 'catalog:site', composeFile: 'compose.yml', web: { service: 'web', port: 8080 } }, [placement('data', 'one')], [
      { hostIp: '127.0.0.1', published: 8081, protocol: 'tcp' },
    ]);
    const undo = await keepForUndo(store, appsDir, store.get('site')!);

    // What the update's admission does: a new folder (no override yet) and record.
    fs.rmSync(appDir, { recursive: true });
    fs.mkdirSync(appDir);
    fs.writeFileSync(path.join(appDir, MANIFEST_FILE), 'version: "2"\n');
    fs.writeFileSync(path.join(appDir, 'site.yml'), 'image: x:2\n');
    store.replace({ id: 'site', name: 'Site 2', version: '2', source: 'catalog:site', composeFile: 'site.yml', web: null }, [placement('data', 'two'), placement('cache', null)], [
      { hostIp: null, published: 9090, protocol: 'udp' },
    ]);

    await undo.restore();
    const files = fs.readdirSync(appDir, { recursive: true, encoding: 'utf8' }).sort();
    assert.deepEqual(files, [MANIFEST_FILE, 'compose.yml', 'config', path.join('config', 'site.conf'), OVERRIDE_FILE].sort(), 'the new version\'s files are gone');
    assert.equal(fs.readFileSync(path.join(appDir, 'compose.yml'), 'utf8'), 'image: x:1\n');
    assert.equal(fs.readFileSync(path.join(appDir, OVERRIDE_FILE), 'utf8'), 'volumes: v1\n');
    assert.equal(fs.readFileSync(path.join(appDir, 'config', 'site.conf'), 'utf8'), 'v1\n');
    const app = store.get('site')!;
    assert.deepEqual([app.name, app.version, app.composeFile, app.web], ['Site', '1', 'compose.yml', { service: 'web', port: 8080 }]);
    assert.deepEqual(store.ports('site'), [{ hostIp: '127.0.0.1', published: 8081, protocol: 'tcp' }]);
    assert.equal(store.placements('site').find((p) => p.volume === 'data')!.note, 'one');
    assert.deepEqual(fs.readdirSync(appsDir), ['site'], 'no staging folder is left');
  });
});
