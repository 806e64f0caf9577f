/**
 * The customer pages fed by an agent that is not ours: a TLS server answering with the
 * contract's golden JSON. What a person reads on the host, backups and home pages is
 * checked against the numbers in those goldens, including the documented null cases.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import { controller } from './helpers/controller.ts';
import { goldenAgent } from './helpers/golden-agent.ts';
import { readGolden } from './helpers/temp.ts';
import { signUp } from './helpers/ui.ts';
import { until } from './helpers/until.ts';

const when = (iso: string) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

async function signedIn(t: TestContext) {
  const agent = await goldenAgent(t, { locale: 'en-GB' });
  const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_HOST_SAMPLE_MS: '1000' } });
  const { agent: browser } = await signUp(c.controller.url, c.dataDir);
  return { agent, browser };
}

describe('the pages with the contract’s golden answers', () => {
  it('when the host reports its metrics, then the host page shows them, thin-pool fill and SMART per disk, and "n/a" where a sensor is missing', async (t) => {
    const { agent, browser } = await signedIn(t);
    const page = (await browser.get('/host').expect(200)).text;
    assert.match(page, /data-metric="cpu">12 % \(8 cores\)/);
    assert.match(page, /data-metric="temperature">48 °C</, '47.5 °C rounded');
    assert.match(text(page), /Memory 12 GB \/ 34 GB Load 0\.42 · 0\.51 · 0\.48 Running for 14 days 0 h/);
    assert.match(text(page), /Internal NVMe 159 GB of 429 GB used 37 %/);
    const nvme = page.slice(page.indexOf('<h3>Internal NVMe</h3>'), page.indexOf('<h3>WD Elements 4TB</h3>'));
    assert.match(nvme, /Snapshot space used\s*<meter[^>]*value="0.41"/, 'the thin pool has its own bar');
    assert.match(text(nvme), /Samsung SSD 980 500GB \/dev\/nvme0n1 41 °C 3 % healthy/);
    const usb = page.slice(page.indexOf('<h3>WD Elements 4TB</h3>'));
    assert.doesNotMatch(usb.slice(0, usb.indexOf('</li>')), /Snapshot space used/, 'no thin-pool bar for a plain disk');
    assert.match(text(usb), /WDC WD40EDAZ \/dev\/sdb n\/a n\/a n\/a/);

    agent.answer('/host/metrics', 'host-metrics.no-sensors.json');
    const live = await until(async () => (await browser.get('/host/live').set('HX-Request', 'true').expect(200)).text, {
      what: 'the host page to show the temperature without a sensor',
      done: (html) => html.includes('data-metric="temperature">n/a<'),
      timeoutMs: 8_000,
      intervalMs: 100,
    });
    assert.match(live, /data-metric="temperature">n\/a</, 'no sensor: n/a, not 0 °C');
  });

  it('when backups have run, then the backups page shows each target and its last success, the next backup, the restore test and the integrity check; home shows the last and next backup', async (t) => {
    const { browser } = await signedIn(t);
    const status = readGolden('backup-status.json') as { targets: Array<{ label: string; kind: string; last_success_at: string }>; last_success: { finished_at: string } };
    const due = readGolden('backup-due.not-due.json') as { next_due_at: string };
    const restore = readGolden('restore-test-status.json') as { last_run: { finished_at: string }; integrity: { last_verify_at: string } };
    const page = text((await browser.get('/backups').expect(200)).text);
    for (const target of status.targets) {
      assert.ok(page.includes(`${target.label} (${target.kind}, ok): Last success ${when(target.last_success_at)}`), `${target.label} in: ${page}`);
    }
    assert.ok(page.includes('Second disk (vzdump, ok): Last success ' + when(status.targets[0]!.last_success_at) + ', 979 MB'));
    assert.ok(page.includes(`Next backup: ${when(due.next_due_at)} (daily 04:00, Europe/Budapest)`));
    assert.ok(page.includes(`The last restore test passed · ${when(restore.last_run.finished_at)}`));
    assert.match(page, new RegExp(`passed · ${when(restore.integrity.last_verify_at)}`));

    const home = text((await browser.get('/').expect(200)).text);
    assert.ok(home.includes(`Last success ${when(status.last_success.finished_at)}`), home);
    assert.ok(home.includes(`Next backup ${when(due.next_due_at)}`), home);
  });

  it('when the host reports its metrics, then the home page sums the host up with the same numbers, each disk with its fill', async (t) => {
    const { browser } = await signedIn(t);
    const metrics = readGolden('host-metrics.json') as { storage: Array<{ label: string; used_fraction: number }> };
    const hostCard = (html: string) => html.slice(html.indexOf('id="host-title"'), html.indexOf('id="backup-title"'));
    const card = await until(async () => hostCard((await browser.get('/home/live').set('HX-Request', 'true').expect(200)).text), {
      what: 'the home page to sum up the host',
      done: (html) => html.includes('Processor'),
      timeoutMs: 8_000,
      intervalMs: 100,
    });
    assert.match(text(card), /Processor 12 % Memory 12 GB \/ 34 GB Temperature 48 °C Internal NVMe 37 % 37 % WD Elements 4TB 9 % 9 % Details/, text(card));
    for (const storage of metrics.storage) {
      assert.match(card, new RegExp(`<dt>${storage.label}</dt><dd><meter [^>]*value="${storage.used_fraction}"`), `${storage.label} has its bar`);
    }
    assert.match(card, /<a href="\/host">Details<\/a>/);
    assert.doesNotMatch(card, /class="problem"/, 'fresh numbers carry no warning');
    const home = (await browser.get('/').expect(200)).text;
    assert.equal(text(hostCard(home)), text(card), 'the full page shows the same card as its live fragment');
  });

  it('when bootstrap.json names a Hungarian customer, then the pages are in Hungarian before anyone switches the language', async (t) => {
    const bootstrap = readGolden('bootstrap.json') as { customer: { locale: string } };
    assert.equal(bootstrap.customer.locale, 'hu-HU');
    const agent = await goldenAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const setup = (await request(c.controller.url).get('/setup').expect(200)).text;
    assert.match(setup, /<html lang="hu">/, 'already the first page');
    const { agent: browser } = await signUp(c.controller.url, c.dataDir);
    const home = (await browser.get('/').expect(200)).text;
    assert.match(home, /<html lang="hu">/);
    assert.match(home, /<title>Kezdőlap · Felhom<\/title>/);
    assert.match(home, /<h2 id="host-title">Gazdagép állapota<\/h2>/);
    const host = (await browser.get('/host').expect(200)).text;
    assert.match(host, /<html lang="hu">/);
    assert.match(host, /<title>Gazdagép állapota · Felhom<\/title>/);
    assert.equal(c.controller.db.prepare("SELECT COUNT(*) FROM audit_log WHERE action = 'settings.language'").pluck().get(), 0, 'nobody switched the language');
  });
});
