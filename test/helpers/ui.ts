/** Signing in to the customer UI over HTTP, the way a browser does. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';

export const PASSWORD = 'a long family password';

/** The CSRF token a page carries in its forms. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  assert.ok(match, 'the page has a form with a CSRF token');
  return match[1]!;
}

export function setupCodeOf(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'setup-code.txt'), 'utf8').split('\n')[0]!;
}

/** Creates the account with the setup code; returns a cookie-keeping agent and the session's CSRF token. */
export async function signUp(url: string, dataDir: string) {
  return signUpWithCode(url, setupCodeOf(dataDir));
}

export async function signUpWithCode(url: string, code: string) {
  const agent = request.agent(url);
  const form = await agent.get('/setup').expect(200);
  const response = await agent
    .post('/setup')
    .type('form')
    .send({ _csrf: csrfOf(form.text), code, password: PASSWORD, confirm: PASSWORD })
    .expect(303);
  assert.equal(response.headers.location, '/');
  const home = await agent.get('/').expect(200);
  return { agent, csrf: csrfOf(home.text) };
}

/** A page of a running controller, signed in with its own setup code. */
export async function signedInPage(controller: { url: string; setupCode(): { code: string } | null }, route: string) {
  const { agent } = await signUpWithCode(controller.url, controller.setupCode()!.code);
  return agent.get(route);
}
