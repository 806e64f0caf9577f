/**
 * Saves a picture of the app store of a running development controller, for
 * docs/ui.md: Debian's Chromium, driven by playwright-core, signs in as the customer
 * would and photographs /store (or another page) as a 1280x900 window shows it. Start `./scripts/dev` first, then:
 *
 *   source scripts/toolchain.sh && node scripts/screenshot-store.ts --password '<the password>'
 *
 * On a fresh state (no account yet) it creates the account with that password, using
 * the setup code in <state-dir>/controller/setup-code.txt. The page is in the language
 * the controller is set to (Settings), as the customer sees it.
 *   --url <url>          the controller (default http://$FELHOM_LISTEN, else http://127.0.0.1:8080)
 *   --state-dir <dir>    the state of ./scripts/dev (default $DEV_STATE_DIR, else .dev)
 *   --out <file>         the picture (default docs/img/store.png)
 *   --page <path>        another page to photograph once signed in (default /store)
 *   --full-page          the whole page, not just the window
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = path.join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.FELHOM_LISTEN ?? '127.0.0.1:8080'}` },
    'state-dir': { type: 'string', default: process.env.DEV_STATE_DIR ?? path.join(root, '.dev') },
    password: { type: 'string' },
    out: { type: 'string', default: path.join(root, 'docs', 'img', 'store.png') },
    page: { type: 'string', default: '/store' },
    'full-page': { type: 'boolean', default: false },
  },
});
if (!values.password) {
  process.stderr.write('screenshot-store: --password is required (the account\'s, or the one to create on a fresh state)\n');
  process.exit(2);
}
const url = values.url.replace(/\/$/, '');
const executablePath = process.env.FELHOM_CHROMIUM ?? '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/store`);
  if (new URL(page.url()).pathname === '/setup') {
    const codeFile = path.join(values['state-dir'], 'controller', 'setup-code.txt');
    const code = fs.readFileSync(codeFile, 'utf8').split('\n')[0]!;
    await page.fill('#code', code);
    await page.fill('#password', values.password);
    await page.fill('#confirm', values.password);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.goto(`${url}/store`);
  } else if (new URL(page.url()).pathname === '/login') {
    await page.fill('#password', values.password);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.goto(`${url}/store`);
  }
  if (new URL(page.url()).pathname !== '/store') throw new Error(`could not sign in: the controller shows ${page.url()}`);
  // The icons are images of their own: wait until every one has loaded (or failed).
  await page.waitForLoadState('networkidle');
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  if (values.page !== '/store') await page.goto(`${url}${values.page}`);
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: values.out, fullPage: values['full-page'] });
  process.stdout.write(`screenshot-store: saved ${values.out}\n`);
} finally {
  await browser.close();
}
