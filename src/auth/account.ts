/** The one customer account of this box: a password, set once with the setup code. */
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

export interface Account {
  exists(): boolean;
  /** Fails with `conflict` when an account exists already (two setups racing included). */
  create(password: string): Promise<void>;
  verify(password: string): Promise<boolean>;
  changePassword(password: string): Promise<void>;
}

export function createAccount(db: Db, clock: Clock): Account {
  const read = () => db.prepare<[], { password_hash: string }>('SELECT password_hash FROM admin_account WHERE id = 1').get();
  return {
    exists: () => read() !== undefined,
    async create(password) {
      const hash = await hashPassword(password);
      const now = rfc3339(clock.now());
      const inserted = db
        .prepare('INSERT INTO admin_account (id, password_hash, created_at, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING')
        .run(hash, now, now);
      if (inserted.changes === 0) throw new AppError('conflict', { key: 'error.account_exists' });
    },
    async verify(password) {
      const row = read();
      return row ? verifyPassword(password, row.password_hash) : false;
    },
    async changePassword(password) {
      const hash = await hashPassword(password);
      db.prepare('UPDATE admin_account SET password_hash = ?, updated_at = ? WHERE id = 1').run(hash, rfc3339(clock.now()));
    },
  };
}
