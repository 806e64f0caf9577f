import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from '../log.ts';
import { migrations as allMigrations, type Migration } from './migrations.ts';

export type Db = Database.Database;

export class MigrationError extends Error {
  constructor(migration: Migration, cause: unknown) {
    super(
      `database migration ${migration.version} (${migration.name}) failed and was rolled back: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = 'MigrationError';
  }
}

/**
 * Opens (creating if needed) the controller's SQLite database in WAL mode and brings
 * its schema up to date. The file holds the agent token, so it is private to us.
 */
export function openDatabase(
  file: string,
  options: { logger?: Logger; migrations?: readonly Migration[] } = {},
): Db {
  const db = new Database(file);
  try {
    if (file !== ':memory:') fs.chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // WAL with synchronous=NORMAL is durable across a process crash (kill -9), which is
    // what the quiesce marker needs; only a power loss may drop the last transactions.
    db.pragma('synchronous = NORMAL');
    migrate(db, options.migrations ?? allMigrations, options.logger);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Db, migrations: readonly Migration[], logger?: Logger): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        db.pragma(`user_version = ${migration.version}`);
      })();
    } catch (error) {
      throw new MigrationError(migration, error);
    }
    logger?.info({ version: migration.version, name: migration.name }, 'applied database migration');
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
