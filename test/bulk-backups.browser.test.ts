/**
 * Bulk backups in a real browser (Debian's Chromium through playwright-core), against a
 * real controller, the development agent, a real Docker engine and real restic, as a
 * customer: a target on another disk with its recovery code shown once, "Back up now"
 * followed live to its end, a restore as a copy and by replacing the folder (byte for
 * byte), the kept folder deleted, the restore test, and the pages in Hungarian.
 * Screenshots go to test-output/screenshots/ (not committed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { hu } from '../src/i18n/hu.ts';
import { createAccount, newPage, requireBrowser, screenshot } from './helpers/browser.ts';
import { api, assignBackupDisk, checksums, installPhotoApp, requireRestic, writeFiles } from './helpers/bulk.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { until } from './helpers/until.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { tempDir } from './helpers/temp.ts';

const CODE = /^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/;
/** A message key shown as such: a translation that is missing or a key built wrongly. */
const RAW_KEY = /\b(bulk|bulk_reason|backups|volumes|common|phase|outcome|trigger|settings|nav)\.[a-z_-]+\b/;

/**
 * restic with its uploads held to 24 MiB/s: 160 MiB take about 7 s instead of 2, so the
 * page, refreshing every 2 s, sees the backup run. Everything else is restic as it is.
 */
function slowRestic(dir: string): string {
  const restic = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
  const wrapper = path.join(dir, 'restic');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${restic} --limit-upload 24576 "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/** What the backups page's live part shows now, read at once (htmx swaps it every 2 s). */
const liveView = (page: Page) =>
  page.evaluate(`(() => {
    const live = document.querySelector('#backups-live');
    return {
      job: live.querySelector('[data-bulk-job]')?.getAttribute('data-bulk-job') ?? null,
      bytes: live.querySelector('[data-progress="bytes"]')?.textContent.replace(/\\s+/g, ' ').trim() ?? null,
      bars: live.querySelectorAll('progress').length,
      runs: [...live.querySelectorAll('tr[data-run-outcome]')].map((row) => row.getAttribute('data-run-outcome')),
    };
  })()`) as Promise<{ job: string | null; bytes: string | null; bars: number; runs: string[] }>;

async function assertNoRawKeys(page: Page, where: string) {
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, RAW_KEY, `${where} shows a message key instead of its text`);
}

