/**
 * The last update check of each app in SQLite: when it ran and, per service, the two
 * digests and why one is missing (English for the API, a message for the pages).
 */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { inEnglish, loadMessage, storedMessage, type MessageKey } from '../i18n/index.ts';
import type { ImageCheck } from './checker.ts';

export interface StoredCheck {
  appId: string;
  checkedAt: string;
  /** The latest digests an automatic update failed to bring, or null. */
  autoFailed: string | null;
  images: Array<ImageCheck & { errorEnglish: string | null }>;
}

interface ImageRow {
  service: string;
  image: string;
  running: string | null;
  latest: string | null;
  error: string | null;
  error_key: MessageKey | null;
  error_params: string | null;
}

export function createUpdateStore(db: Db, clock: Clock) {
  const selectCheck = db.prepare<[string], { checked_at: string; auto_failed: string | null }>('SELECT checked_at, auto_failed FROM update_checks WHERE app_id = ?');
  const selectImages = db.prepare<[string], ImageRow>('SELECT * FROM update_check_images WHERE app_id = ? ORDER BY service');
  return {
    /** Replaces the app's last check with this one. */
    save(appId: string, images: ImageCheck[]): void {
      db.transaction(() => {
        db.prepare('DELETE FROM update_check_images WHERE app_id = ?').run(appId);
        db.prepare('INSERT INTO update_checks (app_id, checked_at) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET checked_at = excluded.checked_at').run(appId, rfc3339(clock.now()));
        const insert = db.prepare('INSERT INTO update_check_images (app_id, service, image, running, latest, error, error_key, error_params) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
        for (const i of images) {
          const stored = storedMessage(i.error);
          insert.run(appId, i.service, i.image, i.running, i.latest, i.error && inEnglish(i.error), stored.key, stored.params);
        }
      })();
    },

    get(appId: string): StoredCheck | null {
      const check = selectCheck.get(appId);
      if (!check) return null;
      return {
        appId,
        checkedAt: check.checked_at,
        autoFailed: check.auto_failed,
        images: selectImages.all(appId).map((row) => ({
          service: row.service,
          image: row.image,
          running: row.running,
          latest: row.latest,
          error: loadMessage(row.error_key, row.error_params),
          errorEnglish: row.error,
        })),
      };
    },

    /** Remembers that an automatic update failed to bring these digests (`latestOf`). */
    autoFailed(appId: string, latest: string): void {
      db.prepare('UPDATE update_checks SET auto_failed = ? WHERE app_id = ?').run(latest, appId);
    },

    /** Forgets the checks of apps no longer installed. */
    keepOnly(appIds: string[]): void {
      const placeholders = appIds.map(() => '?').join(', ');
      db.prepare(`DELETE FROM update_checks${appIds.length ? ` WHERE app_id NOT IN (${placeholders})` : ''}`).run(...appIds);
    },
  };
}

/** The registry digests a check found, as one comparable text. */
export const latestOf = (images: ImageCheck[]): string => images.map((i) => i.latest ?? '').toSorted().join(',');

export type UpdateStore = ReturnType<typeof createUpdateStore>;
