/**
 * Guest snapshots and rollback. The owner field is the point: a controller may delete
 * what it created and nothing else (CONTRACT.md, DELETE /snapshots/{name}).
 */
import { isoSeconds } from './files.ts';
import { ApiError, badRequest, conflict, notFound } from './http.ts';
import type { GuestRecord, SnapshotRecord } from './state.ts';

/** Proxmox's rule for snapshot names. */
const SNAPSHOT_NAME = /^[A-Za-z][A-Za-z0-9_-]{1,39}$/;

export function listSnapshots(guest: GuestRecord): SnapshotRecord[] {
  // Stable on equal timestamps: a later entry was created later.
  return guest.snapshots
    .map((snapshot, index) => ({ snapshot, index }))
    .sort((a, b) => b.snapshot.created_at.localeCompare(a.snapshot.created_at) || b.index - a.index)
    .map(({ snapshot }) => snapshot);
}

export function checkSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME.test(name)) throw badRequest('name must start with a letter and have 2-40 letters, digits, - or _');
  return name;
}

export function createSnapshot(guest: GuestRecord, guestId: string, name: string, description: string): SnapshotRecord {
  checkSnapshotName(name);
  if (guest.snapshots.some((snapshot) => snapshot.name === name)) throw conflict(`guest ${guestId} already has a snapshot named ${name}`);
  const snapshot: SnapshotRecord = { name, description, created_at: isoSeconds(), owner: 'controller' };
  guest.snapshots.push(snapshot);
  return snapshot;
}

export function deleteSnapshot(guest: GuestRecord, guestId: string, name: string): void {
  const index = guest.snapshots.findIndex((snapshot) => snapshot.name === name);
  const snapshot = guest.snapshots[index];
  if (!snapshot) throw notFound(`no snapshot ${name} for guest ${guestId}`);
  if (snapshot.owner !== 'controller') throw new ApiError(403, 'not_owner', `snapshot ${name} was not created by this controller`);
  guest.snapshots.splice(index, 1);
}

export function recordRollback(guest: GuestRecord, guestId: string, name: string): void {
  if (!guest.snapshots.some((snapshot) => snapshot.name === name)) throw notFound(`no snapshot ${name} for guest ${guestId}`);
  guest.rollbacks.push({ snapshot: name, at: isoSeconds() });
}
