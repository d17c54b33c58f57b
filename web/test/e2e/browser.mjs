// Headless Chromium (Debian's package) driven by playwright-core, with every
// request to another origin blocked and counted, and every
// Content-Security-Policy violation recorded.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where screenshots of failed steps go. */
export const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');

/** @param {string} base the server's origin */
export async function openBrowser(base) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-swiftshader'],
  });
  const origin = new URL(base).origin;
  /** @type {string[]} */
  const foreign = [];
  /** @param {import('playwright-core').BrowserContextOptions} [options] */
  const newPage = async (options = { viewport: { width: 1280, height: 800 } }) => {
    const context = await browser.newContext(options);
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    await context.addInitScript(() => {
      /** @type {any} */ (window).__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        /** @type {any} */ (window).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== new URL(origin).host) foreign.push(ws.url());
    });
    /** @type {string[]} */
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, context, errors };
  };
  /**
   * Runs one step; on failure keeps a screenshot named after it.
   * @param {import('playwright-core').Page} page
   * @param {string} name
   * @param {() => Promise<void>} body
   */
  const step = async (page, name, body) => {
    try {
      await body();
    } catch (e) {
      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: join(RESULTS, `${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
      throw e;
    }
  };
  return { browser, newPage, foreign, step };
}
