/**
 * The apps' records in SQLite: intent (what is installed, what the customer wants
 * running, where each volume lives), never what runs; that is read from Docker.
 */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { inEnglish, loadMessage, storedMessage, type Message, type MessageKey } from '../i18n/index.ts';
import type { VolumePlacement } from './placement.ts';

export type AppStatus = 'installing' | 'installed' | 'failed';
export type DesiredState = 'running' | 'stopped';

export interface AppRecord {
  id: string;
  name: string;
  version: string;
  source: string;
  composeFile: string;
  status: AppStatus;
  desired: DesiredState;
  /** Mount ids whose absence stopped the app; null when storage did not stop it. */
  stoppedForStorage: string[] | null;
  web: { service: string; port: number } | null;
  /** Why the app failed, in English (the API, the log); `errorText` the same for the UI. */
  error: string | null;
  errorText: Message | null;
  createdAt: string;
  updatedAt: string;
}

export interface PortRecord {
  hostIp: string | null;
  published: number;
  protocol: 'tcp' | 'udp';
}

export interface SnapshotRecord {
  name: string;
  appId: string;
  reason: 'install' | 'update';
  createdAt: string;
}

interface AppRow {
  id: string;
  name: string;
  version: string;
  source: string;
  compose_file: string;
  status: AppStatus;
  desired: DesiredState;
  stopped_for_storage: string | null;
  web_service: string | null;
  web_port: number | null;
  error: string | null;
  error_key: MessageKey | null;
  error_params: string | null;
  created_at: string;
  updated_at: string;
}

interface PlacementRow {
  app_id: string;
  volume: string;
  class: 'hot' | 'bulk';
  backup: 'guest' | 'own' | 'none';
  note: string | null;
  mount_id: string;
  mount_label: string;
  path: string;
  in_guest_backup: number;
}

