/**
 * The disks pages over HTTP: a real controller with a real SQLite file and the
 * development agent over pinned TLS. Assigning, ejecting and formatting, in the UI and
 * the API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { auditActions, startedWithAgent } from './helpers/pages.ts';
import { signUp } from './helpers/ui.ts';

describe('the disks pages', () => {
  it('when disks are assigned, ejected and formatted, then the agent is asked, the audit records it, and a data-bearing format is explained', async (t) => {
    const { c, url } = await startedWithAgent(t);
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
  });
});
