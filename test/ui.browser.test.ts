/**
 * The customer UI in a real browser (Debian's Chromium through playwright-core), against
 * a real controller, the development agent and a real Docker engine: first-run setup,
 * install from the store until healthy, stop and start, disks, "Back up now", language.
 * Screenshots of every page go to test-output/screenshots/ (not committed).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { newPage, requireBrowser, screenshot } from './helpers/browser.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImage } from './helpers/images.ts';
import { tempDir } from './helpers/temp.ts';
import { PASSWORD, setupCodeOf } from './helpers/ui.ts';

const IMAGE = 'felhom-test/webapp:browser';
const APP_ID = `browser-demo-${process.pid % 10000}`;

function catalogWithDemoApp(dir: string, port: number): string {
  const folder = path.join(dir, 'demo');
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, '.felhom.yml'),
    `schema: felhom.app/v1\nid: ${APP_ID}\nname: Family Wiki\nversion: "1.0.0"\ndescription: A small web site for the family.\nweb: { service: web, port: 8080 }\nhealth_timeout_seconds: 30\nvolumes:\n  site:  { class: hot }\n  media: { class: bulk, backup: none, note: Re-downloadable }\n`,
  );
  fs.writeFileSync(
    path.join(folder, 'compose.yml'),
    `services:\n  web:\n    image: ${IMAGE}\n    init: true\n    ports: ["127.0.0.1:${port}:8080"]\n    volumes: ["site:/srv/www", "media:/media"]\n    healthcheck:\n      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]\n      interval: 1s\n      timeout: 2s\n      retries: 20\nvolumes:\n  site:\n  media:\n`,
  );
  return dir;
}

const appState = (page: Page) => page.locator('#app-live [data-state]').getAttribute('data-state');

async function waitForState(page: Page, state: string, timeoutMs = 60_000) {
  await page.locator(`#app-live [data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

describe('the customer UI in a browser', () => {
  before(() => {
    try {
      buildWebImage(IMAGE, 'hello from the family wiki');
    } catch {
      // no engine: the test says so through requireDocker
    }
  });

  it('when a customer sets up, installs, runs, manages disks, backs up and switches language, then each step shows in the page', async (t) => {
    if (!(await requireDocker(t))) return;
    const browser = await requireBrowser(t);
    if (!browser) return;
    const port = 30000 + (process.pid % 20000);
    const agent = await devAgent(t);
    const c = await controller(t, {
      bootstrapPath: agent.bootstrapPath,
      env: { FELHOM_CATALOG_DIR: catalogWithDemoApp(tempDir(t, 'felhom-catalog-'), port) },
    });
    cleanUpProject(t, APP_ID);
    const { page, problems } = await newPage(browser);
    const url = c.controller.url;
    const nav = (name: string) => page.locator('header nav').getByRole('link', { name, exact: true });

    // First run: the setup code from the data folder creates the account.
    await page.goto(url);
    assert.equal(new URL(page.url()).pathname, '/setup');
    await screenshot(page, '01-setup');
    await page.getByLabel('Setup code').fill(setupCodeOf(c.dataDir));
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('heading', { name: 'Your server' }).waitFor();
    await screenshot(page, '02-home-empty');

    // The store: the plan shows where each volume goes, then the install runs live.
    await nav('App store').click();
    await screenshot(page, '03-store');
    await page.getByRole('button', { name: 'Install Family Wiki' }).click();
    await page.getByRole('heading', { name: /where its data goes/ }).waitFor();
    const plan = await page.locator('table').innerText();
    assert.match(plan, /site\s+Settings and databases \(fast\)\s+Internal NVMe\s+In the server backup/);
    assert.match(plan, /media\s+Re-downloadable\s+Media \(bulk\)\s+WD Elements 4TB\s+Not backed up/);
    await screenshot(page, '04-plan');
    await page.getByRole('button', { name: 'Install Family Wiki' }).click();
    await page.waitForURL(`${url}/apps/${APP_ID}`);
    await page.locator('#app-live .operation').waitFor();
    await waitForState(page, 'running', 90_000);
    assert.match(await page.locator('#app-live .operation').innerText(), /Install: done/);
    await screenshot(page, '05-app-running');

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByText('Stopped.').waitFor();
    await waitForState(page, 'stopped');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await waitForState(page, 'running');
    assert.equal(await appState(page), 'running');
    await page.locator('#app-logs').waitFor();

    // Home: the card links to the app, and the bulk volume without a backup is an alert.
    await nav('Home').click();
    const card = page.locator(`[data-app="${APP_ID}"]`);
    assert.match(await card.innerText(), /Running/);
    assert.equal(await card.getByRole('link', { name: 'Open Family Wiki' }).getAttribute('href'), `http://127.0.0.1:${port}/`);
    assert.match(await page.locator('.alerts').innerText(), /“media” of Family Wiki is not backed up/);
    await screenshot(page, '06-home-with-app');

    // Disks: a data-bearing drive's format is refused in words; the blank one is formatted, assigned and ejected.
    await nav('Disks').click();
    await screenshot(page, '07-disks');
    await page.locator('[data-disk="usb-9f3a27c1"]').getByRole('link', { name: 'Format…' }).click();
    await page.getByLabel('Erase everything on this disk').check();
    await page.getByRole('button', { name: 'Format…' }).or(page.getByRole('button', { name: 'Format' })).first().click();
    await page.locator('#format-refused').waitFor();
    assert.match(await page.locator('#format-refused').innerText(), /Felhom support has signed the wipe/);
    await screenshot(page, '08-format-refused');

    await page.goto(`${url}/disks`);
    const blank = page.locator('[data-disk="usb-2b77e0d4"]');
    await blank.getByRole('link', { name: 'Format…' }).click();
    await page.getByLabel('Erase everything on this disk').check();
    await page.locator('form button.danger').click();
    await page.getByText('The disk was formatted.').waitFor();
    await blank.locator('summary').click();
    await blank.getByLabel('Name').fill('Photos');
    await blank.getByRole('button', { name: 'Use this disk' }).click();
    await page.getByText('The disk is ready to use.').waitFor();
    await blank.getByRole('link', { name: 'Eject…' }).click();
    await page.getByText('No app keeps data on this disk.').waitFor();
    await page.getByRole('button', { name: 'Stop them and eject' }).click();
    await page.getByText('The disk was ejected').waitFor();

    // The eject of the media drive names the app it will stop, before doing anything.
    await page.locator('[data-disk="usb-9f3a27c1"]').getByRole('link', { name: 'Eject…' }).click();
    assert.match(await page.locator('.stopped-apps').innerText(), new RegExp(APP_ID));
    await screenshot(page, '09-eject-confirm');

    // Backups: "Back up now" stops the app, and the live part follows the run to its end.
    await nav('Backups').click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByText('The backup has started.').waitFor();
    await screenshot(page, '10-backup-running');
    await page.locator('#backups-live tbody tr').first().waitFor();
    await page.locator('#backups-live [data-phase="idle"]').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('#backups-live tbody tr').first().innerText(), new RegExp(`By hand\\s+${APP_ID}`));
    await screenshot(page, '11-backups');

    for (const [link, name] of [['Host health', '12-host'], ['Activity', '13-activity'], ['Settings', '14-settings']] as const) {
      await nav(link).click();
      await screenshot(page, name);
    }
    assert.match(await page.locator('main').innerText(), /Connection to the host agent/);

    // Language: Hungarian throughout, remembered on the next page.
    await page.getByLabel('Language', { exact: true }).first().selectOption('hu');
    await page.locator('header').getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction("document.documentElement.lang === 'hu'");
    await nav('Lemezek').click();
    assert.equal(await page.getAttribute('html', 'lang'), 'hu');
    await screenshot(page, '15-disks-hu');

    // On a phone-sized screen the home page still works.
    const phone = await newPage(browser, { width: 390, height: 844 });
    await phone.page.context().addCookies(await page.context().cookies());
    await phone.page.goto(url);
    await screenshot(phone.page, '16-home-phone');
    const overflow = (await phone.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 1, `no sideways scrolling on a phone (overflow ${overflow}px)`);

    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused to/.test(p)), [], 'nothing broke the CSP');
  });
});
