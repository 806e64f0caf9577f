/**
 * The customer UI in a real browser (Debian's Chromium through playwright-core), against
 * a real controller, the development agent and a real Docker engine: first-run setup,
 * install from the store with its steps shown live until healthy, stop and start, disks,
 * "Back up now" followed through its phases, ejecting the drive the app uses, language.
 * Screenshots of every page go to test-output/screenshots/ (not committed).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { createAccount, newPage, requireBrowser, screenshot } from './helpers/browser.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { buildWebImageIfEngine } from './helpers/images.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

const IMAGE = 'felhom-test/webapp:browser';
const APP_ID = `browser-demo-${process.pid % 10000}`;

function catalogWithDemoApp(dir: string, port: number): string {
  const folder = path.join(dir, APP_ID);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, '.felhom.yml'),
    `schema: felhom.app/v1\nid: ${APP_ID}\nname: Family Wiki\nversion: "1.0.0"\ndescription: A small web site for the family.\nweb: { service: web, port: 8080 }\nhealth_timeout_seconds: 30\nvolumes:\n  site:  { class: hot }\n  media: { class: bulk, backup: none, note: Re-downloadable }\nx-catalog: { category: demo, description_hu: A család kis honlapja. }\n`,
  );
  fs.writeFileSync(
    path.join(folder, 'compose.yml'),
    `services:\n  web:\n    image: ${IMAGE}\n    init: true\n    ports: ["127.0.0.1:${port}:8080"]\n    volumes: ["site:/srv/www", "media:/media"]\n    healthcheck:\n      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]\n      interval: 1s\n      timeout: 2s\n      retries: 20\nvolumes:\n  site:\n  media:\n`,
  );
  return dir;
}

interface OperationView {
  state: string | null;
  header: string;
  events: string[];
}

/** What `#app-live .operation` shows now: the app's state, the heading line and the event messages (without their times). */
const operationView = (page: Page) =>
  page.evaluate(`(() => {
    const live = document.querySelector('#app-live');
    const op = live?.querySelector('.operation');
    return {
      state: live?.querySelector('[data-state]')?.getAttribute('data-state') ?? null,
      header: op?.querySelector('p')?.innerText.trim() ?? '',
      events: [...(op?.querySelectorAll('.events li') ?? [])].map((li) => li.textContent.replace(li.querySelector('time')?.textContent ?? '', '').trim()),
    };
  })()`) as Promise<OperationView>;

/**
 * Follows the operation on an app page as the page itself refreshes it, until the app
 * runs and the operation says done; returns every distinct view seen and all event
 * messages in the order they appeared (the page keeps only the last 12 at a time).
 */
async function followOperation(page: Page, timeoutMs: number) {
  const views: OperationView[] = [];
  const timeline: string[] = [];
  const headers: string[] = [];
  await until(
    async () => {
      const view = await operationView(page);
      const last = views.at(-1);
      if (!last || JSON.stringify(last) !== JSON.stringify(view)) {
        views.push(view);
        for (const message of view.events) if (!timeline.includes(message)) timeline.push(message);
        if (view.header && !headers.includes(view.header)) headers.push(view.header);
      }
      return view;
    },
    { what: 'the operation to say done with the app running', done: (view) => view.state === 'running' && /: done$/.test(view.header), timeoutMs },
  );
  return { views, timeline, headers };
}

/** Asserts that `expected` occur in `seen`, each matched by the first entry after the previous match. */
function assertInOrder(seen: string[], expected: Array<string | RegExp>, what: string) {
  let from = 0;
  for (const step of expected) {
    const index = seen.findIndex((entry, i) => i >= from && (typeof step === 'string' ? entry === step : step.test(entry)));
    assert.ok(index >= 0, `${what}: "${step}" after position ${from} in ${JSON.stringify(seen, null, 1)}`);
    from = index + 1;
  }
}

const appState = (page: Page) => page.locator('#app-live [data-state]').getAttribute('data-state');

