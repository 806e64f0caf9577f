/**
 * The app store in a real browser (Debian's Chromium through playwright-core), against a
 * real controller with a catalog folder of the test's own and a real Docker engine (a
 * local image: no registry): the icons load, typing in the search box narrows the list
 * live (htmx) and keeps the filter in the address, a category chip narrows it too, and an
 * app installed from the store shows as installed, with its icon on the home page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { squareIcon, writeCatalog } from './helpers/catalog.ts';
import { createAccount, newPage, requireBrowser, screenshot } from './helpers/browser.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/until.ts';

const suffix = `-${process.pid % 10000}`;
const ALBUM = `photo-album${suffix}`;

/** The catalog ids of the cards shown now. */
const shown = (page: Page) => page.evaluate(`[...document.querySelectorAll('#store-results [data-catalog]')].map((c) => c.getAttribute('data-catalog'))`) as Promise<string[]>;

/** The icons on the page that the browser could not draw (not loaded, or no size). */
const brokenIcons = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll('img.app-icon')].filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.getAttribute('src'))`) as Promise<string[]>;

/** Waits until the page shows this many cards (htmx swaps them in); polled from outside, as the page's CSP forbids evaluating strings in it. */
const cardsShown = (page: Page, count: number) => until(() => shown(page), { what: `${count} cards in the store`, done: (ids) => ids.length === count, timeoutMs: 10_000, intervalMs: 50 });

describe('the app store in a browser', () => {
  it('when a customer searches, picks a category and installs from the store, then the list follows and the app shows with its icon', async (t) => {
    if (!(await requireDocker(t))) return;
    const browser = await requireBrowser(t);
    if (!browser) return;
    const catalog = writeCatalog(tempDir(t, 'felhom-store-catalog-'), [
      { id: ALBUM, name: 'Photo Album', category: 'photos', description: 'Keeps the family photos in one place.', descriptionHu: 'Családi képek egy helyen.', icon: squareIcon('#2a7ab0') },
      { id: `recipe-box${suffix}`, name: 'Recipe Box', category: 'household', description: 'Recipes for the kitchen.', descriptionHu: 'Receptek a konyhába.', icon: squareIcon('#b0502a') },
      { id: `plain-notes${suffix}`, name: 'Plain Notes', category: 'notes', description: 'Short notes to remember.', descriptionHu: 'Rövid jegyzetek.' },
    ]);
    const agent = await devAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath, env: { FELHOM_CATALOG_DIR: catalog } });
    cleanUpProject(t, ALBUM);
    const url = c.controller.url;
    const { page, problems } = await newPage(browser);
    const failed: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });

    await page.goto(`${url}/setup`);
    await createAccount(page, c.dataDir);

    await page.locator('header nav').getByRole('link', { name: 'App store', exact: true }).click();
    await page.getByRole('heading', { name: 'Apps you can install' }).waitFor();
    assert.deepEqual(await shown(page), [ALBUM, `plain-notes${suffix}`, `recipe-box${suffix}`]);
    await page.waitForLoadState('load');
    assert.equal(await page.locator('img.app-icon').count(), 2, 'the two apps with icons show them');
    assert.deepEqual(await brokenIcons(page), [], 'and the browser draws them');
    assert.equal(await page.locator(`[data-catalog="plain-notes${suffix}"] .monogram`).innerText(), 'P', 'the one without has its monogram');
    await screenshot(page, 'store-01-all');

    // Typing narrows the list without a page load; the address keeps the search.
    await page.evaluate('window.__samePage = true');
    const search = page.getByLabel('Search the apps');
    await search.pressSequentially('konyha', { delay: 30 });
    await cardsShown(page, 1);
    assert.deepEqual(await shown(page), [`recipe-box${suffix}`], 'the Hungarian description, typed without its accent');
    assert.equal(await page.locator('#store-count').innerText(), 'Showing 1 of 3 apps.', 'the count beside the box says so too');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'konyha');
    assert.equal(await page.evaluate('window.__samePage'), true, 'no page load: htmx swapped the results');
    assert.equal(await search.inputValue(), 'konyha', 'and the box keeps what was typed');
    await screenshot(page, 'store-02-search');

    await search.fill('zzz');
    await page.getByText('No app matches “zzz”.').waitFor();
    await search.fill('');
    await cardsShown(page, 3);

    // A category chip narrows to its apps and says which one is chosen.
    const chips = page.getByRole('navigation', { name: 'Categories' });
    await chips.getByRole('link', { name: 'Notes, wikis and bookmarks (1)' }).click();
    await page.waitForURL(/category=notes/);
    assert.deepEqual(await shown(page), [`plain-notes${suffix}`]);
    assert.equal(await chips.getByRole('link', { name: 'Notes, wikis and bookmarks (1)' }).getAttribute('aria-current'), 'true');
    assert.equal(await chips.getByRole('link', { name: 'All (3)' }).getAttribute('aria-current'), null);
    await screenshot(page, 'store-03-category');
    await chips.getByRole('link', { name: 'All (3)' }).click();
    await page.waitForURL(`${url}/store`);

    // Install from the store: the plan, then the app's page with its icon.
    await page.getByRole('button', { name: 'Install Photo Album' }).click();
    await page.getByRole('heading', { name: /where its data goes/ }).waitFor();
    await page.getByRole('button', { name: 'Install Photo Album' }).click();
    await page.waitForURL(`${url}/apps/${ALBUM}`);
    await page.locator('#app-live [data-state="running"]').waitFor({ timeout: 90_000 });
    assert.equal(await page.locator('.with-icon img.app-icon').getAttribute('src'), `/store/icons/${ALBUM}.svg`);
    assert.deepEqual(await brokenIcons(page), []);

    await page.locator('header nav').getByRole('link', { name: 'Home', exact: true }).click();
    const card = page.locator(`[data-app="${ALBUM}"]`);
    await card.waitFor();
    assert.equal(await card.locator('img.app-icon').getAttribute('src'), `/store/icons/${ALBUM}.svg`, 'the home page shows its catalog icon');
    assert.deepEqual(await brokenIcons(page), []);
    await screenshot(page, 'store-04-home');

    await page.goto(`${url}/store`);
    const installed = page.locator(`[data-catalog="${ALBUM}"]`);
    assert.match(await installed.innerText(), /Installed/);
    assert.equal(await installed.getByRole('button', { name: 'Install Photo Album' }).count(), 0);
    await installed.getByRole('link', { name: 'Manage Photo Album' }).click();
    await page.waitForURL(`${url}/apps/${ALBUM}`);
    assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), [], 'no script errors, nothing refused by the CSP');
    assert.deepEqual(failed.filter((f) => f !== '404 /favicon.ico'), [], 'every request answered (there is no favicon)');
  });
});
