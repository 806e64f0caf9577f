/**
 * The proof that the bulk backups restore: per target, `restic check` reading a share of
 * the data (so a damaged pack file is found), then per volume a few random files of its
 * latest snapshot restored into a scratch folder on the volume's own disk and checked
 * against the snapshot's listing. restic's listing gives sizes, not content hashes; the
 * content is what `check --read-data-subset` verifies against restic's own hashes.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.ts';
import { inEnglish } from '../i18n/index.ts';
import { Cancelled, type JobContext, type OwnVolume } from './jobs.ts';
import { locate } from './targets.ts';
import { volumeTags } from './volume-backup.ts';

const SAMPLE_FILES = 3;
/** Files larger than this are not sampled: the scratch copy must not fill the disk. */
const SAMPLE_MAX_BYTES = 256 * 1024 * 1024;

export interface TargetCheck {
  target: string;
  label: string;
  ok: boolean;
  /** What restic said, or why the target could not be checked. */
  output: string[];
}

export interface VolumeSample {
  app: string;
  volume: string;
  snapshot: string | null;
  ok: boolean;
  files: Array<{ path: string; size: number; restoredSize: number | null; ok: boolean }>;
  error: string | null;
}

export interface RestoreTestResult {
  ok: boolean;
  readDataSubset: string;
  targets: TargetCheck[];
  volumes: VolumeSample[];
}

export async function runRestoreTest(ctx: JobContext, targetOf: (v: OwnVolume) => string | null): Promise<RestoreTestResult> {
  const mounts = await ctx.mounts();
  const result: RestoreTestResult = { ok: true, readDataSubset: ctx.settings.readDataSubset, targets: [], volumes: [] };
  const volumes = ctx.apps.ownVolumes();
  for (const target of ctx.store.targets().filter((t) => volumes.some((v) => targetOf(v) === t.id))) {
    const located = locate(target, mounts);
    if (!located.ok) {
      result.targets.push({ target: target.id, label: target.label, ok: false, output: [inEnglish(located.reason)] });
      continue;
    }
    ctx.store.setJobTarget(ctx.job.id, target.id);
    ctx.progress({ step: 'check' });
    try {
      const check = await ctx.guard(target.mountId ? [target.mountId] : [], {}, ({ cancel, onSpawn }) => ctx.restic.check(located.repo, ctx.settings.readDataSubset, { cancel, onSpawn }));
      result.targets.push({ target: target.id, label: target.label, ok: check.ok, output: check.output });
    } catch (error) {
      if (error instanceof Cancelled) throw error;
      result.targets.push({ target: target.id, label: target.label, ok: false, output: [errorMessage(error)] });
      continue;
    }
    for (const volume of volumes.filter((v) => targetOf(v) === target.id)) {
      result.volumes.push(await sampleVolume(ctx, volume, located.repo, [volume.mountId, ...(target.mountId ? [target.mountId] : [])]));
    }
  }
  ctx.progress(null);
  result.ok = result.targets.every((t) => t.ok) && result.volumes.every((v) => v.ok);
  return result;
}

async function sampleVolume(ctx: JobContext, volume: OwnVolume, repo: Parameters<JobContext['restic']['ls']>[0], mountIds: string[]): Promise<VolumeSample> {
  const sample: VolumeSample = { app: volume.appId, volume: volume.volume, snapshot: null, ok: false, files: [], error: null };
  // On the volume's own disk, beside the app's folders: room like the data's own.
  const scratch = path.join(path.dirname(path.dirname(path.resolve(volume.path))), `.restore-test-${ctx.job.id.slice(0, 8)}`);
  try {
    ctx.progress({ app: volume.appId, volume: volume.volume, step: 'sample' });
    const [latest] = await ctx.restic.snapshots(repo, volumeTags(volume.appId, volume.volume));
    if (!latest) {
      sample.error = 'the volume has no snapshot yet';
      return sample;
    }
    sample.snapshot = latest.id;
    const files = (await ctx.restic.ls(repo, latest.id)).filter((f) => f.type === 'file' && f.size <= SAMPLE_MAX_BYTES);
    const chosen = pickRandom(files, SAMPLE_FILES);
    if (chosen.length === 0) {
      sample.ok = true;
      sample.error = 'the snapshot holds no file small enough to sample';
      return sample;
    }
    await fs.rm(scratch, { recursive: true, force: true });
    await fs.mkdir(scratch, { recursive: true });
    await ctx.guard(mountIds, {}, ({ cancel, onSpawn }) => ctx.restic.restore(repo, latest.id, scratch, chosen.map((f) => f.path), { cancel, onSpawn }));
    for (const file of chosen) {
      const restoredSize = await fs.stat(path.join(scratch, file.path)).then((s) => s.size, () => null);
      sample.files.push({ path: file.path, size: file.size, restoredSize, ok: restoredSize === file.size });
    }
    sample.ok = sample.files.every((f) => f.ok);
    if (!sample.ok) sample.error = 'a restored file differs from the snapshot listing';
  } catch (error) {
    if (error instanceof Cancelled) throw error;
    sample.error = errorMessage(error);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  return sample;
}

function pickRandom<T>(items: T[], count: number): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(randomInt(pool.length), 1)[0]!);
  return chosen;
}
