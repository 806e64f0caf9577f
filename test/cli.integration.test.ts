/**
 * The `felhom` command as a person runs it: real processes, real files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/temp.ts';

const cli = path.join(import.meta.dirname, '..', 'src', 'cli.ts');

function felhom(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('felhom api-token', () => {
  it('when a token is created, listed and revoked, then it is printed once and never again', (t) => {
    const env = { FELHOM_DATA_DIR: tempDir(t) };
    const created = felhom(['api-token', 'create', 'home-assistant'], env);
    assert.equal(created.status, 0, created.stderr);
    const token = /^\s+(fct_\S+)$/m.exec(created.stdout)?.[1];
    assert.ok(token, created.stdout);
    assert.match(created.stdout, /shown only this once/);

    const listed = felhom(['api-token', 'list'], env);
    assert.match(listed.stdout, /home-assistant\s+created .* last used never/);
    assert.equal(listed.stdout.includes(token), false);

    const revoked = felhom(['api-token', 'revoke', 'home-assistant'], env);
    assert.match(revoked.stdout, /Revoked API token "home-assistant"/);
    assert.match(felhom(['api-token', 'list'], env).stdout, /revoked \d{4}-/);
  });

  it('when used wrongly, then it says how to use it and exits 2', (t) => {
    const env = { FELHOM_DATA_DIR: tempDir(t) };
    const result = felhom(['api-token', 'create'], env);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage: felhom api-token create <name> \| list \| revoke <id\|name>/);
    assert.equal(felhom(['api-token', 'revoke', 'nobody'], env).status, 2);
  });
});

describe('felhom', () => {
  it('when the command is unknown, then it prints the usage and exits 2', () => {
    const result = felhom(['frobnicate'], {});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "frobnicate"/);
    assert.match(result.stderr, /api-token create <name>/);
  });

  it('when the configuration is bad, then serve refuses to start and names every bad variable', (t) => {
    const result = felhom(['serve'], { FELHOM_DATA_DIR: tempDir(t), FELHOM_LISTEN: 'everywhere', DOCKER_HOST: 'docker' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /FELHOM_LISTEN: must be host:port/);
    assert.match(result.stderr, /DOCKER_HOST: must be unix:\/\/\//);
  });

  it('when the listen address is taken, then serve names FELHOM_LISTEN and exits 2', async (t) => {
    const net = await import('node:net');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as import('node:net').AddressInfo).port;
    const dir = tempDir(t);
    const result = felhom(['serve'], { FELHOM_DATA_DIR: dir, FELHOM_BOOTSTRAP_PATH: path.join(dir, 'none.json'), FELHOM_LISTEN: `127.0.0.1:${port}` });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`FELHOM_LISTEN 127\\.0\\.0\\.1:${port}: cannot listen there: the address is already in use`));
  });

  it('when dev-agent is asked for, then it is an unknown command: the development agent is not part of the product', () => {
    const result = felhom(['dev-agent', '--demo'], {});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "dev-agent"/);
    assert.doesNotMatch(result.stderr, /development agent/, 'nor does the usage offer it');
  });

  it('when the data directory cannot be written, then serve says which and exits', (t) => {
    const file = path.join(tempDir(t), 'a-file');
    spawnSync('touch', [file]);
    const result = felhom(['serve'], { FELHOM_DATA_DIR: path.join(file, 'data'), FELHOM_LISTEN: '127.0.0.1:0' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /FELHOM_DATA_DIR .*a-file\/data is not a writable directory/);
  });

  it('when serve runs with no bootstrap and gets SIGTERM, then it served /healthz and stops cleanly', async (t) => {
    const dir = tempDir(t);
    const child = spawn(process.execPath, [cli, 'serve'], {
      env: {
        PATH: process.env.PATH,
        FELHOM_DATA_DIR: dir,
        FELHOM_BOOTSTRAP_PATH: path.join(dir, 'missing.json'),
        FELHOM_LISTEN: '127.0.0.1:0',
        FELHOM_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.match(output, /bootstrap.json not applied/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
