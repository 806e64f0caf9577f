/** The contract's endpoints (CONTRACT.md), each scoped to the guest of the caller's token. */
import type { BackupEngine } from './backups.ts';
import { backupWire } from './backups.ts';
import { assignDisk, disksWire, ejectDisk, formatDisk } from './disks.ts';
import { badRequest, optionalString, requireOneOf, requireString } from './http.ts';
import type { HostMetricsCollector } from './metrics.ts';
import { ok, route } from './router.ts';
import type { Route } from './router.ts';
import { checkSnapshotName, createSnapshot, deleteSnapshot, listSnapshots, recordRollback } from './snapshots.ts';
import type { StateStore } from './state.ts';
import { storageWire } from './storage.ts';

export interface AgentCore {
  store: StateStore;
  backups: BackupEngine;
  metrics: HostMetricsCollector;
  mountRoot: string;
}

const EXT4_LABEL_MAX_BYTES = 16;

export function contractRoutes({ store, backups, metrics, mountRoot }: AgentCore): Route[] {
  const state = store.state;
  return [
    route('GET', '/storage', async ({ guestId }) => ok(await storageWire(guestId, state.mounts, mountRoot))),

    route('GET', '/snapshots', ({ guestId }) => ok({ snapshots: listSnapshots(store.guest(guestId)) })),
    route('POST', '/snapshot', async ({ guestId, body }) => {
      const name = checkSnapshotName(requireString(body, 'name'));
      const description = optionalString(body, 'description', '');
      backups.assertIdle(guestId);
      const snapshot = createSnapshot(store.guest(guestId), guestId, name, description);
      await store.save();
      return ok({ snapshot });
    }),
    route('DELETE', '/snapshots/:name', async ({ guestId, params }) => {
      const name = params.name ?? '';
      backups.assertIdle(guestId);
      deleteSnapshot(store.guest(guestId), guestId, name);
      await store.save();
      return ok({ deleted: true, name });
    }),
    route('POST', '/rollback', async ({ guestId, body }) => {
      const snapshot = requireString(body, 'snapshot');
      backups.assertIdle(guestId);
      recordRollback(store.guest(guestId), guestId, snapshot);
      await store.save();
      return { status: 202, body: { accepted: true, snapshot } };
    }),

    route('POST', '/backup', async ({ guestId, body }) => {
      const reason = requireOneOf(body, 'reason', ['scheduled', 'manual'] as const);
      return { status: 202, body: { backup: backupWire(await backups.start(guestId, reason)) } };
    }),
    route('GET', '/backup/status', ({ guestId, query }) => {
      const id = query.get('id');
      if (id === '') throw badRequest('id must not be empty');
      return ok(backups.status(guestId, id));
    }),
    route('GET', '/backup/due', ({ guestId }) => ok(backups.due(guestId))),
    route('GET', '/restore-test/status', ({ guestId }) => ok(store.guest(guestId).restore_test)),

    route('GET', '/host/metrics', async () => ok(await metrics.collect(state, mountRoot))),

    route('GET', '/disks', async () => ok(await disksWire(state, mountRoot))),
    route('POST', '/disks/format', async ({ body }) => {
      const disk = requireString(body, 'disk');
      requireOneOf(body, 'filesystem', ['ext4'] as const);
      const label = optionalString(body, 'fs_label', '');
      if (Buffer.byteLength(label) > EXT4_LABEL_MAX_BYTES) throw badRequest(`fs_label must be at most ${EXT4_LABEL_MAX_BYTES} bytes (ext4)`);
      const result = formatDisk(state, { disk, fs_label: label || null });
      await store.save();
      return ok(result);
    }),
    route('POST', '/disks/assign', async ({ body }) => {
      const request = {
        disk: requireString(body, 'disk'),
        label: requireString(body, 'label'),
        class: requireOneOf(body, 'class', ['fast', 'slow'] as const),
        role: requireOneOf(body, 'role', ['primary', 'bulk-data'] as const),
      };
      const result = await assignDisk(state, mountRoot, request);
      await store.save();
      return ok(result);
    }),
    route('POST', '/disks/eject', async ({ body }) => {
      const result = ejectDisk(state, requireString(body, 'disk'));
      await store.save();
      return ok(result);
    }),
  ];
}
