/**
 * The backups page over HTTP: a real controller with a real SQLite file and the
 * development agent over pinned TLS, whose backup runs in a few hundred milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditActions, startedWithAgent } from './helpers/pages.ts';
import { signUp } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

describe('the backups page', () => {
  it('when "Back up now" is pressed, then a run starts that the live view follows to its end, and the history shows its downtime and consistency', async (t) => {
    const { c, url } = await startedWithAgent(t);
    const { agent, csrf } = await signUp(url, c.dataDir);
    const before = (await agent.get('/backups/live').expect(200)).text;
    assert.match(before, /data-phase="idle"/);
    assert.match(before, /No backups yet\./);
    assert.doesNotMatch(before, /<td>By hand<\/td>/, 'no run in the history yet');

    await agent.post('/backups/now').type('form').send({ _csrf: csrf }).expect(303).expect('location', '/backups?started=1');
    const audit = auditActions(c).find((a) => a.action === 'backup.request');
    assert.equal(audit?.outcome, 'ok');
    // The live view (what htmx polls) follows the run through its phases back to idle.
    const seen: string[] = [];
    let backups = '';
    await until(
      async () => {
        backups = (await agent.get('/backups/live').set('HX-Request', 'true').expect(200)).text;
        const phase = /data-phase="([a-z]+)"/.exec(backups)?.[1] ?? 'none';
        if (seen.at(-1) !== phase) seen.push(phase);
        return seen;
      },
      { what: 'the live view to follow the run back to idle', done: (phases) => phases.at(-1) === 'idle' && phases.length > 1, timeoutMs: 10_000, intervalMs: 50 },
    );
    assert.ok(seen.some((p) => ['stopping', 'requesting', 'waiting', 'resuming', 'tracking'].includes(p)), `a running phase was shown: ${seen.join(' → ')}`);
    assert.equal(seen.at(-1), 'idle', `the run ended: ${seen.join(' → ')}`);
    assert.ok(!seen.includes('none'), 'every state names its phase');
    const run = c.controller.db.prepare('SELECT outcome, downtime_ms FROM quiesce_runs').get() as { outcome: string; downtime_ms: number | null };
    assert.equal(run.outcome, 'succeeded');
    assert.equal(typeof run.downtime_ms, 'number', 'the downtime was measured');
    const row = /<tr><td>([^<]+)<\/td><td>By hand<\/td><td>–<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<br><span[^>]*data-consistency="(\w+)">([^<]*)<\/span><\/td><\/tr>/.exec(backups);
    assert.ok(row, `the finished run is in the history: ${backups}`);
    assert.equal(row[2], `${Math.round(run.downtime_ms! / 1000)} s`, 'the downtime as a duration');
    assert.equal(row[3], 'Succeeded');
    assert.equal(row[4], 'app', 'no app was running, so nothing could be caught mid-write');
    assert.equal(row[5], 'App-consistent: the apps were stopped until the snapshot existed');
  });
});
