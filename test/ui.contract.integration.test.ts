/**
 * The customer pages fed by an agent that is not ours: a TLS server answering with the
 * contract's golden JSON. What a person reads on the host, backups and home pages is
 * checked against the numbers in those goldens, including the documented null cases.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { controller } from './helpers/controller.ts';
import { goldenAgent } from './helpers/golden-agent.ts';
import { readGolden } from './helpers/temp.ts';
import { signUp } from './helpers/ui.ts';

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
    let live = '';
    for (let i = 0; i < 80 && !live.includes('data-metric="temperature">n/a<'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      live = (await browser.get('/host/live').set('HX-Request', 'true').expect(200)).text;
    }
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
});
