import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import type { AppRecord } from '../apps/index.ts';
import type { UpdatesCore } from './core.ts';
import { updatePages } from './pages.ts';

describe('the update check forms', () => {
  it('when the registry is slow, then the check forms answer at once and the check runs on', async () => {
    const started: Array<string | undefined> = [];
    let finish = () => {};
    const running = new Promise<void>((resolve) => (finish = resolve));
    const core = {
      check: (appId?: string) => (started.push(appId), running),
    } as unknown as UpdatesCore;
    const app = express().use(updatePages(core, { record: (id) => (id === 'web' ? ({ id } as AppRecord) : null) }));
    const all = await request(app).post('/updates/check').timeout(2_000);
    assert.equal(all.status, 303);
    assert.equal(all.headers.location, '/?done=update_check');
    const one = await request(app).post('/apps/web/check-update').timeout(2_000);
    assert.equal(one.status, 303);
    assert.equal(one.headers.location, '/apps/web?done=check_update');
    assert.deepEqual(started, [undefined, 'web'], 'both checks were started, and still run');
    finish();
  });
});
