/**
 * Ingesting bootstrap.json. The controller configures itself from the file the agent
 * wrote: no setup wizard for the agent channel.
 *
 * - Idempotent: ingesting the same file again writes nothing.
 * - All or nothing: the file is fully validated before anything is written, and what
 *   is written is written in one transaction.
 * - Ownership: the agent's fields (identity and local_api) follow the file, e.g. a
 *   re-minted token; the customer's settings are seeded once and never clobbered.
 * - A bad file never stops the controller: it keeps the last good channel
 *   ("degraded") or, with none, waits for one ("setup"), and says why.
 */
import fs from 'node:fs';
import type { AgentChannel, ChannelSource } from '../agent/index.ts';
import { formatPin, parsePin } from '../agent/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { rfc3339, type Clock } from '../clock.ts';
import type { Db } from '../db/index.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Secret } from '../secret.ts';
import { SETTING, type SettingKey, type Settings } from '../settings/index.ts';
import { readBootstrap, type BootstrapProblem, type ValidBootstrap } from './read.ts';

export type BootstrapState = 'configured' | 'degraded' | 'setup';

export interface BootstrapReport {
  state: BootstrapState;
  path: string;
  problem: BootstrapProblem | null;
  /** issued_at of the file the current channel came from. */
  issuedAt: string | null;
  checkedAt: string;
  /** What the last ingest changed (names only, never values). */
  changed: string[];
}

/** The customer-facing settings a bootstrap seeds, and where in the file each comes from. */
const SEEDED_SETTINGS: ReadonlyArray<[key: SettingKey, pick: (b: ValidBootstrap) => string]> = [
  [SETTING.customerName, (b) => b.customer.name],
  [SETTING.customerEmail, (b) => b.customer.email],
  [SETTING.locale, (b) => b.customer.locale],
];

interface ChannelRow {
  endpoint: string;
  fingerprint: string;
  token: string;
  guest_id: string;
  host_id: string;
  hostname: string;
  customer_id: string;
  hub_url: string;
  issued_at: string;
}

export interface BootstrapServiceDeps {
  path: string;
  db: Db;
  settings: Settings;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
}

export class BootstrapService implements ChannelSource {
  readonly #deps: BootstrapServiceDeps;
  #report: BootstrapReport;
  #watching = false;

