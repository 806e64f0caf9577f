/**
 * The app pages over HTTP: a real controller with a real SQLite file, the development
 * agent over pinned TLS and (to install) a real Docker engine. The store's plan of an
 * upload, an app's actions from its page with their confirmations and audit entries,
 * and escaping of what an app brings.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import request from 'supertest';
import { createAuditLog } from '../src/audit/index.ts';
import { systemClock } from '../src/clock.ts';
import { silentLogger } from '../src/log.ts';
import { createDockerPort } from '../src/stacks/index.ts';
import { cleanUpProject, dockerHost, requireDocker } from './helpers/docker.ts';
import { startedWithAgent } from './helpers/pages.ts';
import { signUp } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

describe('the app pages', () => {
  it('when a manifest and compose file are uploaded, then the plan shows where each volume goes and carries the files to the install form', async (t) => {
    const { c, url } = await startedWithAgent(t);
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

  it('when an app is restarted, updated, rolled back and uninstalled from its page, then destructive steps need their confirmation, data is kept by default, and each is audited', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, url, agent: dev } = await startedWithAgent(t);
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
    const docker = createDockerPort(dockerHost, 10_000, silentLogger());
    const running = async () => (await docker.listContainers(id)).filter((x) => x.state === 'running');
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
    const snapshots: Array<{ name: string }> = (await request(url).get(`/api/v1/apps/${id}`).set('Authorization', `Bearer ${c.token}`).expect(200)).body.snapshots;
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
    const dataPath = apps.volumes(id)[0]!.path;
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
    const { c, url } = await startedWithAgent(t);
    const { agent } = await signUp(url, c.dataDir);
    const APP = 'escape-test';
    const hostile = '<img src=x onerror=alert(1)>';
    const manifest = `schema: felhom.app/v1\nid: ${APP}\nname: "${hostile}"\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "echo '<script>alert(2)</script>'; exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
    cleanUpProject(t, APP);
    const installed = await request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose });
    assert.equal(installed.status, 202, installed.text);
    await until(() => c.controller.apps.record(APP)?.status === 'installed', { what: 'the app to be installed', timeoutMs: 30_000, intervalMs: 250 });
    const home = await agent.get('/').expect(200);
    assert.ok(!home.text.includes(hostile));
    assert.ok(home.text.includes('&lt;img src=x onerror=alert(1)&gt;'));
    const logs = await until(async () => (await agent.get(`/apps/${APP}/logs`).set('HX-Request', 'true').expect(200)).text, {
      what: 'the log line to show',
      done: (html) => html.includes('alert(2)'),
      timeoutMs: 10_000,
      intervalMs: 250,
    });
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
