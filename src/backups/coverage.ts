/**
 * Which backup covers each volume, as the app page, the backups page, the API and the
 * home page's alerts show it: the guest backup (hot volumes and anything on a primary
 * mount), the controller's own restic backup (bulk, `own`), or nothing by choice (`none`).
 * Snapshot counts come from restic, read at most once a minute per target.
 */
import type { Mount } from '../agent/index.ts';
import { cachedProbe } from '../cached.ts';
import type { Clock } from '../clock.ts';
import type { BulkBackups } from './bulk.ts';
import type { BulkStore, VolumeRun } from './store.ts';
import { locate } from './targets.ts';

export type Coverage = 'guest' | 'own' | 'none';

export interface PlacedVolume {
  appId: string;
  appName: string;
  volume: string;
  class: 'hot' | 'bulk';
  backup: 'guest' | 'own' | 'none';
  inGuestBackup: boolean;
  mountId: string;
}

export interface VolumeCoverage {
  app: string;
  appName: string;
  volume: string;
  coverage: Coverage;
  /** For `own`: the target, the runs, the snapshots and the target's free space where known. */
  target: { id: string; label: string; kind: string } | null;
  lastSuccess: VolumeRun | null;
  lastRun: VolumeRun | null;
  snapshotCount: number | null;
  targetFreeBytes: number | null;
  /** Older than twice the schedule (or never, since twice the schedule after install). */
  late: boolean;
  ageMs: number | null;
}

export function coverageOf(volume: Pick<PlacedVolume, 'class' | 'backup' | 'inGuestBackup'>): Coverage {
  if (volume.class === 'hot' || volume.inGuestBackup) return 'guest';
  return volume.backup === 'own' ? 'own' : 'none';
}

export function createCoverage(deps: { bulk: BulkBackups; store: BulkStore; storage: () => Promise<Mount[] | null>; clock: Clock }) {
  const snapshotCounts = new Map<string, () => Promise<Map<string, number> | null>>();
  const countsOf = (targetId: string, mounts: Mount[] | null) => {
    let probe = snapshotCounts.get(targetId);
    if (!probe) {
      probe = cachedProbe(deps.clock, 60_000, () => String(deps.bulk.jobs({ limit: 1 })[0]?.finishedAt ?? ''), async () => {
        const target = deps.store.target(targetId);
        if (!target || !(await deps.bulk.availability()).available) return null;
        const located = locate(target, mounts);
        if (!located.ok) return null;
        try {
          const counts = new Map<string, number>();
          for (const snapshot of await deps.bulk.listSnapshots(located.repo)) {
            const key = snapshot.tags.filter((t) => t.startsWith('app:') || t.startsWith('volume:')).sort().join(' ');
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          return counts;
        } catch {
          return null;
        }
      });
      snapshotCounts.set(targetId, probe);
    }
    // A slow or hanging REST server must not hold up a page: the count then shows as unknown.
    return Promise.race([probe(), new Promise<null>((resolve) => setTimeout(resolve, 3_000, null).unref())]);
  };

  return async function coverage(volumes: PlacedVolume[]): Promise<VolumeCoverage[]> {
    const mounts = volumes.some((v) => coverageOf(v) === 'own') ? await deps.storage() : null;
    const own = new Map(deps.bulk.volumes().map((v) => [`${v.appId}/${v.volume}`, v]));
    const now = deps.clock.now().getTime();
    const interval = deps.bulk.backupIntervalMs();
    return Promise.all(
      volumes.map(async (volume): Promise<VolumeCoverage> => {
        const coverage = coverageOf(volume);
        const base = { app: volume.appId, appName: volume.appName, volume: volume.volume, coverage, target: null, lastSuccess: null, lastRun: null, snapshotCount: null, targetFreeBytes: null, late: false, ageMs: null };
        if (coverage !== 'own') return base;
        const targetId = own.get(`${volume.appId}/${volume.volume}`)?.targetId ?? null;
        const target = targetId ? deps.store.target(targetId) : null;
        const lastSuccess = deps.store.lastRun(volume.appId, volume.volume, ['succeeded']);
        const lastRun = deps.store.lastRun(volume.appId, volume.volume);
        const since = lastSuccess?.finishedAt ?? own.get(`${volume.appId}/${volume.volume}`)?.since ?? null;
        const ageMs = lastSuccess?.finishedAt ? now - Date.parse(lastSuccess.finishedAt) : null;
        const counts = target ? await countsOf(target.id, mounts) : null;
        const key = [`app:${volume.appId}`, `volume:${volume.volume}`].sort().join(' ');
        const mount = target?.mountId ? mounts?.find((m) => m.id === target.mountId) : undefined;
        return {
          ...base,
          target: target ? { id: target.id, label: target.label, kind: target.kind } : null,
          lastSuccess,
          lastRun,
          snapshotCount: counts ? (counts.get(key) ?? 0) : null,
          targetFreeBytes: mount && mount.state === 'attached' ? mount.free_bytes : null,
          late: since !== null && now - Date.parse(since) > 2 * interval,
          ageMs,
        };
      }),
    );
  };
}

export type CoverageOf = ReturnType<typeof createCoverage>;
