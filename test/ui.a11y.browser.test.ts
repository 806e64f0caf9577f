/**
 * Keyboard, labels and contrast in a real browser (Debian's Chromium), on every page a
 * customer reaches: the first-run setup is done with the keyboard alone, every form
 * control has a label, every focusable element shows where the focus is, text keeps
 * WCAG AA contrast against what is actually behind it, and no page scrolls sideways on a
 * phone (390 px). With an app installed, its own pages and the status and 404 pages too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { createAccount, newPage, requireBrowser } from './helpers/browser.ts';
import { controller, devAgent } from './helpers/controller.ts';
import { cleanUpProject, requireDocker } from './helpers/docker.ts';
import { PASSWORD, setupCodeOf } from './helpers/ui.ts';

/** WCAG colour arithmetic, run in the page: parse, composite, luminance, contrast, the background behind an element. */
const COLOUR = `
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const luminance = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((under, top) => over(top, under), { r: 255, g: 255, b: 255, a: 1 });
  };
  const contrast = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
`;

/** Text with less than WCAG AA contrast (4.5:1, or 3:1 for large text) against its composited background. */
const LOW_CONTRAST = `(() => {
  ${COLOUR}
  const problems = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('.sr-only, .skip, option, svg, meter, script, [hidden], details:not([open]) > :not(summary)')) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || el.disabled) continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const ratio = contrast(fg, bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) problems.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + walker.currentNode.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2) + ':1');
  }
  return problems;
})()`;

