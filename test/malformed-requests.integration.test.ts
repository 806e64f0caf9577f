/**
 * Nothing a client sends produces a 5xx: addresses that do not decode, paths that climb
 * out of the static folder, NUL bytes, bodies that are not JSON. Each is a clear 4xx,
 * logged as the client's mistake (never as an ERROR), and the controller keeps serving.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { describe, it } from 'node:test';
import { controller, devAgent } from './helpers/controller.ts';
import { until } from './helpers/until.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
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
        ['POST', `/api/v1/apps/${bad}/check-update`, bearer],
        ['PUT', `/api/v1/apps/${bad}/auto-update`, bearer, '{"enabled": true}'],
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
      ['PUT', '/api/v1/apps/x/auto-update', bearer, '{"enabled": '],
      ['PUT', '/api/v1/apps/x/auto-update', bearer, '{"enabled": "yes"}'],
      ['POST', '/api/v1/updates/check', bearer, 'junk'],
      ['POST', '/api/v1/updates/check', bearer, '{"apps": '],
      ['GET', '/store/icons/%ff.svg', { cookie }],
      ['GET', '/store/icons/%ff', { cookie }],
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

  it('when a query names a property of every object, a request has no Host, or a field is out of range, then the answer is still a 4xx or a page', async (t) => {
    if (!(await requireDocker(t))) return;
    const agent = await devAgent(t);
    const { logger, lines } = recordingLogger();
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath, logger });
    const url = c.controller.url;
    const cookie = await sessionCookie(url, c.dataDir);
    const bearer = { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' };
    for (const route of ['/activity?period=constructor', '/activity?period=__proto__', '/host?range=constructor', '/host/live?range=toString']) {
      assert.equal((await raw(url, 'GET', route, { cookie })).status, 200, route);
    }

    // An app with a web page on a published port: the home page links to it on the host the customer used.
    const id = `mf-${process.pid % 1000}`;
    cleanUpProject(t, id);
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Linked\nversion: "1"\nweb: { service: web, port: 8080 }\n`;
    const compose = 'services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: [sleep, "3600"]\n    ports: ["127.0.0.1::8080"]\n';
    const installed = JSON.parse((await raw(url, 'POST', '/api/v1/apps', bearer, JSON.stringify({ manifest, compose }))).text);
    await until(async () => JSON.parse((await raw(url, 'GET', `/api/v1/operations/${installed.operation.id}`, bearer)).text).operation.state === 'succeeded', { what: 'the install', timeoutMs: 60_000, intervalMs: 200 });
    const noHost = await rawHttp10(url, '/', cookie);
    assert.equal(noHost.status, 200, JSON.stringify(noHost.text.slice(0, 300)));
    assert.match((await raw(url, 'GET', '/', { cookie, host: '[::1]:8080' })).text, /href="http:\/\/\[::1\]:\d+\/"/, 'one pair of brackets around an IPv6 host');

    // Automatic updates of an installed app: only a true or false is taken.
    for (const body of ['{"enabled": "yes"}', '{"enabled": ', '{}', '[true]']) {
      const response = await raw(url, 'PUT', `/api/v1/apps/${id}/auto-update`, bearer, body);
      assert.equal(response.status, 400, `${body}: ${response.text.slice(0, 200)}`);
    }
    assert.equal(JSON.parse((await raw(url, 'GET', `/api/v1/apps/${id}`, bearer)).text).update.automatic, false, 'left off');
    // The store page with a query that repeats its fields (arrays): the page, not an error.
    const store = await raw(url, 'GET', '/store?q[]=x&category[]=y', { cookie });
    assert.equal(store.status, 200, store.text.slice(0, 200));

    for (const tail of ['-2', '0.5', '0', '2001', 'x']) {
      assert.equal((await raw(url, 'GET', `/api/v1/apps/${id}/logs?tail=${tail}`, bearer)).status, 400, `tail=${tail}`);
    }
    const format = await raw(url, 'POST', '/api/v1/disks/format', bearer, JSON.stringify({ disk: 'usb-2b77e0d4', filesystem: 'ext4', fs_label: 'fényképek-árvíz' }));
    assert.equal(format.status, 400, format.text);
    assert.match(format.text, /at most 16 bytes/);
    const assign = await raw(url, 'POST', '/api/v1/disks/assign', bearer, JSON.stringify({ disk: 'usb-2b77e0d4', label: 'x'.repeat(70_000), class: 'slow', role: 'bulk-data' }));
    assert.equal(assign.status, 400, assign.text.slice(0, 200));
    assert.equal((await raw(url, 'GET', '/API/V1/apps/nope', bearer)).text.startsWith('{'), true, 'the API answers JSON whatever the case of its path');
    const range = await raw(url, 'GET', '/static/style.css', { range: 'bytes=999999999-' });
    assert.equal(range.status, 416, 'a range outside the file keeps its own status');

    // A forwarded header is ignored quietly: nothing on stderr, outside the log.
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (written.push(String(chunk)), write(chunk as string, ...(rest as [])))) as typeof process.stderr.write;
    try {
      await raw(url, 'POST', '/login', { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '10.0.0.1', forwarded: 'for=10.0.0.2' }, 'password=x');
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(written.filter((line) => /ERR_ERL|ValidationError/.test(line)), []);
    assert.deepEqual(lines.filter((line) => line.level >= ERROR_LEVEL).map((line) => `${line.msg} ${String(line.path ?? '')}`), []);
  });
});

/** An HTTP/1.0 request with no Host header at all. */
function rawHttp10(url: string, route: string, cookie: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(`GET ${route} HTTP/1.0\r\nCookie: ${cookie}\r\n\r\n`));
    let response = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (response += chunk)).on('end', () => {
      resolve({ status: Number(/^HTTP\/1\.\d (\d+)/.exec(response)?.[1] ?? 0), text: response });
    });
    socket.on('error', reject);
  });
}