const toApp = (row: AppRow): AppRecord => ({
  id: row.id,
  name: row.name,
  version: row.version,
  source: row.source,
  composeFile: row.compose_file,
  status: row.status,
  desired: row.desired,
  stoppedForStorage: row.stopped_for_storage ? (JSON.parse(row.stopped_for_storage) as string[]) : null,
  web: row.web_service && row.web_port ? { service: row.web_service, port: row.web_port } : null,
  error: row.error,
  errorText: loadMessage(row.error_key, row.error_params),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toPlacement = (row: PlacementRow): VolumePlacement => ({
  volume: row.volume,
  class: row.class,
  backup: row.backup,
  note: row.note,
  mountId: row.mount_id,
  mountLabel: row.mount_label,
  path: row.path,
  inGuestBackup: row.in_guest_backup === 1,
  bulkOnPrimary: false,
});

export type NewApp = Pick<AppRecord, 'id' | 'name' | 'version' | 'source' | 'composeFile' | 'web'>;

export function createAppStore(db: Db, clock: Clock) {
  const now = () => rfc3339(clock.now());
  return {
    list(): AppRecord[] {
      return db.prepare<[], AppRow>('SELECT * FROM apps ORDER BY name, id').all().map(toApp);
    },

    get(id: string): AppRecord | null {
      const row = db.prepare<[string], AppRow>('SELECT * FROM apps WHERE id = ?').get(id);
      return row ? toApp(row) : null;
    },

    /** Records the intent to install, with where its volumes go and its ports, in one transaction. */
    insert(app: NewApp, placements: VolumePlacement[], ports: PortRecord[]): void {
      db.transaction(() => {
        const at = now();
        db.prepare(
          `INSERT INTO apps (id, name, version, source, compose_file, status, desired, web_service, web_port, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'installing', 'running', ?, ?, ?, ?)`,
        ).run(app.id, app.name, app.version, app.source, app.composeFile, app.web?.service ?? null, app.web?.port ?? null, at, at);
        savePlacements(app.id, placements, at);
        savePorts(app.id, ports);
      })();
    },

    /** A new version of an installed app: its manifest facts, placements and ports. */
    replace(app: NewApp, placements: VolumePlacement[], ports: PortRecord[]): void {
      db.transaction(() => {
        const at = now();
        db.prepare(
          `UPDATE apps SET name = ?, version = ?, source = ?, compose_file = ?, web_service = ?, web_port = ?, updated_at = ? WHERE id = ?`,
        ).run(app.name, app.version, app.source, app.composeFile, app.web?.service ?? null, app.web?.port ?? null, at, app.id);
        savePlacements(app.id, placements, at);
        db.prepare('DELETE FROM app_ports WHERE app_id = ?').run(app.id);
        savePorts(app.id, ports);
      })();
    },

    update(id: string, change: Partial<Pick<AppRecord, 'status' | 'desired' | 'stoppedForStorage'>> & { error?: Message | null }): void {
      const current = this.get(id);
      if (!current) return;
      const { error, ...rest } = change;
      const next = { ...current, ...rest, ...(error === undefined ? {} : { error: error && inEnglish(error), errorText: error }) };
      const stored = storedMessage(next.errorText);
      db.prepare('UPDATE apps SET status = ?, desired = ?, error = ?, error_key = ?, error_params = ?, stopped_for_storage = ?, updated_at = ? WHERE id = ?').run(
        next.status,
        next.desired,
        next.error,
        stored.key,
        stored.params,
        next.stoppedForStorage ? JSON.stringify(next.stoppedForStorage) : null,
        now(),
        id,
      );
    },

    /** Forgets the app; its volume placements stay, so its data is found again on reinstall. */
    remove(id: string): void {
      db.prepare('DELETE FROM apps WHERE id = ?').run(id);
    },

    placements(appId: string): VolumePlacement[] {
      return db.prepare<[string], PlacementRow>('SELECT * FROM volume_placements WHERE app_id = ? ORDER BY volume').all(appId).map(toPlacement);
    },

    /** The host ports the app publishes, as recorded when it was admitted. */
    ports(appId: string): PortRecord[] {
      return db
        .prepare<[string], { host_ip: string | null; published: number; protocol: 'tcp' | 'udp' }>('SELECT * FROM app_ports WHERE app_id = ? ORDER BY published, protocol')
        .all(appId)
        .map((row) => ({ hostIp: row.host_ip, published: row.published, protocol: row.protocol }));
    },

    /** Every app id that has volume placements, installed or not (kept data). */
    appsWithData(): string[] {
      return db.prepare<[], { app_id: string }>('SELECT DISTINCT app_id FROM volume_placements ORDER BY app_id').all().map((r) => r.app_id);
    },

    forgetPlacements(appId: string): void {
      db.prepare('DELETE FROM volume_placements WHERE app_id = ?').run(appId);
    },

    /** Ports published by every app but `exceptAppId`. */
    portsOfOtherApps(exceptAppId: string): Array<{ id: string; ports: PortRecord[] }> {
      const rows = db
        .prepare<[string], { app_id: string; host_ip: string | null; published: number; protocol: 'tcp' | 'udp' }>(
          'SELECT * FROM app_ports WHERE app_id != ? ORDER BY app_id',
        )
        .all(exceptAppId);
      const byApp = new Map<string, PortRecord[]>();
      for (const row of rows) {
        const ports = byApp.get(row.app_id) ?? [];
        ports.push({ hostIp: row.host_ip, published: row.published, protocol: row.protocol });
        byApp.set(row.app_id, ports);
      }
      return [...byApp].map(([id, ports]) => ({ id, ports }));
    },

    recordSnapshot(snapshot: SnapshotRecord): void {
      db.prepare('INSERT INTO predeploy_snapshots (name, app_id, reason, created_at) VALUES (?, ?, ?, ?)').run(
        snapshot.name,
        snapshot.appId,
        snapshot.reason,
        snapshot.createdAt,
      );
    },

    /** The controller's pre-deploy snapshots that still exist, newest first. */
    snapshots(appId?: string): SnapshotRecord[] {
      const rows = db
        .prepare<[string | null, string | null], { name: string; app_id: string; reason: 'install' | 'update'; created_at: string }>(
          'SELECT * FROM predeploy_snapshots WHERE deleted_at IS NULL AND (? IS NULL OR app_id = ?) ORDER BY created_at DESC, name DESC',
        )
        .all(appId ?? null, appId ?? null);
      return rows.map((row) => ({ name: row.name, appId: row.app_id, reason: row.reason, createdAt: row.created_at }));
    },

    markSnapshotDeleted(name: string): void {
      db.prepare('UPDATE predeploy_snapshots SET deleted_at = ? WHERE name = ?').run(now(), name);
    },
  };

  function savePlacements(appId: string, placements: VolumePlacement[], at: string): void {
    const upsert = db.prepare(
      `INSERT INTO volume_placements (app_id, volume, class, backup, note, mount_id, mount_label, path, in_guest_backup, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id, volume) DO UPDATE SET class = excluded.class, backup = excluded.backup, note = excluded.note,
         mount_label = excluded.mount_label, in_guest_backup = excluded.in_guest_backup`,
    );
    for (const p of placements) {
      upsert.run(appId, p.volume, p.class, p.backup, p.note, p.mountId, p.mountLabel, p.path, p.inGuestBackup ? 1 : 0, at);
    }
  }

  function savePorts(appId: string, ports: PortRecord[]): void {
    const insert = db.prepare('INSERT OR IGNORE INTO app_ports (app_id, host_ip, published, protocol) VALUES (?, ?, ?, ?)');
    for (const port of ports) insert.run(appId, port.hostIp, port.published, port.protocol);
  }
}

export type AppStore = ReturnType<typeof createAppStore>;
