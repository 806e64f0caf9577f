import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ownContainerId } from './self.ts';

const id = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);

it('when the process runs in a Docker container, then its id comes from the bind mounts of its own /etc files', () => {
  const mountinfo = [
    '520 470 0:45 / / ro,relatime master:255 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X',
    `531 520 254:1 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
    `532 520 254:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
  ].join('\n');
  assert.equal(ownContainerId(mountinfo), id);
  // /var/lib on its own file system: the root of the mount is then relative to it.
  assert.equal(ownContainerId(`99 1 8:3 /docker/containers/${id}/hosts /etc/hosts rw - xfs /dev/sdb rw`), id);
});

it('when an app\'s volume merely has a path that looks like it, or there is no container, then the answer is null', () => {
  assert.equal(ownContainerId(`77 1 8:3 /data/containers/${id}/hostname /srv/hostname rw - ext4 /dev/sdb rw`), null);
  assert.equal(ownContainerId('22 1 0:21 / /proc rw - proc proc rw'), null);
  assert.equal(ownContainerId(null), null);
});
