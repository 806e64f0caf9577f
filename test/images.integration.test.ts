/**
 * The engine's image calls against a real registry on loopback: a pull reports its
 * layers and bytes, the registry's digest is read without pulling, and a registry
 * that is gone, lacks the tag or hangs ends the call with a reason, in bounded time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDockerPort, type PullProgress } from '../src/stacks/index.ts';
import { dockerHost, requireDocker } from './helpers/docker.ts';
import { buildWebImage, removeImage } from './helpers/images.ts';
import { hangingRegistry, requireRegistry, startRegistry } from './helpers/registry.ts';

const docker = createDockerPort(dockerHost);

/** An image with a layer of its own (random bytes), so a pull has something to download. */
function imageWithOwnLayer(tag: string, megabytes: number): string {
  return buildWebImage(tag, tag, [`RUN head -c ${megabytes * 1024 * 1024} /dev/urandom > /srv/blob`]);
}

describe('images through the engine', () => {
  it('when an image is pulled from a registry, then its layers and bytes are reported as they arrive, and the registry digest is what the engine recorded', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const local = imageWithOwnLayer(`felhom-test/pull-progress:${process.pid}`, 4);
    t.after(() => removeImage(local));
    const reference = registry.push(local, 'felhom/progress:1');
    // Gone from the engine, but for the busybox layer below it: the pull downloads the rest.
    removeImage(reference);
    removeImage(local);
    assert.equal(await docker.hasImage(reference), false);

    const seen: PullProgress[] = [];
    const final = await docker.pullImage(reference, { stallMs: 30_000, onProgress: (p) => seen.push(p) });
    assert.equal(await docker.hasImage(reference), true);
    assert.ok(final.layers >= 1 && final.layersDone === final.layers, `every layer is done: ${JSON.stringify(final)}`);
    assert.ok(final.bytes >= 4 * 1024 * 1024 * 0.9, `the random layer's bytes are counted: ${final.bytes}`);
    assert.ok(seen.some((p) => p.bytesDone > 0 && p.bytesDone < p.bytes), 'a moment with part of the bytes is reported');

    const digest = await docker.remoteDigest(reference, 10_000);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const recorded = await docker.repoDigests(reference);
    assert.ok(recorded.includes(`${registry.address}/felhom/progress@${digest}`));

    // A new image pushed under the same tag: the registry's digest moves, the engine's stays.
    const next = imageWithOwnLayer(`felhom-test/pull-progress:${process.pid}-next`, 1);
    t.after(() => removeImage(next));
    registry.push(next, 'felhom/progress:1');
    const moved = await docker.remoteDigest(reference, 10_000);
    assert.notEqual(moved, digest);
    assert.ok(!recorded.some((d) => d.endsWith(moved)), 'what the engine recorded no longer matches the registry');
  });

  it('when the tag is gone or the registry is down, then the pull and the digest question fail with the reason', async (t) => {
    if (!(await requireDocker(t)) || !requireRegistry(t)) return;
    const registry = await startRegistry(t);
    const local = imageWithOwnLayer(`felhom-test/pull-gone:${process.pid}`, 1);
    t.after(() => removeImage(local));
    const reference = registry.push(local, 'felhom/gone:1');
    removeImage(reference);
    removeImage(local);

    registry.removeTag('felhom/gone:1');
    await assert.rejects(docker.pullImage(reference, { stallMs: 30_000 }), (error: Error) => /could not download the image .*felhom\/gone:1: .*(not found|unknown)/i.test(error.message));
    await assert.rejects(docker.remoteDigest(reference, 10_000), /registry could not tell about the image/);

    await registry.stop();
    await assert.rejects(docker.pullImage(`${registry.address}/felhom/other:1`, { stallMs: 30_000 }), /could not download the image .*connection refused/i);
  });

  it('when the registry accepts the connection and never answers, then the pull gives up after the stall bound and the digest question after its deadline', async (t) => {
    if (!(await requireDocker(t))) return;
    const address = await hangingRegistry(t);
    const started = Date.now();
    await assert.rejects(docker.pullImage(`${address}/felhom/hang:1`, { stallMs: 2_000 }), /made no progress for 2 s/);
    const pullTook = Date.now() - started;
    assert.ok(pullTook < 10_000, `bounded: ${pullTook} ms`);
    const asked = Date.now();
    await assert.rejects(docker.remoteDigest(`${address}/felhom/hang:1`, 2_000), /did not answer within 2 s/);
    assert.ok(Date.now() - asked < 10_000);
  });
});
