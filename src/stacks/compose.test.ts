import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { AppError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { tempDir } from '../testing/temp.ts';
import { createCompose, type ComposeSpec } from './compose.ts';

/** A stand-in for compose: a shell script that records its arguments and environment. */
function fakeCompose(t: TestContext, body: string): { command: string[]; dir: string; read(name: string): string } {
  const dir = tempDir(t, 'felhom-compose-');
  const script = path.join(dir, 'compose.sh');
  fs.writeFileSync(script, `printf '%s\\n' "$@" > ${dir}/argv\nenv > ${dir}/env\n${body}\n`);
  return { command: ['/bin/sh', script], dir, read: (name) => fs.readFileSync(path.join(dir, name), 'utf8') };
}

const spec = (dir: string): ComposeSpec => ({ project: 'ft-app', dir, files: ['compose.yml', 'felhom.override.yml'] });

test('when each action runs, then only flags both compose versions accept are used, and down never removes volumes', async (t) => {
  const fake = fakeCompose(t, 'exit 0');
  const compose = createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() });
  const global = ['-p', 'ft-app', '--project-directory', fake.dir, '-f', `${fake.dir}/compose.yml`, '-f', `${fake.dir}/felhom.override.yml`];
  const expected: Array<[() => Promise<unknown>, string[]]> = [
    [() => compose.up(spec(fake.dir)), ['up', '-d', '--remove-orphans']],
    [() => compose.stop(spec(fake.dir)), ['stop']],
    [() => compose.start(spec(fake.dir)), ['start']],
    [() => compose.restart(spec(fake.dir)), ['restart']],
    [() => compose.down(spec(fake.dir)), ['down', '--remove-orphans']],
  ];
  for (const [call, subcommand] of expected) {
    await call();
    assert.deepEqual(fake.read('argv').trimEnd().split('\n'), [...global, ...subcommand]);
  }
  assert.deepEqual(await compose.command(), fake.command);
});

test('when the controller has secrets in its environment, then compose sees only DOCKER_HOST, PATH and HOME', async (t) => {
  process.env.FELHOM_TEST_SECRET = 'hunter2';
  t.after(() => delete process.env.FELHOM_TEST_SECRET);
  const fake = fakeCompose(t, 'exit 0');
  await createCompose({ command: fake.command, dockerHost: 'tcp://127.0.0.1:2375', logger: silentLogger() }).stop(spec(fake.dir));
  const names = fake.read('env').split('\n').map((line) => line.split('=')[0]).filter((name) => name && name !== 'PWD' && name !== 'SHLVL' && name !== 'OLDPWD');
  assert.deepEqual(names.sort(), ['DOCKER_HOST', 'HOME', 'PATH']);
  assert.match(fake.read('env'), /^DOCKER_HOST=tcp:\/\/127\.0\.0\.1:2375$/m);
});

test('when compose fails, then the error is upstream and carries the command, the exit code and the last 20 lines of stderr', async (t) => {
  const fake = fakeCompose(t, 'for i in $(seq 1 30); do echo "problem $i" >&2; done\nexit 3');
  const compose = createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() });
  const error = await compose.up(spec(fake.dir)).then(() => assert.fail('up should fail'), (e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'upstream');
  assert.match(error.message, /compose\.sh up failed \(exit 3\) for project ft-app: problem 11\n/);
  assert.match(error.message, /problem 30$/);
  assert.doesNotMatch(error.message, /problem 10\n/);
});

test('when compose prints progress, then each stdout and stderr line reaches onLine while it still runs', async (t) => {
  const fake = fakeCompose(t, '');
  const gate = path.join(fake.dir, 'gate');
  // The script waits until the test has seen its first line: proof that lines stream.
  fs.appendFileSync(path.join(fake.dir, 'compose.sh'), `echo "Creating web"\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho "web started" >&2\nprintf 'no newline'`);
  const lines: string[] = [];
  await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).up(spec(fake.dir), (line) => {
    lines.push(line);
    fs.writeFileSync(gate, '');
  });
  assert.deepEqual(lines, ['Creating web', 'web started', 'no newline']);
});

test('when a call outlasts its timeout, then compose and its children are stopped and the error says so', async (t) => {
  const fake = fakeCompose(t, 'sleep 30 &\nwait');
  const compose = createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger(), timeoutsMs: { short: 300 } });
  const started = Date.now();
  await assert.rejects(compose.restart(spec(fake.dir)), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'upstream');
    assert.match(error.message, /restart timed out after 0.3 s and was stopped/);
    return true;
  });
  assert.ok(Date.now() - started < 5_000, 'the child was killed, not waited for');
});

test('when the controller stops during up, then compose and its children are cancelled through the signal and the error says so', async (t) => {
  const fake = fakeCompose(t, 'exec sleep 30');
  const stopping = new AbortController();
  setTimeout(() => stopping.abort(), 200);
  const started = Date.now();
  await assert.rejects(createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).up(spec(fake.dir), undefined, stopping.signal), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.match(error.message, /up was cancelled: the controller is stopping/);
    return true;
  });
  assert.ok(Date.now() - started < 4_000, 'the child was stopped, not waited for');
});

