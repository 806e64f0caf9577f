/**
 * Every message in the customer's language: a real controller whose customer chose
 * Hungarian sees the controller's errors and an install's progress in Hungarian, while
 * the API answers the same things in English for machines and support.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { signUp } from './helpers/ui.ts';

async function hungarianCustomer(t: TestContext) {
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath });
  const { agent: browser, csrf } = await signUp(c.controller.url, c.dataDir);
  await browser.post('/settings/language').type('form').send({ _csrf: csrf, locale: 'hu' }).expect(303);
  const api = (method: 'get' | 'delete', route: string) => request(c.controller.url)[method](route).set('Authorization', `Bearer ${c.token}`);
  return { c, browser, csrf, api };
}

describe('messages in the customer’s language', () => {
  it('when a Hungarian customer uninstalls an app that is not there, then the page and the htmx fragment say so in Hungarian and the API in English', async (t) => {
    const { browser, csrf, api } = await hungarianCustomer(t);

    const page = await browser.post('/apps/no-such-app/uninstall').type('form').send({ _csrf: csrf, data: 'keep' }).expect(404);
    assert.match(page.text, /<html lang="hu">/);
    assert.ok(page.text.includes('nincs telepítve „no-such-app” nevű alkalmazás, és adat sincs megőrizve belőle'), page.text);
    assert.ok(!page.text.includes('is installed'), 'no English on the page');

    const fragment = await browser.post('/apps/no-such-app/uninstall').set('HX-Request', 'true').type('form').send({ _csrf: csrf, data: 'keep' }).expect(404);
    assert.equal(fragment.headers['hx-retarget'], '#flash');
    assert.ok(fragment.text.includes('nincs telepítve „no-such-app” nevű alkalmazás'), fragment.text);

    const answer = await api('delete', '/api/v1/apps/no-such-app').expect(404);
    assert.deepEqual(answer.body, { error: { code: 'not_found', message: 'no app "no-such-app" is installed and no data of it is kept' } });
  });

  it('when a Hungarian customer’s form is refused, then the refusal is in Hungarian', async (t) => {
    const { browser, csrf } = await hungarianCustomer(t);
    const refused = await browser.post('/settings/tokens').set('HX-Request', 'true').type('form').send({ _csrf: csrf, name: 'no/slashes' }).expect(400);
    assert.ok(refused.text.includes('a token neve 1–64 betű, számjegy, szóköz, pont, kötőjel vagy aláhúzás lehet'), refused.text);
  });

  it('when a Hungarian customer follows an install, then its steps and the controller’s own events are in Hungarian, and the API has them in English', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, browser, api } = await hungarianCustomer(t);
    const id = 'i18n-live';
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Nyelvi próba\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sleep", "3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
    cleanUpProject(t, id);
    const installed = await request(c.controller.url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose });
    assert.equal(installed.status, 202, installed.text);
    await c.controller.apps.settled();

    const live = (await browser.get(`/apps/${id}/live`).set('HX-Request', 'true').expect(200)).text;
    for (const hungarian of ['A tárhely előkészítése', 'Az alkalmazás indítása', 'Várakozás, amíg az alkalmazás rendben működik', 'Az alkalmazás fut és egészséges']) {
      assert.ok(live.includes(hungarian), `the live view says "${hungarian}"`);
    }
    assert.ok(!live.includes('prepare_storage') && !live.includes('Preparing storage'), 'no step is shown by its key or in English');

    const { operation } = (await api('get', `/api/v1/apps/${id}`).expect(200)).body as { operation: { events: Array<{ message: string }> } };
    const messages = operation.events.map((e) => e.message);
    assert.ok(messages.includes('Preparing storage') && messages.includes('The app is running and healthy'), messages.join('\n'));
  });

  it('when a Hungarian customer’s install fails, then the page says why in Hungarian, with the engine’s own words, and the API in English', async (t) => {
    if (!(await requireDocker(t))) return;
    const { c, browser, api } = await hungarianCustomer(t);
    const id = 'i18n-fails';
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Hibás próba\nversion: "1.0"\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    command: ["sh", "-c", "exit 3"]\n`;
    cleanUpProject(t, id);
    await request(c.controller.url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose }).expect(202);
    await c.controller.apps.settled();

    const { error, operation } = (await api('get', `/api/v1/apps/${id}`).expect(200)).body as { error: string; operation: { error: string; snapshot: string } };
    assert.equal(error, `service web exited with code 3. The server can be rolled back to snapshot ${operation.snapshot} from the app page.`);
    assert.equal(operation.error, error);

    const hungarian = `service web exited with code 3. A szerver az alkalmazás oldaláról visszaállítható a(z) ${operation.snapshot} pillanatképre.`;
    const live = (await browser.get(`/apps/${id}/live`).set('HX-Request', 'true').expect(200)).text;
    assert.ok(live.includes(hungarian), live);
    assert.ok((await browser.get('/').expect(200)).text.includes(hungarian), 'the home page says it too');
  });
});
