// Browser steps under `salvo run` (Debian's Chromium against the embedded target's /app/
// pages): steps and checks counted like HTTP ones, each page visit's web vitals recorded as
// browser_* trends in the results, and thresholds on them evaluated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import type { MetricResult } from '../../src/stats/types.js';
import { readResults, runFixture, schemaErrors } from '../support/cli.js';
import { requireBinary } from '../support/peers.js';

let target: TargetServer;
before(async () => {
  requireBinary('/usr/bin/chromium');
  target = await startTargetServer({ port: 0 });
});
after(() => target.close());

void test('browser steps record web vitals as trends per visit; thresholds on them pass', async () => {
  const { cli, out } = await runFixture('browser.ts', { target: target.url, workers: 2 });
  assert.equal(cli.code, 0, cli.stderr);
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), []);
  const w = results.workflows[0];
  assert.ok(w);
  const step = w.steps.find((s) => s.name === 'search');
  assert.equal(step?.ok, 4);
  assert.equal(w.checks.find((c) => c.name === 'found gamma')?.passes, 4);
  // Two visits per iteration (the shop page, then the item page the link led to).
  for (const name of [
    'browser_ttfb',
    'browser_fcp',
    'browser_lcp',
    'browser_cls',
    'browser_load',
  ]) {
    const m: MetricResult | undefined = w.metrics.find((x) => x.name === name);
    assert.ok(m && m.kind === 'trend', `${name} is a trend`);
    assert.equal(m.count, 8, `${name}: one sample per visit`);
  }
  const cls = w.metrics.find((x) => x.name === 'browser_cls');
  assert.ok(cls?.kind === 'trend' && cls.summary.max > 0, 'the late banner shifted the layout');
  assert.deepEqual(
    w.thresholds.map((t) => [t.target, t.passed]),
    [
      ['browser_fcp', true],
      ['browser_cls', true],
    ],
  );
});
