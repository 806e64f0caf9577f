/**
 * Readiness: `/readyz` is what the container's health check asks. It fails when the
 * controller cannot do its work (its database, a bootstrap, Docker), and stays ready
 * when only the agent channel is degraded: the agent away must not get the controller
 * rolled back.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { requireDocker } from './helpers/docker.ts';
import { tempDir } from './helpers/temp.ts';
import { signedInPage } from './helpers/ui.ts';

describe('readiness', () => {
  it('when the database, the bootstrap and Docker are fine, then /readyz answers 200 without a token, and the status page says ready', async (t) => {
    if (!(await requireDocker(t))) return;
    const agent = await devAgent(t);
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const ready = await request(c.url).get('/readyz').expect(200);
    assert.deepEqual(ready.body, {
      status: 'ready',
      checks: { database: { ok: true, state: 'open' }, bootstrap: { ok: true, state: 'configured' }, docker: { ok: true, state: 'reachable' } },
    });
    const page = await signedInPage(c, '/status');
    assert.match(page.text, /data-readiness="ready"/);
  });

  it('when the agent stops answering, then the controller stays ready (the agent channel is reported, not counted)', async (t) => {
    if (!(await requireDocker(t))) return;
    const agent = await devAgent(t);
    const { controller: c, token } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    await agent.close();
    const status = await request(c.url).get('/api/v1/status').set('authorization', `Bearer ${token}`).expect(200);
    assert.equal(status.body.agent.reachable, false, 'the agent is really away');
    await request(c.url).get('/readyz').expect(200);
  });

  it('when Docker cannot be reached, then /readyz answers 503 naming the Docker check, and the status page says why', async (t) => {
    const agent = await devAgent(t);
    const socket = path.join(tempDir(t, 'felhom-no-docker-'), 'docker.sock');
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { DOCKER_HOST: `unix://${socket}` } });
    const answer = await request(c.url).get('/readyz').expect(503);
    assert.equal(answer.body.status, 'not_ready');
    assert.deepEqual(answer.body.checks.docker, { ok: false, state: 'unreachable' });
    assert.equal(answer.body.checks.database.ok, true);
    const page = await signedInPage(c, '/status');
    assert.match(page.text, /data-readiness="not_ready"/);
    assert.match(page.text, /Not ready: Docker does not answer/);
  });

  it('when no bootstrap.json was ever applied, then /readyz answers 503 naming the bootstrap check', async (t) => {
    if (!(await requireDocker(t))) return;
    const missing = path.join(tempDir(t, 'felhom-no-bootstrap-'), 'bootstrap.json');
    const { controller: c } = await controller(t, { bootstrapPath: missing });
    const answer = await request(c.url).get('/readyz').expect(503);
    assert.deepEqual(answer.body.checks.bootstrap, { ok: false, state: 'setup' });
    assert.equal(answer.body.checks.docker.ok, true);
  });

  it('when the database cannot be read, then /readyz answers 503 naming the database check', async (t) => {
    if (!(await requireDocker(t))) return;
    const agent = await devAgent(t);
    const { controller: c } = await controller(t, { bootstrapPath: agent.bootstrapPath });
    await request(c.url).get('/readyz').expect(200);
    // Closing the handle is what a database that cannot be read looks like to a query.
    c.db.close();
    const answer = await request(c.url).get('/readyz').expect(503);
    assert.deepEqual(answer.body.checks.database, { ok: false, state: 'unreadable' });
  });
});
