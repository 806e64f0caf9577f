import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors.ts';
import { inEnglish } from '../i18n/index.ts';
import type { ContainerInfo } from '../stacks/index.ts';
import { checkAppImages, repositoryOf, updateAvailable, type CheckerDocker } from './checker.ts';

const REGISTRY = '127.0.0.1:5000';
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;

function container(service: string, image: string, imageId: string): ContainerInfo {
  return { id: `c-${service}`, name: `app-${service}-1`, service, state: 'running', health: null, image, imageId, startedAt: null, ports: [], exitCode: null, oneShot: false };
}

/** A Docker port whose registry holds `remote` per reference and whose engine recorded `recorded` per image id. */
function fakeDocker(containers: ContainerInfo[], recorded: Record<string, string[]>, remote: Record<string, string | Error>) {
  const asked: string[] = [];
  const docker: CheckerDocker = {
    listContainers: async () => containers,
    repoDigests: async (image) => recorded[image] ?? [],
    async remoteDigest(reference) {
      asked.push(reference);
      const answer = remote[reference];
      if (answer === undefined) throw new Error(`the test's registry was asked about ${reference}`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { docker, asked };
}

const deps = (docker: CheckerDocker, offline = true, pullImages = true) => ({ docker, allowedRegistries: [REGISTRY], offline, pullImages, timeoutMs: 1_000 });

describe('the update checker', () => {
  it('when the registry holds the digest the running image was pulled with, then no update is available', async () => {
    const image = `${REGISTRY}/felhom/web:1`;
    const { docker } = fakeDocker([container('web', image, 'sha256:img1')], { 'sha256:img1': [`${REGISTRY}/felhom/web@${OLD}`] }, { [image]: OLD });
    const images = await checkAppImages(deps(docker), 'app');
    assert.deepEqual(images, [{ service: 'web', image, running: OLD, latest: OLD, error: null }]);
    assert.equal(updateAvailable(images), false);
  });

  it('when the registry digest of the tag differs from the running one, then an update is available, though the engine has the new image under the tag', async () => {
    const image = `${REGISTRY}/felhom/web:1`;
    // The container runs img1; the digest of another repository the same image was pushed to does not count.
    const { docker } = fakeDocker(
      [container('web', image, 'sha256:img1'), container('db', `${REGISTRY}/felhom/db:2`, 'sha256:db')],
      { 'sha256:img1': [`${REGISTRY}/other/web@${NEW}`, `${REGISTRY}/felhom/web@${OLD}`], 'sha256:db': [`${REGISTRY}/felhom/db@${OLD}`] },
      { [image]: NEW, [`${REGISTRY}/felhom/db:2`]: OLD },
    );
    const images = await checkAppImages(deps(docker), 'app');
    assert.deepEqual(images.map((i) => [i.service, i.running, i.latest]), [['db', OLD, OLD], ['web', OLD, NEW]]);
    assert.equal(updateAvailable(images), true);
  });

  it('when the image is known under several digests of its repository and the registry holds any of them, then no update is available', async () => {
    const image = `${REGISTRY}/felhom/web:1`;
    const SAME = `sha256:${'c'.repeat(64)}`;
    // The registry's digest is the second one the engine recorded: the first alone would say "update".
    const { docker } = fakeDocker([container('web', image, 'sha256:img1')], { 'sha256:img1': [`${REGISTRY}/felhom/web@${OLD}`, `${REGISTRY}/felhom/web@${SAME}`] }, { [image]: SAME });
    const images = await checkAppImages(deps(docker), 'app');
    assert.deepEqual(images.map((i) => [i.running, i.latest]), [[SAME, SAME]]);
    assert.equal(updateAvailable(images), false);
    // None of them is the registry's: an update.
    const moved = fakeDocker([container('web', image, 'sha256:img1')], { 'sha256:img1': [`${REGISTRY}/felhom/web@${OLD}`, `${REGISTRY}/felhom/web@${SAME}`] }, { [image]: NEW });
    assert.equal(updateAvailable(await checkAppImages(deps(moved.docker), 'app')), true);
  });

  it('when downloads are off (FELHOM_PULL=never), then no registry is asked and the image says why', async () => {
    const image = `${REGISTRY}/felhom/web:1`;
    const { docker, asked } = fakeDocker([container('web', image, 'sha256:img1')], { 'sha256:img1': [`${REGISTRY}/felhom/web@${OLD}`] }, { [image]: NEW });
    const images = await checkAppImages(deps(docker, true, false), 'app');
    assert.deepEqual(asked, []);
    assert.equal(images[0]!.error?.key, 'update.pull_off');
    assert.match(inEnglish(images[0]!.error!), /downloads are off/);
    assert.equal(updateAvailable(images), false);
  });

  it('when the running image has no repo digest (built on the guest), then it cannot tell, says why, and asks no registry', async () => {
    const image = `${REGISTRY}/felhom/local:1`;
    const { docker, asked } = fakeDocker([container('web', image, 'sha256:built')], {}, {});
    const images = await checkAppImages(deps(docker), 'app');
    assert.equal(images[0]!.running, null);
    assert.equal(images[0]!.error?.key, 'update.no_repo_digest');
    assert.match(inEnglish(images[0]!.error!), /was not downloaded from a registry/);
    assert.deepEqual(asked, []);
    assert.equal(updateAvailable(images), false);
  });

  it('when one registry fails, then that image records the reason and the others are still checked', async () => {
    const broken = `${REGISTRY}/felhom/broken:1`;
    const fine = `${REGISTRY}/felhom/fine:1`;
    const { docker } = fakeDocker(
      [container('a', broken, 'sha256:a'), container('b', fine, 'sha256:b')],
      { 'sha256:a': [`${REGISTRY}/felhom/broken@${OLD}`], 'sha256:b': [`${REGISTRY}/felhom/fine@${OLD}`] },
      { [broken]: new AppError('unavailable', { key: 'error.registry_timeout', params: { image: broken, seconds: 1 } }), [fine]: NEW },
    );
    const images = await checkAppImages(deps(docker), 'app');
    assert.equal(images[0]!.latest, null);
    assert.equal(images[0]!.error?.key, 'error.registry_timeout');
    assert.match(inEnglish(images[0]!.error!), /did not answer within 1 s/);
    assert.deepEqual([images[1]!.running, images[1]!.latest, images[1]!.error], [OLD, NEW, null]);
    assert.equal(updateAvailable(images), true);
  });

  it('when the box is offline, then an image that needs the internet is never asked about, and one from a listed registry is', async () => {
    const hub = 'nginx:1.27';
    const local = `${REGISTRY}/felhom/web:1`;
    const { docker, asked } = fakeDocker(
      [container('proxy', hub, 'sha256:hub'), container('web', local, 'sha256:web')],
      { 'sha256:hub': [`nginx@${OLD}`], 'sha256:web': [`${REGISTRY}/felhom/web@${OLD}`] },
      { [local]: OLD },
    );
    const images = await checkAppImages(deps(docker, true), 'app');
    assert.deepEqual(asked, [local]);
    assert.equal(images.find((i) => i.service === 'proxy')!.error?.key, 'update.needs_internet');
    assert.match(inEnglish(images.find((i) => i.service === 'proxy')!.error!), /needs the internet/);
    // The same box online asks Docker Hub too (here: the fake, which was not told about it).
    const online = await checkAppImages(deps(docker, false), 'app');
    assert.deepEqual(asked, [local, hub, local]);
    assert.match(inEnglish(online.find((i) => i.service === 'proxy')!.error!), /registry was asked about nginx/);
  });

  it('when an image is pinned by digest, then it cannot move and no registry is asked', async () => {
    const image = `${REGISTRY}/felhom/web@${OLD}`;
    const { docker, asked } = fakeDocker([container('web', image, 'sha256:img')], { 'sha256:img': [`${REGISTRY}/felhom/web@${OLD}`] }, {});
    const images = await checkAppImages(deps(docker), 'app');
    assert.equal(images[0]!.error?.key, 'update.pinned');
    assert.deepEqual(asked, []);
  });

  it('when references name Docker Hub in long or short form, then they name the same repository as the engine records it', () => {
    assert.equal(repositoryOf('nginx:1.27'), 'nginx');
    assert.equal(repositoryOf('docker.io/library/nginx:1.27'), 'nginx');
    assert.equal(repositoryOf('nginx@sha256:abc'), 'nginx');
    assert.equal(repositoryOf('docker.io/grafana/grafana:11'), 'grafana/grafana');
    assert.equal(repositoryOf('127.0.0.1:5000/felhom/web:1'), '127.0.0.1:5000/felhom/web');
    assert.equal(repositoryOf('127.0.0.1:5000/felhom/web'), '127.0.0.1:5000/felhom/web');
  });
});