/** Visible form controls without an accessible name. */
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter((el) => el.getClientRects().length > 0)
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map((el) => el.outerHTML.slice(0, 80))`;

/** Focusable elements a Tab should reach; a group of radio buttons is one stop (arrow keys move within it). */
const VISIBLE_FOCUSABLE = `[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  .filter((el) => el.getClientRects().length > 0 && !el.disabled && !el.closest('details:not([open]) > :not(summary)'))
  .filter((el, i, all) => !(el.type === 'radio' && el.name && all.slice(0, i).some((other) => other.type === 'radio' && other.name === el.name && other.form === el.form))).length`;

/** Tabs through the whole page: each stop must show a focus ring, and every focusable element must be reached. */
async function tabThrough(page: Page, route: string): Promise<void> {
  // Start from the top of the page, even where a field has autofocus (sign-in).
  await page.evaluate("document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex')");
  const first = await pressTab(page);
  assert.equal(first.skip, true, `${route}: the first Tab reaches the skip link`);
  assert.ok(first.left >= 0, `${route}: the skip link comes into view when focused`);
  const stops = new Set<string>([first.id]);
  for (let i = 0; i < 200; i++) {
    const stop = await pressTab(page);
    if (stop.end || stops.has(stop.id)) break;
    stops.add(stop.id);
    assert.ok(stop.ring, `${route}: ${stop.id} shows no focus ring with 3:1 contrast`);
  }
  const focusable = (await page.evaluate(VISIBLE_FOCUSABLE)) as number;
  assert.ok(stops.size >= focusable, `${route}: Tab reached ${stops.size} of ${focusable} focusable elements`);
}

async function pressTab(page: Page) {
  await page.keyboard.press('Tab');
  return (await page.evaluate(`(() => {
    const el = document.activeElement;
    if (el === document.body) return { id: 'body', end: true, skip: false, left: 0, ring: false };
    const style = getComputedStyle(el);
    ${COLOUR}
    // A focus ring needs 3:1 against what is around it (WCAG non-text contrast).
    const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 && contrast(parse(style.outlineColor), background(el.parentElement)) >= 3;
    if (!el.dataset.tabStop) el.dataset.tabStop = String(document.querySelectorAll('[data-tab-stop]').length);
    return { end: false, id: el.tagName.toLowerCase() + '#' + el.dataset.tabStop + ' ' + (el.getAttribute('href') || el.getAttribute('name') || el.textContent.trim().slice(0, 20)), skip: el.classList.contains('skip'), left: el.getBoundingClientRect().left, ring };
  })()`)) as { id: string; end: boolean; skip: boolean; left: number; ring: boolean };
}

/** How far the page scrolls sideways, and the elements that stick out past the right edge (outermost first). */
const SIDEWAYS = `(() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll('*')]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .filter((el, _, all) => !all.includes(el.parentElement))
    .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' right=' + Math.round(el.getBoundingClientRect().right));
  return { overflow: document.documentElement.scrollWidth - width, wide };
})()`;

/** On a phone (390 px wide) the page must not scroll sideways; the viewport is put back afterwards. */
async function noSidewaysScroll(page: Page, route: string): Promise<void> {
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const { overflow, wide } = (await page.evaluate(SIDEWAYS)) as { overflow: number; wide: string[] };
    assert.ok(overflow <= 1, `${route}: scrolls sideways by ${overflow}px on a phone; sticking out: ${wide.join(', ')}`);
  } finally {
    await page.setViewportSize(size);
  }
}

async function checkPage(page: Page, route: string): Promise<void> {
  assert.deepEqual(await page.evaluate(UNLABELLED), [], `${route}: every control has a label`);
  assert.deepEqual(await page.evaluate(LOW_CONTRAST), [], `${route}: text contrast`);
  await tabThrough(page, route);
  await noSidewaysScroll(page, route);
}

/** Presses Tab until the control labelled `label` has the focus. */
async function tabTo(page: Page, label: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate('document.activeElement.labels?.[0]?.textContent.trim() ?? ""')) as string;
    if (focused === label) return;
  }
  assert.fail(`Tab never reached "${label}"`);
}

describe('the customer UI for keyboard and eyes', () => {
  it('when a customer uses only the keyboard, then setup works, and every page has labels, focus rings and readable contrast', async (t) => {
    const browser = await requireBrowser(t);
    if (!browser) return;
    const agent = await devAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const url = c.controller.url;
    const { page } = await newPage(browser);

    await page.goto(`${url}/setup`);
    await checkPage(page, '/setup');
    await page.goto(`${url}/setup`);
    await tabTo(page, 'Setup code');
    await page.keyboard.type(setupCodeOf(c.dataDir));
    await tabTo(page, 'New password');
    await page.keyboard.type(PASSWORD);
    await tabTo(page, 'Repeat the password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your server' }).waitFor();

    const disks = await c.controller.agent.listDisks();
    const dataBearing = disks.find((d) => d.data_bearing && !d.system)!;
    for (const route of ['/', '/store', '/store?category=media', '/store?q=nothing-matches', '/store/plan?catalog=jellyfin', '/disks', `/disks/${dataBearing.id}/eject`, `/disks/${dataBearing.id}/format`, '/host', '/backups', '/activity', '/settings']) {
      const response = await page.goto(`${url}${route}`);
      assert.equal(response?.status(), 200, route);
      await checkPage(page, route);
    }
    await page.goto(`${url}/settings`);
    await page.locator('header').getByRole('button', { name: 'Sign out' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${url}/login`);
    await checkPage(page, '/login');
  });

  it('when an app is installed, then its page, its uninstall and roll-back pages, the status page and a missing page pass the same checks', async (t) => {
    if (!(await requireDocker(t))) return;
    const browser = await requireBrowser(t);
    if (!browser) return;
    const agent = await devAgent(t);
    const c = await controller(t, { bootstrapPath: agent.bootstrapPath });
    const url = c.controller.url;
    const id = `a11y-app-${process.pid % 10000}`;
    cleanUpProject(t, id);
    const manifest = `schema: felhom.app/v1\nid: ${id}\nname: Notes\nversion: "1.0"\nvolumes:\n  data: { class: hot }\n`;
    const compose = `services:\n  web:\n    image: felhom-test/busybox:latest\n    init: true\n    command: ["sh", "-c", "echo started; exec sleep 3600"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n`;
    const installed = await request(url).post('/api/v1/apps').set('Authorization', `Bearer ${c.token}`).send({ manifest, compose });
    assert.equal(installed.status, 202, installed.text);
    await c.controller.apps.settled();
    assert.equal(c.controller.apps.record(id)?.status, 'installed');

    const { page } = await newPage(browser);
    await page.goto(`${url}/setup`);
    await createAccount(page, c.dataDir);

    await page.goto(`${url}/apps/${id}`);
    await page.locator('#app-live [data-state="running"]').waitFor();
    const rollback = await page.locator('#app-snapshots a').first().getAttribute('href');
    assert.match(rollback ?? '', new RegExp(`^/apps/${id}/rollback\\?snapshot=.+`), 'the install snapshot has a roll-back link');
    const routes: Array<[string, number]> = [
      ['/', 200],
      [`/apps/${id}`, 200],
      [`/apps/${id}/uninstall`, 200],
      [rollback!, 200],
      ['/disks', 200],
      ['/backups', 200],
      ['/activity', 200],
      ['/status', 200],
      ['/no-such-page', 404],
    ];
    for (const [route, status] of routes) {
      const response = await page.goto(`${url}${route}`);
      assert.equal(response?.status(), status, route);
      await checkPage(page, route);
    }

    // A keyboard user on a roll-back link keeps the focus while the app page refreshes its live part.
    await page.goto(`${url}/apps/${id}`);
    await page.locator('#app-snapshots a').first().focus();
    await page.waitForResponse((r) => r.url().endsWith(`/apps/${id}/live`));
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate("document.activeElement.closest('#app-snapshots a') ? 'the roll-back link' : document.activeElement.tagName"), 'the roll-back link');
  });
});
