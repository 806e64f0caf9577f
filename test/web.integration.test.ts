/**
 * The customer UI over HTTP: a real controller with a real SQLite file, the development
 * agent over pinned TLS, and (for the app pages) a real Docker engine. Every route is
 * checked for sign-in and CSRF; the flows check status codes, audit entries and escaping.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createAuditLog } from '../src/audit/index.ts';
import { createSessions } from '../src/auth/index.ts';
import { systemClock } from '../src/clock.ts';
import { openDatabase } from '../src/db/index.ts';
import { loadOrCreateLeaf } from '../dev-agent/cert.ts';
import { silentLogger } from '../src/log.ts';
import { startSession } from '../src/auth/index.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { tempDir } from './helpers/temp.ts';
import { csrfOf, PASSWORD, setupCodeOf, signUp } from './helpers/ui.ts';

const APP = 'escape-test';
const pageGets = [
  '/', '/home/live', '/status', '/store', '/store/plan?catalog=x', `/apps/${APP}`, `/apps/${APP}/live`, `/apps/${APP}/logs`,
  `/apps/${APP}/uninstall`, `/apps/${APP}/rollback?snapshot=s`, '/disks', '/disks/d/eject', '/disks/d/format', '/host', '/host/live',
  '/backups', '/backups/live', '/activity', '/settings',
];
const posts = [
  '/logout', '/alerts/acknowledge', '/store/plan', '/store/install', `/apps/${APP}/start`, `/apps/${APP}/stop`, `/apps/${APP}/restart`,
  `/apps/${APP}/update`, `/apps/${APP}/uninstall`, `/apps/${APP}/rollback`, '/disks/assign', '/disks/d/eject', '/disks/d/format',
  '/backups/now', '/settings/password', '/settings/tokens', '/settings/tokens/x/revoke', '/settings/language',
];

async function started(t: TestContext, env: Record<string, string> = {}) {
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env });
  return { agent, c, url: c.controller.url };
}

const auditActions = (c: Awaited<ReturnType<typeof controller>>) => c.controller.db.prepare('SELECT action, outcome FROM audit_log ORDER BY id').all() as Array<{ action: string; outcome: string }>;
/** `action:outcome` (and `@target` when asked) of the entries whose action starts with `prefix`. */
const audited = (c: Awaited<ReturnType<typeof controller>>, prefix: string, withTarget = false) =>
  (c.controller.db.prepare('SELECT action, outcome, target FROM audit_log WHERE action LIKE ? ORDER BY id').all(`${prefix}%`) as Array<{ action: string; outcome: string; target: string | null }>)
    .map((a) => `${a.action}:${a.outcome}${withTarget ? `@${a.target}` : ''}`);
const when = (iso: string) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One HTTP exchange from another local address than supertest's 127.0.0.1 (Linux routes
 * all of 127/8 to loopback), so the controller sees another client.
 */
