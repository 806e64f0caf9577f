import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { fixturesDir } from '../testing/temp.ts';
import { assertWorded } from '../testing/worded.ts';
import { DEFAULT_HEALTH_TIMEOUT_SECONDS, MANIFEST_MAX_BYTES, manifestVolumes, parseManifest, type ManifestIssue } from './manifest.ts';

const photos = `schema: felhom.app/v1
id: photos                 # becomes the compose project name
name: Photo library
version: "1.4.2"
description: Family photos with face search
compose: compose.yml
web: { service: web, port: 8080 }
volumes:
  db:     { class: hot }
  photos: { class: bulk, backup: own }
  cache:  { class: bulk, backup: none, note: "re-creatable thumbnails" }
health_timeout_seconds: 300
`;

const minimal = (extra = '') => `schema: felhom.app/v1\nid: app\nname: App\nversion: "1"\n${extra}`;

/** The validation error's issues, as "path: message" lines, each worded from the catalogs (assertWorded). */
function issues(text: string): string[] {
  try {
    parseManifest(text);
  } catch (error) {
    assert.ok(error instanceof AppError, 'an AppError');
    assert.equal(error.code, 'validation');
    const list = assertWorded((error.details?.issues ?? []) as ManifestIssue[]);
    for (const issue of list) assert.ok(error.message.includes(`${issue.path}: ${issue.message}`), 'the message lists every issue');
    return list.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('expected a validation error');
}

const single = (text: string): string => {
  const found = issues(text);
  assert.equal(found.length, 1, found.join('\n'));
  return found[0]!;
};

describe('parsing .felhom.yml', () => {
  it('when the manifest from the issue is parsed, then every field is kept', () => {
    assert.deepEqual(parseManifest(photos), {
      schema: 'felhom.app/v1',
      id: 'photos',
      name: 'Photo library',
      version: '1.4.2',
      description: 'Family photos with face search',
      compose: 'compose.yml',
      web: { service: 'web', port: 8080 },
      volumes: {
        db: { class: 'hot' },
        photos: { class: 'bulk', backup: 'own' },
        cache: { class: 'bulk', backup: 'none', note: 're-creatable thumbnails' },
      },
      health_timeout_seconds: 300,
    });
  });

  it('when optional fields are left out, then compose, volumes and the health timeout take their defaults', () => {
    const manifest = parseManifest(minimal());
    assert.equal(manifest.compose, 'compose.yml');
    assert.deepEqual(manifest.volumes, {});
    assert.equal(manifest.health_timeout_seconds, DEFAULT_HEALTH_TIMEOUT_SECONDS);
    assert.equal(manifest.web, undefined);
    assert.equal(manifest.description, undefined);
  });

  it('when every catalog-style fixture manifest is parsed, then each is valid', () => {
    const apps = path.join(fixturesDir, 'compose', 'apps');
    for (const id of fs.readdirSync(apps)) {
      const manifest = parseManifest(fs.readFileSync(path.join(apps, id, '.felhom.yml'), 'utf8'));
      assert.equal(manifest.id, id);
    }
  });

  it('when the complete example in docs/felhom-yml.md is read, then it is the photoprism fixture folder and it parses', () => {
    const doc = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'felhom-yml.md'), 'utf8');
    const block = (name: string) => new RegExp('```yaml ' + name.replaceAll('.', '\\.') + '\\n([\\s\\S]*?)```').exec(doc)?.[1];
    const folder = path.join(fixturesDir, 'compose', 'apps', 'photoprism');
    assert.equal(block('.felhom.yml'), fs.readFileSync(path.join(folder, '.felhom.yml'), 'utf8'));
    assert.equal(block('compose.yml'), fs.readFileSync(path.join(folder, 'compose.yml'), 'utf8'));
    const manifest = parseManifest(block('.felhom.yml')!);
    assert.deepEqual(
      manifestVolumes(manifest).map((v) => [v.volume, v.class, v.backup]),
      [['db', 'hot', undefined], ['storage', 'hot', undefined], ['originals', 'bulk', 'own'], ['cache', 'bulk', 'none']],
    );
    assert.ok(manifest.volumes.cache?.note);
  });

  it('when the manifest uses anchors and merge keys, then they are resolved', () => {
    const manifest = parseManifest(minimal(`x-bulk: &bulk { class: bulk, backup: none }\nvolumes:\n  a: { <<: *bulk, note: "a" }\n  b: *bulk\n`));
    assert.deepEqual(manifest.volumes, { a: { class: 'bulk', backup: 'none', note: 'a' }, b: { class: 'bulk', backup: 'none' } });
  });

  it('when the volumes are listed, then they come in manifest order in the shape placement takes', () => {
    assert.deepEqual(manifestVolumes(parseManifest(photos)), [
      { volume: 'db', class: 'hot' },
      { volume: 'photos', class: 'bulk', backup: 'own' },
      { volume: 'cache', class: 'bulk', backup: 'none', note: 're-creatable thumbnails' },
    ]);
  });
});

