/**
 * Mounts are real directories under the mount root, so a controller in development can
 * bind volumes to them and see files survive an eject; their capacity is the real
 * capacity of the filesystem holding them.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountRecord } from './state.ts';

export interface Capacity {
  total_bytes: number;
  free_bytes: number;
  used_bytes: number;
}

export function mountPath(mountRoot: string, mountId: string): string {
  return join(mountRoot, mountId);
}

export async function capacityOf(path: string): Promise<Capacity> {
  const stats = await statfs(path);
  const total = stats.blocks * stats.bsize;
  return { total_bytes: total, free_bytes: stats.bavail * stats.bsize, used_bytes: total - stats.bfree * stats.bsize };
}

export async function ensureMountDirectory(mountRoot: string, mountId: string): Promise<void> {
  await mkdir(mountPath(mountRoot, mountId), { recursive: true });
}

export async function mountWire(mount: MountRecord, mountRoot: string) {
  const path = mountPath(mountRoot, mount.id);
  const { total_bytes, free_bytes } = await capacityOf(path);
  return {
    id: mount.id,
    label: mount.label,
    path,
    class: mount.class,
    role: mount.role,
    state: mount.state,
    total_bytes,
    free_bytes,
    // Bulk data is excluded from the guest's own backup (context/004 §7).
    in_guest_backup: mount.role === 'primary',
  };
}

export async function storageWire(guestId: string, mounts: MountRecord[], mountRoot: string) {
  return { guest_id: guestId, mounts: await Promise.all(mounts.map((mount) => mountWire(mount, mountRoot))) };
}