function fromAddress(localAddress: string, url: string, method: 'GET' | 'POST', route: string, options: { cookie?: string; form?: Record<string, string> } = {}) {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: http.OutgoingHttpHeaders = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) });
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; remote: string }>((resolve, reject) => {
    const req = http.request(new URL(route, url), { method, localAddress, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, remote: req.socket?.localAddress ?? '' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the customer UI', () => {
  it('when nobody is signed in, then every page leads to setup or sign-in and every action is refused', async (t) => {
    const { c, url } = await started(t);
    for (const route of pageGets) {
      const response = await request(url).get(route);
      assert.equal(response.status, 303, route);
      assert.equal(response.headers.location, '/setup', `${route}: no account yet, so to setup`);
    }
    for (const route of posts) {
      const form = await request(url).post(route).type('form').send({ _csrf: 'guess' });
      assert.equal(form.status, 303, route);
      assert.equal(form.headers.location, '/setup', route);
      const htmx = await request(url).post(route).set('HX-Request', 'true').type('form').send({ _csrf: 'guess' });
      assert.equal(htmx.status, 401, route);
      assert.equal(htmx.headers['hx-redirect'], '/setup', route);
    }
    assert.equal(c.controller.db.prepare("SELECT COUNT(*) FROM audit_log WHERE actor = 'customer'").pluck().get(), 0, 'nothing was done');
    const upload = await request(url).post('/store/plan').attach('manifest', Buffer.alloc(900_000, 'a'), 'big.yml');
    assert.equal(upload.status, 303, 'an upload from someone not signed in is turned away before it is read');
    await signUp(url, c.dataDir);
    const anonymous = await request(url).get('/disks');
    assert.equal(anonymous.headers.location, '/login?next=%2Fdisks', 'with an account, to sign-in, remembering the page');
    await request(url).get('/healthz').expect(200);
    await request(url).get('/static/htmx.min.js').expect(200).expect('content-type', /javascript/);
    await request(url).get('/static/style.css').expect(200);
  });

  it('when signed in but a form lacks the CSRF token, then every action is refused with 403 and nothing is done', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const before = auditActions(c).length;
    const locale = () => c.controller.db.prepare("SELECT value FROM settings WHERE key = 'ui.locale'").pluck().get();
    const localeBefore = locale();
    for (const route of posts) {
      const missing = await agent.post(route).type('form').send({ locale: 'hu', name: 'tok', disk: 'd' });
      assert.equal(missing.status, 403, `${route} without a token`);
      const wrong = await agent.post(route).set('X-CSRF-Token', `${csrf}x`).type('form').send({});
      assert.equal(wrong.status, 403, `${route} with a wrong header token`);
    }
    assert.equal(auditActions(c).length, before, 'nothing was recorded, so nothing was done');
    assert.equal(locale(), localeBefore);
    // The same request with the token (as a form field or as htmx's header) goes through.
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu', back: '/disks' }).expect(303).expect('location', '/disks');
    await agent.post('/settings/language').set('X-CSRF-Token', csrf).type('form').send({ locale: 'en' }).expect(303);
  });

  it('when the account is set up, then only the setup code from the log or the data folder works, once', async (t) => {
    const { c, url } = await started(t);
    const codeFile = path.join(c.dataDir, 'setup-code.txt');
    assert.equal(fs.statSync(codeFile).mode & 0o777, 0o600);
    const browser = request.agent(url);
    const form = await browser.get('/setup').expect(200);
    const formCsrf = csrfOf(form.text);
    const wrong = await browser.post('/setup').type('form').send({ _csrf: formCsrf, code: 'AAAA-BBBB-CCCC', password: PASSWORD, confirm: PASSWORD });
    assert.equal(wrong.status, 403);
    assert.match(wrong.text, /setup code is not right/);
    const short = await browser.post('/setup').type('form').send({ _csrf: formCsrf, code: setupCodeOf(c.dataDir), password: 'short', confirm: 'short' });
    assert.equal(short.status, 400);
    const noFormToken = await request(url).post('/setup').type('form').send({ code: setupCodeOf(c.dataDir), password: PASSWORD, confirm: PASSWORD });
    assert.equal(noFormToken.status, 403, 'the setup form itself is CSRF-protected');
    assert.equal(c.controller.db.prepare('SELECT COUNT(*) FROM admin_account').pluck().get(), 0);

    const done = await browser.post('/setup').type('form').send({ _csrf: formCsrf, code: setupCodeOf(c.dataDir).toLowerCase(), password: PASSWORD, confirm: PASSWORD });
    assert.equal(done.status, 303);
    const cookie = String(done.headers['set-cookie']).split(/,(?=\s*felhom)/).find((v) => v.startsWith('felhom_session='))!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP on the LAN: a Secure cookie would never come back');
    assert.equal(fs.existsSync(codeFile), false, 'the code is spent');
    await request(url).get('/setup').expect(303).expect('location', '/login');
    const hash = c.controller.db.prepare('SELECT password_hash FROM admin_account').pluck().get() as string;
    assert.match(hash, /^scrypt\$131072\$/);
    assert.ok(!hash.includes(PASSWORD));
    assert.deepEqual(auditActions(c).filter((a) => a.action === 'account.setup').map((a) => a.outcome), ['refused', 'ok']);
  });

  it('when sign-in fails too often from one client, then that client waits even with the right password, while another client still signs in', async (t) => {
    const { c, url } = await started(t);
    await signUp(url, c.dataDir);
    const browser = request.agent(url);
    const formCsrf = csrfOf((await browser.get('/login').expect(200)).text);
    for (let attempt = 0; attempt < 10; attempt++) {
      await browser.post('/login').type('form').send({ _csrf: formCsrf, password: 'wrong password' }).expect(401);
    }
    const limited = await browser.post('/login').type('form').send({ _csrf: formCsrf, password: PASSWORD });
    assert.equal(limited.status, 429, 'even the right password waits once the limit is reached');
    assert.match(limited.text, /Too many attempts/);
    assert.ok(auditActions(c).some((a) => a.action === 'session.rate_limited'));
    assert.equal(auditActions(c).filter((a) => a.action === 'session.sign_in' && a.outcome === 'refused').length, 10);

    // Another device on the LAN (here: another loopback address) has its own budget.
    const form = await fromAddress('127.0.0.2', url, 'GET', '/login');
    assert.equal(form.status, 200);
    const formCookie = ([] as string[]).concat(form.headers['set-cookie'] ?? []).map((v) => v.split(';')[0]!).find((v) => v.startsWith('felhom_form='));
    assert.ok(formCookie, 'the sign-in form sets its double-submit cookie');
    const otherCsrf = csrfOf(form.text);
    const wrong = await fromAddress('127.0.0.2', url, 'POST', '/login', { cookie: formCookie, form: { _csrf: otherCsrf, password: 'wrong password' } });
    assert.equal(wrong.status, 401, 'the other client is told the password is wrong, not to wait');
    const signedIn = await fromAddress('127.0.0.2', url, 'POST', '/login', { cookie: formCookie, form: { _csrf: otherCsrf, password: PASSWORD } });
    assert.equal(signedIn.remote, '127.0.0.2', 'the request really came from the other address');
    assert.equal(signedIn.status, 303, signedIn.text);
    assert.equal(signedIn.headers.location, '/');
    assert.match(String(signedIn.headers['set-cookie']), /felhom_session=/);
    const clients = (c.controller.db.prepare("SELECT details FROM audit_log WHERE action = 'session.sign_in' AND outcome = 'ok'").pluck().all() as string[]).map((d) => JSON.parse(d).client);
    assert.deepEqual(clients, ['127.0.0.2'], 'the sign-in is recorded with the client that made it');
    // The first client is still held back.
    const stillLimited = await browser.post('/login').type('form').send({ _csrf: formCsrf, password: PASSWORD });
    assert.equal(stillLimited.status, 429);
  });

  it('when signed in and out, then the session ends on the server too', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const login = request.agent(url);
    const formCsrf = csrfOf((await login.get('/login?next=/host').expect(200)).text);
    await login.post('/login').type('form').send({ _csrf: formCsrf, password: PASSWORD, next: '/host' }).expect(303).expect('location', '/host');
    const other = request.agent(url);
    const otherCsrf = csrfOf((await other.get('/login').expect(200)).text);
    await other.post('/login').type('form').send({ _csrf: otherCsrf, password: PASSWORD, next: '//evil.example/' }).expect(303).expect('location', '/');
    assert.deepEqual(audited(c, 'session.'), ['session.sign_in:ok', 'session.sign_in:ok']);
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('location', '/login');
    await agent.get('/').expect(303);
    await login.get('/host').expect(200);
    assert.deepEqual(audited(c, 'session.'), ['session.sign_in:ok', 'session.sign_in:ok', 'session.sign_out:ok'], 'the sign-out is recorded');
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('location', '/login');
    assert.equal(audited(c, 'session.sign_out').length, 1, 'a sign-out without a session is not recorded as one');
  });

  it('when the password is changed, then other sessions end and the new password works', async (t) => {
    const { c, url } = await started(t);
    const first = await signUp(url, c.dataDir);
    const second = request.agent(url);
    const formCsrf = csrfOf((await second.get('/login').expect(200)).text);
    await second.post('/login').type('form').send({ _csrf: formCsrf, password: PASSWORD }).expect(303);
    const newPassword = 'another long password';
    await first.agent.post('/settings/password').type('form').send({ _csrf: first.csrf, current: 'not it at all', password: newPassword, confirm: newPassword }).expect(403);
    await first.agent.post('/settings/password').type('form').send({ _csrf: first.csrf, current: PASSWORD, password: newPassword, confirm: `${newPassword}!` }).expect(400);
    assert.deepEqual(audited(c, 'account.password'), ['account.password:refused'], 'a wrong current password is recorded as refused; nothing changed yet');
    await first.agent.post('/settings/password').type('form').send({ _csrf: first.csrf, current: PASSWORD, password: newPassword, confirm: newPassword }).expect(303).expect('location', '/settings?done=password');
    assert.deepEqual(audited(c, 'account.password'), ['account.password:refused', 'account.password:ok']);
    const details = JSON.parse(c.controller.db.prepare("SELECT details FROM audit_log WHERE action = 'account.password' AND outcome = 'ok'").pluck().get() as string);
    assert.equal(details.other_sessions_ended, 1, 'the entry says how many other sessions ended');
    await second.get('/').expect(303);
    await first.agent.get('/').expect(200);
    const third = request.agent(url);
    const thirdCsrf = csrfOf((await third.get('/login').expect(200)).text);
    await third.post('/login').type('form').send({ _csrf: thirdCsrf, password: PASSWORD }).expect(401);
    await third.post('/login').type('form').send({ _csrf: thirdCsrf, password: newPassword }).expect(303).expect('location', '/');
  });

  it('when an API token is created in settings, then it is shown once, works for the API, and can be revoked', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const created = await agent.post('/settings/tokens').type('form').send({ _csrf: csrf, name: 'phone' }).expect(200);
    const token = /id="new-token">(fct_[^<]+)</.exec(created.text)?.[1];
    assert.ok(token);
    await request(url).get('/api/v1/status').set('Authorization', `Bearer ${token}`).expect(200);
    const settings = await agent.get('/settings').expect(200);
    assert.ok(!settings.text.includes(token), 'never shown again');
    const id = /phone <span[^]*?action="\/settings\/tokens\/([^/]+)\/revoke"/.exec(settings.text)?.[1];
    assert.deepEqual(audited(c, 'api_token.', true), ['api_token.create:ok@phone']);
    await agent.post('/settings/tokens').type('form').send({ _csrf: csrf, name: '<bad name>' }).expect(400);
    await agent.post('/settings/tokens/no-such-token/revoke').type('form').send({ _csrf: csrf }).expect(404);
    assert.deepEqual(audited(c, 'api_token.', true), ['api_token.create:ok@phone'], 'refused requests are not recorded as done');
    await agent.post(`/settings/tokens/${id}/revoke`).type('form').send({ _csrf: csrf }).expect(303).expect('location', '/settings?done=token_revoked');
    await request(url).get('/api/v1/status').set('Authorization', `Bearer ${token}`).expect(401);
    assert.deepEqual(audited(c, 'api_token.', true), ['api_token.create:ok@phone', 'api_token.revoke:ok@phone']);
    assert.ok(!settings.text.includes(c.controller.bootstrap.current()!.token.reveal()), 'the agent token is never on the page');
  });

  it('when the language is switched, then pages are in Hungarian; the bootstrap locale is the default', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    assert.match((await agent.get('/disks').expect(200)).text, /<html lang="en">/);
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu', back: '/disks' }).expect(303);
    const hu = await agent.get('/disks').expect(200);
    assert.match(hu.text, /<html lang="hu">/);
    assert.ok(hu.text.includes('Lemezek'), 'the page title is Hungarian');
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'xx' }).expect(400);
    assert.deepEqual(audited(c, 'settings.language', true), ['settings.language:ok@hu'], 'the switch is recorded; the unknown language is not');
  });

  it('when disks are assigned, ejected and formatted, then the agent is asked, the audit records it, and a data-bearing format is explained', async (t) => {
    const { c, url, agent: devAgentProcess } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const page = await agent.get('/disks').expect(200);
    const disks = (await c.controller.agent.listDisks());
    const blank = disks.find((d) => !d.system && !d.assigned && !d.data_bearing);
    const dataBearing = disks.find((d) => !d.system && d.data_bearing);
    const system = disks.find((d) => d.system);
    assert.ok(blank && dataBearing && system, JSON.stringify(disks.map((d) => [d.id, d.system, d.assigned, d.data_bearing])));
    assert.ok(!page.text.includes(`/disks/${system.id}/format`), 'a system disk offers no actions');

    await agent.post(`/disks/${dataBearing.id}/format`).type('form').send({ _csrf: csrf }).expect(400);
    const refused = await agent.post(`/disks/${dataBearing.id}/format`).type('form').send({ _csrf: csrf, confirm: 'yes' });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /Felhom support has signed the wipe/);

    await agent.post('/disks/assign').type('form').send({ _csrf: csrf, disk: blank.id, label: 'Photos', class: 'slow', role: 'bulk-data' }).expect(422);
    assert.match((await agent.get('/disks').expect(200)).text, /Format it first/);
    await agent.post(`/disks/${blank.id}/format`).type('form').send({ _csrf: csrf, confirm: 'yes', fs_label: 'photos' }).expect(303).expect('location', '/disks?done=formatted');
    await agent.post('/disks/assign').type('form').send({ _csrf: csrf, disk: blank.id, label: 'Photos', class: 'slow', role: 'bulk-data' }).expect(303);
    const assigned = (await c.controller.agent.listDisks()).find((d) => d.id === blank.id)!;
    assert.equal(assigned.assigned, true);
    await agent.post('/disks/assign').type('form').send({ _csrf: csrf, disk: blank.id, label: '', class: 'warp', role: 'x' }).expect(400);

    const confirm = await agent.get(`/disks/${blank.id}/eject`).expect(200);
    assert.match(confirm.text, /No app keeps data on this disk/);
    await agent.post(`/disks/${blank.id}/eject`).type('form').send({ _csrf: csrf }).expect(303).expect('location', '/disks?done=ejected');
    await agent.get('/disks/no-such-disk/eject').expect(404);
    const actions = auditActions(c).filter((a) => a.action.startsWith('disk.')).map((a) => `${a.action}:${a.outcome}`);
    assert.deepEqual(actions, ['disk.format:failed', 'disk.assign:failed', 'disk.format:ok', 'disk.assign:ok', 'disk.eject:ok']);
    // The API reaches the same use cases.
    const api = (route: string, body: unknown) => request(url).post(`/api/v1${route}`).set('Authorization', `Bearer ${c.token}`).send(body as object);
    const apiRefused = await api('/disks/format', { disk: dataBearing.id, filesystem: 'ext4', fs_label: 'x' });
    assert.equal(apiRefused.status, 403);
    assert.match(apiRefused.body.error.message, /pending_signature|signed/);
    assert.equal((await api('/disks/assign', { disk: blank.id, class: 'warp' })).status, 400);
    void devAgentProcess;
  });

  it('when the host and backup pages load, then they show the agent’s numbers, and "Back up now" starts a run that the live view follows to its end', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const host = await agent.get('/host').expect(200);
    assert.match(host.text, /Processor/);
    assert.ok(c.controller.host.history.count() >= 1, 'a sample was stored');
    const live = await agent.get('/host/live?range=week').set('HX-Request', 'true').expect(200);
    assert.ok(!live.text.includes('<html'), 'a fragment, not a page');
    assert.match(live.text, /<svg|No measurements yet/);

    const before = (await agent.get('/backups/live').expect(200)).text;
    assert.match(before, /data-phase="idle"/);
    assert.match(before, /No backups yet\./);
    assert.doesNotMatch(before, /<td>By hand<\/td>/, 'no run in the history yet');

    await agent.post('/backups/now').type('form').send({ _csrf: csrf }).expect(303).expect('location', '/backups?started=1');
    const audit = auditActions(c).find((a) => a.action === 'backup.request');
    assert.equal(audit?.outcome, 'ok');
    // The live view (what htmx polls) follows the run through its phases back to idle.
    const seen: string[] = [];
    let backups = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      backups = (await agent.get('/backups/live').set('HX-Request', 'true').expect(200)).text;
      const phase = /data-phase="([a-z]+)"/.exec(backups)?.[1] ?? 'none';
      if (seen.at(-1) !== phase) seen.push(phase);
      if (phase === 'idle' && seen.length > 1) break;
      await sleep(50);
    }
    assert.ok(seen.some((p) => ['stopping', 'requesting', 'waiting', 'resuming', 'tracking'].includes(p)), `a running phase was shown: ${seen.join(' → ')}`);
    assert.equal(seen.at(-1), 'idle', `the run ended: ${seen.join(' → ')}`);
    assert.ok(!seen.includes('none'), 'every state names its phase');
    const run = c.controller.db.prepare('SELECT outcome, downtime_ms FROM quiesce_runs').get() as { outcome: string; downtime_ms: number | null };
    assert.equal(run.outcome, 'succeeded');
    assert.equal(typeof run.downtime_ms, 'number', 'the downtime was measured');
    const row = /<tr><td>([^<]+)<\/td><td>By hand<\/td><td>–<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<br><span[^>]*data-consistency="(\w+)">([^<]*)<\/span><\/td><\/tr>/.exec(backups);
    assert.ok(row, `the finished run is in the history: ${backups}`);
    assert.equal(row[2], `${Math.round(run.downtime_ms! / 1000)} s`, 'the downtime as a duration');
    assert.equal(row[3], 'Succeeded');
    assert.equal(row[4], 'app', 'no app was running, so nothing could be caught mid-write');
    assert.equal(row[5], 'App-consistent: the apps were stopped until the snapshot existed');
  });

  it('when the settings page is shown, then it names the agent channel from bootstrap.json, its pin and whether the agent takes the token, never the token itself', async (t) => {
    const { c, url, agent: dev } = await started(t);
    const { agent } = await signUp(url, c.dataDir);
    const original = fs.readFileSync(dev.bootstrapPath, 'utf8');
    const bootstrap = JSON.parse(original) as { issued_at: string; local_api: { endpoint: string; fingerprint: string; token: string } };
    const channel = (html: string) => html.slice(html.indexOf('id="channel-title"'), html.indexOf('id="language-title"'));
    const page = (await agent.get('/settings').expect(200)).text;
    const section = channel(page);
    assert.match(section, new RegExp(`<dt>Address</dt><dd><code>${bootstrap.local_api.endpoint.replace(/[.]/g, '\\.')}</code></dd>`));
    assert.match(bootstrap.local_api.fingerprint, /^sha256:[0-9a-f]{64}$/);
    assert.ok(section.includes(`<dt>Pinned certificate</dt><dd><code class="wrap">${bootstrap.local_api.fingerprint}</code></dd>`), section);
    assert.ok(section.includes(`<dt>Access token</dt><dd>accepted by the agent (issued ${when(bootstrap.issued_at)})</dd>`), section);
    assert.ok(!page.includes(bootstrap.local_api.token), 'the agent token is never on the page');

    // The agent re-mints the token, but the controller is handed the old one back, with the pin
    // spelled in upper case with colons: the page says the token is refused and shows the pin as stored.
    const fresh = await dev.remintToken();
    for (let i = 0; i < 100 && c.controller.bootstrap.current()?.token.reveal() !== fresh; i++) await sleep(50);
    assert.equal(c.controller.bootstrap.current()?.token.reveal(), fresh, 'the controller took the new token');
    const reminted = (await agent.get('/settings').expect(200)).text;
    assert.ok(channel(reminted).includes('<dt>Access token</dt><dd>accepted by the agent ('), 'the new token is taken');
    assert.ok(!reminted.includes(fresh), 'and not shown');
    const hex = bootstrap.local_api.fingerprint.slice('sha256:'.length);
    fs.writeFileSync(dev.bootstrapPath, JSON.stringify({ ...bootstrap, local_api: { ...bootstrap.local_api, fingerprint: hex.toUpperCase().match(/../g)!.join(':') } }));
    for (let i = 0; i < 100 && c.controller.bootstrap.current()?.token.reveal() !== bootstrap.local_api.token; i++) await sleep(50);
    assert.equal(c.controller.bootstrap.current()?.token.reveal(), bootstrap.local_api.token, 'the controller holds the old token again');
    const refused = (await agent.get('/settings').expect(200)).text;
    assert.ok(channel(refused).includes(`<code class="wrap">${bootstrap.local_api.fingerprint}</code>`), 'the pin in one canonical spelling');
    assert.ok(channel(refused).includes('<dt>Access token</dt><dd>refused by the agent ('), channel(refused));
    assert.ok(!refused.includes(bootstrap.local_api.token) && !refused.includes(fresh), 'neither token is on the page');
  });

  it('when a manifest and compose file are uploaded, then the plan shows where each volume goes and carries the files to the install form', async (t) => {
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const manifest = 'schema: felhom.app/v1\nid: uploaded\nname: Uploaded\nversion: "1"\nvolumes:\n  db: { class: hot }\n  films: { class: bulk, backup: own }\n';
    const compose = 'services:\n  web:\n    image: felhom-test/busybox:latest\n    volumes: ["db:/db", "films:/films"]\nvolumes:\n  db:\n  films:\n';
    const plan = await agent.post('/store/plan').field('_csrf', csrf).attach('manifest', Buffer.from(manifest), '.felhom.yml').attach('compose', Buffer.from(compose), 'compose.yml');
    assert.equal(plan.status, 200, plan.text);
    assert.match(plan.text, /<td>db<\/td>\s*<td>Settings and databases \(fast\)<\/td>\s*<td>Internal NVMe/);
    assert.match(plan.text, /films<\/td>\s*<td>Media \(bulk\)<\/td>\s*<td>WD Elements 4TB/);
    assert.ok(plan.text.includes('<textarea name="manifest" hidden'), 'the install form carries the uploaded files');
    const privileged = compose.replace('    volumes: ["db:/db"', '    privileged: true\n    volumes: ["db:/db"');
    const refused = await agent.post('/store/plan').field('_csrf', csrf).attach('manifest', Buffer.from(manifest), 'm.yml').attach('compose', Buffer.from(privileged), 'c.yml');
    assert.equal(refused.status, 200);
    assert.match(refused.text, /cannot be installed as it is/);
    assert.match(refused.text, /privileged/, 'the policy says what it refuses, before Install is pressed');
    assert.ok(!refused.text.includes('action="/store/install"'), 'and there is no install button');
    const broken = await agent.post('/store/plan').field('_csrf', csrf).attach('manifest', Buffer.from('id: [unclosed'), 'm.yml').attach('compose', Buffer.from(compose), 'c.yml');
    assert.equal(broken.status, 400, 'a malformed manifest is a clear validation error');
    await agent.get('/').expect(200);
  });

  it('when the agent fails or hangs, then the pages say why, and the rest of the UI keeps working', async (t) => {
    const { c, url, agent: dev } = await started(t, { FELHOM_AGENT_TIMEOUT_MS: '300' });
    const { agent } = await signUp(url, c.dataDir);
    dev.injectFault({ path: '/disks', status: 500, code: 'internal', message: 'lsblk <b>exploded</b>' });
    const disks = await agent.get('/disks');
    assert.ok(disks.status >= 500, `an agent failure is not a success (${disks.status})`);
    assert.match(disks.text, /lsblk &lt;b&gt;exploded&lt;\/b&gt;/, "the agent's own words, escaped");
    dev.injectFault({ path: '/host/metrics', hang: true });
    await new Promise((resolve) => setTimeout(resolve, 4_500)); // past the live view's freshness bound
    const host = await agent.get('/host/live').set('HX-Request', 'true').expect(200);
    assert.match(host.text, /cannot be read|may be old/);
    await agent.get('/').expect(200);
    await agent.get('/settings').expect(200);
  });

  it('when an app keeps media on a bulk volume nobody backs up, then home warns until the customer acknowledges it, and the acknowledgement is audited', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, url } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const id = 'ack-test';
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Ack test\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n  media: { class: bulk, backup: none }\n  films: { class: bulk, backup: own }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sleep", "3600"]\n    volumes: ["data:/data", "media:/media", "films:/films"]\nvolumes:\n  data:\n  media:\n  films:\n`;
    cleanUpProject(t, id);
    const installed = await request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose });
    assert.equal(installed.status, 202, installed.text);
    await c.controller.apps.settled();
    assert.equal(c.controller.apps.record(id)?.status, 'installed', c.controller.apps.record(id)?.error ?? '');

    const warning = 'The media folder “media” of Ack test is not backed up by anyone.';
    const form = `<input type="hidden" name="subject" value="${id}/media">`;
    const home = (await agent.get('/').expect(200)).text;
    assert.ok(home.includes(warning), home);
    assert.ok(home.includes(form), 'the alert offers the acknowledgement');
    assert.ok(!home.includes('The media folder “films”'), 'a bulk volume the controller backs up itself is not "backed up by anyone"');
    assert.ok(home.includes('The folder “films” of Ack test should be backed up, but no backup target is chosen for it.'), 'it is an alert until it has a target');
    assert.ok(!home.includes(`value="${id}/films"`), 'which cannot be acknowledged away');
    assert.ok(!home.includes('“data”'), 'nor is a hot volume');
    assert.ok((await agent.get('/home/live').set('HX-Request', 'true').expect(200)).text.includes(warning), 'the live fragment too');

    // Only what an alert names: not another volume, a hot one, one the app backs up itself, or extra path parts.
    for (const subject of [`${id}/nothing`, `no-such-app/media`, id, '', `${id}/media/extra`, `${id}/data`, `${id}/films`]) {
      const refused = await agent.post('/alerts/acknowledge').type('form').send({ _csrf: csrf, subject });
      assert.equal(refused.status, 404, `"${subject}": ${refused.status}`);
    }
    assert.deepEqual(audited(c, 'backup.bulk_without_backup'), [], 'refusals are not recorded as acknowledgements');
    assert.ok((await agent.get('/').expect(200)).text.includes(warning), 'and the alert stays');

    await agent.post('/alerts/acknowledge').type('form').send({ _csrf: csrf, subject: `${id}/media` }).expect(303).expect('location', '/');
    assert.deepEqual(audited(c, 'backup.bulk_without_backup', true), [`backup.bulk_without_backup_accepted:ok@${id}/media`]);
    const after = (await agent.get('/').expect(200)).text;
    assert.ok(!after.includes(warning), 'the acknowledged alert is gone');
    assert.ok(!after.includes('action="/alerts/acknowledge"'), 'and so is its button');
    assert.ok(!(await agent.get('/home/live').set('HX-Request', 'true').expect(200)).text.includes(warning));
  });

  it('when an htmx request fails, then the error is sent to the message area', async (t) => {
    const { c, url } = await started(t);
    const { agent } = await signUp(url, c.dataDir);
    const response = await agent.get('/apps/nothing-here/live').set('HX-Request', 'true').expect(404);
    assert.equal(response.headers['hx-retarget'], '#flash');
    assert.ok(!response.text.includes('<html'));
  });

  it('when an app is restarted, updated, rolled back and uninstalled from its page, then destructive steps need their confirmation, data is kept by default, and each is audited', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, url, agent: dev } = await started(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const id = 'ui-actions';
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: UI actions\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "date > /data/started; exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
    cleanUpProject(t, id);
    const { apps } = c.controller;
    const install = async () => {
      await request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose }).expect(202);
      await apps.settled();
      assert.equal(apps.record(id)?.status, 'installed');
    };
    const running = async () => (await apps.docker.listContainers(id)).filter((x) => x.state === 'running');
    const audit = createAuditLog(c.controller.db, systemClock, silentLogger());
    const appAudit = () => audit.list({ app: id }).reverse().map((e) => `${e.action}:${e.outcome}`);
    await install();

    const page = await agent.get(`/apps/${id}`).expect(200);
    for (const action of ['start', 'stop', 'restart', 'update']) assert.ok(page.text.includes(`action="/apps/${id}/${action}"`), action);
    const before = await running();
    assert.equal(before.length, 1);
    await agent.post(`/apps/${id}/restart`).type('form').send({ _csrf: csrf }).expect(303).expect('location', `/apps/${id}?done=restart`);
    const after = await running();
    assert.deepEqual(after.map((x) => x.id), before.map((x) => x.id), 'the same container runs again after a restart');
    assert.notEqual(after[0]!.startedAt, before[0]!.startedAt, 'and it was started anew');
    assert.match((await agent.get(`/apps/${id}?done=restart`).expect(200)).text, /role="status"/);

    await agent.post(`/apps/${id}/update`).type('form').send({ _csrf: csrf }).expect(303).expect('location', `/apps/${id}?done=update`);
    await apps.settled();
    assert.equal((await running()).length, 1, 'running after the update');
    const snapshots = apps.store.snapshots(id);
    assert.equal(snapshots.length, 2, 'one snapshot before the install, one before the update');

    const snapshot = snapshots[0]!.name;
    const withSnapshots = await agent.get(`/apps/${id}`).expect(200);
    assert.ok(withSnapshots.text.includes(`/apps/${id}/rollback?snapshot=${encodeURIComponent(snapshot)}`));
    const confirmPage = await agent.get(`/apps/${id}/rollback?snapshot=${encodeURIComponent(snapshot)}`).expect(200);
    assert.match(confirmPage.text, /type="checkbox" name="confirm" value="yes" required/, 'the roll-back waits for a ticked box');
    const unticked = await agent.post(`/apps/${id}/rollback`).type('form').send({ _csrf: csrf, snapshot });
    assert.equal(unticked.status, 400);
    assert.match(unticked.text, /whole server/);
    assert.deepEqual(dev.rollbacks(), [], 'without the box the agent is not asked');
    await agent.post(`/apps/${id}/rollback`).type('form').send({ _csrf: csrf, snapshot: 'not-ours' , confirm: 'yes' }).expect(404);
    await agent.post(`/apps/${id}/rollback`).type('form').send({ _csrf: csrf, snapshot, confirm: 'yes' }).expect(303);
    assert.deepEqual(dev.rollbacks().map((r) => r.snapshot), [snapshot]);

    const uninstallPage = await agent.get(`/apps/${id}/uninstall`).expect(200);
    assert.match(uninstallPage.text, /name="data" value="keep" checked/, 'keeping the data is the default');
    const confirm = /name="confirm" value="([^"]+)"/.exec(uninstallPage.text)![1]!;
    const dataPath = apps.store.placements(id)[0]!.path;
    assert.ok(uninstallPage.text.includes(dataPath), 'the page names the folders a deletion would remove');
    assert.ok(fs.existsSync(path.join(dataPath, 'started')));
    const wrongId = await agent.post(`/apps/${id}/uninstall`).type('form').send({ _csrf: csrf, confirm, data: 'delete', typed_id: 'ui-action' });
    assert.equal(wrongId.status, 400);
    assert.match(wrongId.text, /type the app(’|&#39;|')s id/);
    const staleCode = await agent.post(`/apps/${id}/uninstall`).type('form').send({ _csrf: csrf, confirm: 'x', data: 'delete', typed_id: id });
    assert.equal(staleCode.status, 409, 'a deletion confirmed for other folders is refused');
    assert.equal(apps.record(id)?.status, 'installed', 'refusals change nothing');

    await agent.post(`/apps/${id}/uninstall`).type('form').send({ _csrf: csrf, confirm, data: 'keep', typed_id: '' }).expect(303).expect('location', `/?uninstalled=${id}`);
    assert.equal(apps.record(id), null);
    assert.deepEqual(await running(), []);
    assert.ok(fs.existsSync(path.join(dataPath, 'started')), 'the data is still there');

    await install();
    const again = await agent.get(`/apps/${id}/uninstall`).expect(200);
    const code = /name="confirm" value="([^"]+)"/.exec(again.text)![1]!;
    await agent.post(`/apps/${id}/uninstall`).type('form').send({ _csrf: csrf, confirm: code, data: 'delete', typed_id: id }).expect(303);
    assert.equal(fs.existsSync(dataPath), false, 'with the id typed, the data is deleted');

    assert.deepEqual(appAudit(), [
      'app.install:ok', 'app.restart:ok', 'app.update:ok', 'app.rollback:ok', 'app.uninstall:ok', 'app.install:ok', 'app.uninstall:ok',
    ]);
    const uninstalls = audit.list({ app: id, action: 'app.uninstall' }).reverse().map((e) => e.details?.data);
    assert.deepEqual(uninstalls, ['kept', 'deleted']);

    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
    c.controller.db.prepare('INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (?, ?, ?, ?, ?)').run(twoDaysAgo, 'customer', 'app.uninstall', id, 'ok');
    c.controller.db.prepare('INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (?, ?, ?, ?, ?)').run(twoDaysAgo, 'customer', 'app.uninstall', 'other', 'ok');
    const rows = async (query: string) => {
      const html = (await agent.get(`/activity?${query}`).expect(200)).text;
      return [...html.matchAll(/<td>([a-z_.]+)<\/td><td>([^<]*)<\/td>\s*<td class="outcome/g)].map((m) => `${m[1]} ${m[2]}`);
    };
    assert.equal((await rows(`app=${id}`)).length, 8, 'every entry about the app');
    assert.ok((await rows('')).includes('app.uninstall other'));
    assert.deepEqual(await rows(`app=${id}&action=app.uninstall`), Array(3).fill(`app.uninstall ${id}`), 'by app and action');
    assert.deepEqual(await rows(`app=${id}&action=app.uninstall&period=day`), Array(2).fill(`app.uninstall ${id}`), 'and by time');
    assert.ok((await rows('action=app.uninstall&period=week')).includes('app.uninstall other'));
  });

  it('when an app name, a log line and a filter carry HTML, then the pages show it as text', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, url } = await started(t);
    const { agent } = await signUp(url, c.dataDir);
    const hostile = '<img src=x onerror=alert(1)>';
    const manifest = `schema: felhom.app/v1\nid: ${APP}\nname: "${hostile}"\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "echo '<script>alert(2)</script>'; exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
    cleanUpProject(t, APP);
    const installed = await request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose });
    assert.equal(installed.status, 202, installed.text);
    for (let i = 0; i < 120 && c.controller.apps.record(APP)?.status !== 'installed'; i++) await new Promise((r) => setTimeout(r, 250));
    const home = await agent.get('/').expect(200);
    assert.ok(!home.text.includes(hostile));
    assert.ok(home.text.includes('&lt;img src=x onerror=alert(1)&gt;'));
    let logs = '';
    for (let i = 0; i < 40 && !logs.includes('alert(2)'); i++) {
      logs = (await agent.get(`/apps/${APP}/logs`).set('HX-Request', 'true').expect(200)).text;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(logs.includes('&lt;script&gt;alert(2)&lt;/script&gt;'), logs);
    assert.ok(!logs.includes('<script>'));
    const activity = await agent.get(`/activity?app=${encodeURIComponent('"><script>x</script>')}`).expect(200);
    assert.ok(!activity.text.includes('<script>x'));
    const page = await agent.get(`/apps/${APP}`).expect(200);
    assert.ok(!page.text.includes(hostile));
    assert.match(page.headers['content-security-policy']!, /script-src 'self'/);
    assert.ok(!/<script>(?!<\/script>)[^<]/.test(page.text), 'no inline script anywhere');
  });
});

describe('the session cookie over TLS', () => {
  it('when the UI is served over TLS, then the session cookie is Secure', async (t) => {
    const dir = tempDir(t, 'felhom-tls-');
    const db = openDatabase(path.join(dir, 'c.db'), { logger: silentLogger() });
    t.after(() => db.close());
    const sessions = createSessions(db, systemClock);
    const app = express().get('/', (req, res) => {
      startSession(req, res, sessions);
      res.end('ok');
    });
    const leaf = await loadOrCreateLeaf(dir, 'own');
    const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, app).listen(0, '127.0.0.1');
    t.after(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    const response = await request(`https://127.0.0.1:${port}`).get('/').trustLocalhost(true).disableTLSCerts();
    assert.match(String(response.headers['set-cookie']), /felhom_session=[^;]+;.*Secure/);
  });
});
