import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { AppError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { dockerHost, requireDocker } from '../testing/docker.ts';
import { tempDir } from '../testing/temp.ts';
import { BUSYBOX, buildImage, cleanUpAfter, runWithVolume, testDocker, uniqueName } from './testing.ts';
import { createVolumes, seedName } from './volumes.ts';

/** An image shipping content at /data, owned by uid 1000 with mode 0700, like a typical app's data dir. */
const SEEDED_IMAGE = 'RUN mkdir -p /data/conf && echo shipped > /data/conf/app.ini && echo v1 > /data/VERSION && chown -R 1000:1000 /data && chmod 0700 /data';

function setUp(t: TestContext) {
  const app = uniqueName();
  cleanUpAfter(t, app);
  const dir = path.join(tempDir(t, 'felhom-volumes-'), 'felhom', 'apps', app, 'data');
  return { app, dir, volumes: createVolumes({ dockerHost, logger: silentLogger() }) };
}

test('when an image ships files at the volume path, then the first container sees them with the image owner and mode', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const image = buildImage(t, SEEDED_IMAGE);
  const { name } = await volumes.ensureVolume({ app, volume: 'data', dir });
  assert.equal(name, `felhom_${app}_data`);
  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'seeded');

  // Plain busybox has nothing at /data, so what the container sees came from seeding.
  const seen = runWithVolume(name, '/data', 'stat -c "%u %a" /data; cat /data/conf/app.ini /data/VERSION');
  assert.equal(seen, '1000 700\nshipped\nv1\n');
  assert.equal(fs.statSync(dir).uid, 1000);
  assert.ok(fs.existsSync(`${dir}.seeded`), 'the sentinel is beside the volume');
  assert.ok(!fs.existsSync(`${dir}.seeding`), 'no staging left');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['VERSION', 'conf']);
  const leftovers = await testDocker().listVolumes({ filters: { name: [seedName(app, '')] } });
  assert.deepEqual(leftovers.Volumes ?? [], [], 'the temporary volume is gone');
});

test('when the app wrote data and its container and volume object are removed, then ensure and seed again keep the data', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const image = buildImage(t, SEEDED_IMAGE);
  const { name } = await volumes.ensureVolume({ app, volume: 'data', dir });
  await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' });
  runWithVolume(name, '/data', 'echo mine > /data/user.txt && echo changed > /data/conf/app.ini');

  await volumes.removeVolume(name);
  assert.equal(fs.readFileSync(path.join(dir, 'user.txt'), 'utf8'), 'mine\n', 'removing the volume object kept the files');

  await volumes.ensureVolume({ app, volume: 'data', dir });
  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'already');
  assert.equal(runWithVolume(name, '/data', 'cat /data/user.txt /data/conf/app.ini'), 'mine\nchanged\n');
});

test('when a crash left a partial staging directory, then seeding removes it and completes', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const image = buildImage(t, SEEDED_IMAGE);
  fs.mkdirSync(`${dir}.seeding/conf`, { recursive: true });
  fs.writeFileSync(`${dir}.seeding/conf/half-copied`, 'x');
  // The temporary container a crash would also have left behind.
  await testDocker().createContainer({ name: seedName(app, 'data'), Image: BUSYBOX, Cmd: ['true'], Labels: { 'org.felhom.seed': 'true' } });

  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'seeded');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'conf')), ['app.ini']);
  assert.ok(!fs.existsSync(`${dir}.seeding`));
  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'already');
});

test('when the directory already holds data and no sentinel, then nothing in it is touched', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const image = buildImage(t, SEEDED_IMAGE);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'VERSION'), 'from an earlier install\n');

  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'kept-existing');
  assert.deepEqual(fs.readdirSync(dir), ['VERSION']);
  assert.equal(fs.readFileSync(path.join(dir, 'VERSION'), 'utf8'), 'from an earlier install\n');
  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), 'already');
});

