/**
 * The controller's own settings. Each value remembers who set it: the bootstrap file
 * seeds a value and may update it while it is still the bootstrap's; once the customer
 * has set it, it is theirs and no bootstrap touches it again.
 */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import type { SettingKey } from './keys.ts';

export type SettingSource = 'bootstrap' | 'customer';

export interface Setting {
  key: string;
  value: string;
  source: SettingSource;
  updatedAt: string;
}

export interface Settings {
  get(key: SettingKey): Setting | null;
  all(): Setting[];
  /** Returns true when it wrote: the key was unset, or still the bootstrap's with another value. */
  seedFromBootstrap(key: SettingKey, value: string): boolean;
  setByCustomer(key: SettingKey, value: string): void;
}

interface Row {
  key: string;
  value: string;
  source: SettingSource;
  updated_at: string;
}

const toSetting = (row: Row): Setting => ({ key: row.key, value: row.value, source: row.source, updatedAt: row.updated_at });

export function createSettings(db: Db, clock: Clock): Settings {
  const select = db.prepare<[string], Row>('SELECT * FROM settings WHERE key = ?');
  const upsert = db.prepare(
    `INSERT INTO settings (key, value, source, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, source = excluded.source, updated_at = excluded.updated_at`,
  );
  return {
    get(key) {
      const row = select.get(key);
      return row ? toSetting(row) : null;
    },
    all() {
      return db.prepare<[], Row>('SELECT * FROM settings ORDER BY key').all().map(toSetting);
    },
    seedFromBootstrap(key, value) {
      const row = select.get(key);
      if (row && (row.source === 'customer' || row.value === value)) return false;
      upsert.run(key, value, 'bootstrap', rfc3339(clock.now()));
      return true;
    },
    setByCustomer(key, value) {
      upsert.run(key, value, 'customer', rfc3339(clock.now()));
    },
  };
}
