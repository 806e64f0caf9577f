/**
 * Host drives and the self-serve disk operations of context/004 §6 (slice 8C). Whether a
 * drive holds data is decided here from what the agent "observes" on it (filesystem,
 * partitions, system use), never from the caller's claim: that is what keeps a
 * compromised controller from wiping a data-bearing drive (§4).
 */
import { ApiError, notFound, conflict, unprocessable } from './http.ts';
import { ensureMountDirectory, mountWire } from './storage.ts';
import type { AgentState, DiskRecord, MountRecord } from './state.ts';

function isDataBearing(disk: DiskRecord): boolean {
  return disk.system || disk.filesystem !== null || disk.partitions > 0;
}

function assignedMount(state: AgentState, diskId: string): MountRecord | undefined {
  return state.mounts.find((mount) => mount.kind === 'drive' && mount.disk === diskId);
}

function findDisk(state: AgentState, diskId: string): DiskRecord {
  const disk = state.disks.find((candidate) => candidate.id === diskId);
  if (!disk) throw notFound(`no disk ${diskId} on this host`);
  return disk;
}

export async function disksWire(state: AgentState, mountRoot: string) {
  const disks = await Promise.all(
    state.disks.map(async (disk) => {
      const mount = assignedMount(state, disk.id);
      return {
        id: disk.id,
        device: disk.device,
        model: disk.model,
        serial: disk.serial,
        size_bytes: disk.size_bytes,
        transport: disk.transport,
        removable: disk.removable,
        system: disk.system,
        data_bearing: isDataBearing(disk),
        filesystem: disk.filesystem,
        fs_label: disk.fs_label,
        assigned: mount !== undefined,
        mount: mount ? await mountWire(mount, mountRoot) : null,
      };
    }),
  );
  return { disks };
}

/** A blank drive is formatted; anything holding data needs an operator signature, so nothing happens. */
export function formatDisk(state: AgentState, request: { disk: string; fs_label: string | null }) {
  const disk = findDisk(state, request.disk);
  if (isDataBearing(disk)) {
    const evidence = [
      disk.system ? 'system drive' : null,
      disk.filesystem ? `${disk.filesystem} filesystem` : null,
      disk.partitions > 0 ? `${disk.partitions} partition${disk.partitions === 1 ? '' : 's'}` : null,
      assignedMount(state, disk.id) ? 'mounted' : null,
    ].filter((item) => item !== null);
    throw new ApiError(403, 'pending_signature', `${disk.id} holds data (${evidence.join(', ')}); wiping it needs an operator-signed operation`);
  }
  disk.filesystem = 'ext4';
  disk.fs_label = request.fs_label;
  disk.partitions = 1;
  return { formatted: true, disk: { id: disk.id, filesystem: disk.filesystem, fs_label: disk.fs_label, data_bearing: isDataBearing(disk) } };
}

export async function assignDisk(
  state: AgentState,
  mountRoot: string,
  request: { disk: string; label: string; class: MountRecord['class']; role: MountRecord['role'] },
) {
  const disk = findDisk(state, request.disk);
  if (disk.system) throw unprocessable(`${disk.id} is a system drive; it cannot be assigned`);
  if (assignedMount(state, disk.id)) throw conflict(`${disk.id} is already assigned`);
  if (disk.filesystem === null) throw unprocessable(`${disk.id} has no filesystem; format it first`);
  if (state.mounts.some((mount) => mount.id === disk.id)) throw conflict(`a mount named ${disk.id} already exists`);
  await ensureMountDirectory(mountRoot, disk.id);
  const mount: MountRecord = { id: disk.id, label: request.label, class: request.class, role: request.role, state: 'attached', disk: disk.id, kind: 'drive' };
  state.mounts.push(mount);
  return { mount: await mountWire(mount, mountRoot) };
}

/** The mount goes away; its directory and files stay, as the data on an ejected drive does. */
export function ejectDisk(state: AgentState, diskId: string) {
  const disk = findDisk(state, diskId);
  if (disk.system) throw unprocessable(`${disk.id} is a system drive; it cannot be ejected`);
  const mount = assignedMount(state, disk.id);
  if (!mount) throw unprocessable(`${disk.id} is not assigned`);
  state.mounts.splice(state.mounts.indexOf(mount), 1);
  // Every mount is presented to every guest this agent serves.
  return { ejected: true, disk: disk.id, dependent_guests: Object.keys(state.guests).sort((a, b) => Number(a) - Number(b)) };
}