describe('bulk backups in a browser', () => {
  it('when a customer adds a target, backs up, restores as a copy and by replacing, and tests a restore, each step shows in the page', async (t) => {
    if (!(await requireDocker(t)) || !requireRestic(t)) return;
    const browser = await requireBrowser(t);
    if (!browser) return;
    const agent = await devAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_RESTIC: slowRestic(tempDir(t, 'felhom-restic-')), FELHOM_STORAGE_CHECK_MS: '500' } });
    const request = api(c.controller.url, c.token);
    const id = `bulkui-${process.pid % 1000}`;
    cleanUpProject(t, id);
    const disk = await assignBackupDisk(request);
    const folder = await installPhotoApp(request, id);
    writeFiles(folder, 20, 8 * 1024 * 1024);
    const atBackup = checksums(folder);

    const { page, problems } = await newPage(browser);
    // The browser asks for /favicon.ico, which the controller does not have: that 404 is not a problem of these pages.
    let faviconMisses = 0;
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (new URL(message.location().url || 'about:blank').pathname === '/favicon.ico') faviconMisses++;
      else consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    const failedRequests: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });
    const url = c.controller.url;
    await page.goto(url);
    await createAccount(page, c.dataDir);

    // 1. A target on the other disk: its recovery code is shown once, then never again.
    await page.locator('header nav').getByRole('link', { name: 'Backups', exact: true }).click();
    await page.getByRole('heading', { name: 'Media backup targets' }).waitFor();
    const row = page.locator(`#backups-live tr[data-volume="${id}/photos"]`);
    assert.match(await row.innerText(), /Should be backed up, but no target is chosen/);
    await assertNoRawKeys(page, '/backups');
    const addDisk = page.locator('details').filter({ has: page.getByText('Back up to another disk', { exact: true }) });
    assert.equal(await addDisk.getAttribute('open'), '', 'with no target yet, the form is open');
    const options = await addDisk.locator('select[name="mount"] option').evaluateAll((all) => all.map((o) => o.getAttribute('value') ?? ''));
    assert.ok(options.includes(disk.id), `the assigned disk is offered: ${options.join(', ')}`);
    await addDisk.getByLabel('Disk').selectOption(disk.id);
    await addDisk.getByRole('button', { name: 'Add target' }).click();
    await page.getByRole('heading', { name: 'Your recovery code' }).waitFor();
    const code = (await page.locator('[data-recovery-code]').innerText()).trim();
    assert.match(code, CODE, 'a recovery code of 160 bits in groups of four');
    assert.match(await page.getByRole('heading', { level: 2 }).innerText(), /^Recovery code for Backup disk$/);
    await assertNoRawKeys(page, 'the recovery code page');
    await screenshot(page, 'bulk-recovery-code');
    // Without the tick the browser does not send the form.
    const acknowledge = page.getByRole('button', { name: 'I have stored the recovery code' });
    await acknowledge.click();
    assert.equal(new URL(page.url()).pathname, '/backups/targets', 'not acknowledged without the tick');
    await page.getByLabel(/I wrote the recovery code down/).check();
    await acknowledge.click();
    await page.getByText('The backup target is ready.').waitFor();
    assert.equal(new URL(page.url()).pathname, '/backups');
    const target = page.locator('li[data-target]');
    assert.match(await target.innerText(), /Backup disk \(another disk\)/);
    assert.equal(await target.locator('.bad').count(), 0, 'the code is confirmed');
    assert.match(await row.innerText(), /Backed up to Backup disk/);
    for (const route of ['/backups', '/backups/live', `/backups/volumes/${id}/photos`, `/apps/${id}`, '/activity']) {
      const html = route === '/backups' ? await page.content() : await (await page.request.get(`${url}${route}`)).text();
      for (const secret of [code, code.replaceAll('-', '')]) assert.equal(html.includes(secret), false, `the recovery code is not in ${route}`);
    }

    // 2. "Back up now" for the folder: the page follows the run, then lists it as succeeded.
    await row.getByRole('button', { name: 'Back up now: photos' }).click();
    await page.getByText('The backup has started.').waitFor();
    let wholeFolderShot = false;
    // Every progress the page showed while it ran (it refreshes every 2 s; restic counts the files first).
    const shown: string[] = [];
    const progressViews: Array<Awaited<ReturnType<typeof liveView>>> = [];
    await until(
      async () => {
        const view = await liveView(page);
        if (view.bytes !== null && view.bytes !== shown.at(-1)) {
          shown.push(view.bytes);
          progressViews.push(view);
          // The first progress, replaced by one with the whole folder counted and some of it done.
          const whole = / of 20 files, [1-9]/.test(view.bytes);
          if (shown.length === 1 || (whole && !wholeFolderShot)) await screenshot(page, 'bulk-progress');
          wholeFolderShot ||= whole;
        }
        return { view, shown };
      },
      { what: 'the backup to finish', done: ({ view }) => view.job === 'idle' && view.runs.length > 0, timeoutMs: 120_000, intervalMs: 100 },
    );
    // Checked after the wait: a failed check inside it would only be tried again.
    for (const view of progressViews) {
      assert.equal(view.job, 'running', `the job runs while its progress shows: ${JSON.stringify(view)}`);
      assert.equal(view.bars, 1, `with a progress bar: ${JSON.stringify(view)}`);
    }
    assert.ok(shown.length > 0, 'the live part showed the progress while the backup ran');
    for (const text of shown) assert.match(text, /^\d+ of \d+ files, [\d.]+ [KMG]?B of [\d.]+ [KMG]?B · [\d.]+ [KMG]?B\/s( · about .+ left)?$/, `the progress counts files and bytes: ${text}`);
    assert.ok(shown.some((text) => /^\d+ of 20 files, [\d.]+ [KMG]?B of 168 MB/.test(text)), `the progress had the whole folder counted: ${shown.join(' | ')}`);
    const run = page.locator('#backups-live tr[data-run-outcome="succeeded"]');
    assert.equal(await run.count(), 1, `the run succeeded: ${await page.locator('#backups-live tr[data-run-outcome]').allInnerTexts()}`);
    assert.match(await run.innerText(), new RegExp(`${id} · photos\\s+20 files, 16\\d MB\\s+.+\\s+succeeded [0-9a-f]{8}`));
    assert.match(await row.innerText(), /Backed up to Backup disk\s+\S.*\s+1\s/, 'the folder has one backup kept');
    await assertNoRawKeys(page, '/backups after a run');
    await screenshot(page, 'bulk-backed-up');

    // 3. Its restore page: a copy beside the folder, equal to the live folder byte for byte.
    await row.getByRole('link', { name: 'Backups and restore' }).click();
    await page.waitForURL(`${url}/backups/volumes/${id}/photos`);
    const snapshot = page.locator('tr[data-snapshot]');
    assert.equal(await snapshot.count(), 1, 'the one backup is listed');
    assert.match(await snapshot.innerText(), /16\d MB\s+20\s/);
    assert.match(await page.locator('section[aria-labelledby="kept-title"]').innerText(), /None\./);
    await assertNoRawKeys(page, 'the restore page');
    await snapshot.getByRole('button', { name: 'Restore as a copy' }).click();
    await page.getByText('The restore has started.').waitFor();
    const copyDone = page.locator('#restores-live [data-restore-mode="copy"][data-restore="succeeded"]');
    await copyDone.waitFor({ timeout: 120_000 });
    const copyText = await copyDone.innerText();
    const copyFolder = /Restored into (\S+); the live data was not touched\./.exec(copyText)?.[1];
    assert.ok(copyFolder, `the restore names the copy's folder: ${copyText}`);
    assert.equal(path.dirname(copyFolder), path.dirname(folder), 'beside the live folder');
    assert.deepEqual(checksums(copyFolder), checksums(folder), 'the copy is the live folder, byte for byte');
    // The list of kept folders follows without a reload.
    const copyKept = page.locator(`#kept-live li[data-kept="${path.basename(copyFolder)}"]`);
    await copyKept.waitFor({ timeout: 10_000 });
    assert.match(await copyKept.innerText(), /\(restored copy\)/);
    await screenshot(page, 'bulk-restore');

    // 4. A file changes; replacing the folder brings the backup back and keeps what was there.
    fs.writeFileSync(path.join(folder, 'photo-1.jpg'), 'edited after the backup');
    const changed = checksums(folder);
    assert.notDeepEqual(changed, atBackup);
    const replace = snapshot.locator('details').filter({ has: page.getByText('Replace the folder…', { exact: true }) });
    await replace.locator('summary').click();
    assert.match(await replace.innerText(), new RegExp(`Photos ${id} stops while the folder is replaced`));
    await screenshot(page, 'bulk-replace-confirm');
    await replace.getByRole('button', { name: 'Replace the folder with this backup' }).click();
    await page.getByText('The restore has started.').waitFor();
    const replaceDone = page.locator('#restores-live [data-restore-mode="replace"][data-restore="succeeded"]');
    await replaceDone.waitFor({ timeout: 120_000 });
    const keptPath = /kept in (\S+) until you delete it/.exec(await replaceDone.innerText())?.[1];
    assert.ok(keptPath, `the restore names the kept folder: ${await replaceDone.innerText()}`);
    assert.match(path.basename(keptPath), /^photos\.before-restore-\d{8}T\d{6}Z$/);
    assert.deepEqual(checksums(folder), atBackup, 'the live folder is the backup again, byte for byte');
    assert.deepEqual(checksums(keptPath), changed, 'what was replaced is kept');
    const kept = page.locator(`#kept-live li[data-kept="${path.basename(keptPath)}"]`);
    await kept.waitFor({ timeout: 10_000 });
    assert.match(await kept.innerText(), /\(the data before a restore\)/);
    await screenshot(page, 'bulk-restore-replaced');
    await kept.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('The folder was deleted.').waitFor();
    assert.equal(await page.locator(`li[data-kept="${path.basename(keptPath)}"]`).count(), 0, 'the kept folder is no longer listed');
    assert.equal(fs.existsSync(keptPath), false, 'the kept folder is gone');
    assert.ok(fs.existsSync(copyFolder), 'the copy is still there');
    await until(async () => ((await request('GET', `/api/v1/apps/${id}`)).body.services as Array<{ state: string }>).every((s) => s.state === 'running'), { what: 'the app to run again after the replace', timeoutMs: 30_000, intervalMs: 200 });

    // 5. The restore test, from the backups page.
    await page.getByRole('link', { name: '← Back to backups' }).click();
    await page.waitForURL(`${url}/backups`);
    await page.getByRole('button', { name: 'Test restoring now' }).click();
    await page.getByText('The restore test has started.').waitFor();
    const test = page.locator('#backups-live [data-restore-test="succeeded"]');
    await test.waitFor({ timeout: 120_000 });
    const testText = await test.innerText();
    assert.match(testText, /The last restore test passed/);
    assert.match(testText, /Backup disk: repository checked, 5% of the data read · passed/);
    assert.match(testText, new RegExp(`${id} · photos: 3 random files restored and compared · passed`));
    await assertNoRawKeys(page, '/backups after the restore test');
    await screenshot(page, 'bulk-restore-test');

    // In Hungarian: the same pages, with no message key showing.
    await page.getByLabel('Language', { exact: true }).first().selectOption('hu');
    await page.locator('header').getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction("document.documentElement.lang === 'hu'");
    await page.goto(`${url}/backups`);
    const main = await page.locator('main').innerText();
    for (const key of ['bulk.targets_title', 'bulk.runs_title', 'bulk.test_succeeded', 'bulk.outcome_succeeded', 'bulk.test_now'] as const) {
      assert.ok(main.includes(hu[key]), `the Hungarian "${key}" shows: ${hu[key]}`);
    }
    await assertNoRawKeys(page, '/backups in Hungarian');
    await screenshot(page, 'bulk-backups-hu');
    await page.goto(`${url}/backups/volumes/${id}/photos`);
    assert.ok((await page.locator('main').innerText()).includes(hu['bulk.snapshots_title']));
    await assertNoRawKeys(page, 'the restore page in Hungarian');
    await screenshot(page, 'bulk-volume-hu');

    assert.deepEqual(consoleErrors, [], `no console errors or CSP violations (failed requests: ${failedRequests.join(', ') || 'none'})`);
    assert.deepEqual(failedRequests, [], 'no request failed');
    assert.equal(problems.length, faviconMisses, `no page errors: ${problems.join(' | ')}`);
  });
});

