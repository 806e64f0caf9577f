import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { createAuditLog } from '../audit/index.ts';
import { systemClock } from '../clock.ts';
import { openDatabase, type Db } from '../db/index.ts';
import { createSettings } from '../settings/index.ts';
import { readGolden, tempDir } from '../testing/temp.ts';
import { BootstrapService } from './service.ts';

const golden = readGolden('bootstrap.json') as {
  customer: Record<string, string>;
  local_api: Record<string, string>;
  schema: string;
} & Record<string, unknown>;
const GOLDEN_TOKEN = golden.local_api.token!;

interface Harness {
  dir: string;
  file: string;
  db: Db;
  logs: string[];
  service: () => BootstrapService;
  write: (content: unknown, mode?: number) => void;
  auditCount: () => number;
}

function harness(t: TestContext): Harness {
  const dir = tempDir(t);
  const file = path.join(dir, 'bootstrap.json');
  const db = openDatabase(path.join(dir, 'controller.db'));
  t.after(() => db.close());
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const settings = createSettings(db, systemClock);
  const audit = createAuditLog(db, systemClock, logger);
  return {
    dir,
    file,
    db,
    logs,
    service: () => new BootstrapService({ path: file, db, settings, audit, logger, clock: systemClock }),
    write(content, mode = 0o600) {
      fs.rmSync(file, { force: true, recursive: true });
      fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2), { mode });
      fs.chmodSync(file, mode);
    },
    auditCount: () => (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n,
  };
}

const withChanges = (change: (copy: typeof golden) => void) => {
  const copy = structuredClone(golden);
  change(copy);
  return copy;
};

describe('ingesting a good bootstrap.json', () => {
  it('when the controller first starts, then it is configured from the file and the customer settings are seeded', async (t) => {
    const h = harness(t);
    h.write(golden);
    const service = h.service();
    const report = await service.ingest();
    assert.equal(report.state, 'configured');
    assert.equal(report.problem, null);
    assert.equal(report.issuedAt, '2026-11-20T09:14:03Z');
    const channel = service.current()!;
    assert.equal(channel.endpoint, 'https://10.10.10.1:8443');
    assert.equal(channel.pin.toString('hex'), golden.local_api.fingerprint!.slice('sha256:'.length));
    assert.equal(channel.token.reveal(), GOLDEN_TOKEN);
    assert.deepEqual(service.identity(), {
      guestId: '101',
      hostId: 'host-3b9c41',
      hostname: 'felhom-101',
      customerId: 'cus_7Hq2ZkPa',
      hubUrl: 'https://hub.felhom.example',
    });
    const settings = createSettings(h.db, systemClock);
    assert.equal(settings.get('ui.locale')?.value, 'hu-HU');
    assert.equal(settings.get('customer.name')?.value, 'Kovács Anna');
    assert.equal(settings.get('customer.email')?.source, 'bootstrap');
  });

  it('when the same file is ingested again, by the same or a restarted controller, then nothing changes', async (t) => {
    const h = harness(t);
    h.write(golden);
    await h.service().ingest();
    const snapshot = () => JSON.stringify([h.db.prepare('SELECT * FROM agent_channel').all(), h.db.prepare('SELECT * FROM settings').all()]);
    const before = snapshot();
    const audits = h.auditCount();
    const first = await h.service().ingest();
    const second = await h.service().ingest();
    assert.deepEqual(first.changed, []);
    assert.deepEqual(second.changed, []);
    assert.equal(snapshot(), before);
    assert.equal(h.auditCount(), audits);
  });

  it('when the agent re-mints the token, then the channel follows the file but the customer keeps their settings', async (t) => {
    const h = harness(t);
    h.write(golden);
    const service = h.service();
    await service.ingest();
    createSettings(h.db, systemClock).setByCustomer('ui.locale', 'en-GB');

    h.write(
      withChanges((b) => {
        b.local_api.token = 'flt_reminted_0000000000000000000000000000';
        b.local_api.endpoint = 'https://10.10.10.1:9443';
        b.customer.locale = 'de-DE';
        b.customer.name = 'Kovács Anna Mária';
      }),
    );
    const report = await service.ingest();
    assert.deepEqual(report.changed.sort(), ['channel.endpoint', 'channel.token', 'customer.name']);
    assert.equal(service.current()!.token.reveal(), 'flt_reminted_0000000000000000000000000000');
    const settings = createSettings(h.db, systemClock);
    assert.equal(settings.get('ui.locale')?.value, 'en-GB', 'the customer changed it, so it stays theirs');
    assert.equal(settings.get('customer.name')?.value, 'Kovács Anna Mária', 'never changed by the customer, so it follows the file');
  });

  it('when refresh() finds a re-minted token, then the current channel carries it', async (t) => {
    const h = harness(t);
    h.write(golden);
    const service = h.service();
    await service.ingest();
    await service.refresh();
    assert.equal(service.current()!.token.reveal(), GOLDEN_TOKEN);
    h.write(withChanges((b) => (b.local_api.token = 'flt_another_token_000000000000000000000')));
    await service.refresh();
    assert.equal(service.current()!.token.reveal(), 'flt_another_token_000000000000000000000');
  });

  it('when the fingerprint is spelled with colons and upper case, then it is accepted', async (t) => {
    const h = harness(t);
    const hex = golden.local_api.fingerprint!.slice(7);
    h.write(withChanges((b) => (b.local_api.fingerprint = hex.toUpperCase().match(/../g)!.join(':'))));
    const service = h.service();
    assert.equal((await service.ingest()).state, 'configured');
    assert.equal(service.current()!.pin.toString('hex'), hex);
  });
});

