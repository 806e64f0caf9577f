/**
 * Numbered schema migrations. Append only: a released migration never changes.
 * Each one runs in its own transaction together with the `user_version` bump, so a
 * crash in the middle leaves the database exactly at the previous version.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'settings, agent channel, audit log, api tokens',
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        source     TEXT NOT NULL CHECK (source IN ('bootstrap', 'customer')),
        updated_at TEXT NOT NULL
      );

      -- What the agent owns (bootstrap.json's identity and local_api blocks): one row,
      -- rewritten whenever the file says otherwise.
      CREATE TABLE agent_channel (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        endpoint    TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        token       TEXT NOT NULL,
        guest_id    TEXT NOT NULL,
        host_id     TEXT NOT NULL,
        hostname    TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        hub_url     TEXT NOT NULL,
        issued_at   TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );

      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
        details TEXT
      );
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE INDEX audit_log_target ON audit_log (target, at);
      CREATE INDEX audit_log_action ON audit_log (action, at);
      CREATE INDEX audit_log_actor ON audit_log (actor, at);

      CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT
      );
      CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
    `,
  },
];
