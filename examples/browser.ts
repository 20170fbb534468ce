// A real browser: headless Chromium (Debian's, driven by playwright-core) opens the embedded
// target's shop page, searches, follows a link and adds to the cart. Each page visit's web
// vitals are recorded as trends (browser_ttfb, browser_fcp, browser_lcp, browser_cls,
// browser_load), which thresholds can name. Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

export default workflow('browser', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 1, duration: '10s' }),
  thresholds: { browser_lcp: ['p75 < 2500'], browser_cls: ['p75 < 0.5'] },
})
  .step('shop', async ({ browser }) => {
    const page = await browser.newPage();
    const visit = await page.goto('/app/');
    await page.fill('#q', 'be');
    await page.click('#go');
    const found = await page.text('#result');
    await page.click('text=beta');
    await page.click('#add');
    const cart = await page.text('#cart');
    await page.close(); // ends the visit: its LCP and CLS are recorded
    return { status: visit.status, ttfbMs: visit.vitals.ttfbMs, found, cart };
  })
  .check(
    'shop',
    'searched and added',
    (r) => r.found === '1 found: beta' && r.cart === 'in cart: beta',
  );
