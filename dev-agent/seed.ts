/**
 * The believable starting point: the drives and mounts of the contract's story (an
 * internal NVMe with a thin pool, a 4 TB USB disk in use, a blank SanDisk just plugged
 * in), one agent-owned snapshot, and with --demo a few days of history.
 */
import { randomBytes } from 'node:crypto';
import { isoSeconds } from './files.ts';
import type { AgentState, BackupRecord, GuestRecord } from './state.ts';
import { STATE_SCHEMA } from './state.ts';

const DAY_MS = 24 * 3600 * 1000;
const SYSTEM_DISK_ID = 'nvme-S4EWNX0R123456';
export const VZDUMP_TARGET = 'local-vzdump';

export function initialState(nowMs: number): AgentState {
  return {
    schema: STATE_SCHEMA,
    created_at: isoSeconds(nowMs),
    host: { id: `host-${randomBytes(3).toString('hex')}` },
    customer: {
      id: `cus_${randomBytes(4).toString('hex')}`,
      name: 'Anna Kovács',
      email: 'anna.kovacs@example.com',
      locale: 'en-GB',
    },
    tokens: {},
    disks: [
      {
        id: SYSTEM_DISK_ID,
        device: '/dev/nvme0n1',
        model: 'Samsung SSD 980 500GB',
        serial: 'S4EWNX0R123456',
        size_bytes: 500107862016,
        transport: 'nvme',
        removable: false,
        system: true,
        filesystem: null,
        fs_label: null,
        partitions: 3,
        smart: { temp_c: 41, wear_percent: 3, ok: true },
      },
      {
        id: 'usb-9f3a27c1',
        device: '/dev/sdb',
        model: 'WDC WD40EDAZ',
        serial: 'WX12D3456789',
        size_bytes: 4000785104896,
        transport: 'usb',
        removable: true,
        system: false,
        filesystem: 'ext4',
        fs_label: 'media',
        partitions: 1,
        // Many USB bridges do not pass SMART through: unknown, not healthy.
        smart: { temp_c: null, wear_percent: null, ok: null },
      },
      {
        id: 'usb-2b77e0d4',
        device: '/dev/sdc',
        model: 'SanDisk Extreme',
        serial: '32343133464E',
        size_bytes: 1000204886016,
        transport: 'usb',
        removable: true,
        system: false,
        filesystem: null,
        fs_label: null,
        partitions: 0,
        smart: { temp_c: null, wear_percent: null, ok: null },
      },
    ],
    mounts: [
      { id: 'local-fast', label: 'Internal NVMe', class: 'fast', role: 'primary', state: 'attached', disk: SYSTEM_DISK_ID, kind: 'pool' },
      { id: 'usb-9f3a27c1', label: 'WD Elements 4TB', class: 'slow', role: 'bulk-data', state: 'attached', disk: 'usb-9f3a27c1', kind: 'drive' },
    ],
    guests: {},
  };
}

export function newGuest(nowMs: number): GuestRecord {
  return {
    created_at: isoSeconds(nowMs),
    snapshots: [
      {
        name: 'agent-pre-controller-0-1-0',
        description: 'before controller update to 0.1.0',
        created_at: isoSeconds(nowMs - 2 * DAY_MS),
        owner: 'agent',
      },
    ],
    backups: [],
    rollbacks: [],
    restore_test: { last_run: null, next_run_at: null, integrity: { last_verify_at: null, ok: null } },
  };
}

export function backupId(guestId: string, ms: number): string {
  return `bk-${guestId}-${isoSeconds(ms).replace(/[-:]/g, '').replace('Z', '')}`;
}

/** A guest image of about 980 MB that grows a little from one backup to the next. */
export function simulatedBackupSize(): number {
  return 979369984 + Math.floor(Math.random() * 2048) * 4096;
}

/**
 * Three nightly backups at 03:00 UTC, the latest finished and less than a day old (so
 * none is due yet), and a passed restore test of the oldest. Only for a guest with no
 * history of its own.
 */
export function seedDemoHistory(guest: GuestRecord, guestId: string, nowMs: number): void {
  if (guest.backups.length > 0 || guest.restore_test.last_run !== null) return;
  const settled = nowMs - 5 * 60 * 1000;
  let latest = Math.floor(settled / DAY_MS) * DAY_MS + 3 * 3600 * 1000;
  if (latest > settled) latest -= DAY_MS;
  // Just after 03:00 the previous night's run is a day old, so due: tonight's ran early.
  if (nowMs - latest > DAY_MS - 10 * 60 * 1000) latest = settled;
  const nights = [latest - 2 * DAY_MS, latest - DAY_MS, latest];
  guest.backups = nights.map((night, index): BackupRecord => {
    const finished = night + (70 + index * 9) * 1000;
    return {
      id: backupId(guestId, night),
      phase: 'done',
      mode: 'snapshot',
      reason: 'scheduled',
      started_at: isoSeconds(night + 1000),
      updated_at: isoSeconds(finished),
      finished_at: isoSeconds(finished),
      error: null,
      size_bytes: 979369984 + index * 1048576,
      target: VZDUMP_TARGET,
      phase_entered_ms: finished,
      planned_failure: null,
    };
  });
  const tested = nights[0] ?? latest;
  guest.restore_test = {
    last_run: {
      started_at: isoSeconds(tested + 3600 * 1000),
      finished_at: isoSeconds(tested + 3600 * 1000 + 211 * 1000),
      result: 'pass',
      backup_id: backupId(guestId, tested),
      checks: ['restore', 'boot', 'docker', 'controller-health'].map((name) => ({ name, ok: true })),
      error: null,
    },
    next_run_at: isoSeconds(tested + 3600 * 1000 + 7 * DAY_MS),
    integrity: { last_verify_at: isoSeconds(Math.min(latest + 1800 * 1000, nowMs - 60 * 1000)), ok: true },
  };
}
