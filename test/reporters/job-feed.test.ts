// Tests for src/reporters/dashboard/job-feed.ts (the windows of a job's snapshots, checked and
// taken once per DC and seq) and for addDcSteps/addDcSeries in src/reporters/dc-groups.ts (each DC's
// step latencies and series in the results, the series thinned to a byte budget).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobWindowFeed, asReportWindow } from '../../src/reporters/dashboard/job-feed.js';
import { addDcSeries, addDcSteps, MAX_DC_GROUPS, shareOf } from '../../src/reporters/dc-groups.js';
import type { DistributedResult, LatencySummary, SeriesWindow } from '../../src/stats/types.js';
import type { BreakdownGroup, ReportWindow } from '../../src/reporters/types.js';
import type { RunResults } from '../../src/stats/types.js';

function window(dc: string, seq: number): ReportWindow {
  return {
    seq,
    atMs: 1_000 * seq,
    elapsedMs: 1_000 * seq,
    intervalMs: 1_000,
    labels: { job: 'job-1', dc },
    workflows: [
      {
        name: 'wf',
        vus: 2,
        count: 10,
        failed: 1,
        rps: 10,
        errors: { exception: 1 },
        total: { count: 10 * seq, ok: 9 * seq, failed: seq },
        steps: [{ name: 's', count: 10, failed: 1, p50Ms: 1.5, p90Ms: 2, p99Ms: 3, maxMs: null }],
        thresholds: [],
      },
    ],
  };
}

void test('a feed takes each (DC, seq) once and in order: windows sent again in later snapshots are dropped', () => {
  const feed = new JobWindowFeed();
  const first = feed.take([window('*', 1), window('a', 1), window('b', 1)]);
  assert.deepEqual(
    first.map((w) => [w.labels.dc, w.seq]),
    [
      ['*', 1],
      ['a', 1],
      ['b', 1],
    ],
  );
  const next = feed.take([window('*', 1), window('a', 1), window('*', 2), window('a', 2)]);
  assert.deepEqual(
    next.map((w) => [w.labels.dc, w.seq]),
    [
      ['*', 2],
      ['a', 2],
    ],
  );
  assert.deepEqual(feed.take(undefined), []);
  assert.equal(feed.refused, 0);
});

void test('a malformed window is refused and counted; the others of the snapshot are taken', () => {
  const feed = new JobWindowFeed();
  const bad: unknown[] = [
    null,
    { ...window('a', 1), seq: 0 },
    { ...window('a', 1), labels: { dc: 7 } },
    { ...window('a', 1), workflows: [{ ...window('a', 1).workflows[0], rps: 'fast' }] },
    {
      ...window('a', 1),
      workflows: [{ ...window('a', 1).workflows[0], steps: [{ name: 's', count: -1 }] }],
    },
  ];
  for (const b of bad) assert.equal(asReportWindow(b), null, JSON.stringify(b));
  const taken = feed.take([...bad, window('a', 1)]);
  assert.equal(taken.length, 1);
  assert.equal(feed.refused, bad.length);
});

void test('a feed tells at most MAX_DC_GROUPS datacenters (and the whole job) apart', () => {
  const feed = new JobWindowFeed();
  const many = Array.from({ length: MAX_DC_GROUPS + 5 }, (_, i) => window(`dc${i}`, 1));
  const taken = feed.take([window('*', 1), ...many]);
  assert.equal(taken.length, MAX_DC_GROUPS + 1);
  assert.equal(feed.refused, 5);
});

const latency = (p50: number): LatencySummary => ({
  min: 0,
  max: p50 * 4,
  mean: p50,
  stdev: 0,
  p50,
  p75: p50,
  p90: p50 * 2,
  p95: p50 * 2,
  p99: p50 * 3,
  p999: p50 * 4,
});

void test('addDcSteps and addDcSeries put each DC’s step latencies and series into the distributed section, the series thinned (newest kept) to the budget', () => {
  const share = shareOf({});
  const distributed: DistributedResult = {
    job: 'job-1',
    dcs: {
      a: { status: 'completed', workers: {}, ...share },
      b: { status: 'completed', workers: {}, ...share },
    },
  };
  const group = (dc: string, p50: number): BreakdownGroup => ({
    labels: { dc },
    results: {
      workflows: [
        { name: 'wf', steps: [{ name: 's', count: 7, failed: 1, latencyMs: latency(p50) }] },
      ],
    } as unknown as RunResults,
  });
  const series = (dc: string, n: number): SeriesWindow[] =>
    Array.from({ length: n }, (_, i) => {
      const { labels, ...point } = window(dc, i + 1);
      void labels;
      return point;
    });
  const a = series('a', 40);
  const oneWindowBytes = JSON.stringify(a[0]).length;
  addDcSteps(distributed, [group('a', 2), group('b', 5), group('elsewhere', 1)]);
  const bySeries = new Map([
    ['a', a],
    ['b', series('b', 40)],
    ['elsewhere', series('elsewhere', 3)],
  ]);
  // No room even for 2 points each: no series at all.
  addDcSeries(distributed, bySeries, oneWindowBytes * 3);
  assert.ok(!('series' in (distributed.dcs['a'] ?? {})), 'no series');
  // Room for about 25 windows in all: 40 + 40 halve twice, to 10 + 10.
  addDcSeries(distributed, bySeries, oneWindowBytes * 25);
  assert.deepEqual(distributed.dcs['a']?.steps, [
    { workflow: 'wf', step: 's', count: 7, failed: 1, latencyMs: latency(2) },
  ]);
  assert.equal(distributed.dcs['b']?.steps?.[0]?.latencyMs.p99, 15);
  assert.equal(distributed.dcs['elsewhere'], undefined);
  const kept = distributed.dcs['a']?.series ?? [];
  assert.equal(kept.length, 10);
  assert.equal(kept.at(-1)?.seq, 40, 'the newest window is kept');
  assert.deepEqual(
    kept.map((w) => w.seq),
    [4, 8, 12, 16, 20, 24, 28, 32, 36, 40],
  );
});