  constructor(deps: BootstrapServiceDeps) {
    this.#deps = deps;
    this.#report = {
      state: this.#storedChannel() ? 'degraded' : 'setup',
      path: deps.path,
      problem: { kind: 'absent', message: 'bootstrap.json has not been read yet' },
      issuedAt: this.#storedChannel()?.issued_at ?? null,
      checkedAt: rfc3339(deps.clock.now()),
      changed: [],
    };
  }

  report(): BootstrapReport {
    return this.#report;
  }

  /** The identity the agent gave this guest, for display; null before the first good bootstrap. */
  identity(): { guestId: string; hostId: string; hostname: string; customerId: string; hubUrl: string } | null {
    const row = this.#storedChannel();
    return row
      ? { guestId: row.guest_id, hostId: row.host_id, hostname: row.hostname, customerId: row.customer_id, hubUrl: row.hub_url }
      : null;
  }

  current(): AgentChannel | null {
    const row = this.#storedChannel();
    const pin = row ? parsePin(row.fingerprint) : null;
    return row && pin ? { endpoint: row.endpoint, pin, token: new Secret(row.token) } : null;
  }

  async refresh(): Promise<void> {
    await this.ingest();
  }

  async ingest(): Promise<BootstrapReport> {
    const { path, logger, audit, clock } = this.#deps;
    const result = await this.#readAndApply();
    const checkedAt = rfc3339(clock.now());
    if (!result.ok) {
      const stored = this.#storedChannel();
      const previous = this.#report.problem?.message;
      this.#report = {
        state: stored ? 'degraded' : 'setup',
        path,
        problem: result.problem,
        issuedAt: stored?.issued_at ?? null,
        checkedAt,
        changed: [],
      };
      if (previous !== result.problem.message) {
        logger.warn({ problem: result.problem, state: this.#report.state }, 'bootstrap.json not applied');
        audit.record({
          actor: 'agent',
          action: 'bootstrap.rejected',
          target: path,
          outcome: 'refused',
          details: { kind: result.problem.kind, reason: result.problem.message, kept_last_good: Boolean(stored) },
        });
      }
      return this.#report;
    }

    const { changed } = result;
    this.#report = { state: 'configured', path, problem: null, issuedAt: result.bootstrap.issuedAt, checkedAt, changed };
    if (changed.length > 0) {
      logger.info({ changed, issuedAt: result.bootstrap.issuedAt }, 'applied bootstrap.json');
      audit.record({
        actor: 'agent',
        action: 'bootstrap.applied',
        target: path,
        outcome: 'ok',
        details: { changed, issued_at: result.bootstrap.issuedAt },
      });
    }
    return this.#report;
  }

  /** Re-ingests when the file changes (a re-issue by the agent); polling, as the mount may not deliver inotify events. */
  watch(intervalMs: number): void {
    if (this.#watching) return;
    this.#watching = true;
    fs.watchFile(this.#deps.path, { interval: intervalMs, persistent: false }, () => {
      this.ingest().catch((error: unknown) => this.#deps.logger.error({ err: error }, 'bootstrap re-read failed'));
    });
  }

  stopWatching(): void {
    if (!this.#watching) return;
    fs.unwatchFile(this.#deps.path);
    this.#watching = false;
  }

  /** A valid file whose transaction fails (a full disk) is a problem like any other: nothing of it is kept. */
  async #readAndApply(): Promise<
    { ok: true; bootstrap: ValidBootstrap; changed: string[] } | { ok: false; problem: BootstrapProblem }
  > {
    const result = await readBootstrap(this.#deps.path);
    if (!result.ok) return result;
    try {
      return { ok: true, bootstrap: result.bootstrap, changed: this.#apply(result.bootstrap) };
    } catch (error) {
      return {
        ok: false,
        problem: { kind: 'not_stored', message: `could not store the configuration from ${this.#deps.path}: ${errorMessage(error)}` },
      };
    }
  }

  #storedChannel(): ChannelRow | undefined {
    return this.#deps.db.prepare<[], ChannelRow>('SELECT * FROM agent_channel WHERE id = 1').get();
  }

  #apply(bootstrap: ValidBootstrap): string[] {
    const { db, settings, clock } = this.#deps;
    const next: ChannelRow = {
      endpoint: bootstrap.localApi.endpoint,
      fingerprint: formatPin(bootstrap.localApi.pin),
      token: bootstrap.localApi.token.reveal(),
      guest_id: bootstrap.host.guestId,
      host_id: bootstrap.host.id,
      hostname: bootstrap.host.hostname,
      customer_id: bootstrap.customer.id,
      hub_url: bootstrap.hub.url,
      issued_at: bootstrap.issuedAt,
    };
    return db.transaction(() => {
      const stored = this.#storedChannel();
      // issued_at alone changing is not a change: only what the controller uses counts.
      const changed = (Object.keys(next) as Array<keyof ChannelRow>).filter(
        (key) => key !== 'issued_at' && stored?.[key] !== next[key],
      );
      if (changed.length > 0) {
        db.prepare(
          `INSERT INTO agent_channel (id, endpoint, fingerprint, token, guest_id, host_id, hostname, customer_id, hub_url, issued_at, updated_at)
           VALUES (1, @endpoint, @fingerprint, @token, @guest_id, @host_id, @hostname, @customer_id, @hub_url, @issued_at, @updated_at)
           ON CONFLICT (id) DO UPDATE SET endpoint = excluded.endpoint, fingerprint = excluded.fingerprint,
             token = excluded.token, guest_id = excluded.guest_id, host_id = excluded.host_id, hostname = excluded.hostname,
             customer_id = excluded.customer_id, hub_url = excluded.hub_url, issued_at = excluded.issued_at,
             updated_at = excluded.updated_at`,
        ).run({ ...next, updated_at: rfc3339(clock.now()) });
      }
      const seeded = SEEDED_SETTINGS.filter(([key, pick]) => settings.seedFromBootstrap(key, pick(bootstrap))).map(([key]) => key);
      return [...changed.map((key) => `channel.${key}`), ...seeded];
    })();
  }
}
