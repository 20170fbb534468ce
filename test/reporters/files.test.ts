// File reporters in a real run (JUnit XML, CSV through its adapter) and the sampler's window
// math against the exact histogram.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bucketPercentile, subtractBuckets, WindowSampler } from '../../src/reporters/sampler.js';
import { parseReportOption } from '../../src/reporters/config.js';
import { Histogram } from '../../src/stats/histogram.js';
import { resultsToCsv } from '../../src/stats/results.js';
import type { RunResults, WorkflowResult } from '../../src/stats/types.js';
import { PromSink } from '../../src/reporters/prometheus.js';
import { reportSamples } from '../../src/reporters/samples.js';
import { tempDir } from '../support/cli.js';
import { producedResults } from './support.js';

describe('file reporters', () => {
  test('JUnit XML has one test case per threshold, failed ones with <failure>; the CSV adapter writes the results CSV', async () => {
    const dir = tempDir('salvo-files-');
    const junit = join(dir, 'out', 'junit.xml');
    const csv = join(dir, 'steps.csv');
    const { results, code } = await producedResults(
      ['--report', `junit:path=${junit},suite=ci`, '--report', `csv:path=${csv}`],
      dir,
    );
    assert.equal(code, 3, 'one threshold fails on purpose');
    const xml = readFileSync(junit, 'utf8');
    const wf = results.workflows[0]!;
    const cases = [
      ...xml.matchAll(
        /<testcase classname="ci\.shop" name="([^"]+)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g,
      ),
    ];
    assert.equal(cases.length, wf.thresholds.length);
    for (const t of wf.thresholds) {
      const c = cases.find((m) => m[1] === `${t.target}: ${t.expression}`.replaceAll('<', '&lt;'));
      assert.ok(c, `a test case for ${t.expression}`);
      assert.equal((c[3] ?? '').includes('<failure'), !t.passed, t.expression);
    }
    assert.match(
      xml,
      new RegExp(
        `<testsuites name="ci" tests="${wf.thresholds.length}" failures="${results.thresholds.failed}"`,
      ),
    );
    assert.equal(readFileSync(csv, 'utf8'), resultsToCsv(results));
  });

  test('--report values: URLs keep their colons, an escaped comma stays in the value', () => {
    assert.deepEqual(parseReportOption('influx:url=http://127.0.0.1:8086,db=a\\,b,version=2'), {
      kind: 'influx',
      url: 'http://127.0.0.1:8086',
      db: 'a,b',
      version: 2,
    });
    assert.deepEqual(parseReportOption('prometheus'), { kind: 'prometheus' });
    assert.deepEqual(parseReportOption('json:path=x.json,critical=true'), {
      kind: 'json',
      path: 'x.json',
      critical: true,
    });
  });
});

describe('window sampler', () => {
  test('window percentiles from differences of cumulative histograms equal those of the window alone', () => {
    const before = new Histogram();
    const window = new Histogram();
    for (let i = 1; i <= 500; i++) before.record(i * 37);
    for (let i = 1; i <= 300; i++) window.record(50_000 + i * 101);
    const cumulative = new Histogram();
    cumulative.merge(before);
    cumulative.merge(window);
    const diff = subtractBuckets(cumulative.toSparse().buckets, before.toSparse().buckets);
    assert.deepEqual(diff, window.toSparse().buckets);
    for (const p of [50, 90, 99, 100]) {
      assert.equal(
        bucketPercentile(diff, p, window.min, window.max),
        window.percentile(p),
        `p${p}`,
      );
    }
    assert.equal(bucketPercentile([], 50, 0, 0), null);
  });

  test('windows carry the increments since the previous sample; their sum is the total', () => {
    const sampler = new WindowSampler({ dc: 'a' });
    const h = new Histogram();
    const wf = (count: number, failed: number): WorkflowResult =>
      ({
        name: 'w',
        totals: { count, ok: count - failed, failed, rps: 0 },
        thresholds: [],
        steps: [
          {
            name: 's',
            count,
            failed,
            errors: failed ? { timeout: failed } : {},
            histogram: h.toSparse(),
          },
        ],
      }) as unknown as WorkflowResult;
    for (let i = 0; i < 10; i++) h.record(1000);
    const a = sampler.sample(1000, 0, [wf(10, 0)], new Map([['w', 3]]));
    for (let i = 0; i < 5; i++) h.record(9000);
    const b = sampler.sample(2000, 0, [wf(15, 2)], new Map([['w', 4]]));
    assert.deepEqual(a.labels, { dc: 'a' });
    assert.equal(a.workflows[0]?.count, 10);
    assert.equal(b.workflows[0]?.count, 5);
    assert.deepEqual(b.workflows[0]?.errors, { timeout: 2 });
    assert.equal(b.workflows[0]?.vus, 4);
    assert.equal(b.workflows[0]?.steps[0]?.p50Ms, 9, 'the window holds only the 9 ms samples');
    assert.equal(a.workflows[0]?.steps[0]?.p50Ms, 1);
    assert.deepEqual(
      sampler.series().map((w) => w.seq),
      [1, 2],
    );
  });
});

describe('per-DC breakdown', () => {
  const result = (count: number): RunResults =>
    ({
      run: { exitCode: 0 },
      thresholds: { total: 0, passed: 0, failed: 0 },
      workflows: [
        {
          name: 'w',
          totals: { count, ok: count, failed: 0, rps: count / 10 },
          thresholds: [],
          steps: [
            {
              name: 's',
              count,
              failed: 0,
              latencyMs: { p50: 1, p90: 2, p95: 3, p99: 4, max: 5 },
            },
          ],
        },
      ],
    }) as unknown as RunResults;

  test('a final report with a breakdown emits the merged result (dc="*") and each group with its labels', async () => {
    const sink = new PromSink();
    sink.apply(
      reportSamples({
        results: result(30),
        series: [],
        labels: { run: 'r' },
        breakdown: [
          { labels: { dc: 'a' }, results: result(10) },
          { labels: { dc: 'b' }, results: result(20) },
        ],
      }),
    );
    const text = await sink.registry.metrics();
    for (const [dc, n] of [
      ['\\*', 30],
      ['a', 10],
      ['b', 20],
    ] as const) {
      const line = `salvo_total_step_requests\\{run="r",dc="${dc}",workflow="w",step="s"\\} ${n}\\n`;
      assert.match(text, new RegExp(line));
    }
  });
});
