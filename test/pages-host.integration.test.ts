/**
 * The host page over HTTP: a real controller with a real SQLite file and the development
 * agent over pinned TLS, whose numbers the page shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startedWithAgent } from './helpers/pages.ts';
import { signUp } from './helpers/ui.ts';

describe('the host page', () => {
  it('when the host page loads, then it shows the agent’s numbers, a sample is stored, and the live view is a fragment with the chart', async (t) => {
    const { c, url } = await startedWithAgent(t);
    const { agent } = await signUp(url, c.dataDir);
    const host = await agent.get('/host').expect(200);
    assert.match(host.text, /Processor/);
    assert.ok(c.controller.host.samples() >= 1, 'a sample was stored');
    const live = await agent.get('/host/live?range=week').set('HX-Request', 'true').expect(200);
    assert.ok(!live.text.includes('<html'), 'a fragment, not a page');
    assert.match(live.text, /<svg|No measurements yet/);
  });
});
