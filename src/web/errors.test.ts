import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { errorHandler } from './errors.ts';
import { createUi, createViews, uiLocals } from '../ui/index.ts';

/** The English the log was given for each error. */
function recordingLogger(lines: string[]): Logger {
  const record = (_fields: unknown, message: string) => void lines.push(message);
  return { debug: record, info: record, warn: record, error: record } as unknown as Logger;
}

function serving(error: AppError, locale: 'en' | 'hu', logged: string[] = []) {
  const app = express();
  app.use(uiLocals(() => locale));
  app.all('/{*path}', () => {
    throw error;
  });
  app.use(errorHandler(recordingLogger(logged), createUi(createViews())));
  return app;
}

const refusal = () =>
  new AppError('policy', 'the app breaks 2 rules of the app policy', {
    details: {
      violations: [
        { service: 'web', key: 'volumes', message: 'mounts /var/run/docker.sock', text: { key: 'error.app_not_installed', params: { id: 'worded' } } },
        { service: 'web', key: 'privileged', message: 'privileged: true' },
      ],
    },
  });

describe('the error middleware', () => {
  it('when an error carries a catalog text, then the page and the fragment word it in the customer’s language, and the API and the log in English', async () => {
    const error = new AppError('not_found', { key: 'error.app_not_installed', params: { id: 'site' } });
    const logged: string[] = [];
    const app = serving(error, 'hu', logged);
    assert.match((await request(app).get('/apps/site').expect(404)).text, /nincs telepítve „site” nevű alkalmazás/);
    assert.match((await request(app).get('/apps/site').set('HX-Request', 'true').expect(404)).text, /nincs telepítve „site” nevű alkalmazás/);
    const api = await request(app).get('/api/v1/apps/site').expect(404);
    assert.deepEqual(api.body, { error: { code: 'not_found', message: 'no app "site" is installed' } });
    assert.ok(logged.every((line) => line === 'no app "site" is installed'), logged.join('\n'));
  });

  it('when an error lists violations with their own text, then each is shown in the customer’s language, and those without one are left to the message', async () => {
    const app = serving(refusal(), 'hu');
    for (const response of [await request(app).get('/store/install'), await request(app).get('/store/install').set('HX-Request', 'true')]) {
      assert.equal(response.status, 422);
      assert.match(response.text, /<li>nincs telepítve „worded” nevű alkalmazás<\/li>/);
      assert.doesNotMatch(response.text, /<li>privileged/);
    }
  });
});
