/**
 * Restoring a volume from one of its snapshots, in two modes:
 *
 * - copy: into a new folder beside the volume; the live data is not touched.
 * - replace: with the app stopped, into a staging folder beside the volume, then two
 *   renames on the same filesystem: the live folder becomes `<volume>.before-restore-<time>`
 *   (kept until the customer deletes it), the staging folder becomes the live one. A
 *   failure before the renames leaves the live folder as it was; a crash between them is
 *   undone at the next start (`recoverReplace`).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDir } from '../durable.ts';
import { AppError, errorText } from '../errors.ts';
import { Cancelled, type JobContext, type OwnVolume } from './jobs.ts';
import type { Repository } from './restic.ts';
import { locate } from './targets.ts';

export type RestoreMode = 'copy' | 'replace';

export interface RestoreRequest {
  app: string;
  volume: string;
  snapshot: string;
  mode: RestoreMode;
  /** Decided when the job is queued, so a crash knows what it was doing. */
  folder: string;
  staging: string | null;
  kept: string | null;
}

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export function restoreFolders(volume: OwnVolume, snapshot: string, mode: RestoreMode, now: Date) {
  const base = path.resolve(volume.path);
  const short = snapshot.slice(0, 8);
  return mode === 'copy'
    ? { folder: `${base}.restore-${short}-${stamp(now)}`, staging: null, kept: null }
    : { folder: base, staging: `${base}.restore-staging`, kept: `${base}.before-restore-${stamp(now)}` };
}

/** Folders a restore left beside the volume: copies and the data a replace kept. */
export async function keptFolders(volume: Pick<OwnVolume, 'path'>): Promise<Array<{ name: string; kind: 'copy' | 'before-restore' }>> {
  const base = path.basename(path.resolve(volume.path));
  const entries = await fs.readdir(path.dirname(path.resolve(volume.path))).catch(() => [] as string[]);
  return entries
    .filter((name) => name.startsWith(`${base}.restore-`) || name.startsWith(`${base}.before-restore-`))
    .filter((name) => name !== `${base}.restore-staging`)
    .sort()
    .map((name) => ({ name, kind: name.startsWith(`${base}.before-restore-`) ? 'before-restore' : 'copy' }));
}

export async function deleteKeptFolder(volume: Pick<OwnVolume, 'path'>, name: string): Promise<string> {
  const kept = await keptFolders(volume);
  if (!kept.some((k) => k.name === name)) throw new AppError('not_found', { key: 'error.no_kept_folder', params: { name } });
  const full = path.join(path.dirname(path.resolve(volume.path)), name);
  await fs.rm(full, { recursive: true, force: true });
  return full;
}

export async function runRestoreJob(ctx: JobContext, request: RestoreRequest, volume: OwnVolume, targetId: string): Promise<Record<string, unknown>> {
  // Queued behind other jobs: the app may have been removed since.
  if (!ctx.apps.ownVolumes().some((v) => v.appId === volume.appId && v.volume === volume.volume)) {
    throw new AppError('conflict', { key: 'error.volume_gone', params: { app: volume.appId, volume: volume.volume } });
  }
  const target = ctx.store.target(targetId);
  if (!target) throw new AppError('conflict', { key: 'error.volume_target_gone' });
  const mounts = await ctx.mounts();
  const located = locate(target, mounts);
  if (!located.ok) throw new AppError('conflict', located.reason);
  if (!mounts?.some((m) => m.id === volume.mountId && m.state === 'attached')) throw new AppError('conflict', { key: 'error.volume_disk_not_connected', params: { disk: volume.mountLabel } });
  ctx.store.setJobTarget(ctx.job.id, target.id);
  const mountIds = [volume.mountId, ...(target.mountId ? [target.mountId] : [])];
  const restoreInto = async (folder: string, repo: Repository) => {
    await fs.rm(folder, { recursive: true, force: true });
    await fs.mkdir(folder, { recursive: true });
    ctx.progress({ app: volume.appId, volume: volume.volume, step: `restore-${request.mode}` });
    await ctx.guard(mountIds, {}, ({ cancel, onSpawn }) => ctx.restic.restore(repo, request.snapshot, folder, [], { cancel, onSpawn }));
  };
  try {
    if (request.mode === 'copy') {
      await restoreInto(request.folder, located.repo).catch(async (error: unknown) => {
        await fs.rm(request.folder, { recursive: true, force: true });
        throw error;
      });
      return { folder: request.folder };
    }
    const staging = request.staging!;
    const kept = request.kept!;
    await ctx.apps.whileStopped(volume.appId, ctx.job.actor, async () => {
      try {
        await restoreInto(staging, located.repo);
      } catch (error) {
        await fs.rm(staging, { recursive: true, force: true });
        throw error;
      }
      await fs.rename(request.folder, kept);
      await fs.rename(staging, request.folder);
      await syncDir(path.dirname(request.folder));
    });
    return { folder: request.folder, kept };
  } catch (error) {
    if (error instanceof Cancelled) throw error;
    throw new AppError('upstream', { key: 'error.restore_failed', params: { app: volume.appId, volume: volume.volume, snapshot: request.snapshot.slice(0, 8), cause: errorText(error) } });
  } finally {
    ctx.progress(null);
  }
}

/**
 * After a crash during a replace: a live folder that was moved aside but not replaced is
 * put back, and a staging folder is removed. Returns what it did, for the audit.
 */
export async function recoverReplace(request: RestoreRequest): Promise<string | null> {
  if (request.mode !== 'replace' || !request.staging || !request.kept) return null;
  const exists = (p: string) => fs.access(p).then(() => true, () => false);
  let done: string | null = null;
  if (!(await exists(request.folder)) && (await exists(request.kept))) {
    await fs.rename(request.kept, request.folder);
    done = 'the live folder was put back as it was';
  }
  if (await exists(request.staging)) {
    await fs.rm(request.staging, { recursive: true, force: true });
    done ??= 'the unfinished restore was removed; the live folder is as it was';
  }
  return done;
}
