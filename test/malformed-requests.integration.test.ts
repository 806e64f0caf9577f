/**
 * Nothing a client sends produces a 5xx: addresses that do not decode, paths that climb
 * out of the static folder, NUL bytes, bodies that are not JSON. Each is a clear 4xx,
 * logged as the client's mistake (never as an ERROR), and the controller keeps serving.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { controller, devAgent } from './helpers/controller.ts';
import { ERROR_LEVEL, recordingLogger } from './helpers/log.ts';
import request from 'supertest';
import { csrfOf, PASSWORD, setupCodeOf } from './helpers/ui.ts';

/** Creates the account and returns the session cookie, for raw requests. */
async function sessionCookie(url: string, dataDir: string): Promise<string> {
  const cookies = (response: request.Response) => ([] as string[]).concat(response.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const form = await request(url).get('/setup').expect(200);
  const done = await request(url)
    .post('/setup')
    .set('cookie', cookies(form))
    .type('form')
    .send({ _csrf: csrfOf(form.text), code: setupCodeOf(dataDir), password: PASSWORD, confirm: PASSWORD })
    .expect(303);
  return cookies(done);
}

/** A raw request, so the path reaches the server exactly as written (no client-side normalizing). */
function raw(url: string, method: string, route: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: route, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const badPaths = ['%ff', '%', '%zz', 'a%00b', '%c0%af', '..%2f..%2fpackage.json'];

describe('malformed requests', () => {
  it('when paths do not decode, climb out of a folder or carry NUL, then every answer is a 4xx and nothing is logged as an error', async (t) => {
    const agent = await devAgent(t);
    const { logger, lines } = recordingLogger();
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath, logger });
    const url = c.controller.url;
    const cookie = await sessionCookie(url, c.dataDir);
    const bearer = { authorization: `Bearer ${c.token}` };
    const requests: Array<[string, string, Record<string, string>, string?]> = [];
    for (const bad of badPaths) {
      requests.push(
        ['GET', `/static/${bad}`, {}],
        ['GET', `/api/v1/apps/${bad}`, bearer],
        ['DELETE', `/api/v1/apps/${bad}`, bearer],
        ['POST', `/api/v1/apps/${bad}/start`, bearer],
        ['POST', `/api/v1/disks/${bad}/eject`, bearer, '{}'],
        ['GET', `/api/v1/operations/${bad}`, bearer],
        ['GET', `/apps/${bad}`, { cookie }],
        ['GET', `/disks/${bad}/eject`, { cookie }],
        ['GET', `/apps/${bad}`, {}],
      );
    }
    requests.push(
      ['POST', '/api/v1/apps', { ...bearer, 'content-type': 'application/json' }, '{"manifest": '],
      ['POST', '/api/v1/apps', { ...bearer, 'content-type': 'application/json' }, '"\\ud800"'],
      ['GET', '/static/../../package.json', {}],
      ['GET', '/%ff', {}],
    );
    for (const [method, route, headers, body] of requests) {
      const response = await raw(url, method, route, body ? { 'content-type': 'application/json', ...headers } : headers, body);
      // Someone not signed in is sent to sign-in first, before the path is looked at.
      const page = !route.startsWith('/static/') && !route.startsWith('/api/');
      const lowest = page && !headers.cookie ? 300 : 400;
      assert.ok(response.status >= lowest && response.status < 500, `${method} ${route}: ${response.status} ${response.text.slice(0, 200)}`);
      assert.doesNotMatch(response.text, /"name":\s*"felhom-controller"/, `${route} served no file outside public/`);
    }
    assert.deepEqual(lines.filter((line) => line.level >= ERROR_LEVEL).map((line) => `${line.msg} ${String(line.path ?? '')}`), []);
    const health = await raw(url, 'GET', '/healthz');
    assert.equal(health.status, 200, 'and it keeps serving');
  });
});
