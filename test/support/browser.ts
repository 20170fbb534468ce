// Test support for pages opened in headless Chromium (Debian's package, installed by
// scripts/setup-reporters.sh): the browser, a page that records its console errors and requests,
// and reading an element's text.
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './cli.js';
import { requireBinary } from './servers.js';

export function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('salvo-chromium-'), {
    executablePath: requireBinary('/usr/bin/chromium'),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
}

/** A page that records console errors, page errors and every request it makes. */
export async function openPage(
  browser: BrowserContext,
): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  return { page, errors, requests };
}

export const text = async (page: Page, selector: string): Promise<string> =>
  ((await page.locator(selector).first().textContent()) ?? '').trim();
