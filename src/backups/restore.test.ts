import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deleteKeptFolder, keptFolders, recoverReplace, restoreFolders } from './restore.ts';

const volume = (root: string) => ({ appId: 'photos', appName: 'Photos', volume: 'library', mountId: 'm', mountLabel: 'M', path: path.join(root, 'library'), since: '' });

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-restore-'));
}

describe('a replace cut short by a crash', () => {
  it('between the two renames: the live folder is put back as it was, and the staging folder removed', async () => {
    const root = scratch();
    const v = volume(root);
    const request = { app: 'photos', volume: 'library', snapshot: 'abcdef12', mode: 'replace' as const, ...restoreFolders(v, 'abcdef12', 'replace', new Date('2026-12-01T10:00:00Z')) };
    fs.mkdirSync(request.kept!);
    fs.writeFileSync(path.join(request.kept!, 'live.jpg'), 'the family photo');
    fs.mkdirSync(request.staging!);
    fs.writeFileSync(path.join(request.staging!, 'restored.jpg'), 'from the backup');
    assert.equal(await recoverReplace(request), 'the live folder was put back as it was');
    assert.equal(fs.readFileSync(path.join(v.path, 'live.jpg'), 'utf8'), 'the family photo');
    assert.equal(fs.existsSync(request.staging!), false);
    assert.equal(fs.existsSync(request.kept!), false);
  });

  it('while restoring into staging: only the staging folder goes; after both renames nothing is undone', async () => {
    const root = scratch();
    const v = volume(root);
    const request = { app: 'photos', volume: 'library', snapshot: 'abcdef12', mode: 'replace' as const, ...restoreFolders(v, 'abcdef12', 'replace', new Date()) };
    fs.mkdirSync(v.path);
    fs.writeFileSync(path.join(v.path, 'live.jpg'), 'live');
    fs.mkdirSync(request.staging!);
    assert.match((await recoverReplace(request))!, /unfinished restore was removed/);
    assert.equal(fs.readFileSync(path.join(v.path, 'live.jpg'), 'utf8'), 'live');
    fs.mkdirSync(request.kept!);
    assert.equal(await recoverReplace(request), null, 'a finished replace keeps its result and the kept folder');
    assert.ok(fs.existsSync(request.kept!));
  });
});

describe('folders a restore leaves beside the volume', () => {
  it('are listed and deleted by name, and nothing else can be deleted through them', async () => {
    const root = scratch();
    const v = volume(root);
    for (const name of ['library', 'library.restore-abcdef12-20261201T100000Z', 'library.before-restore-20261201T100000Z', 'library.restore-staging', 'library.seeded', 'other']) fs.mkdirSync(path.join(root, name));
    assert.deepEqual(await keptFolders(v), [
      { name: 'library.before-restore-20261201T100000Z', kind: 'before-restore' },
      { name: 'library.restore-abcdef12-20261201T100000Z', kind: 'copy' },
    ]);
    for (const name of ['other', 'library', '../library', 'library.seeded', 'library.restore-staging']) await assert.rejects(deleteKeptFolder(v, name), /no restored or kept folder/);
    await deleteKeptFolder(v, 'library.before-restore-20261201T100000Z');
    assert.equal(fs.existsSync(path.join(root, 'library.before-restore-20261201T100000Z')), false);
    assert.ok(fs.existsSync(path.join(root, 'other')));
  });
});
