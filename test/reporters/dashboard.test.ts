// The live dashboard and the HTML reports in headless Chromium (Debian's package, installed by
// scripts/setup-reporters.sh): no console errors, no network beyond the page itself, and values
// read back from the page equal the results JSON. Screenshots go to test-artifacts/ (gitignored).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunResults } from '../../src/stats/types.js';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, ROOT, runCli, startCli, tempDir } from '../support/cli.js';
import { launchChromium, openPage as openPageIn, text } from '../support/browser.js';
import { freePort } from '../support/servers.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'reporters');
const dir = tempDir('salvo-dash-');
let browser: BrowserContext;
let target: Awaited<ReturnType<typeof startTargetServer>>;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await target?.close();
});

const openPage = (): ReturnType<typeof openPageIn> => openPageIn(browser);

/** Checks the rendered report against the results document. */
async function checkAgainstResults(page: Page, results: RunResults): Promise<void> {
  const wf = results.workflows[0]!;
  assert.equal(await text(page, '[data-k=requests]'), String(wf.totals.count));
  assert.equal(await text(page, '[data-k=status]'), results.run.status);
  assert.equal(
    await text(page, '[data-k=thresholds]'),
    `${results.thresholds.passed}/${results.thresholds.total}`,
  );
  for (const s of wf.steps) {
    const row = `[data-workflow] ~ section tr[data-step="${s.name}"]`;
    assert.equal(await text(page, `${row} [data-k=count]`), String(s.count), `${s.name} count`);
    assert.equal(
      Number(await text(page, `${row} [data-k=p99]`)),
      Math.round(s.latencyMs.p99 * 100) / 100,
      `${s.name} p99`,
    );
  }
  for (const t of wf.thresholds) {
    const verdict = await text(
      page,
      `tr[data-threshold="${t.target}: ${t.expression}"] [data-k=verdict]`,
    );
    assert.equal(verdict, t.passed ? 'pass' : 'FAIL', t.expression);
  }
  // The charts carry the run's own series.
  const series = results.series ?? [];
  assert.ok(series.length >= 2, 'the results have a series');
  const rps = await page
    .locator('svg[data-chart=throughput] polyline')
    .first()
    .getAttribute('data-values');
  assert.deepEqual(
    rps?.split(',').map(Number),
    series.map((p) => p.workflows[0]?.rps),
  );
  const p99 = await page
    .locator('svg[data-chart=latency] polyline[data-series="home p99"]')
    .getAttribute('data-values');
  assert.deepEqual(
    p99?.split(',').map((v) => (v === '' ? null : Number(v))),
    series.map((p) => p.workflows[0]?.steps.find((s) => s.name === 'home')?.p99Ms ?? null),
  );
  const points = await page
    .locator('svg[data-chart=throughput] polyline')
    .first()
    .getAttribute('points');
  assert.ok((points ?? '').split(' ').length >= 2, 'the throughput line is drawn');
}

describe('dashboard and HTML report', () => {
  let results: RunResults;
  let out: string;

  test('live dashboard: windows stream in over server-sent events, then the final results; the saved HTML report matches the results JSON offline', async () => {
    const port = await freePort();
    out = join(dir, 'run.json');
    const proc = startCli([
      'run',
      fixture('reporters.ts'),
      '--target',
      target.url,
      '--workers',
      '2',
      '--no-check',
      '--out',
      out,
      '--dashboard',
      '--dashboard-port',
      String(port),
    ]);
    const { page, errors } = await openPage();
    try {
      await proc.waitFor(/dashboard: http:\/\/127\.0\.0\.1:\d+\//);
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction('Number(document.body.dataset.windows) >= 2', undefined, {
        timeout: 20_000,
      });
      assert.equal(await text(page, '#state'), 'live');
      assert.equal(await page.locator('#dcs').count(), 0, 'a local run has no datacenter section');
      const liveCount = Number(await text(page, '[data-k=requests]'));
      assert.ok(liveCount > 0, 'live request count');
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
      await page.waitForFunction("document.body.dataset.final === 'yes'", undefined, {
        timeout: 30_000,
      });
      const r = await proc.done;
      assert.equal(r.code, 3, r.stderr);
      results = readResults(out);
      assert.equal(await text(page, '#state'), 'finished');
      await checkAgainstResults(page, results);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-final.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }

    const html = out.replace(/\.json$/, '.html');
    assert.ok(existsSync(html), 'the report was written beside the results');
    const report = await openPage();
    try {
      await report.page.goto(pathToFileURL(html).href);
      await checkAgainstResults(report.page, results);
      assert.equal(await text(report.page, '#state'), 'report');
      assert.deepEqual(
        report.requests.filter((u) => !u.startsWith('file:')),
        [],
        'the report loads nothing from the network',
      );
      assert.deepEqual(report.errors, []);
      await report.page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await report.page.close();
    }
  });

  test('salvo report builds the same page from a saved results file; salvo compare names the regressed step in its table and HTML', async () => {
    assert.ok(results, 'the run of the previous test');
    const html = join(dir, 'again.html');
    const r = await runCli(['report', out, '-o', html]);
    assert.equal(r.code, 0, r.stderr);
    const { page, errors, requests } = await openPage();
    try {
      await page.goto(pathToFileURL(html).href);
      await checkAgainstResults(page, results);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
      );
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }

    // The same run with 'home' three times slower and a tenth of its requests failed.
    const slower = structuredClone(results);
    const home = slower.workflows[0]!.steps.find((s) => s.name === 'home')!;
    home.latencyMs.p50 *= 3;
    home.latencyMs.p99 *= 3;
    home.failed = Math.ceil(home.count / 10);
    const next = join(dir, 'slower.json');
    writeFileSync(next, JSON.stringify(slower));
    const cmpHtml = join(dir, 'compare.html');
    const cmp = await runCli(['compare', out, next, '-o', cmpHtml]);
    assert.equal(cmp.code, 3, 'a regression exits 3');
    assert.match(cmp.stdout, /shop\/home .* regressed \(.*p99 \+200\.0 %, errors \+\d+\.\d+ pp\)/);
    assert.match(cmp.stdout, /shop\/json .* unchanged/);
    assert.match(cmp.stdout, /overall: regressed/);
    const c = await openPage();
    try {
      await c.page.goto(pathToFileURL(cmpHtml).href);
      assert.equal(await text(c.page, 'tr[data-step="shop/home"] [data-k=verdict]'), 'regressed');
      assert.equal(await text(c.page, 'tr[data-step="shop/json"] [data-k=verdict]'), 'unchanged');
      assert.equal(await text(c.page, 'tr[data-step="shop/home"] [data-k=p99-change]'), '200%');
      assert.equal(await text(c.page, '[data-k=overall]'), 'overall: regressed');
      assert.deepEqual(c.errors, []);
      await c.page.screenshot({ path: join(ARTIFACTS, 'compare.png'), fullPage: true });
    } finally {
      await c.page.close();
    }
    const same = await runCli(['compare', out, out]);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /overall: no regression/);
  });
});
