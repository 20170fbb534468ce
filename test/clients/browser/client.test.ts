// Browser client driving Debian's Chromium (playwright-core) against the embedded target's
// /app/ pages: navigations and actions, web vitals reported and recorded as trends per visit,
// a browser context per VU, and failures as named kinds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError, statusOfResult } from '../../../src/clients/client.js';
import { BrowserClient, VITAL_METRICS } from '../../../src/clients/browser/index.js';
import { startTargetServer, type TargetServer } from '../../../src/target/server.js';
import { freePort, requireBinary } from '../../support/peers.js';

let target: TargetServer;
before(async () => {
  requireBinary('/usr/bin/chromium');
  target = await startTargetServer({ port: 0 });
});
after(() => target.close());

/** A client whose trends land in `samples`. */
function client(samples = new Map<string, number[]>()): BrowserClient {
  return new BrowserClient({
    baseUrl: target.url,
    headers: { 'x-salvo-test': '1' },
    timeoutMs: 15_000,
    vuId: 1,
    metrics: {
      trend: (name) => ({
        add: (value) => samples.set(name, [...(samples.get(name) ?? []), value]),
      }),
    },
  });
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.protocol, 'browser');
    return error.kind;
  }
  assert.fail('expected a ClientError');
}

describe('BrowserClient', () => {
  test('a missing Chromium is no_browser, naming the setup script', async () => {
    const saved = process.env['SALVO_CHROMIUM'];
    process.env['SALVO_CHROMIUM'] = '/nonexistent/chromium';
    const c = client();
    try {
      const error = await c.newPage().then(
        () => assert.fail('expected no_browser'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ClientError);
      assert.equal(error.kind, 'no_browser');
      assert.match(error.message, /setup-protocols\.sh/);
    } finally {
      c.close();
      if (saved === undefined) delete process.env['SALVO_CHROMIUM'];
      else process.env['SALVO_CHROMIUM'] = saved;
    }
  });

  test('navigates, fills and clicks; each visit records TTFB, FCP, LCP, CLS and load once', async () => {
    const samples = new Map<string, number[]>();
    const c = client(samples);
    try {
      const page = await c.newPage();
      const visit = await page.goto('/app/');
      assert.equal(visit.status, 200);
      assert.equal(statusOfResult(visit), 200);
      assert.equal(visit.url, `${target.url}/app/`);
      assert.ok((visit.vitals.ttfbMs ?? 0) > 0, `ttfb ${visit.vitals.ttfbMs}`);
      assert.ok((visit.vitals.fcpMs ?? 0) > 0, `fcp ${visit.vitals.fcpMs}`);
      assert.equal(await page.title(), 'salvo shop');
      await page.fill('#q', 'al');
      await page.click('#go');
      assert.equal(await page.text('#result'), '1 found: alpha');
      // The late banner shifts the page: CLS above zero, and an LCP.
      await page.waitFor('#banner');
      const settled = await page.vitals();
      assert.ok(settled.cls > 0, `cls ${settled.cls}`);
      assert.ok((settled.lcpMs ?? 0) > 0, `lcp ${settled.lcpMs}`);
      assert.ok((settled.loadMs ?? 0) > 0, `load ${settled.loadMs}`);
      assert.equal(samples.size, 0, 'nothing recorded while the visit lasts');
      // A link click leaves the page: that visit's vitals are recorded.
      await page.click('text=beta');
      await page.waitFor('#add');
      assert.equal(await page.text('#name'), 'beta');
      await page.click('#add');
      assert.equal(await page.text('#cart'), 'in cart: beta');
      await page.vitals();
      assert.equal(page.recordedVisits, 1);
      assert.equal(samples.get(VITAL_METRICS.cls)?.[0], settled.cls);
      await page.close();
      assert.equal(page.recordedVisits, 2);
      for (const name of Object.values(VITAL_METRICS)) {
        assert.equal(samples.get(name)?.length, 2, `${name}: one sample per visit`);
      }
    } finally {
      c.close();
    }
  });

  test('each VU has its own browser context: cookies do not leak between VUs', async () => {
    const a = client();
    const b = client();
    try {
      const pa = await a.newPage();
      await pa.goto('/cookies/set?session=vu-a');
      await pa.goto('/cookies');
      assert.match(await pa.text('body'), /"session":"vu-a"/);
      const pb = await b.newPage();
      await pb.goto('/cookies');
      assert.equal((await pb.text('body')).trim(), '{}');
      // The workflow's headers are sent with every request.
      await pa.goto('/echo');
      assert.match(await pa.text('body'), /"x-salvo-test":"1"/);
    } finally {
      a.close();
      b.close();
    }
  });

  test('failures are named: status kept for expectStatus, connect_refused, timeout, closed', async () => {
    const c = client();
    try {
      const page = await c.newPage();
      const missing = await page.goto('/app/item/99');
      assert.equal(missing.status, 404);
      assert.equal(statusOfResult(missing), 404);
      await page.goto('/app/');
      assert.equal(await kindOf(page.click('#no-such-button', { timeoutMs: 300 })), 'timeout');
      await page.close();
      assert.equal(await kindOf(page.goto('/app/')), 'closed');
      const other = await c.newPage();
      assert.equal(
        await kindOf(other.goto(`http://127.0.0.1:${await freePort()}/`)),
        'connect_refused',
      );
      c.close();
      assert.equal(await kindOf(c.newPage()), 'closed');
    } finally {
      c.close();
    }
  });
});
