// `salvo watch JOB --dashboard` on a real 2-DC cluster (`salvo cluster up` on loopback, TLS):
// the live page, opened in headless Chromium, shows each datacenter's throughput, latency and
// errors as the job runs (windows the owner gate puts in the job's snapshots), then the final
// per-DC values, which equal the results JSON; the page saved beside the results opens offline
// with the same values. The gate (started with --dashboard-port, here SALVO_DASHBOARD_PORT)
// serves the same page for the job it owns. Screenshots go to test-artifacts/ (gitignored).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunResults } from '../../src/stats/types.js';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import { launchChromium, openPage, text } from '../support/browser.js';
import {
  ROOT,
  fixture,
  readResults,
  runCli,
  schemaErrors,
  startCli,
  tempDir,
} from '../support/cli.js';
import {
  startLocalCluster,
  stopLocalCluster,
  type LocalCluster,
} from '../support/local-cluster.js';
import { freePort } from '../support/servers.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'reporters');
const dir = tempDir('salvo-job-dashboard-');
let cluster: LocalCluster | undefined;
let target: TargetServer;
let browser: BrowserContext;
let gateDashboardPort = 0;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  // The smallest 2-DC cluster: 1 gate (serving its dashboard), and 1 manager and 1 one-core
  // worker per DC.
  gateDashboardPort = await freePort();
  cluster = await startLocalCluster(
    dir,
    ['--dcs', '2', '--gates', '1', '--managers', '1', '--workers', '1'],
    { SALVO_DASHBOARD_PORT: String(gateDashboardPort) },
  );
});

after(async () => {
  await stopLocalCluster(cluster);
  await browser?.close();
  await target?.close();
});

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Each datacenter's values on the page equal the results' `distributed` section. */
async function checkDcs(page: Page, results: RunResults): Promise<void> {
  const dcs = Object.entries(results.distributed?.dcs ?? {});
  assert.deepEqual(
    dcs.map(([dc]) => dc),
    ['dc1', 'dc2'],
  );
  const secs = results.run.durationMs / 1000;
  for (const [dc, d] of dcs) {
    const row = `#dcs tr[data-dc="${dc}"]`;
    assert.equal(await text(page, `${row} [data-k=status]`), d.status, `${dc} status`);
    assert.equal(await text(page, `${row} [data-k=requests]`), String(d.requests), dc);
    assert.equal(await text(page, `${row} [data-k=failed]`), String(d.failed), dc);
    assert.equal(
      Number(await text(page, `${row} [data-k=rps]`)),
      Math.round((d.requests / secs) * 10) / 10,
      `${dc} req/s`,
    );
    assert.ok(d.steps && d.steps.length === 2, `${dc} has its step latencies`);
    for (const s of d.steps) {
      const cells = `#dcs tr[data-dc-step="${dc}/${s.workflow}/${s.step}"]`;
      assert.equal(await text(page, `${cells} [data-k=count]`), String(s.count));
      assert.equal(await text(page, `${cells} [data-k=failed]`), String(s.failed));
      assert.equal(Number(await text(page, `${cells} [data-k=p50]`)), round2(s.latencyMs.p50));
      assert.equal(Number(await text(page, `${cells} [data-k=p99]`)), round2(s.latencyMs.p99));
    }
    // The DC's charts carry its own series.
    const series = d.series ?? [];
    assert.ok(series.length >= 2, `${dc} has a series`);
    for (const [chart, field] of [
      ['dc-throughput', 'rps'],
      ['dc-errors', 'failed'],
    ] as const) {
      const values = await page
        .locator(`svg[data-chart=${chart}] polyline[data-series="${dc}"]`)
        .getAttribute('data-values');
      assert.deepEqual(
        values?.split(',').map(Number),
        series.map((p) => p.workflows.reduce((n, w) => n + w[field], 0)),
        `${dc} ${chart}`,
      );
    }
  }
}

