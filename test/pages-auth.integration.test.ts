/**
 * Signing in to the customer UI over HTTP: a real controller with a real SQLite file and
 * the development agent over pinned TLS. Every page and action of every domain is checked
 * for sign-in and CSRF here; the account's setup, the sign-in limit and the session's end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createSessions } from '../src/auth/index.ts';
import { systemClock } from '../src/clock.ts';
import { openDatabase } from '../src/db/index.ts';
import { loadOrCreateLeaf } from '../dev-agent/cert.ts';
import { silentLogger } from '../src/log.ts';
import { startSession } from '../src/auth/index.ts';
import { auditActions, audited, startedWithAgent } from './helpers/pages.ts';
import { tempDir } from './helpers/temp.ts';
import { csrfOf, PASSWORD, setupCodeOf, signUp } from './helpers/ui.ts';

/** Any app id: nobody is signed in, so no route gets as far as looking it up. */
const APP = 'some-app';
const pageGets = [
  '/', '/home/live', '/status', '/store', '/store?q=x&category=photos', '/store/icons/x.svg', '/store/plan?catalog=x', `/apps/${APP}`, `/apps/${APP}/live`, `/apps/${APP}/logs`,
  `/apps/${APP}/uninstall`, `/apps/${APP}/rollback?snapshot=s`, '/disks', '/disks/d/eject', '/disks/d/format', '/host', '/host/live',
  '/backups', '/backups/live', '/activity', '/settings',
];
const posts = [
  '/logout', '/alerts/acknowledge', '/store/plan', '/store/install', `/apps/${APP}/start`, `/apps/${APP}/stop`, `/apps/${APP}/restart`,
  `/apps/${APP}/update`, `/apps/${APP}/uninstall`, `/apps/${APP}/rollback`, '/disks/assign', '/disks/d/eject', '/disks/d/format',
  '/backups/now', '/settings/password', '/settings/tokens', '/settings/tokens/x/revoke', '/settings/language',
  '/updates/check', `/apps/${APP}/check-update`, `/apps/${APP}/auto-update`,
];

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

describe('signing in to the customer UI', () => {
  it('when nobody is signed in, then every page leads to setup or sign-in and every action is refused', async (t) => {
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
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