describe('refusing a bad manifest', () => {
  it('when the id is not a valid project name, then the message says what it must be', () => {
    const rule = 'id: must be 1-31 characters: lower-case letters, digits, dashes, starting with a letter or digit';
    for (const id of ['Photos', '-photos', 'photo_library', 'a'.repeat(32), '""', 'x.y']) {
      assert.equal(single(minimal().replace('id: app', `id: ${id}`)), rule, id);
    }
    assert.equal(parseManifest(minimal().replace('id: app', `id: ${'a'.repeat(31)}`)).id.length, 31);
    assert.equal(parseManifest(minimal().replace('id: app', 'id: 9lives-2')).id, '9lives-2');
  });

  it('when the schema is missing or another version, then the message names the one supported', () => {
    assert.equal(single(minimal().replace('schema: felhom.app/v1\n', '')), 'schema: is required');
    assert.equal(single(minimal().replace('felhom.app/v1', 'felhom.app/v2')), 'schema: must be "felhom.app/v1"');
  });

  it('when required fields are missing, then each is named', () => {
    assert.deepEqual(issues('schema: felhom.app/v1\n'), ['id: is required', 'name: is required', 'version: is required']);
  });

  it('when the version is written as a number, then the message says to quote it', () => {
    assert.equal(single(minimal().replace('"1"', '1.10')), 'version: must be a string: quote it, e.g. version: "1.4.2"');
  });

  it('when name is empty or too long, then the message says so', () => {
    assert.equal(single(minimal().replace('name: App', 'name: "  "')), 'name: must not be empty');
    assert.equal(single(minimal().replace('name: App', `name: ${'n'.repeat(101)}`)), 'name: must be at most 100 characters');
  });

  it('when compose points outside the app folder, then it is refused', () => {
    const rule = 'compose: must be a relative path inside the app folder, without ".." segments (e.g. compose.yml)';
    for (const bad of ['/etc/compose.yml', '../other/compose.yml', 'sub/../../compose.yml', 'C:\\compose.yml', '..\\compose.yml', '.', 'dir/']) {
      assert.equal(single(minimal(`compose: "${bad.replaceAll('\\', '\\\\')}"\n`)), rule, bad);
    }
  });

  it('when compose is a relative path inside the folder, then it is accepted, normalized', () => {
    assert.equal(parseManifest(minimal('compose: ./compose.yml\n')).compose, 'compose.yml');
    assert.equal(parseManifest(minimal('compose: deploy/docker-compose.yaml\n')).compose, 'deploy/docker-compose.yaml');
  });

  it('when web is incomplete or its port out of range, then the field is named', () => {
    assert.equal(single(minimal('web: { service: web, port: 0 }\n')), 'web.port: must be 1-65535');
    assert.equal(single(minimal('web: { service: web, port: 65536 }\n')), 'web.port: must be 1-65535');
    assert.equal(single(minimal('web: { service: web, port: "80" }\n')), 'web.port: must be a port number');
    assert.equal(single(minimal('web: { port: 80 }\n')), 'web.service: is required');
    assert.equal(single(minimal('web: { service: web, port: 80, path: / }\n')), 'web.path: is not a known field (known: service, port)');
    assert.equal(single(minimal('web: web\n')), 'web: must be a mapping with service and port');
  });

  it('when a bulk volume has no backup decision, then the message says why it needs one', () => {
    const message = single(minimal('volumes:\n  media: { class: bulk }\n'));
    assert.match(message, /^volumes\.media\.backup: a bulk volume must say how it is backed up: "backup: own" .* or "backup: none"/);
    assert.match(message, /bulk volumes are excluded from the guest backup/);
  });

  it('when a hot volume carries a backup decision, then the message says the guest backup covers it', () => {
    assert.match(single(minimal('volumes:\n  db: { class: hot, backup: own }\n')), /^volumes\.db\.backup: a hot volume must not set backup: it is always covered by the guest backup/);
  });

  it('when a volume has a bad class, backup, shape or an unknown field, then each is named', () => {
    assert.equal(single(minimal('volumes:\n  db: { class: warm }\n')), 'volumes.db.class: must be "hot" or "bulk"');
    assert.equal(single(minimal('volumes:\n  db: { class: bulk, backup: offsite }\n')), 'volumes.db.backup: must be "own" or "none"');
    assert.equal(single(minimal('volumes:\n  db:\n')), 'volumes.db: must be a mapping with class: hot or bulk');
    assert.equal(single(minimal('volumes:\n  db: { class: hot, size: 10G }\n')), 'volumes.db.size: is not a known field (known: class, backup, note)');
    assert.equal(single(minimal('volumes:\n  db: { }\n')), 'volumes.db.class: is required');
    assert.equal(single(minimal('volumes: [db]\n')), 'volumes: must be a mapping of volume names');
  });

  it('when a volume name is not a plain volume name, then the message says what it must be', () => {
    assert.match(single(minimal('volumes:\n  "-db": { class: hot }\n')), /^volumes\.-db: "-db" must be a volume name/);
    assert.match(single(minimal('volumes:\n  "my db": { class: hot }\n')), /must be a volume name/);
    // A dot could name another volume's seeding sentinel or staging folder (db.seeded, db.seeding).
    assert.match(single(minimal('volumes:\n  db.seeded: { class: hot }\n')), /must be a volume name/);
    assert.deepEqual(Object.keys(parseManifest(minimal('volumes:\n  Model_cache-v2_x: { class: hot }\n')).volumes), ['Model_cache-v2_x']);
  });

  it('when the compose path is the manifest or the override file, then it is refused', () => {
    assert.match(single(minimal('compose: .felhom.yml\n')), /must not be the manifest or the override file/);
    assert.match(single(minimal('compose: ./felhom.override.yml\n')), /must not be the manifest or the override file/);
  });

  it('when the compose path is not a YAML file or has a part starting with a dot (.env is compose\'s own settings), then it is refused', () => {
    for (const bad of ['.env', 'compose.json', 'sub/.hidden/compose.yml', '.compose.yml', 'compose.yml.txt']) {
      assert.match(single(minimal(`compose: "${bad}"\n`)), /must be a \.yml or \.yaml file, with no part of its path starting with "\."/, bad);
    }
  });

  it('when a volume is named __proto__ (which zod records skip), then it is refused, not dropped with its backup decision', () => {
    assert.equal(single(minimal('volumes:\n  __proto__: { class: bulk }\n')), 'volumes.__proto__: is not a name the manifest may use');
  });

  it('when the manifest is UTF-16 (read as UTF-8 it is full of NULs), then the message says what it is', () => {
    const utf16 = Buffer.from(minimal(), 'utf16le').toString('utf8');
    assert.match(single(utf16), /^\(file\): is not UTF-8 text .* UTF-16/);
  });

  it('when the health timeout is out of 10-3600 seconds, then it is refused', () => {
    assert.equal(single(minimal('health_timeout_seconds: 5\n')), 'health_timeout_seconds: must be 10-3600 seconds');
    assert.equal(single(minimal('health_timeout_seconds: 3601\n')), 'health_timeout_seconds: must be 10-3600 seconds');
    assert.equal(single(minimal('health_timeout_seconds: 12.5\n')), 'health_timeout_seconds: must be a whole number of seconds');
    assert.equal(parseManifest(minimal('health_timeout_seconds: 3600\n')).health_timeout_seconds, 3600);
  });

  it('when a top-level key is unknown (a typo), then it is named; x- keys are tolerated', () => {
    assert.match(single(minimal('volume:\n  db: { class: hot }\n')), /^volume: is not a manifest field \(known: schema, id, name, version, description, compose, web, volumes, health_timeout_seconds; extension fields start with "x-"\)$/);
    assert.equal(parseManifest(minimal('x-catalog: { category: photos }\nx-anything: 1\n')).id, 'app');
  });

  it('when several fields are wrong, then one error lists them all', () => {
    const found = issues('schema: felhom.app/v1\nid: Bad\nname: X\nversion: 2\nvolumes:\n  m: { class: bulk }\ncolour: red\n');
    assert.deepEqual(found.map((line) => line.split(':')[0]), ['colour', 'id', 'version', 'volumes.m.backup']);
  });

  it('when the text is not YAML, empty, not a mapping, or has a duplicate key, then it is a validation error', () => {
    const isValidation = (pattern: RegExp) => (error: unknown) => error instanceof AppError && error.code === 'validation' && pattern.test(error.message);
    assert.throws(() => parseManifest('id: [\n'), isValidation(/not valid YAML/));
    assert.throws(() => parseManifest(minimal('id: again\n')), isValidation(/not valid YAML.*[Mm]ap keys must be unique/s));
    assert.equal(single(''), '(file): is empty');
    assert.equal(single('# only a comment\n'), '(file): is empty');
    assert.match(single('- a\n- b\n'), /^\(file\): must be a mapping/);
    assert.match(single('just text'), /^\(file\): must be a mapping/);
  });

  it('when the text is larger than 64 KiB, then it is refused before parsing', () => {
    const big = minimal(`description: "${'x'.repeat(MANIFEST_MAX_BYTES)}"\n`);
    assert.match(single(big), /^\(file\): is \d+ bytes; a manifest may be at most 65536 bytes \(64 KiB\)$/);
  });

  it('when anchors are used to blow up the document, then parsing stops with a validation error', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    assert.throws(() => parseManifest(lines.join('\n')), (error) => error instanceof AppError && error.code === 'validation');
  });
});
