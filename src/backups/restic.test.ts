import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Secret } from '../secret.ts';
import { classifyFailure, createRestic, literalPattern, parseVersion, restLocation, ResticError } from './restic.ts';

describe('the restic CLI module', () => {
  it('accepts restic 0.14 and later, and says why an older or unknown one is refused', () => {
    assert.deepEqual(parseVersion('restic 0.14.0 compiled with go1.19.8 on linux/amd64'), { version: '0.14.0' });
    assert.deepEqual(parseVersion('restic 0.18.1 compiled with go1.24.4 on linux/amd64'), { version: '0.18.1' });
    assert.match((parseVersion('restic 0.13.1 compiled with go1.18') as { reason: string }).reason, /older than 0.14/);
    assert.match((parseVersion('something else') as { reason: string }).reason, /no version/);
  });

  it('tells the failures a customer can act on apart, in the words of 0.14 and of current restic', () => {
    assert.equal(classifyFailure(1, 'Fatal: wrong password or no key found'), 'wrong_password');
    assert.equal(classifyFailure(12, 'Fatal: an error'), 'wrong_password');
    assert.equal(classifyFailure(1, 'Fatal: unable to open config file: stat /x/config: no such file or directory\nIs there a repository at the following location?'), 'no_repository');
    assert.equal(classifyFailure(10, ''), 'no_repository');
    assert.equal(classifyFailure(1, 'Fatal: create key in repository at /x failed: repository master key and config already initialized'), 'exists');
    assert.equal(classifyFailure(1, 'unable to create lock in backend: repository is already locked by PID 7 on other-host'), 'locked');
    assert.equal(classifyFailure(1, 'Fatal: server response unexpected: 401 Unauthorized (401)'), 'refused');
    assert.equal(classifyFailure(1, 'dial tcp 127.0.0.1:1: connect: connection refused'), 'unreachable');
    assert.equal(classifyFailure(1, 'something else broke'), 'failed');
  });

  it('passes the repository and its password by environment only, and scrubs them from anything restic prints', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-restic-'));
    // A stand-in restic that shows what it was given: its arguments, and the secrets echoed back as an error.
    const fake = path.join(dir, 'restic');
    fs.writeFileSync(fake, '#!/bin/sh\necho "args: $*" >&2\necho "Fatal: repo $RESTIC_REPOSITORY pass $RESTIC_PASSWORD" >&2\nexit 1\n', { mode: 0o755 });
    const restic = createRestic({ command: fake, cacheDir: dir });
    const password = new Secret('TOPS-ECRE-TCOD-E000-1111-2222-3333-4444');
    const location = restLocation('http://127.0.0.1:8000/repo/', 'family', new Secret('p@ss word/!'));
    const error = await restic.init({ location, password }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ResticError);
    assert.equal(error.message.includes('TOPS-ECRE'), false, error.message);
    assert.equal(error.message.includes('p@ss'), false, error.message);
    assert.equal(error.message.includes(encodeURIComponent('p@ss word/!')), false, error.message);
    assert.match(error.message, /\[redacted\]/);
    assert.match(error.message, /args: init/, 'only the subcommand is on the command line');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds a REST repository location with its credentials encoded, for the environment', () => {
    const location = restLocation('https://nas.local:8000/felhom/', 'fam ily', new Secret('a:b@c'));
    assert.equal(location.reveal(), 'rest:https://fam%20ily:a%3Ab%40c@nas.local:8000/felhom/');
    assert.equal(String(location), '[redacted]');
  });

  it('refuses a retention policy that would forget everything', async () => {
    const restic = createRestic({ command: '/nonexistent', cacheDir: os.tmpdir() });
    const repo = { location: new Secret('/tmp/x'), password: new Secret('x') };
    await assert.rejects(restic.forget(repo, ['felhom'], { last: 0, daily: 0, weekly: 0, monthly: 0 }), /no retention rule/);
  });

  it('reports a missing restic as a reason, not a crash', async () => {
    const probe = await createRestic({ command: '/nonexistent/restic', cacheDir: os.tmpdir() }).probe();
    assert.match((probe as { reason: string }).reason, /not installed or cannot be run/);
  });
});

describe('include patterns', () => {
  it('match exactly the file named, whatever characters its name holds', () => {
    assert.equal(literalPattern('/IMG_0 [edited].jpg'), '/IMG_0 \\[edited\\].jpg');
    assert.equal(literalPattern('/a*b?c\\d'), '/a\\*b\\?c\\\\d');
    assert.equal(literalPattern('/plain/name.jpg'), '/plain/name.jpg');
  });
});

describe('a backup whose target stops answering', () => {
  it('is stopped when nothing moves for the stall bound, with a reason that says so', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-stall-'));
    // restic's way of waiting on a server that hangs: the same status line, every tick, forever.
    const fake = path.join(dir, 'restic');
    fs.writeFileSync(fake, '#!/bin/sh\nwhile true; do echo \'{"message_type":"status","files_done":3,"bytes_done":100,"total_files":9}\'; sleep 0.05; done\n', { mode: 0o755 });
    const restic = createRestic({ command: fake, cacheDir: dir, stallMs: 400 });
    const started = Date.now();
    const error = await restic
      .backup({ location: new Secret('/x'), password: new Secret('p') }, { dir, host: 'felhom', tags: ['felhom'] }, () => undefined)
      .then(() => null, (e: unknown) => e);
    assert.ok(error instanceof ResticError);
    assert.equal(error.failure, 'unreachable');
    assert.match(error.message, /nothing moved .*the target stopped answering/);
    assert.ok(Date.now() - started < 10_000, 'stopped soon after the bound, not at the 24-hour limit');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
