/** A real Chromium (Debian's), driven by playwright-core, for the browser tests. */
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSWORD, setupCodeOf } from './ui.ts';

const executablePath = process.env.FELHOM_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDir = path.join(import.meta.dirname, '..', '..', 'test-output', 'screenshots');

/** Skips loudly without Chromium; under CI=true its absence fails instead. */
export async function requireBrowser(t: TestContext): Promise<Browser | null> {
  if (!fs.existsSync(executablePath)) {
    const message = `no Chromium at ${executablePath}`;
    if (process.env.CI === 'true') throw new Error(`${message}, and CI=true: browser tests must run in CI (run scripts/browser.sh)`);
    process.stderr.write(`\n*** SKIPPING "${t.name}": ${message}. Run scripts/browser.sh to install it. ***\n\n`);
    t.skip(message);
    return null;
  }
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  return browser;
}

/** A page that records console errors and CSP violations, which the tests then assert are absent. */
export async function newPage(browser: Browser, options: { width?: number; height?: number } = {}): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** On the setup page: creates the account with the controller's setup code, as a customer would, and waits for the home page. */
export async function createAccount(page: Page, dataDir: string): Promise<void> {
  await page.getByLabel('Setup code').fill(setupCodeOf(dataDir));
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.getByRole('heading', { name: 'Your server' }).waitFor();
}
