/**
 * The home page and what every page shares, over HTTP: a real controller with a real
 * SQLite file, the development agent over pinned TLS and (to install) a real Docker
 * engine. Home's alerts and their acknowledgement, errors sent to the message area, and
 * the pages when the agent fails or hangs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { audited, startedWithAgent } from './helpers/pages.ts';
import { signUp } from './helpers/ui.ts';

describe('the home page and the UI as a whole', () => {
  it('when an app keeps media on a bulk volume nobody backs up, then home warns until the customer acknowledges it, and the acknowledgement is audited', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, url } = await startedWithAgent(t);
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
    const { c, url } = await startedWithAgent(t);
    const { agent } = await signUp(url, c.dataDir);
    const response = await agent.get('/apps/nothing-here/live').set('HX-Request', 'true').expect(404);
    assert.equal(response.headers['hx-retarget'], '#flash');
    assert.ok(!response.text.includes('<html'));
  });

  it('when the agent fails or hangs, then the pages say why, and the rest of the UI keeps working', async (t) => {
    const { c, url, agent: dev } = await startedWithAgent(t, { FELHOM_AGENT_TIMEOUT_MS: '300' });
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
});
