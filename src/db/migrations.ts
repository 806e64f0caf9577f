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
  {
    version: 2,
    name: 'apps, volume placements, ports, pre-deploy snapshots, operations',
    sql: `
      -- What the controller intends for each app; what runs is read from Docker.
      CREATE TABLE apps (
        id                  TEXT PRIMARY KEY,
        name                TEXT NOT NULL,
        version             TEXT NOT NULL,
        source              TEXT NOT NULL,
        compose_file        TEXT NOT NULL,
        status              TEXT NOT NULL CHECK (status IN ('installing', 'installed', 'failed')),
        desired             TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),
        stopped_for_storage TEXT,
        web_service         TEXT,
        web_port            INTEGER,
        error               TEXT,
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL
      );

      -- Where each volume lives. Kept when an app is uninstalled with its data, so a
      -- reinstall finds its data again; removed only when the data is deleted.
      CREATE TABLE volume_placements (
        app_id          TEXT NOT NULL,
        volume          TEXT NOT NULL,
        class           TEXT NOT NULL CHECK (class IN ('hot', 'bulk')),
        backup          TEXT NOT NULL CHECK (backup IN ('guest', 'own', 'none')),
        note            TEXT,
        mount_id        TEXT NOT NULL,
        mount_label     TEXT NOT NULL,
        path            TEXT NOT NULL,
        in_guest_backup INTEGER NOT NULL,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (app_id, volume)
      );

      CREATE TABLE app_ports (
        app_id    TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
        host_ip   TEXT,
        published INTEGER NOT NULL,
        protocol  TEXT NOT NULL,
        PRIMARY KEY (app_id, published, protocol, host_ip)
      );

      -- Snapshots the controller took before a deploy: only these are ever pruned.
      CREATE TABLE predeploy_snapshots (
        name       TEXT PRIMARY KEY,
        app_id     TEXT NOT NULL,
        reason     TEXT NOT NULL CHECK (reason IN ('install', 'update')),
        created_at TEXT NOT NULL,
        deleted_at TEXT
      );

      -- Long operations (install, update, ...) and their progress, for the UI and the API.
      CREATE TABLE operations (
        id          TEXT PRIMARY KEY,
        app_id      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
        step        TEXT,
        snapshot    TEXT,
        error       TEXT,
        started_at  TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX operations_app ON operations (app_id, started_at);

      CREATE TABLE operation_events (
        operation_id TEXT NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
        seq          INTEGER NOT NULL,
        at           TEXT NOT NULL,
        message      TEXT NOT NULL,
        PRIMARY KEY (operation_id, seq)
      );
    `,
  },
  {
    version: 3,
    name: 'quiesce runs',
    sql: `
      -- One row per quiesce run. A run whose phase is not 'closed' is the durable marker:
      -- it lists exactly the stacks the run stops, so a restarted controller knows what to
      -- start again. At most one run is open at a time (single flight, across processes).
      CREATE TABLE quiesce_runs (
        id                        TEXT PRIMARY KEY,
        trigger                   TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
        stacks                    TEXT NOT NULL,
        phase                     TEXT NOT NULL,
        backup_id                 TEXT,
        backup_phase              TEXT,
        consecutive_poll_failures INTEGER NOT NULL DEFAULT 0,
        resume_reason             TEXT,
        outcome                   TEXT,
        error                     TEXT,
        deadline_at               TEXT NOT NULL,
        started_at                TEXT NOT NULL,
        stopped_at                TEXT,
        requested_at              TEXT,
        snapshotted_at            TEXT,
        resumed_at                TEXT,
        finished_at               TEXT,
        downtime_ms               INTEGER
      );
      CREATE UNIQUE INDEX quiesce_single_flight ON quiesce_runs ((1)) WHERE phase != 'closed';
      CREATE INDEX quiesce_runs_started ON quiesce_runs (started_at);
    `,
  },
  {
    version: 4,
    name: 'web sign-in and host history',
    sql: `
      -- The one customer account of this box; created once, with the setup code.
      CREATE TABLE admin_account (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      -- Sessions by the SHA-256 of their cookie value, so a copy of the database signs no one in.
      CREATE TABLE sessions (
        id_hash      TEXT PRIMARY KEY,
        csrf_token   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at   TEXT NOT NULL
      );
      CREATE INDEX sessions_expiry ON sessions (expires_at);
      -- Host health sampled from the agent, kept for a bounded time (see src/host/).
      CREATE TABLE host_samples (
        at_ms        INTEGER PRIMARY KEY,
        cpu_percent  REAL NOT NULL,
        mem_fraction REAL NOT NULL,
        load1        REAL NOT NULL,
        cpu_temp_c   REAL
      );
    `,
  },
  {
    version: 5,
    name: 'quiesce run containers and failed restarts',
    sql: `
      -- Per stack, the containers that ran before the stop: exactly those are started again.
      ALTER TABLE quiesce_runs ADD COLUMN containers TEXT;
      -- The stacks whose latest restart attempt failed (shown loudly in the UI).
      ALTER TABLE quiesce_runs ADD COLUMN failed_restarts TEXT;
    `,
  },
  {
    version: 6,
    name: 'bulk volume backups with restic',
    sql: `
      -- A restic repository: on another disk (a mount of the agent's storage) or a REST server.
      -- The repository password is the customer's recovery code, kept for unattended runs.
      CREATE TABLE backup_targets (
        id               TEXT PRIMARY KEY,
        kind             TEXT NOT NULL CHECK (kind IN ('disk', 'rest')),
        label            TEXT NOT NULL,
        mount_id         TEXT,
        url              TEXT,
        username         TEXT,
        rest_password    TEXT,
        repo_password    TEXT NOT NULL,
        adopted          INTEGER NOT NULL DEFAULT 0,
        acknowledged_at  TEXT,
        created_at       TEXT NOT NULL
      );
      CREATE UNIQUE INDEX backup_targets_disk ON backup_targets (mount_id) WHERE kind = 'disk';
      -- Which target each bulk volume marked "own" goes to.
      CREATE TABLE volume_targets (
        app_id     TEXT NOT NULL,
        volume     TEXT NOT NULL,
        target_id  TEXT NOT NULL REFERENCES backup_targets (id),
        chosen_by  TEXT NOT NULL CHECK (chosen_by IN ('default', 'customer')),
        PRIMARY KEY (app_id, volume)
      );
      -- Every restic job: backups, restores, restore tests, prunes. One runs at a time; a
      -- job still marked running at start was cut short by a crash.
      CREATE TABLE bulk_jobs (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL CHECK (kind IN ('backup', 'restore', 'check', 'prune')),
        actor        TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
        request      TEXT NOT NULL,
        result       TEXT,
        error        TEXT,
        hostname     TEXT,
        restic_pid   INTEGER,
        target_id    TEXT,
        created_at   TEXT NOT NULL,
        started_at   TEXT,
        finished_at  TEXT
      );
      CREATE UNIQUE INDEX bulk_jobs_single_flight ON bulk_jobs ((1)) WHERE state = 'running';
      CREATE INDEX bulk_jobs_created ON bulk_jobs (created_at);
      -- One volume backed up (or skipped) by a backup job.
      CREATE TABLE volume_backup_runs (
        id             INTEGER PRIMARY KEY,
        job_id         TEXT NOT NULL REFERENCES bulk_jobs (id),
        app_id         TEXT NOT NULL,
        volume         TEXT NOT NULL,
        target_id      TEXT,
        outcome        TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'partial', 'failed', 'skipped', 'interrupted', 'cancelled')),
        reason         TEXT,
        -- The reason as a message key and its parameters, so each page words it in its language.
        reason_key     TEXT,
        reason_params  TEXT,
        snapshot_id    TEXT,
        files_new      INTEGER,
        files_changed  INTEGER,
        files_total    INTEGER,
        bytes_added    INTEGER,
        bytes_total    INTEGER,
        duration_ms    INTEGER,
        started_at     TEXT NOT NULL,
        finished_at    TEXT
      );
      CREATE INDEX volume_backup_runs_volume ON volume_backup_runs (app_id, volume, id);
    `,
  },
  {
    version: 7,
    name: 'operation events and failures keep their text as a message key and parameters',
    sql: `
      -- The event as its catalog key and parameters, so the live view words it in the
      -- customer's language; message stays the English text (the API, the log). A line
      -- printed by compose or the engine has no key and is shown as it is.
      ALTER TABLE operation_events ADD COLUMN key TEXT;
      ALTER TABLE operation_events ADD COLUMN params TEXT;
      -- The same for why an operation or an app failed (error stays the English).
      ALTER TABLE operations ADD COLUMN error_key TEXT;
      ALTER TABLE operations ADD COLUMN error_params TEXT;
      ALTER TABLE apps ADD COLUMN error_key TEXT;
      ALTER TABLE apps ADD COLUMN error_params TEXT;
      -- Steps were stored as their bare name: give them their key and English words.
      UPDATE operation_events SET
        key = 'deploy_step.' || message,
        message = CASE message
          WHEN 'snapshot' THEN 'Taking a snapshot of the server before the change'
          WHEN 'download_images' THEN 'Downloading images'
          WHEN 'prepare_storage' THEN 'Preparing storage'
          WHEN 'start' THEN 'Starting the app'
          ELSE 'Waiting for the app to become healthy'
        END
      WHERE message IN ('snapshot', 'download_images', 'prepare_storage', 'start', 'wait_healthy');
    `,
  },
  {
    version: 8,
    name: 'bulk backup jobs and quiesce runs keep why they failed as a message key and parameters; quiesce runs remember whom the stop killed',
    sql: `
      -- As for operations (7): error stays the English text (the API, the log); the key and
      -- parameters let the backups page word it in the customer's language.
      ALTER TABLE bulk_jobs ADD COLUMN error_key TEXT;
      ALTER TABLE bulk_jobs ADD COLUMN error_params TEXT;
      ALTER TABLE quiesce_runs ADD COLUMN error_key TEXT;
      ALTER TABLE quiesce_runs ADD COLUMN error_params TEXT;
      -- The containers Docker had to kill to stop them (JSON list): their backup is only
      -- crash-consistent, however long the apps stayed down.
      ALTER TABLE quiesce_runs ADD COLUMN killed_on_stop TEXT;
    `,
  },
  {
    version: 9,
    name: 'update availability: the last check of each app and what it found per service',
    sql: `
      -- The last check of an app's images against their registries (docs/updates.md):
      -- one row per app, rewritten by every check, with what it found per service below.
      CREATE TABLE update_checks (
        app_id     TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL,
        -- The registry digests an automatic update failed to bring (sorted, comma
        -- separated): not tried again by itself until the registry has other ones.
        auto_failed TEXT
      );
      CREATE TABLE update_check_images (
        app_id       TEXT NOT NULL REFERENCES update_checks (app_id) ON DELETE CASCADE,
        service      TEXT NOT NULL,
        image        TEXT NOT NULL,
        -- The digest of the image the container runs, and the registry's for its tag;
        -- either is null when it could not be told (then error says why).
        running      TEXT,
        latest       TEXT,
        -- Why it could not be told, in English (the API), and as a message key and
        -- parameters for the pages.
        error        TEXT,
        error_key    TEXT,
        error_params TEXT,
        PRIMARY KEY (app_id, service)
      );
    `,
  },
];