describe('salvo watch --dashboard on a 2-DC cluster', { timeout: 600_000 }, () => {
  void test('the live page (of watch and of the owner gate) shows each datacenter as the job runs, then values equal to the results JSON; the saved HTML matches offline', async () => {
    const client = cluster?.client ?? [];
    const submit = await runCli(
      ['submit', fixture('dc-dashboard.ts'), ...client, '--dcs', 'dc1,dc2', '--target', target.url],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(submit.code, 0, submit.stderr + submit.stdout);
    const job = /job (job-\S+) accepted/.exec(submit.stdout)?.[1];
    assert.ok(job, submit.stdout);

    const port = await freePort();
    const out = join(dir, 'watched.json');
    const watch = startCli(
      ['watch', job, ...client, '-o', out, '--dashboard', '--dashboard-port', String(port)],
      { cwd: dir },
    );
    const { page, errors } = await openPage(browser);
    const gate = await openPage(browser);
    let results: RunResults;
    try {
      await watch.waitFor(/dashboard: http:\/\/127\.0\.0\.1:\d+\//, 60_000);
      await page.goto(`http://127.0.0.1:${port}/`);
      await gate.page.goto(`http://127.0.0.1:${gateDashboardPort}/jobs/${job}/`);
      // Live, on both pages: both DCs in the DC section, with requests of their own.
      // Both pages are watched at once, so neither waits for the other while the job runs.
      await Promise.all(
        [page, gate.page].map(async (p) => {
          await p.waitForFunction(
            `document.querySelectorAll('#dcs tr[data-dc]').length === 2 && document.body.dataset.final === 'no' && [...document.querySelectorAll('#dcs tr[data-dc] [data-k=requests]')].every((e) => Number(e.textContent) > 0)`,
            undefined,
            { timeout: 60_000 },
          );
          assert.equal(await text(p, '#state'), 'live');
          assert.equal(await text(p, '#dcs tr[data-dc="dc1"] [data-k=status]'), 'running');
        }),
      );
      await page.screenshot({ path: join(ARTIFACTS, 'job-dashboard-live.png'), fullPage: true });
      await gate.page.screenshot({
        path: join(ARTIFACTS, 'gate-dashboard-live.png'),
        fullPage: true,
      });

      for (const p of [page, gate.page]) {
        await p.waitForFunction("document.body.dataset.final === 'yes'", undefined, {
          timeout: 120_000,
        });
      }
      const r = await watch.done;
      assert.equal(r.code, 0, r.stderr + r.stdout); // failed steps without thresholds fail no run
      results = readResults(out);
      assert.deepEqual(schemaErrors(results), []);
      assert.equal(results.distributed?.job, job);
      assert.equal(await text(page, '#state'), 'finished');
      await checkDcs(page, results);
      // The DCs add up to the whole job, step by step.
      const shop = results.workflows.find((w) => w.name === 'shop');
      assert.ok(shop);
      for (const step of shop.steps) {
        const perDc: number[] = Object.values(results.distributed?.dcs ?? {}).map(
          (d) => d.steps?.find((s) => s.step === step.name)?.count ?? 0,
        );
        assert.equal(
          perDc.reduce((a, b) => a + b, 0),
          step.count,
          step.name,
        );
        assert.ok(
          perDc.every((n) => n > 0),
          `${step.name} ran in both DCs`,
        );
      }
      assert.ok(
        Object.values(results.distributed?.dcs ?? {}).every((d) => d.failed > 0),
        'each DC has errors of its own',
      );
      await page.screenshot({ path: join(ARTIFACTS, 'job-dashboard-final.png'), fullPage: true });
      assert.deepEqual(errors, []);

      // The gate's own page of the job shows the same, and its index lists the job.
      assert.equal(await text(gate.page, '#state'), 'finished');
      await checkDcs(gate.page, results);
      assert.deepEqual(gate.errors, []);
      await gate.page.goto(`http://127.0.0.1:${gateDashboardPort}/`);
      assert.equal(await text(gate.page, `tr[data-job="${job}"] td:nth-child(3)`), 'finished');
    } finally {
      await gate.page.close();
      await page.close();
      if (watch.child.exitCode === null) watch.child.kill('SIGKILL');
    }

    const html = out.replace(/\.json$/, '.html');
    assert.ok(existsSync(html), 'the report was written beside the results');
    const report = await openPage(browser);
    try {
      await report.page.goto(pathToFileURL(html).href);
      assert.equal(await text(report.page, '#state'), 'report');
      await checkDcs(report.page, results);
      assert.deepEqual(
        report.requests.filter((u) => !u.startsWith('file:')),
        [],
        'the report loads nothing from the network',
      );
      assert.deepEqual(report.errors, []);
      await report.page.screenshot({ path: join(ARTIFACTS, 'job-report.png'), fullPage: true });
    } finally {
      await report.page.close();
    }
  });

  void test('salvo submit --watch --dashboard serves the page for the job it submits and writes the same report', async () => {
    const out = join(dir, 'submitted.json');
    const submit = startCli(
      [
        'submit',
        fixture('dc-dashboard.ts'),
        ...(cluster?.client ?? []),
        '--dcs',
        'dc1,dc2',
        '--target',
        target.url,
        '--watch',
        '--dashboard',
        '-o',
        out,
      ],
      { cwd: dir },
    );
    await submit.waitFor(/dashboard: http:\/\/127\.0\.0\.1:\d+\//, 120_000);
    const r = await submit.done;
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const html = out.replace(/\.json$/, '.html');
    assert.ok(r.stdout.includes(`report: ${html}\n`), r.stdout);
    const results = readResults(out);
    const { page, errors } = await openPage(browser);
    try {
      await page.goto(pathToFileURL(html).href);
      await checkDcs(page, results);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
