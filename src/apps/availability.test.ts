import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAvailability, imagesOfComposeText } from './availability.ts';

const LOCAL = '127.0.0.1:5000';

function fakeDocker(engine: string[], registry: string[]) {
  const asked: string[] = [];
  return {
    asked,
    docker: {
      hasImage: async (image: string) => engine.includes(image),
      remoteDigest: async (image: string) => {
        asked.push(image);
        if (!registry.includes(image)) throw new Error('not found');
        return 'sha256:1';
      },
    },
  };
}

describe('whether a catalog app can be installed from here', () => {
  let now = 0;
  const clock = { now: () => new Date(now) };

  it('when the box is offline, then an image in the engine or in the listed registry is ready, and one from the internet or missing from the registry needs internet', async () => {
    const { docker, asked } = fakeDocker(['vaultwarden/server:1.32.0'], [`${LOCAL}/demo/notes:1`]);
    const availability = createAvailability({ docker, clock, offline: true, allowedRegistries: [LOCAL] });
    assert.equal(await availability(['vaultwarden/server:1.32.0']), 'ready', 'in the engine');
    assert.equal(await availability([`${LOCAL}/demo/notes:1`]), 'ready', 'in the listed registry');
    assert.equal(await availability(['jellyfin/jellyfin:10.9.11']), 'needs_internet', 'Docker Hub');
    assert.equal(await availability([`${LOCAL}/demo/notes:1`, 'ghcr.io/immich-app/immich-server:v1.119.1']), 'needs_internet', 'one image away is enough');
    assert.equal(await availability([`${LOCAL}/demo/gone:1`]), 'needs_internet', 'the registry lacks it');
    assert.ok(!asked.some((image) => !image.startsWith(LOCAL)), `only the listed registry is asked: ${asked.join(', ')}`);
  });

  it('when the box has internet, then nothing is asked and no badge is shown', async () => {
    const { docker, asked } = fakeDocker([], []);
    const availability = createAvailability({ docker, clock, offline: false, allowedRegistries: [] });
    assert.equal(await availability(['jellyfin/jellyfin:10.9.11']), null);
    assert.deepEqual(asked, []);
  });

  it('when the store is opened again soon, then the registry is not asked again; later it is', async () => {
    const { docker, asked } = fakeDocker([], [`${LOCAL}/demo/notes:1`]);
    const availability = createAvailability({ docker, clock, offline: true, allowedRegistries: [LOCAL], maxAgeMs: 1000 });
    await availability([`${LOCAL}/demo/notes:1`]);
    await availability([`${LOCAL}/demo/notes:1`]);
    assert.equal(asked.length, 1);
    now += 1001;
    await availability([`${LOCAL}/demo/notes:1`]);
    assert.equal(asked.length, 2);
  });

  it('when a compose file is read for its images, then each is named once, with a variable read as its default', () => {
    const text = 'x-base: &base\n  image: "${IMAGE:-vaultwarden/server:1.32.0}"\nservices:\n  a: *base\n  b:\n    <<: *base\n  c:\n    image: mariadb:11.4\n  d:\n    build: .\n';
    assert.deepEqual(imagesOfComposeText(text), ['vaultwarden/server:1.32.0', 'mariadb:11.4']);
  });
});