const badFiles: Array<{ name: string; kind: string; reason: RegExp; prepare: (h: Harness) => void }> = [
  { name: 'absent', kind: 'absent', reason: /no bootstrap file at .*bootstrap\.json/, prepare: (h) => fs.rmSync(h.file, { force: true }) },
  {
    name: 'a directory where the file should be',
    kind: 'unreadable',
    reason: /is not a regular file/,
    prepare: (h) => {
      fs.rmSync(h.file, { force: true });
      fs.mkdirSync(h.file);
    },
  },
  { name: 'not JSON', kind: 'malformed', reason: /is not valid JSON/, prepare: (h) => h.write('{"schema": "felhom.bootstrap/v1", ') },
  {
    name: 'broken JSON around a token',
    kind: 'malformed',
    reason: /is not valid JSON/,
    prepare: (h) => h.write('{"local_api": {"token": flt_SECRETSECRETSECRET}}'),
  },
  { name: 'a JSON array', kind: 'malformed', reason: /must hold a JSON object/, prepare: (h) => h.write('[1, 2]') },
  {
    name: 'too large',
    kind: 'malformed',
    reason: /bytes; a bootstrap file is under/,
    prepare: (h) => h.write({ ...golden, padding: 'x'.repeat(70_000) }),
  },
  {
    name: 'another schema',
    kind: 'wrong_schema',
    reason: /schema "felhom.bootstrap\/v2"; this controller understands "felhom.bootstrap\/v1"/,
    prepare: (h) => h.write({ ...golden, schema: 'felhom.bootstrap/v2' }),
  },
  {
    name: 'no schema field',
    kind: 'wrong_schema',
    reason: /no "schema" field/,
    prepare: (h) => h.write(withChanges((b) => delete (b as Partial<typeof b>).schema)),
  },
  {
    name: 'missing the token',
    kind: 'invalid',
    reason: /local_api\.token/,
    prepare: (h) => h.write(withChanges((b) => delete b.local_api.token)),
  },
  {
    name: 'an http endpoint',
    kind: 'invalid',
    reason: /local_api\.endpoint: must be an https:\/\/ URL/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.endpoint = 'http://10.10.10.1:8443'))),
  },
  {
    name: 'a token with a line break',
    kind: 'invalid',
    reason: /local_api\.token: must be printable ASCII without spaces/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.token = 'flt_0123456789abcdef\r\nX-Injected: 1'))),
  },
  {
    name: 'an endpoint with credentials',
    kind: 'invalid',
    reason: /local_api\.endpoint: must be a plain https:\/\/host:port URL/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.endpoint = 'https://user:pass@10.10.10.1:8443/?x=1'))),
  },
  {
    name: 'a fingerprint that is not a SHA-256 pin',
    kind: 'invalid',
    reason: /local_api\.fingerprint: is not a SHA-256 certificate pin/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.fingerprint = 'sha1:abcdef'))),
  },
  {
    name: 'world-readable',
    kind: 'insecure',
    reason: /has mode 0644: it holds the agent token and other users can read it; it must be 0600/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.token = 'flt_exposed_token_00000000000000000000000')), 0o644),
  },
  {
    name: 'world-writable',
    kind: 'insecure',
    reason: /other users can write it/,
    prepare: (h) => h.write(withChanges((b) => (b.local_api.token = 'flt_exposed_token_00000000000000000000000')), 0o602),
  },
];

