/**
 * A backup job: each chosen `own` volume as its own restic snapshot, tagged with its app
 * and volume, then the retention policy for that volume. The app keeps running (see
 * docs/backups.md); a volume that cannot be backed up now is skipped with the reason.
 */
import fs from 'node:fs/promises';
import { errorMessage, errorText } from '../errors.ts';
import { inEnglish, translator, type MessageKey, type Params } from '../i18n/index.ts';
import { Cancelled, type JobContext, type OwnVolume } from './jobs.ts';
import { locate } from './targets.ts';

const english = translator('en');

/** restic's host for every snapshot: a replaced or restored server finds its parents. */
export const SNAPSHOT_HOST = 'felhom';
export const volumeTags = (appId: string, volume: string) => ['felhom', `app:${appId}`, `volume:${volume}`];

export interface BackupJobRequest {
  app?: string;
  volume?: string;
  trigger: 'manual' | 'scheduled';
}

export async function runBackupJob(ctx: JobContext, request: BackupJobRequest, targetOf: (v: OwnVolume) => string | null): Promise<{ failed: number; skipped: number; succeeded: number }> {
  const volumes = ctx.apps
    .ownVolumes()
    .filter((v) => (request.app === undefined || v.appId === request.app) && (request.volume === undefined || v.volume === request.volume));
  const counts = { failed: 0, skipped: 0, succeeded: 0 };
  for (const volume of volumes) {
    const outcome = await backUpVolume(ctx, volume, targetOf(volume));
    if (outcome === 'succeeded') counts.succeeded++;
    else if (outcome === 'skipped') counts.skipped++;
    else counts.failed++;
  }
  return counts;
}

async function backUpVolume(ctx: JobContext, volume: OwnVolume, targetId: string | null): Promise<'succeeded' | 'skipped' | 'failed'> {
  const { store, restic, audit } = ctx;
  const runId = store.startRun(ctx.job.id, volume.appId, volume.volume, targetId);
  const started = ctx.clock.now().getTime();
  const what = `${volume.appId}/${volume.volume}`;
  const close = (outcome: 'skipped' | 'failed' | 'cancelled', reason: string, key?: MessageKey, params: Params = {}) => {
    store.finishRun(runId, outcome, { reason, ...(key ? { reasonKey: key, reasonParams: params } : {}), durationMs: ctx.clock.now().getTime() - started });
    audit.record({ actor: ctx.job.actor, action: 'volume_backup.run', target: what, outcome: outcome === 'skipped' ? 'refused' : 'failed', details: { job: ctx.job.id, outcome, reason, target: targetId } });
    return outcome === 'skipped' ? 'skipped' : 'failed';
  };

  const skip = (key: MessageKey, params: Params = {}) => close('skipped', english(key, params), key, params);
  const target = targetId ? store.target(targetId) : null;
  if (!target) return skip('bulk_reason.no_target');
  const busy = ctx.apps.busy(volume.appId);
  if (busy) return skip('bulk_reason.app_busy', { reason: busy });
  const mounts = await ctx.mounts();
  const own = mounts?.find((m) => m.id === volume.mountId);
  if (mounts === null) return skip('bulk_reason.agent_silent');
  if (!own || own.state !== 'attached' || ctx.heldMounts.has(volume.mountId)) return skip('bulk_reason.volume_disk_gone', { disk: volume.mountLabel });
  if (target.kind === 'disk' && target.mountId === volume.mountId) return skip('bulk_reason.same_disk');
  if (target.mountId && ctx.heldMounts.has(target.mountId)) return skip('bulk_reason.target_ejecting', { disk: target.label });
  const located = locate(target, mounts);
  if (!located.ok) return skip('bulk_reason.target_gone', { disk: target.label, reason: located.reason });
  if (!(await fs.stat(volume.path).then((s) => s.isDirectory(), () => false))) return skip('bulk_reason.no_folder', { path: volume.path });
  // restic refuses to save an empty snapshot; an empty folder has nothing to lose, so it counts as backed up.
  if ((await fs.readdir(volume.path)).length === 0) {
    store.finishRun(runId, 'succeeded', { reason: english('bulk_reason.empty'), reasonKey: 'bulk_reason.empty', reasonParams: {}, filesTotal: 0, bytesTotal: 0, durationMs: 0 });
    audit.record({ actor: ctx.job.actor, action: 'volume_backup.run', target: what, outcome: 'ok', details: { job: ctx.job.id, reason: 'the folder is empty' } });
    return 'succeeded';
  }

  ctx.store.setJobTarget(ctx.job.id, target.id);
  try {
    const summary = await ctx.guard([volume.mountId, ...(target.mountId ? [target.mountId] : [])], { app: volume.appId }, ({ cancel, onSpawn }) =>
      restic.backup(
        located.repo,
        { dir: volume.path, host: SNAPSHOT_HOST, tags: volumeTags(volume.appId, volume.volume) },
        (p) =>
          ctx.progress({
            app: volume.appId,
            volume: volume.volume,
            step: 'backup',
            filesDone: p.filesDone,
            totalFiles: p.totalFiles,
            bytesDone: p.bytesDone,
            totalBytes: p.totalBytes,
            bytesPerSecond: p.secondsElapsed > 0 ? Math.round(p.bytesDone / p.secondsElapsed) : 0,
            secondsRemaining: p.secondsRemaining,
          }),
        { cancel, onSpawn },
      ),
    );
    const partial = summary.unreadable.length > 0;
    const reason = partial ? `${summary.unreadable.length} file(s) could not be read and are not in this snapshot: ${summary.unreadable.slice(0, 5).join(', ')}` : null;
    let forgotten: string[] = [];
    let retentionError: string | null = null;
    // Only after a complete snapshot: one with files missing must not push a complete one out of the day.
    if (!partial) {
      try {
        ctx.progress({ app: volume.appId, volume: volume.volume, step: 'retention' });
        forgotten = await ctx.guard(target.mountId ? [target.mountId] : [], {}, () => restic.forget(located.repo, volumeTags(volume.appId, volume.volume), ctx.settings.keep));
      } catch (error) {
        retentionError = `the retention policy could not be applied: ${errorMessage(error)}`;
      }
    }
    store.finishRun(runId, partial ? 'partial' : 'succeeded', {
      reason: [reason, retentionError].filter(Boolean).join('; ') || null,
      snapshotId: summary.snapshotId,
      filesNew: summary.filesNew,
      filesChanged: summary.filesChanged,
      filesTotal: summary.filesTotal,
      bytesAdded: summary.bytesAdded,
      bytesTotal: summary.bytesTotal,
      durationMs: ctx.clock.now().getTime() - started,
    });
    audit.record({
      actor: ctx.job.actor,
      action: 'volume_backup.run',
      target: what,
      outcome: partial ? 'failed' : 'ok',
      details: { job: ctx.job.id, snapshot: summary.snapshotId, files_new: summary.filesNew, bytes_added: summary.bytesAdded, forgotten: forgotten.length, target: target.id, ...(reason ? { reason } : {}) },
    });
    return partial ? 'failed' : 'succeeded';
  } catch (error) {
    if (error instanceof Cancelled) return close(error.outcome, error.message, error.text?.key, error.text?.params);
    const text = errorText(error);
    const reason = inEnglish(text);
    ctx.logger.warn({ app: volume.appId, volume: volume.volume, reason }, 'a volume backup failed');
    return close('failed', reason, text.key, text.params);
  } finally {
    ctx.progress(null);
  }
}