async function waitForState(page: Page, state: string, timeoutMs = 60_000) {
  await page.locator(`#app-live [data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

describe('the customer UI in a browser', () => {
  before(() => buildWebImageIfEngine(IMAGE, 'hello from the family wiki'));

  it('when a customer sets up, installs, runs, manages disks, backs up and switches language, then each step shows in the page', async (t) => {
    if (!(await requireDocker(t))) return;
    const browser = await requireBrowser(t);
    if (!browser) return;
    const port = 30000 + (process.pid % 20000);
    // Slow enough that the backups page, refreshing every 2 s, sees the run wait for its snapshot.
    const agent = await devAgent(t, { backup: { queuedMs: 1500, runningMs: 1500, snapshottedMs: 1000 } });
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
    await createAccount(page, c.dataDir);
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
    // While it runs, the page shows each step as it comes, then the whole list of what happened.
    const install = await followOperation(page, 90_000);
    assert.equal(install.views[0]!.state, 'installing', 'the page opens on the running install');
    assert.match(install.headers[0]!, /^Install: in progress \(.+\)$/);
    assert.equal(install.headers.at(-1), 'Install: done');
    const steps = ['Getting the images', 'Taking a snapshot of the server before the change', 'Preparing storage', 'Starting the app', 'Waiting for the app to become healthy'];
    const shownSteps = install.headers.slice(0, -1).map((h) => /^Install: in progress \((.+)\)$/.exec(h)?.[1] ?? h);
    assert.ok(shownSteps.length >= 1, `the heading named a step while it ran: ${JSON.stringify(install.headers)}`);
    assert.deepEqual(shownSteps, steps.filter((step) => shownSteps.includes(step)), 'the heading names the install steps, in their order');
    // The page keeps the last 12 events, and the first ones pass between two refreshes: all of them are in the API.
    const { operation } = (await request(url).get(`/api/v1/apps/${APP_ID}`).set({ Authorization: `Bearer ${c.token}` }).expect(200)).body;
    const allEvents = operation.events.map((e: { message: string }) => e.message);
    assertInOrder(allEvents, [steps[0]!, 'Image downloads are off (FELHOM_PULL=never): using the images the engine has', steps[1]!, /^Snapshot felhom-pre-\S+ taken$/, steps[2]!], 'the install events');
    assertInOrder(install.timeline, [steps[2]!, /^Volume site → Internal NVMe \(\/.+\/site\)$/, steps[3]!, steps[4]!, 'The app is running and healthy'], 'the install events');
    assertInOrder(install.timeline, [steps[2]!, /^Volume media → WD Elements 4TB \(\/.+\/media\)$/, steps[3]!], 'the install events');
    const done = install.views.at(-1)!;
    assert.equal(done.events.at(-1), 'The app is running and healthy', 'the finished install ends with its result');
    assertInOrder(done.events, [steps[2]!, steps[3]!, steps[4]!, 'The app is running and healthy'], 'the finished install still lists its steps');
    assert.equal(await page.locator('#app-live .operation .problem').count(), 0);
    assert.match(await page.locator('#app-live .operation').innerText(), /Install: done/);
    // The snapshot the install took is listed, with its roll-back link.
    const snapshotName = /^Snapshot (\S+) taken$/.exec(install.timeline.find((e) => /^Snapshot \S+ taken$/.test(e))!)![1]!;
    const snapshots = page.locator('section[aria-labelledby="snapshots-title"]');
    assert.match(await snapshots.locator('li').innerText(), new RegExp(`${snapshotName} \\(Install\\) Roll back to this snapshot`));
    assert.equal(await snapshots.getByRole('link').getAttribute('href'), `/apps/${APP_ID}/rollback?snapshot=${snapshotName}`);
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
    assert.equal(await page.locator('#backups-live [data-phase]').getAttribute('data-phase'), 'idle');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByText('The backup has started.').waitFor();
    const phases: string[] = [];
    const phaseTexts: string[] = [];
    await until(
      async () => {
        const current = page.locator('#backups-live [data-phase]');
        const phase = await current.getAttribute('data-phase');
        if (phase && phase !== phases.at(-1)) {
          phases.push(phase);
          phaseTexts.push(await current.innerText());
          if (phase !== 'idle' && phases.length === 1) await screenshot(page, '10-backup-running');
        }
        return phases;
      },
      { what: 'the backup to end', done: (seen) => seen.at(-1) === 'idle', timeoutMs: 60_000, intervalMs: 50 },
    );
    const busy = phases.slice(0, -1);
    assert.ok(busy.length >= 1, `the live part showed the run before it ended (phases seen: ${phases.join(' → ')})`);
    const order = ['stopping', 'requesting', 'waiting', 'resuming', 'tracking'];
    assert.ok(busy.every((phase) => order.includes(phase)), phases.join(' → '));
    assert.deepEqual(busy, [...busy].sort((a, b) => order.indexOf(a) - order.indexOf(b)), 'the phases went forward');
    assert.ok(busy.includes('waiting'), `the 3 s wait for the snapshot showed (phases seen: ${phases.join(' → ')})`);
    assert.match(phaseTexts[busy.indexOf('waiting')]!, /^Waiting for the snapshot · the host says: (queued|running)$/);
    const run = await page.locator('#backups-live tbody tr').first().locator('td').allInnerTexts();
    assert.equal(run[1], 'By hand');
    assert.equal(run[2], APP_ID, 'the run names the app it stopped');
    assert.match(run[3]!, /^(\d+ s|\d+ min \d+ s)$/, `the downtime is shown (${run[3]})`);
    assert.equal(run[4], 'Succeeded\nApp-consistent: the apps were stopped until the snapshot existed', 'the result says the backup holds the app stopped');
    await screenshot(page, '11-backups');

    for (const [link, name] of [['Host health', '12-host'], ['Activity', '13-activity'], ['Settings', '14-settings']] as const) {
      await nav(link).click();
      await screenshot(page, name);
    }
    assert.match(await page.locator('main').innerText(), /Connection to the host agent/);

    // Ejecting the media drive stops the app that keeps data on it, then ejects; the app
    // page says why it is stopped. (Last, since the app's bulk volume is gone after it.)
    await nav('Disks').click();
    await page.locator('[data-disk="usb-9f3a27c1"]').getByRole('link', { name: 'Eject…' }).click();
    assert.deepEqual(await page.locator('.stopped-apps li').allInnerTexts(), [APP_ID]);
    await page.getByRole('button', { name: 'Stop them and eject' }).click();
    await page.getByText('The disk was ejected: you can unplug it now.').waitFor();
    assert.equal(new URL(page.url()).pathname, '/disks');
    assert.equal(await page.locator('[data-disk="usb-9f3a27c1"]').getByRole('link', { name: 'Eject…' }).count(), 0, 'the drive is no longer in use');
    await screenshot(page, '15-disks-ejected');
    await page.goto(`${url}/apps/${APP_ID}`);
    await waitForState(page, 'stopped_for_storage');
    const stoppedLive = await page.locator('#app-live').innerText();
    assert.match(stoppedLive, /Stopped \(disk missing\)/);
    assert.match(stoppedLive, /Stopped because these disks are not connected: WD Elements 4TB\. It starts again by itself when they are back\./);
    assert.match(await page.locator('#app-live tbody').innerText(), /^web\s+exited/, 'the container is stopped');
    await screenshot(page, '16-app-stopped-for-storage');
    // Starting it by hand is refused in words while its disk is away.
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${url}/apps/${APP_ID}/start`),
      page.getByRole('button', { name: 'Start', exact: true }).click(),
    ]);
    assert.equal(refused.status(), 409);
    assert.match(await page.locator('main .problem').innerText(), /"Family Wiki" was stopped because its storage \(usb-9f3a27c1\) is not attached; it starts again by itself when the storage is back/);
    // The activity log has the eject with the app it stopped first.
    await page.goto(`${url}/activity?action=disk.eject`);
    const ejectRow = page.locator('main tbody tr').filter({ hasText: 'usb-9f3a27c1' });
    assert.match(await ejectRow.innerText(), /customer\s+disk\.eject\s+usb-9f3a27c1\s+done/);
    await ejectRow.locator('summary').click();
    assert.deepEqual(JSON.parse(await ejectRow.locator('pre').innerText()), { stopped_apps: [APP_ID] });
    await page.goto(`${url}/activity?action=app.stop`);
    const stops = await page.locator('main tbody tr').evaluateAll((rows) =>
      rows.map((row) => ({ cells: [...row.querySelectorAll('td')].slice(1, 4).map((td) => td.textContent?.trim()), details: row.querySelector('pre')?.textContent ?? 'null' })),
    );
    assert.ok(
      stops.some((s) => s.cells.join(' ') === `customer app.stop ${APP_ID}` && JSON.stringify(JSON.parse(s.details)) === JSON.stringify({ reason: 'storage not attached', mounts: ['usb-9f3a27c1'] })),
      `the activity log has the stop for the eject: ${JSON.stringify(stops)}`,
    );

    // Language: Hungarian throughout, remembered on the next page.
    await page.getByLabel('Language', { exact: true }).first().selectOption('hu');
    await page.locator('header').getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction("document.documentElement.lang === 'hu'");
    await nav('Lemezek').click();
    assert.equal(await page.getAttribute('html', 'lang'), 'hu');
    await screenshot(page, '17-disks-hu');

    // On a phone-sized screen the home page still works.
    const phone = await newPage(browser, { width: 390, height: 844 });
    await phone.page.context().addCookies(await page.context().cookies());
    await phone.page.goto(url);
    assert.match(await phone.page.locator('.alerts').innerText(), /Family Wiki leállt, mert a lemeze nincs csatlakoztatva\./, 'the stopped app is an alert (in Hungarian now)');
    await screenshot(phone.page, '18-home-phone');
    const overflow = (await phone.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 1, `no sideways scrolling on a phone (overflow ${overflow}px)`);

    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused to/.test(p)), [], 'nothing broke the CSP');
  });
});