describe('a bad bootstrap.json', () => {
  for (const bad of badFiles) {
    it(`when it is ${bad.name} on a first start, then the controller waits in setup and says why`, async (t) => {
      const h = harness(t);
      bad.prepare(h);
      const service = h.service();
      const report = await service.ingest();
      assert.equal(report.state, 'setup');
      assert.equal(report.problem?.kind, bad.kind);
      assert.match(report.problem!.message, bad.reason);
      assert.equal(service.current(), null);
      assert.deepEqual(h.db.prepare('SELECT * FROM settings').all(), [], 'nothing half-applied');
    });

    it(`when it is ${bad.name} after a good one, then the last good channel is kept and the state says degraded`, async (t) => {
      const h = harness(t);
      h.write(golden);
      const service = h.service();
      await service.ingest();
      const before = JSON.stringify([h.db.prepare('SELECT * FROM agent_channel').all(), h.db.prepare('SELECT * FROM settings').all()]);
      bad.prepare(h);
      const report = await service.ingest();
      assert.equal(report.state, 'degraded');
      assert.equal(report.problem?.kind, bad.kind);
      assert.equal(report.issuedAt, '2026-11-20T09:14:03Z');
      assert.equal(service.current()!.token.reveal(), GOLDEN_TOKEN);
      const after = JSON.stringify([h.db.prepare('SELECT * FROM agent_channel').all(), h.db.prepare('SELECT * FROM settings').all()]);
      assert.equal(after, before);
    });
  }

  it('when storing a valid file fails halfway, then nothing of it is kept and the controller says why', async (t) => {
    const h = harness(t);
    h.write(golden);
    // The channel row is written first, then the settings: make the settings write fail.
    h.db.exec('DROP TABLE settings');
    const service = h.service();
    const report = await service.ingest();
    assert.equal(report.state, 'setup');
    assert.equal(report.problem?.kind, 'not_stored');
    assert.match(report.problem!.message, /could not store the configuration from .*: no such table: settings/);
    assert.equal(service.current(), null, 'the channel row written before the failure was rolled back');
  });

  it('when the same problem is seen again, then it is audited once, not on every re-check', async (t) => {
    const h = harness(t);
    h.write('not json');
    const service = h.service();
    await service.ingest();
    await service.ingest();
    await service.ingest();
    const rows = h.db.prepare("SELECT * FROM audit_log WHERE action = 'bootstrap.rejected'").all();
    assert.equal(rows.length, 1);
  });

  it('when the file is fixed, then the controller configures itself from it', async (t) => {
    const h = harness(t);
    h.write('not json');
    const service = h.service();
    assert.equal((await service.ingest()).state, 'setup');
    h.write(golden);
    assert.equal((await service.ingest()).state, 'configured');
  });
});

describe('the agent token', () => {
  it('when the file around the token is broken, then the reason quotes none of it', async (t) => {
    const h = harness(t);
    for (const text of ['{"local_api": {"token": flt_SECRETSECRETSECRET}}', '{"local_api": {"token": "flt_SECRETSECRETSECRET" ']) {
      h.write(text);
      const report = await h.service().ingest();
      assert.equal(report.problem?.kind, 'malformed');
      assert.doesNotMatch(report.problem!.message, /SECRET|flt_/);
    }
    assert.doesNotMatch(h.logs.join('') + JSON.stringify(h.db.prepare('SELECT * FROM audit_log').all()), /SECRET|flt_S/);
  });

  it('when bootstrap files are ingested and rejected, then the token appears in no log line, report or audit record', async (t) => {
    const h = harness(t);
    h.write(golden);
    const service = h.service();
    await service.ingest();
    h.write(withChanges((b) => (b.local_api.token = 'flt_second_token_0000000000000000000000000')));
    await service.ingest();
    h.write(withChanges((b) => (b.local_api.token = 'flt_third_token_00000000000000000000000000')), 0o644);
    const report = await service.ingest();
    const everything = [
      ...h.logs,
      JSON.stringify(report),
      JSON.stringify(h.db.prepare('SELECT * FROM audit_log').all()),
      JSON.stringify(service.current()),
      String(service.current()!.token),
    ].join('\n');
    for (const token of [GOLDEN_TOKEN, 'flt_second_token_0000000000000000000000000', 'flt_third_token_00000000000000000000000000']) {
      assert.equal(everything.includes(token), false, `token ${token.slice(0, 10)}… leaked`);
    }
    assert.ok(h.logs.length >= 3, 'the ingests were logged');
  });
});
