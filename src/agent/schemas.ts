/**
 * The agent's wire contract (CONTRACT.md v1) as zod schemas: the one place that knows
 * the shape of every response. Objects are loose (an agent may add fields in a minor
 * version); a missing field or a wrong type fails parsing with the field's path.
 */
import { z } from 'zod';

const timestamp = z.iso.datetime({ offset: true });
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();
const bytes = z.number().int().nonnegative();

export const mountSchema = z.looseObject({
  id: z.string().min(1),
  label: z.string(),
  path: z.string().min(1),
  class: z.enum(['fast', 'slow']),
  // An unknown role is tolerated on the wire but never used for placement.
  role: z.string(),
  state: z.enum(['attached', 'disconnected']),
  total_bytes: bytes,
  free_bytes: bytes,
  in_guest_backup: z.boolean(),
});

export const storageSchema = z.looseObject({
  guest_id: z.string(),
  mounts: z.array(mountSchema),
});

export const snapshotSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string(),
  created_at: timestamp,
  owner: z.string(),
});

export const snapshotResponseSchema = z.looseObject({ snapshot: snapshotSchema });
export const snapshotsSchema = z.looseObject({ snapshots: z.array(snapshotSchema) });
export const snapshotDeleteSchema = z.looseObject({ deleted: z.boolean(), name: z.string() });
export const rollbackSchema = z.looseObject({ accepted: z.boolean(), snapshot: z.string() });

export const backupPhases = ['queued', 'running', 'snapshotted', 'done', 'failed'] as const;
export type KnownBackupPhase = (typeof backupPhases)[number];

export const backupSchema = z.looseObject({
  id: z.string().min(1),
  // The contract says an unknown phase means "still in flight", so any string parses.
  phase: z.string().min(1),
  mode: z.string(),
  reason: z.string(),
  started_at: nullable(timestamp),
  updated_at: timestamp,
  finished_at: nullable(timestamp),
  error: nullable(z.string()),
});

export const backupResponseSchema = z.looseObject({ backup: backupSchema });

export const backupTargetSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
  label: z.string(),
  state: z.string(),
  last_success_at: nullable(timestamp),
  last_size_bytes: nullable(bytes),
});

export const backupStatusSchema = z.looseObject({
  backup: nullable(backupSchema),
  last_success: nullable(
    z.looseObject({ id: z.string(), finished_at: timestamp, size_bytes: bytes, target: z.string() }),
  ),
  targets: z.array(backupTargetSchema),
});

export const backupDueSchema = z.looseObject({
  due: z.boolean(),
  reason: z.string(),
  policy: z.looseObject({
    schedule: z.string(),
    timezone: z.string(),
    keep_daily: z.number().int(),
    keep_weekly: z.number().int(),
  }),
  last_success_at: nullable(timestamp),
  next_due_at: timestamp,
});

export const restoreTestStatusSchema = z.looseObject({
  last_run: nullable(
    z.looseObject({
      started_at: timestamp,
      finished_at: nullable(timestamp),
      result: z.enum(['pass', 'fail', 'running']),
      backup_id: z.string(),
      checks: z.array(z.looseObject({ name: z.string(), ok: z.boolean() })),
      error: nullable(z.string()),
    }),
  ),
  next_run_at: nullable(timestamp),
  integrity: z.looseObject({ last_verify_at: nullable(timestamp), ok: nullable(z.boolean()) }),
});

const fraction = z.number().min(0).max(1);

export const hostMetricsSchema = z.looseObject({
  collected_at: timestamp,
  hostname: z.string(),
  cpu_percent: z.number().min(0).max(100),
  cpu_count: z.number().int().positive(),
  mem_total_bytes: bytes,
  mem_used_bytes: bytes,
  load: z.tuple([z.number(), z.number(), z.number()]),
  uptime_seconds: z.number().nonnegative(),
  cpu_temp_c: nullable(z.number()),
  storage: z.array(
    z.looseObject({
      id: z.string(),
      label: z.string(),
      total_bytes: bytes,
      used_bytes: bytes,
      used_fraction: fraction,
      thin_pool_fill: nullable(fraction),
      disks: z.array(
        z.looseObject({
          device: z.string(),
          model: z.string(),
          smart_temp_c: nullable(z.number()),
          wear_percent: nullable(z.number().min(0).max(100)),
          smart_ok: nullable(z.boolean()),
        }),
      ),
    }),
  ),
});

