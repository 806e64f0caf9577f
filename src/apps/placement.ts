/**
 * Where each volume of an app lives (context/004 §7). Placement is per volume:
 *
 * - hot (databases, config) goes to a fast `primary` mount: it must be fast, and it
 *   must be inside the guest backup, which only `primary` mounts are.
 * - bulk (media) goes to a `bulk-data` mount, which the guest backup excludes; hence
 *   every bulk volume carries its own backup decision. With no bulk-data mount it may
 *   go to the fast primary mount, but only after the customer confirms.
 *
 * A volume that already has a place keeps it: data is never moved silently. Mounts in
 * a role this contract does not name are never used.
 */
import path from 'node:path';
import type { Mount } from '../agent/index.ts';
import type { Message } from '../i18n/index.ts';

export type VolumeClass = 'hot' | 'bulk';
export type BackupDecision = 'guest' | 'own' | 'none';

export interface VolumeRequest {
  volume: string;
  class: VolumeClass;
  /** Required for bulk volumes: their own backup target, or deliberately none. */
  backup?: 'own' | 'none' | undefined;
  note?: string | undefined;
}

export interface ExistingPlacement {
  volume: string;
  class: VolumeClass;
  mountId: string;
  path: string;
}

export interface VolumePlacement {
  volume: string;
  class: VolumeClass;
  backup: BackupDecision;
  note: string | null;
  mountId: string;
  mountLabel: string;
  /** The directory the volume is bound to. */
  path: string;
  /** Whether the guest's own backup captures this volume. */
  inGuestBackup: boolean;
  /** A bulk volume placed on the primary mount for want of a bulk-data mount. */
  bulkOnPrimary: boolean;
}

export interface PlacementPlan {
  placements: VolumePlacement[];
  /** Why the install cannot go ahead; empty when it can. */
  problems: Message[];
  /** Bulk volumes that would land on the primary mount: the customer must confirm. */
  needsConfirmation: string[];
}

export function volumeDirectory(mount: Pick<Mount, 'path'>, appId: string, volume: string): string {
  return path.posix.join(mount.path, 'felhom', 'apps', appId, volume);
}

const byFreeSpace = (a: Mount, b: Mount) => b.free_bytes - a.free_bytes;

export function planPlacement(input: {
  appId: string;
  volumes: VolumeRequest[];
  mounts: Mount[];
  existing?: ExistingPlacement[];
  confirmBulkOnPrimary?: boolean;
}): PlacementPlan {
  const attached = input.mounts.filter((mount) => mount.state === 'attached');
  const primary = attached.filter((m) => m.role === 'primary' && m.class === 'fast').sort(byFreeSpace)[0];
  const bulkData = attached.filter((m) => m.role === 'bulk-data').sort(byFreeSpace)[0];
  const plan: PlacementPlan = { placements: [], problems: [], needsConfirmation: [] };

  for (const request of input.volumes) {
    const previous = input.existing?.find((placement) => placement.volume === request.volume);
    if (previous && previous.class !== request.class) {
      // Its data would stay where it is, possibly outside the backup its new class promises.
      plan.problems.push({ key: 'manifest.volume_class_changed', params: { volume: request.volume, was: previous.class, now: request.class, path: previous.path } });
      continue;
    }
    const mount = previous ? stillThere(previous, input.mounts, plan) : chooseMount(request, primary, bulkData, plan);
    if (!mount) continue;
    const bulkOnPrimary = !previous && request.class === 'bulk' && mount.role === 'primary';
    if (bulkOnPrimary && !input.confirmBulkOnPrimary) plan.needsConfirmation.push(request.volume);
    plan.placements.push({
      volume: request.volume,
      class: request.class,
      backup: request.class === 'hot' ? 'guest' : (request.backup ?? 'none'),
      note: request.note ?? null,
      mountId: mount.id,
      mountLabel: mount.label,
      path: previous?.path ?? volumeDirectory(mount, input.appId, request.volume),
      inGuestBackup: mount.in_guest_backup,
      bulkOnPrimary,
    });
  }
  return plan;
}

function stillThere(previous: ExistingPlacement, mounts: Mount[], plan: PlacementPlan): Mount | null {
  const mount = mounts.find((m) => m.id === previous.mountId);
  if (!mount) {
    plan.problems.push({ key: 'manifest.volume_storage_gone', params: { volume: previous.volume, storage: previous.mountId, path: previous.path } });
    return null;
  }
  if (mount.state !== 'attached') {
    plan.problems.push({ key: 'manifest.volume_disk_disconnected', params: { volume: previous.volume, disk: mount.label } });
    return null;
  }
  return mount;
}

function chooseMount(request: VolumeRequest, primary: Mount | undefined, bulkData: Mount | undefined, plan: PlacementPlan): Mount | null {
  if (request.class === 'hot') {
    if (primary) return primary;
    plan.problems.push({ key: 'manifest.volume_no_fast_storage', params: { volume: request.volume } });
    return null;
  }
  if (bulkData) return bulkData;
  if (primary) return primary;
  plan.problems.push({ key: 'manifest.volume_no_bulk_storage', params: { volume: request.volume } });
  return null;
}
