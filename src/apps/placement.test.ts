import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Mount } from '../agent/index.ts';
import { inEnglish } from '../i18n/index.ts';
import { readGolden } from '../testing/temp.ts';
import { planPlacement, type VolumeRequest } from './placement.ts';

const storage = readGolden('storage.json') as { mounts: Mount[] };
const [fast, usb] = storage.mounts as [Mount, Mount];
const photoVolumes: VolumeRequest[] = [
  { volume: 'db', class: 'hot' },
  { volume: 'photos', class: 'bulk', backup: 'own' },
  { volume: 'cache', class: 'bulk', backup: 'none', note: 're-creatable thumbnails' },
];

describe('placing volumes', () => {
  it('when fast primary and bulk-data storage are attached, then hot goes to fast and bulk to bulk-data', () => {
    const plan = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast, usb] });
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.needsConfirmation, []);
    assert.deepEqual(
      plan.placements.map((p) => [p.volume, p.mountId, p.path, p.backup, p.inGuestBackup]),
      [
        ['db', 'local-fast', '/mnt/felhom/local-fast/felhom/apps/photos/db', 'guest', true],
        ['photos', 'usb-9f3a27c1', '/mnt/felhom/usb-9f3a27c1/felhom/apps/photos/photos', 'own', false],
        ['cache', 'usb-9f3a27c1', '/mnt/felhom/usb-9f3a27c1/felhom/apps/photos/cache', 'none', false],
      ],
    );
    assert.equal(plan.placements[2]!.note, 're-creatable thumbnails');
  });

  it('when no fast primary storage is attached, then a hot volume is a problem that says so', () => {
    const plan = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [usb, { ...fast, state: 'disconnected' }] });
    assert.equal(plan.problems.length, 1);
    assert.match(inEnglish(plan.problems[0]!), /volume "db" is hot .* no fast primary storage is attached/);
  });

  it('when a fast mount has the bulk-data role, then hot data does not go there (it is outside the guest backup)', () => {
    const fastBulk: Mount = { ...usb, id: 'usb-2b77e0d4', class: 'fast', role: 'bulk-data' };
    const plan = planPlacement({ appId: 'photos', volumes: [{ volume: 'db', class: 'hot' }], mounts: [fastBulk] });
    assert.match(inEnglish(plan.problems[0]!), /no fast primary storage/);
  });

  it('when no bulk-data storage is attached, then bulk needs the customer to confirm the primary mount', () => {
    const unconfirmed = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast] });
    assert.deepEqual(unconfirmed.needsConfirmation, ['photos', 'cache']);
    assert.deepEqual(unconfirmed.problems, []);
    assert.ok(unconfirmed.placements.every((p) => p.mountId === 'local-fast'));
    assert.equal(unconfirmed.placements[1]!.bulkOnPrimary, true);

    const confirmed = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast], confirmBulkOnPrimary: true });
    assert.deepEqual(confirmed.needsConfirmation, []);
  });

  it('when a mount has a role the contract does not name, then it is never used', () => {
    const odd: Mount = { ...usb, role: 'vzdump-target' };
    const plan = planPlacement({ appId: 'media', volumes: [{ volume: 'media', class: 'bulk', backup: 'none' }], mounts: [odd] });
    assert.match(inEnglish(plan.problems[0]!), /no storage is attached/);
  });

  it('when several bulk-data mounts are attached, then the one with the most free space is chosen', () => {
    const bigger: Mount = { ...usb, id: 'usb-big', path: '/mnt/felhom/usb-big', free_bytes: usb.free_bytes * 2 };
    const plan = planPlacement({ appId: 'media', volumes: [{ volume: 'media', class: 'bulk', backup: 'own' }], mounts: [fast, usb, bigger] });
    assert.equal(plan.placements[0]!.mountId, 'usb-big');
  });

  it('when a volume already has a place, then it keeps it, and a disconnected or vanished mount is a problem, never a move', () => {
    const existing = [{ volume: 'photos', class: 'bulk' as const, mountId: 'usb-9f3a27c1', path: '/mnt/felhom/usb-9f3a27c1/felhom/apps/photos/photos' }];
    const bigger: Mount = { ...usb, id: 'usb-big', free_bytes: usb.free_bytes * 2 };
    const kept = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast, usb, bigger], existing });
    assert.equal(kept.placements.find((p) => p.volume === 'photos')!.mountId, 'usb-9f3a27c1');

    const disconnected = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast, { ...usb, state: 'disconnected' }], existing });
    assert.match(disconnected.problems.map(inEnglish).join('\n'), /"photos" lives on "WD Elements 4TB", which is disconnected; reconnect it first/);

    const vanished = planPlacement({ appId: 'photos', volumes: photoVolumes, mounts: [fast, bigger], existing });
    assert.match(vanished.problems.map(inEnglish).join('\n'), /no longer presented .* data is kept at \/mnt\/felhom\/usb-9f3a27c1/);
  });

  it('when a placed volume changes class, then the change is refused rather than leaving hot data outside the backup', () => {
    const existing = [{ volume: 'db', class: 'bulk' as const, mountId: 'usb-9f3a27c1', path: '/mnt/felhom/usb-9f3a27c1/felhom/apps/photos/db' }];
    const plan = planPlacement({ appId: 'photos', volumes: [{ volume: 'db', class: 'hot' }], mounts: [fast, usb], existing });
    assert.deepEqual(plan.placements, []);
    assert.match(inEnglish(plan.problems[0]!), /"db" was bulk and is now declared hot; its data at .* is not moved automatically/);
  });
});