export const diskSchema = z.looseObject({
  id: z.string().min(1),
  device: z.string(),
  model: z.string(),
  serial: z.string(),
  size_bytes: bytes,
  transport: z.string(),
  removable: z.boolean(),
  system: z.boolean(),
  data_bearing: z.boolean(),
  filesystem: nullable(z.string()),
  fs_label: nullable(z.string()),
  assigned: z.boolean(),
  mount: nullable(mountSchema),
});

export const disksSchema = z.looseObject({ disks: z.array(diskSchema) });
export const diskAssignSchema = z.looseObject({ mount: mountSchema });
export const diskEjectSchema = z.looseObject({
  ejected: z.boolean(),
  disk: z.string(),
  dependent_guests: z.array(z.string()),
});
export const diskFormatSchema = z.looseObject({
  formatted: z.boolean(),
  disk: z.looseObject({
    id: z.string(),
    filesystem: z.string(),
    fs_label: nullable(z.string()),
    data_bearing: z.boolean(),
  }),
});

export const errorBodySchema = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});

export const bootstrapSchema = z.looseObject({
  schema: z.literal('felhom.bootstrap/v1'),
  issued_at: timestamp,
  customer: z.looseObject({
    id: z.string().min(1),
    name: z.string(),
    email: z.string(),
    locale: z.string().min(2),
  }),
  host: z.looseObject({
    id: z.string().min(1),
    guest_id: z.string().regex(/^\d+$/, 'must be a decimal guest id'),
    hostname: z.string(),
  }),
  hub: z.looseObject({ url: z.string(), host_id: z.string() }),
  local_api: z.looseObject({
    endpoint: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL', abort: true })
      .refine((text) => {
        const url = new URL(text);
        return !url.username && !url.password && !url.search && !url.hash;
      }, 'must be a plain https://host:port URL, without credentials, query or fragment'),
    fingerprint: z.string(),
    // It goes into an HTTP header: control characters or spaces would break every call.
    token: z
      .string()
      .min(16, 'is too short to be an agent token')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  }),
});

export type Mount = z.infer<typeof mountSchema>;
export type Storage = z.infer<typeof storageSchema>;
export type Snapshot = z.infer<typeof snapshotSchema>;
export type Backup = z.infer<typeof backupSchema>;
export type BackupStatus = z.infer<typeof backupStatusSchema>;
export type BackupDue = z.infer<typeof backupDueSchema>;
export type RestoreTestStatus = z.infer<typeof restoreTestStatusSchema>;
export type HostMetrics = z.infer<typeof hostMetricsSchema>;
export type Disk = z.infer<typeof diskSchema>;
export type DiskEject = z.infer<typeof diskEjectSchema>;
export type DiskFormat = z.infer<typeof diskFormatSchema>;
export type BootstrapFile = z.infer<typeof bootstrapSchema>;


// Request bodies the controller sends; the *.request.json goldens are examples of these.
export const snapshotRequestSchema = z.object({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{1,39}$/, 'must start with a letter and use 2-40 letters, digits, - or _'),
  description: z.string(),
});
export const rollbackRequestSchema = z.object({ snapshot: z.string().min(1) });
export const backupRequestSchema = z.object({ reason: z.enum(['scheduled', 'manual']) });
export const diskAssignRequestSchema = z.object({
  disk: z.string().min(1),
  label: z.string().min(1),
  class: z.enum(['fast', 'slow']),
  role: z.enum(['bulk-data', 'primary']),
});
export const diskEjectRequestSchema = z.object({ disk: z.string().min(1) });
export const diskFormatRequestSchema = z.object({
  disk: z.string().min(1),
  filesystem: z.literal('ext4'),
  fs_label: z.string(),
});

export type SnapshotRequest = z.infer<typeof snapshotRequestSchema>;
export type BackupReason = z.infer<typeof backupRequestSchema>['reason'];
export type DiskAssignRequest = z.infer<typeof diskAssignRequestSchema>;
export type DiskFormatRequest = z.infer<typeof diskFormatRequestSchema>;
