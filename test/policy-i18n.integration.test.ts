/**
 * A refused app in the customer's language: the pages list the policy's violations and
 * the .felhom.yml problems in Hungarian for a Hungarian customer, while the API answers
 * the same refusal in English. A real controller with the development agent; the
 * refusals here come before compose runs, so no app reaches Docker.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller, devAgent } from './helpers/controller.ts';
import { signUp } from './helpers/ui.ts';

/** A compose file the policy refuses twice before compose would open a file: a label file, an env file outside the folder. */
const refusedCompose = 'services:\n  web:\n    image: felhom-test/busybox:latest\n    label_file: ./labels\n    env_file: /etc/shadow\n';
const manifest = 'schema: felhom.app/v1\nid: refused\nname: Refused\nversion: "1"\n';
/** A manifest with two problems: an id compose cannot use, a bulk volume without a backup decision. */
const badManifest = 'schema: felhom.app/v1\nid: Bad_Id\nname: Bad\nversion: "1"\nvolumes:\n  films: { class: bulk }\n';
const goodCompose = 'services:\n  web:\n    image: felhom-test/busybox:latest\n';

/** A signed-in customer who chose Hungarian, and the API with a token. */
async function hungarianCustomer(t: TestContext) {
  const agent = await devAgent(t);
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath });
  const customer = await signUp(c.controller.url, c.dataDir);
  await customer.agent.post('/settings/language').type('form').send({ _csrf: customer.csrf, locale: 'hu' }).expect(303);
  const api = (route: string, body: object) => request(c.controller.url).post(route).set('Authorization', `Bearer ${c.token}`).send(body);
  const upload = (route: string, files: { manifest: string; compose: string }) =>
    customer.agent.post(route).field('_csrf', customer.csrf).attach('manifest', Buffer.from(files.manifest), '.felhom.yml').attach('compose', Buffer.from(files.compose), 'compose.yml');
  return { upload, api };
}

describe('a refused app in the customer\'s language', () => {
  it('when a Hungarian customer plans and installs an app the policy refuses, then the pages list each violation in Hungarian, and the API answers in English', async (t) => {
    const { upload, api } = await hungarianCustomer(t);
    const files = { manifest, compose: refusedCompose };

    const plan = await upload('/store/plan', files);
    assert.equal(plan.status, 200, plan.text);
    assert.ok(plan.text.includes('Ez az alkalmazás a jelenlegi formájában nem telepíthető'), 'the plan says it cannot be installed');
    assert.ok(plan.text.includes('<li>„web” szolgáltatás: label_file: a címkéket fájlból olvassa'), plan.text);
    assert.ok(plan.text.includes('<li>„web” szolgáltatás: env_file: /etc/shadow nem egyszerű elérési út az alkalmazás mappáján belül'), plan.text);
    assert.doesNotMatch(plan.text, /reads labels from a file|is not a plain path/, 'no English problem on the page');

    // The install form posts the same files: refused with the policy's status, listed in Hungarian.
    const install = await upload('/store/install', files);
    assert.equal(install.status, 422, install.text);
    assert.ok(install.text.includes('Ez az alkalmazás megszegi az alkalmazásszabályzatot'), install.text);
    assert.ok(install.text.includes('<li>„web” szolgáltatás: label_file: a címkéket fájlból olvassa'), install.text);
    assert.doesNotMatch(install.text, /reads labels from a file|the app breaks/);

    const apiPlan = await api('/api/v1/apps/plan', files).expect(200);
    assert.deepEqual(apiPlan.body.problems, [
      'service "web": env_file: /etc/shadow is not a plain path inside the app folder (no leading /, no "..", "~" or "$"); only files shipped with the app may be read',
      'service "web": label_file: reads labels from a file, where the check cannot see them (the controller\'s own namespaces among them); write them under labels:',
    ]);
    const apiInstall = await api('/api/v1/apps', files).expect(422);
    assert.equal(apiInstall.body.error.code, 'policy');
    assert.match(apiInstall.body.error.message, /^the app breaks 2 rules of the app policy .*\n- service "web": env_file: .*\n- service "web": label_file: reads labels from a file/s);
  });

  it('when a Hungarian customer uploads a .felhom.yml with problems, then the page lists each in Hungarian, and the API answers in English', async (t) => {
    const { upload, api } = await hungarianCustomer(t);
    const files = { manifest: badManifest, compose: goodCompose };

    const page = await upload('/store/plan', files);
    assert.equal(page.status, 400, page.text);
    assert.ok(page.text.includes('Az alkalmazás leírófájlja (.felhom.yml) nem érvényes'), page.text);
    assert.ok(page.text.includes('<li>id: 1-31 karakter legyen: kisbetűk, számjegyek és kötőjelek'), page.text);
    assert.ok(page.text.includes('<li>volumes.films.backup: egy bulk kötetnek meg kell adnia, hogyan készül róla mentés'), page.text);
    assert.doesNotMatch(page.text, /must be 1-31 characters|must say how it is backed up/);

    const answer = await api('/api/v1/apps/plan', files).expect(400);
    assert.equal(answer.body.error.code, 'validation');
    assert.match(answer.body.error.message, /^the app manifest \(\.felhom\.yml\) is not valid:\n- id: must be 1-31 characters.*\n- volumes\.films\.backup: a bulk volume must say how it is backed up/s);
  });
});
