/**
 * The controller as a whole: started on a free port with a real SQLite file, talking
 * to the development agent over real TLS with its real pinned certificate.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { requireDocker } from './helpers/docker.ts';
import { readGolden, tempDir } from './helpers/temp.ts';
import { signedInPage } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

function bootstrapToken(file: string): string {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { local_api: { token: string } }).local_api.token;
}

describe('the controller beside the development agent', () => {
  it('when started with the agent bootstrap, then status says configured, pinned and reachable, Docker included', async (t) => {
    const agent = await devAgent(t);
    const { controller: c, token } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const response = await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200);
    const status = response.body;
    assert.equal(status.bootstrap.state, 'configured');
    assert.equal(status.identity.guest_id, '101');
    assert.equal(status.agent.endpoint, agent.endpoint);
    assert.equal(status.agent.fingerprint, agent.fingerprint);
    assert.equal(status.agent.reachable, true);
    assert.equal(status.agent.pin, 'verified');
    assert.equal(status.agent.authorized, true);
    assert.match(status.agent.version, /^\d+\.\d+\.\d+/);
    if (await requireDocker(t)) {
      assert.equal(status.docker.reachable, true, status.docker.error);
      assert.match(status.docker.version, /^\d+\./);
    }
    assert.equal(JSON.stringify(status).includes(bootstrapToken(agent.bootstrapPath)), false, 'the agent token is never returned');
  });

  it('when the status page is opened, then it shows the same facts as HTML, without the token', async (t) => {
    const agent = await devAgent(t);
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const page = await signedInPage(c, '/status');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /html/);
    assert.match(page.text, /Configured/);
    assert.match(page.text, /matches the pin/);
    assert.ok(page.text.includes(agent.fingerprint));
    assert.equal(page.text.includes(bootstrapToken(agent.bootstrapPath)), false);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.match(page.text, /href="\/static\/style\.css"/);
    const css = await request(c.url).get('/static/style.css').expect(200).expect('content-type', /text\/css/);
    assert.match(css.text, /\.card/);
  });

  it('when the API is called without a valid token, then it answers 401 with a JSON reason; /healthz needs none', async (t) => {
    const agent = await devAgent(t);
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    await request(c.url).get('/healthz').expect(200, { status: 'ok' });
    const missing = await request(c.url).get('/api/v1/status').expect(401);
    assert.equal(missing.body.error.code, 'unauthorized');
    assert.match(missing.body.error.message, /Authorization: Bearer/);
    const wrong = await request(c.url).get('/api/v1/status').set(bearer('fct_not-a-real-token')).expect(401);
    assert.match(wrong.body.error.message, /unknown or revoked/);
  });

  it('when an unknown path is asked for, then the API answers a JSON 404 and the UI a 404 page', async (t) => {
    const agent = await devAgent(t);
    const { controller: c, token } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const response = await request(c.url).get('/api/v1/nope').set(bearer(token)).expect(404);
    assert.equal(response.body.error.code, 'not_found');
    const page = await signedInPage(c, '/nope');
    assert.equal(page.status, 404);
    assert.match(page.text, /there is no page at this address/);
  });

  it('when the agent presents another certificate, then status reports the pin mismatch and the agent sees no request', async (t) => {
    const agent = await devAgent(t);
    const { controller: c, token } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    agent.presentCertificate('alternate');
    const before = agent.requests().length;
    const status = (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body;
    assert.equal(status.agent.pin, 'mismatch');
    assert.equal(status.agent.error.code, 'pin_mismatch');
    assert.match(status.agent.error.message, /not the agent pinned in bootstrap\.json; nothing was sent to it/);
    assert.equal(agent.requests().length, before, 'no request reached the agent');
    const page = await signedInPage(c, '/status');
      assert.equal(page.status, 200);
    assert.match(page.text, /does NOT match the pin/);
    await assert.rejects(c.agent.getStorage(), /not the agent pinned/);
    const audited = c.db.prepare("SELECT * FROM audit_log WHERE action = 'agent.pin_mismatch'").all() as Array<{ outcome: string; details: string }>;
    assert.equal(audited.length, 1, 'recorded once per presented certificate, not on every call');
    assert.equal(audited[0]!.outcome, 'refused');
    assert.equal(JSON.parse(audited[0]!.details).expected, agent.fingerprint);
  });

  it('when the agent hangs, then status reports a timeout within the bound and the controller keeps serving', async (t) => {
    const agent = await devAgent(t);
    const { controller: c, token } = await controller(t, { bootstrapPath: agent.bootstrapPath, agentTimeoutMs: 300 });
    agent.injectFault({ path: '/storage', hang: true });
    const started = performance.now();
    const status = (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body;
    assert.ok(performance.now() - started < 3_000);
    assert.equal(status.agent.reachable, false);
    assert.equal(status.agent.error.code, 'timeout');
    await request(c.url).get('/healthz').expect(200);
  });

  it('when the agent re-mints the token, then the controller re-reads bootstrap.json on the 401 and carries on', async (t) => {
    const agent = await devAgent(t);
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const before = bootstrapToken(agent.bootstrapPath);
    await agent.remintToken();
    assert.notEqual(bootstrapToken(agent.bootstrapPath), before);
    const storage = await c.agent.getStorage();
    assert.equal(storage.guest_id, '101');
    assert.equal(c.bootstrap.current()!.token.reveal(), bootstrapToken(agent.bootstrapPath));
    const statuses = agent.requests().filter((r) => r.path === '/storage').map((r) => r.status);
    assert.deepEqual(statuses.slice(-2), [401, 200]);
  });

  it('when restarted twice with the same bootstrap, then the second and third start change nothing', async (t) => {
    const agent = await devAgent(t);
    const dataDir = tempDir(t, 'felhom-data-');
    const dump = (db: import('../src/db/index.ts').Db) =>
      JSON.stringify(['settings', 'agent_channel', 'audit_log'].map((table) => db.prepare(`SELECT * FROM ${table}`).all()));
    const first = await controller(t, { bootstrapPath: agent.bootstrapPath, dataDir });
    const afterFirst = dump(first.controller.db);
    await first.stop();
    for (let i = 0; i < 2; i++) {
      const again = await controller(t, { bootstrapPath: agent.bootstrapPath, dataDir });
      assert.deepEqual(again.controller.bootstrap.report().changed, []);
      assert.equal(again.controller.bootstrap.report().state, 'configured');
      assert.equal(dump(again.controller.db), afterFirst);
      await again.stop();
    }
  });
});

describe('the controller with a bad or missing bootstrap', () => {
  const cases: Array<{ name: string; write: (file: string) => void; state: string; reason: RegExp }> = [
    { name: 'absent', write: () => {}, state: 'setup', reason: /no bootstrap file at/ },
    { name: 'malformed', write: (f) => fs.writeFileSync(f, '{ nope', { mode: 0o600 }), state: 'setup', reason: /not valid JSON/ },
    {
      name: 'of another schema',
      write: (f) => fs.writeFileSync(f, JSON.stringify({ ...(readGolden('bootstrap.json') as object), schema: 'x/v9' }), { mode: 0o600 }),
      state: 'setup',
      reason: /schema "x\/v9"/,
    },
    {
      name: 'world-readable',
      write: (f) => {
        fs.writeFileSync(f, JSON.stringify(readGolden('bootstrap.json')));
        fs.chmodSync(f, 0o644);
      },
      state: 'setup',
      reason: /mode 0644/,
    },
  ];
  for (const bad of cases) {
    it(`when it is ${bad.name}, then the controller runs, and the API and page show the state and the reason`, async (t) => {
      const file = path.join(tempDir(t), 'bootstrap.json');
      bad.write(file);
      const { controller: c, token } = await controller(t, { bootstrapPath: file });
      await request(c.url).get('/healthz').expect(200);
      const status = (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body;
      assert.equal(status.bootstrap.state, bad.state);
      assert.match(status.bootstrap.problem.message, bad.reason);
      assert.equal(status.agent.configured, false);
      const page = await signedInPage(c, '/status');
      assert.equal(page.status, 200);
      assert.match(page.text, /Waiting for the host agent(&#39;|'|’)s bootstrap file/);
      assert.ok(page.text.includes(escapeHtml(status.bootstrap.problem.message)), 'the page shows the reason, escaped');
    });
  }

  it('when the bad file carries HTML, then the page shows it as text', async (t) => {
    const file = path.join(tempDir(t), 'bootstrap.json');
    fs.writeFileSync(file, JSON.stringify({ schema: '<img src=x onerror=alert(1)>' }), { mode: 0o600 });
    const { controller: c } = await controller(t, { bootstrapPath: file });
    const page = await signedInPage(c, '/status');
      assert.equal(page.status, 200);
    assert.equal(page.text.includes('<img src=x'), false);
    assert.ok(page.text.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });

  it('when the agent writes the file after the controller started, then the controller picks it up by itself', async (t) => {
    const agent = await devAgent(t);
    const file = path.join(tempDir(t), 'bootstrap.json');
    const { controller: c, token } = await controller(t, { bootstrapPath: file });
    const before = (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body;
    assert.equal(before.bootstrap.state, 'setup');
    assert.equal(before.agent.configured, false);
    fs.copyFileSync(agent.bootstrapPath, file);
    fs.chmodSync(file, 0o600);
    const status = await until(async () => (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body, {
      what: 'the bootstrap file to be taken',
      done: (answer) => answer.bootstrap.state === 'configured',
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    assert.equal(status.bootstrap.state, 'configured');
    assert.equal(status.agent.reachable, true, 'the agent probe is not a stale answer from before the file');
    assert.equal(status.agent.pin, 'verified');
  });

  it('when a good bootstrap turns bad, then the controller keeps the last good channel, still reaches the agent, and says degraded', async (t) => {
    const agent = await devAgent(t);
    const file = path.join(tempDir(t), 'bootstrap.json');
    fs.copyFileSync(agent.bootstrapPath, file);
    fs.chmodSync(file, 0o600);
    const { controller: c, token } = await controller(t, { bootstrapPath: file });
    fs.writeFileSync(file, 'garbage');
    await c.bootstrap.ingest();
    const status = (await request(c.url).get('/api/v1/status').set(bearer(token)).expect(200)).body;
    assert.equal(status.bootstrap.state, 'degraded');
    assert.match(status.bootstrap.problem.message, /not valid JSON/);
    assert.equal(status.agent.reachable, true);
    assert.equal(status.agent.pin, 'verified');
  });
});