test('when config runs, then its YAML output comes back read into the compose model', async (t) => {
  const fake = fakeCompose(t, "printf 'services:\\n  web:\\n    image: busybox\\n    ports:\\n    - published: 8080\\n      target: 80\\n'");
  const config = await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(fake.dir));
  assert.deepEqual(config.services.map((service) => [service.name, service.image, service.keys]), [['web', 'busybox', ['image', 'ports']]]);
  assert.deepEqual(config.services[0]!.ports, [{ hostIp: null, published: 8080, target: 80, protocol: 'tcp', anyOf: null }]);
});

test('when compose refuses the app\'s file in config, then it is a validation error in compose\'s words, without the app folder\'s path', async (t) => {
  const fake = fakeCompose(t, '[ "$1" = version ] && exit 0\necho "validating $PWD/compose.yml: services.web.ports must be a list" >&2\necho "in $PWD" >&2\necho "beside $(dirname "$PWD")/other" >&2\nexit 15');
  const error = await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(fake.dir)).catch((e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'validation');
  assert.equal(error.message, 'compose refused the compose file: validating compose.yml: services.web.ports must be a list\nin .\nbeside (the apps folder)/other');
});

test('when compose cannot run at all (the docker CLI lacks the plugin), then config failing is an upstream error, not the customer\'s file', async (t) => {
  const fake = fakeCompose(t, 'echo "docker: \'compose\' is not a docker command." >&2\nexit 1');
  const error = await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(fake.dir)).catch((e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'upstream');
  assert.match(error.message, /config failed \(exit 1\) for project ft-app: docker: 'compose' is not a docker command\./);
});

test('when the configured compose command does not exist, then config failing is an upstream error', async (t) => {
  const error = await createCompose({ command: [path.join(tempDir(t), 'docker-compose')], dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(tempDir(t))).catch((e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'upstream');
  assert.match(error.message, /could not run .*docker-compose/);
});

test('when config would cost more than its bound, then it is stopped and the file is refused', async (t) => {
  const fake = fakeCompose(t, `exec "${process.execPath}" -e 'const k = []; setInterval(() => k.push(Buffer.alloc(50e6, 1)), 5)'`);
  const started = Date.now();
  const error = await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(fake.dir)).catch((e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'policy');
  assert.match(error.message, /compose needed more than 256 MiB to read the compose file and was stopped/);
  assert.ok(Date.now() - started < 10_000);
});

test('when config prints more than it may, then it is stopped and the file is refused', async (t) => {
  const fake = fakeCompose(t, 'exec yes "x: y"');
  const error = await createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() }).config(spec(fake.dir)).catch((e: unknown) => e);
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'policy');
  assert.match(error.message, /compose printed more than 4 MiB for the compose file/);
});

test('when several configs are asked for at once, then they run one at a time', async (t) => {
  const fake = fakeCompose(t, 'echo "start $(date +%s%N)" >> "$(dirname "$0")/log"; sleep 0.2; echo "end $(date +%s%N)" >> "$(dirname "$0")/log"; echo "services: {}"');
  const compose = createCompose({ command: fake.command, dockerHost: 'unix:///x.sock', logger: silentLogger() });
  await Promise.all([compose.config(spec(fake.dir)), compose.config(spec(fake.dir)), compose.config(spec(fake.dir)).catch(() => null)]);
  const events = fake.read('log').trim().split('\n').map((line) => line.split(' ')[0]);
  assert.deepEqual(events, ['start', 'end', 'start', 'end', 'start', 'end']);
});

/** A PATH holding only the given executables (shell scripts), for detection. */
function withPath(t: TestContext, scripts: Record<string, string>): void {
  const bin = tempDir(t, 'felhom-path-');
  for (const [name, body] of Object.entries(scripts)) fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = bin;
  t.after(() => {
    process.env.PATH = saved;
  });
}

test('when `docker compose` answers, then it is preferred to docker-compose', async (t) => {
  withPath(t, { docker: '[ "$1 $2" = "compose version" ]', 'docker-compose': 'exit 0' });
  assert.deepEqual(await createCompose({ dockerHost: 'unix:///x.sock', logger: silentLogger() }).command(), ['docker', 'compose']);
});

test('when only docker-compose answers, then it is used', async (t) => {
  withPath(t, { docker: 'echo "docker: unknown command: docker compose" >&2; exit 1', 'docker-compose': '[ "$1" = version ]' });
  assert.deepEqual(await createCompose({ dockerHost: 'unix:///x.sock', logger: silentLogger() }).command(), ['docker-compose']);
});

test('when no compose is found, then the error says so and names FELHOM_COMPOSE', async (t) => {
  withPath(t, {});
  await assert.rejects(createCompose({ dockerHost: 'unix:///x.sock', logger: silentLogger() }).command(), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /neither `docker compose` \(v2\) nor `docker-compose` \(v1\).*FELHOM_COMPOSE/);
    return true;
  });
});
