/** The controller's SQLite database: opening it with its migrations (database.ts). */
export { MigrationError, openDatabase, schemaVersion, type Db } from './database.ts';
