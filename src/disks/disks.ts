/**
 * The customer's drives, as the agent presents them. The agent classifies and executes
 * (format, assign, eject); the controller's part is to stop the apps whose storage is
 * about to go before it asks for an eject.
 */
import { z } from 'zod';
import { diskAssignRequestSchema, diskFormatRequestSchema, type AgentClient, type DiskAssignRequest, type DiskFormatRequest } from '../agent/index.ts';
import type { Apps } from '../apps/index.ts';
import type { AuditLog } from '../audit/index.ts';
import type { BulkBackups } from '../backups/index.ts';
import { AppError, errorMessage } from '../errors.ts';


export interface DisksDeps {
  agent: Pick<AgentClient, 'listDisks' | 'ejectDisk' | 'assignDisk' | 'formatDisk'>;
  apps: Pick<Apps, 'whileMountHeld' | 'appsOnMount'>;
  bulk: Pick<BulkBackups, 'whileMountHeld'>;
  audit: AuditLog;
}

export async function ejectDisk(deps: DisksDeps, diskId: string, actor: string) {
  const disk = (await deps.agent.listDisks()).find((candidate) => candidate.id === diskId);
  if (!disk) throw new AppError('not_found', { key: 'error.no_drive', params: { disk: diskId } });
  const eject = async (stoppedApps: string[], cancelledBackups: string[]) => ({
    ...(await audited(deps, actor, 'disk.eject', diskId, { stopped_apps: stoppedApps, ...(cancelledBackups.length ? { cancelled_backups: cancelledBackups } : {}) }, () => deps.agent.ejectDisk(diskId))),
    stopped_apps: stoppedApps,
    // A backup reading or writing this disk is cancelled cleanly (restic removes its lock) before the eject.
    cancelled_backups: cancelledBackups,
  });
  const mountId = disk.mount?.id;
  if (!mountId) return eject([], []);
  return deps.bulk.whileMountHeld(mountId, (cancelled) => deps.apps.whileMountHeld(mountId, actor, (stopped) => eject(stopped, cancelled)));
}

/** Runs an agent call on a drive and records it in the audit log, however it ends. */
async function audited<T>(deps: DisksDeps, actor: string, action: string, diskId: string, details: Record<string, unknown>, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    deps.audit.record({ actor, action, target: diskId, outcome: 'ok', details });
    return result;
  } catch (error) {
    deps.audit.record({ actor, action, target: diskId, outcome: 'failed', details: { ...details, reason: errorMessage(error) } });
    throw error;
  }
}

/**
 * What the customer may ask for, checked here so a mistake is a 400 in the controller,
 * not a refusal by the agent (which would mean the controller sent a bad request).
 * ext4 labels hold at most 16 bytes.
 */
const formatRequest = diskFormatRequestSchema.extend({
  fs_label: z.string().min(1, 'must not be empty').refine((label) => Buffer.byteLength(label) <= 16, 'must be at most 16 bytes (an ext4 label)'),
});
const assignRequest = diskAssignRequestSchema.extend({ label: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters') });

/** A default ext4 label from the drive's id: its first 16 plain characters. */
export const defaultFsLabel = (diskId: string) => diskId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16) || 'felhom';

function parseRequest<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError('validation', { key: 'error.request_invalid', params: { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ') } });
  return parsed.data;
}

export function assignDisk(deps: DisksDeps, input: unknown, actor: string) {
  const request: DiskAssignRequest = parseRequest(assignRequest, input);
  return audited(deps, actor, 'disk.assign', request.disk, { label: request.label, class: request.class, role: request.role }, () => deps.agent.assignDisk(request));
}

/** The agent decides whether the drive may be wiped (a data-bearing one needs a signed wipe). */
export function formatDisk(deps: DisksDeps, input: unknown, actor: string) {
  const request: DiskFormatRequest = parseRequest(formatRequest, input);
  return audited(deps, actor, 'disk.format', request.disk, { filesystem: request.filesystem, fs_label: request.fs_label }, () => deps.agent.formatDisk(request));
}