test('when the image has nothing at the mount path, then the directory stays empty, with no sentinel inside', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  assert.equal(await volumes.seedVolume({ app, volume: 'data', dir, image: BUSYBOX, mountPath: '/var/lib/postgresql/data' }), 'seeded');
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.ok(fs.existsSync(`${dir}.seeded`));
});

test('when the image is not in the engine, then seeding fails saying to pull it, and leaves nothing behind', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  await assert.rejects(volumes.seedVolume({ app, volume: 'data', dir, image: 'felhom-test/not-pulled:latest', mountPath: '/data' }), /the image is not in the engine; pull it first/);
  assert.ok(!fs.existsSync(`${dir}.seeded`));
  const leftovers = await testDocker().listVolumes({ filters: { name: [seedName(app, '')] } });
  assert.deepEqual(leftovers.Volumes ?? [], []);
  await assert.rejects(testDocker().getContainer(seedName(app, 'data')).inspect(), /no such container/i);
});

test('when a container that Felhom did not make has the seeding name, then seeding refuses to remove it', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const image = buildImage(t, SEEDED_IMAGE);
  await testDocker().createContainer({ name: seedName(app, 'data'), Image: BUSYBOX, Cmd: ['true'] });
  await assert.rejects(volumes.seedVolume({ app, volume: 'data', dir, image, mountPath: '/data' }), /was not made by Felhom; it is left alone/);
  assert.ok(await testDocker().getContainer(seedName(app, 'data')).inspect(), 'it is still there');
});

test('when the volume exists on the same directory, then it is reused; on another and unused, then it is recreated there', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const docker = testDocker();
  const { name } = await volumes.ensureVolume({ app, volume: 'data', dir });
  const created = (await docker.getVolume(name).inspect()) as { CreatedAt?: string };
  await volumes.ensureVolume({ app, volume: 'data', dir: `${dir}/` });
  assert.equal(((await docker.getVolume(name).inspect()) as { CreatedAt?: string }).CreatedAt, created.CreatedAt, 'reused');

  const moved = `${dir}-moved`;
  await volumes.ensureVolume({ app, volume: 'data', dir: moved });
  const inspected = await docker.getVolume(name).inspect();
  assert.equal(inspected.Options?.device, moved);
  assert.deepEqual(inspected.Labels, { 'org.felhom.app': app, 'org.felhom.volume': 'data', 'org.felhom.managed': 'true' });
  assert.ok(fs.statSync(moved).isDirectory(), 'the directory is made first');
});

test('when a container uses the volume and it must move, then a conflict names both paths and nothing changes', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, dir, volumes } = setUp(t);
  const docker = testDocker();
  const { name } = await volumes.ensureVolume({ app, volume: 'data', dir });
  const user = await docker.createContainer({ Image: BUSYBOX, Cmd: ['true'], HostConfig: { Binds: [`${name}:/data`] }, Labels: { 'com.docker.compose.project': app } });
  t.after(() => user.remove({ force: true }).catch(() => undefined));

  await assert.rejects(volumes.ensureVolume({ app, volume: 'data', dir: `${dir}-elsewhere` }), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'conflict');
    assert.ok(error.message.includes(dir) && error.message.includes(`${dir}-elsewhere`), error.message);
    return true;
  });
  assert.equal((await docker.getVolume(name).inspect()).Options?.device, dir);
  await assert.rejects(volumes.removeVolume(name), (error: unknown) => error instanceof AppError && error.code === 'conflict');
});

test('when a volume was not made by Felhom, then removeVolume refuses it', async (t) => {
  if (!(await requireDocker(t))) return;
  const { app, volumes } = setUp(t);
  const name = `felhom_${app}_foreign`;
  await testDocker().createVolume({ Name: name });
  await assert.rejects(volumes.removeVolume(name), /was not made by Felhom/);
  await volumes.removeVolume(`felhom_${app}_never_existed`);
});
