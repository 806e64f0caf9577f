/**
 * The settings page over HTTP: a real controller with a real SQLite file and the
 * development agent over pinned TLS. The password, API tokens, the language and what
 * the page says about the agent channel.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import request from 'supertest';
import { audited, startedWithAgent } from './helpers/pages.ts';
import { csrfOf, PASSWORD, signUp } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

const when = (iso: string) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));

describe('the settings pages', () => {
  it('when the password is changed, then other sessions end and the new password works', async (t) => {
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    assert.match((await agent.get('/disks').expect(200)).text, /<html lang="en">/);
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu', back: '/disks' }).expect(303);
    const hu = await agent.get('/disks').expect(200);
    assert.match(hu.text, /<html lang="hu">/);
    assert.ok(hu.text.includes('Lemezek'), 'the page title is Hungarian');
    await agent.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'xx' }).expect(400);
    assert.deepEqual(audited(c, 'settings.language', true), ['settings.language:ok@hu'], 'the switch is recorded; the unknown language is not');
  });

  it('when the settings page is shown, then it names the agent channel from bootstrap.json, its pin and whether the agent takes the token, never the token itself', async (t) => {
    const { c, url, agent: dev } = await startedWithAgent(t);
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
    const heldToken = () => c.controller.bootstrap.current()?.token.reveal();
    await until(() => heldToken() === fresh, { what: 'the controller to take the new token', timeoutMs: 5_000, intervalMs: 50 });
    const reminted = (await agent.get('/settings').expect(200)).text;
    assert.ok(channel(reminted).includes('<dt>Access token</dt><dd>accepted by the agent ('), 'the new token is taken');
    assert.ok(!reminted.includes(fresh), 'and not shown');
    const hex = bootstrap.local_api.fingerprint.slice('sha256:'.length);
    fs.writeFileSync(dev.bootstrapPath, JSON.stringify({ ...bootstrap, local_api: { ...bootstrap.local_api, fingerprint: hex.toUpperCase().match(/../g)!.join(':') } }));
    await until(() => heldToken() === bootstrap.local_api.token, { what: 'the controller to hold the old token again', timeoutMs: 5_000, intervalMs: 50 });
    const refused = (await agent.get('/settings').expect(200)).text;
    assert.ok(channel(refused).includes(`<code class="wrap">${bootstrap.local_api.fingerprint}</code>`), 'the pin in one canonical spelling');
    assert.ok(channel(refused).includes('<dt>Access token</dt><dd>refused by the agent ('), channel(refused));
    assert.ok(!refused.includes(bootstrap.local_api.token) && !refused.includes(fresh), 'neither token is on the page');
  });
});
