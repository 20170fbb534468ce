// Tests for src/stats/aggregate.ts: exactly-once merging per (source, seq) in any order, exact
// histogram merging across sources, validation, timeline downsampling, live view and results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_OUT_OF_ORDER_SEQS,
  MAX_TIMELINE_POINTS,
  WorkflowAggregate,
} from '../../src/stats/aggregate.js';
import { Histogram } from '../../src/stats/histogram.js';
import { WorkflowRecorder } from '../../src/stats/recorder.js';
import { parseThreshold } from '../../src/stats/thresholds.js';
import type { StatsWindow } from '../../src/stats/types.js';

const T0 = 1_700_000_000_000;

/** A window with `count` ok executions of step `s` at latency 1000+i µs. */
function windowOf(
  seq: number,
  count: number,
  opts: { failed?: number; startMs?: number } = {},
): StatsWindow {
  const rec = new WorkflowRecorder('w', 0);
  const step = rec.step('s');
  for (let i = 0; i < count; i++) step.ok(1000 + i, 200);
  for (let i = 0; i < (opts.failed ?? 0); i++) step.fail(5000, 'timeout', 'took too long');
  rec.iterationStarted();
  rec.iterationCompleted(true);
  rec.setVus(2, 4);
  const w = rec.takeWindow(1000);
  const startMs = opts.startMs ?? T0 + (seq - 1) * 1000;
  return { ...w, seq, startMs, endMs: startMs + 1000 };
}

void test('a duplicate window is refused and changes nothing; out-of-order seqs merge once', () => {
  const agg = new WorkflowAggregate('w', { type: 'constant-vus', vus: 4 });
  agg.markStarted(T0);
  const windows = [1, 2, 3, 4, 5].map((seq) => windowOf(seq, seq * 10));
  assert.equal(agg.applyWindow('t1', windows[0]!), true);
  assert.equal(agg.applyWindow('t1', windows[2]!), true, 'seq 3 before seq 2 is merged');
  assert.equal(agg.applyWindow('t1', windows[0]!), false, 'seq 1 again is a duplicate');
  const before = JSON.stringify(agg.toResult([], T0 + 10_000));
  assert.equal(agg.applyWindow('t1', windows[2]!), false, 'seq 3 again is a duplicate');
  assert.equal(JSON.stringify(agg.toResult([], T0 + 10_000)), before, 'duplicate changed nothing');
  assert.equal(agg.applyWindow('t1', windows[1]!), true);
  assert.equal(agg.applyWindow('t1', windows[4]!), true);
  assert.equal(agg.applyWindow('t1', windows[3]!), true);
  for (const w of windows) assert.equal(agg.applyWindow('t1', w), false);
  assert.equal(agg.applyWindow('t2', windows[0]!), true, 'the same seq from another source is new');
  assert.equal(agg.duplicates, 7);
  const result = agg.toResult([], T0 + 10_000);
  assert.equal(result.totals.count, 10 + 20 + 30 + 40 + 50 + 10);
  assert.equal(result.iterations.completed, 6);
  assert.equal(agg.skippedSeqs, 0);
});

void test('merging windows from many threads equals one histogram fed all samples', () => {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  const whole = new Histogram();
  let state = 7;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state;
  };
  const recorders = [0, 1, 2, 3].map(() => new WorkflowRecorder('w', T0));
  for (let round = 1; round <= 5; round++) {
    for (const rec of recorders) {
      const step = rec.step('s');
      for (let i = 0; i < 500; i++) {
        const v = next() % 5_000_000;
        whole.record(v);
        step.ok(v);
      }
    }
    recorders.forEach((rec, i) =>
      agg.applyWindow(`thread-${i}`, rec.takeWindow(T0 + round * 1000)),
    );
  }
  const merged = Histogram.fromSparse(agg.toResult().steps[0]!.histogram);
  for (const p of [1, 25, 50, 90, 99, 99.9, 100])
    assert.equal(merged.percentile(p), whole.percentile(p));
  assert.equal(merged.count, 10_000);
});

void test('a malformed window or one for another workflow is rejected and changes nothing', () => {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  agg.applyWindow('t', windowOf(1, 5));
  const before = JSON.stringify(agg.toResult([], T0 + 5000));
  const good = windowOf(2, 5);
  const bad: [string, unknown, RegExp][] = [
    ['other workflow', { ...good, workflow: 'other' }, /is for workflow 'other'/],
    ['seq zero', { ...good, seq: 0 }, /seq must be a positive integer/],
    ['bad times', { ...good, endMs: good.startMs - 1 }, /startMs ≤ endMs/],
    [
      'bad latency',
      {
        ...good,
        steps: { s: { ...good.steps.s!, latency: { ...good.steps.s!.latency, count: 99 } } },
      },
      /latency: bucket counts add up/,
    ],
    [
      'ok+failed≠count',
      { ...good, steps: { s: { ...good.steps.s!, ok: 1 } } },
      /ok \+ failed = count/,
    ],
    [
      'bad metric kind',
      { ...good, metrics: { m: { kind: 'histo', value: 1 } } },
      /unknown metric kind/,
    ],
    [
      'negative iterations',
      { ...good, iterations: { ...good.iterations, started: -1 } },
      /started/,
    ],
  ];
  for (const [name, w, message] of bad) {
    assert.throws(() => agg.applyWindow('t', w as StatsWindow), message, name);
  }
  // A metric whose kind differs from what the aggregate already holds.
  agg.applyWindow('t', { ...windowOf(3, 0), metrics: { m: { kind: 'counter', value: 1 } } });
  const mid = JSON.stringify(agg.toResult([], T0 + 5000));
  assert.throws(
    () =>
      agg.applyWindow('t', {
        ...windowOf(4, 1),
        metrics: { m: { kind: 'rate', trues: 1, total: 1 } },
      }),
    /metric is a counter but this window reports it as a rate/,
  );
  assert.equal(JSON.stringify(agg.toResult([], T0 + 5000)), mid);
  assert.notEqual(before, mid);
  // The rejected seq 4 was not marked as seen: a corrected copy is still accepted.
  assert.equal(agg.applyWindow('t', windowOf(4, 1)), true);
});

void test('seq tracking stays bounded: a gap older than the window is given up on', () => {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  agg.markStarted(T0);
  // seq 1 never arrives; 2 … MAX+2 arrive.
  for (let seq = 2; seq <= MAX_OUT_OF_ORDER_SEQS + 2; seq++) {
    assert.equal(agg.applyWindow('t', windowOf(seq, 1, { startMs: T0 })), true);
  }
  assert.equal(agg.skippedSeqs, 1);
  assert.equal(agg.applyWindow('t', windowOf(1, 1, { startMs: T0 })), false, 'too late: refused');
  assert.equal(agg.toResult().totals.count, MAX_OUT_OF_ORDER_SEQS + 1);
});

void test('timeline downsampling keeps totals and bounds points (workflow and per step)', () => {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  agg.markStarted(T0);
  let expectedCount = 0;
  let expectedFailed = 0;
  const seconds = MAX_TIMELINE_POINTS * 3 + 17;
  for (let seq = 1; seq <= seconds; seq++) {
    const failed = seq % 3;
    agg.applyWindow('t', windowOf(seq, 2, { failed }));
    expectedCount += 2 + failed;
    expectedFailed += failed;
  }
  const result = agg.toResult([], T0 + seconds * 1000);
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  for (const timeline of [result.timeline, result.steps[0]!.timeline]) {
    assert.ok(timeline.counts.length <= MAX_TIMELINE_POINTS, `${timeline.counts.length} points`);
    assert.equal(timeline.intervalMs, 4000);
    assert.equal(sum(timeline.counts), expectedCount);
    assert.equal(sum(timeline.failures), expectedFailed);
    assert.equal(timeline.counts.length, timeline.failures.length);
  }
  assert.equal(result.totals.count, expectedCount);
  // The first point covers seconds 0-3: four windows of 2 ok + (1,2,0,1) failures.
  assert.equal(result.timeline.counts[0], 8 + 4);
  const live = agg.live(T0 + seconds * 1000, null);
  assert.ok(live.rpsSeries.length <= MAX_TIMELINE_POINTS);
  assert.equal(live.rpsSeries[0], 3);
});

void test('live view: rpsNow, VUs summed over sources, percentiles, status', () => {
  const agg = new WorkflowAggregate('w', { type: 'ramping-vus' });
  const idle = agg.live(T0, 60_000);
  assert.equal(idle.status, 'waiting');
  assert.equal(idle.count, 0);
  assert.deepEqual(idle.rpsSeries, []);
  agg.markStarted(T0);
  agg.declareSteps(['s', 'never']);
  agg.applyWindow('a', windowOf(1, 10));
  agg.applyWindow('b', windowOf(1, 5));
  agg.applyWindow('a', windowOf(2, 7));
  const live = agg.live(T0 + 2000, 60_000);
  assert.equal(live.status, 'running');
  assert.equal(live.executor, 'ramping-vus');
  assert.equal(live.elapsedMs, 2000);
  assert.equal(live.plannedMs, 60_000);
  assert.equal(live.rpsNow, 12, "the sum of each source's newest window rate: a 7/s, b 5/s");
  assert.equal(agg.rpsNow(T0 + 4000), 7, "b's newest window ended 3s ago: stale, not counted");
  assert.equal(agg.rpsNow(T0 + 5000), 0, 'every source is stale');
  assert.equal(live.activeVus, 4);
  assert.equal(live.allocatedVus, 8);
  assert.equal(live.count, 22);
  assert.deepEqual(live.rpsSeries, [15, 7]);
  const s = live.steps.find((r) => r.name === 's')!;
  assert.equal(s.p50Ms, 1.003);
  const never = live.steps.find((r) => r.name === 'never')!;
  assert.equal(never.p50Ms, null);
  assert.equal(never.count, 0);
  agg.markEnded(T0 + 3000);
  assert.equal(agg.getStatus(), 'completed');
});

void test('VUs take the latest window per source even when windows arrive out of order', () => {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  const w2 = { ...windowOf(2, 1), activeVus: 1, allocatedVus: 1 };
  const w1 = { ...windowOf(1, 1), activeVus: 9, allocatedVus: 9 };
  agg.applyWindow('a', w2);
  agg.applyWindow('a', w1);
  const live = agg.live(T0 + 5000, null);
  assert.equal(live.activeVus, 1);
  assert.equal(agg.toResult().vus.max, 1);
});

void test('toResult: errors, samples, statuses, checks, metrics, thresholds, status mapping', () => {
  const agg = new WorkflowAggregate('w', { type: 'constant-vus', vus: 2, duration: '10s' });
  agg.markStarted(T0);
  const rec = new WorkflowRecorder('w', T0);
  const step = rec.step('api');
  step.ok(2000, 200);
  step.fail(10_000, 'status_503', 'Service Unavailable', 503);
  step.fail(11_000, 'status_503', 'later message');
  rec.check('api', 'is 200', true);
  rec.check('api', 'is 200', false);
  rec.counter('orders').add(20);
  rec.gauge('depth').set(4);
  rec.gauge('depth').set(2);
  rec.rate('hit').add(true);
  rec.rate('hit').add(false);
  rec.trend('size').add(1.5);
  agg.applyWindow('t', rec.takeWindow(T0 + 5000));
  rec.gauge('depth').set(3);
  rec.counter('orders').add(10);
  rec.trend('size').add(3);
  agg.applyWindow('t', rec.takeWindow(T0 + 10_000));
  agg.markEnded(T0 + 10_000);
  const thresholds = [
    parseThreshold('api', 'p99 < 20ms'),
    parseThreshold('api', 'rate < 50%'),
    parseThreshold('orders', 'rate >= 3'),
  ];
  const r = agg.toResult(thresholds);
  assert.equal(r.status, 'completed');
  assert.equal(r.durationMs, 10_000);
  assert.equal(r.startedAt, new Date(T0).toISOString());
  assert.deepEqual(r.executor, { type: 'constant-vus', vus: 2, duration: '10s' });
  const api = r.steps[0]!;
  assert.equal(api.count, 3);
  assert.equal(api.rps, 0.3);
  assert.deepEqual(api.errors, { status_503: 2 });
  assert.deepEqual(api.errorSamples, { status_503: 'Service Unavailable' });
  assert.deepEqual(api.statuses, { '200': 1, '503': 1 });
  assert.equal(api.latencyMs.min, 2);
  assert.equal(api.latencyMs.max, 11);
  assert.deepEqual(r.checks, [{ step: 'api', name: 'is 200', passes: 1, fails: 1 }]);
  assert.deepEqual(
    r.metrics.find((m) => m.name === 'orders'),
    {
      name: 'orders',
      kind: 'counter',
      value: 30,
      ratePerSecond: 3,
    },
  );
  assert.deepEqual(
    r.metrics.find((m) => m.name === 'depth'),
    {
      name: 'depth',
      kind: 'gauge',
      value: 3,
      min: 2,
      max: 4,
    },
  );
  assert.deepEqual(
    r.metrics.find((m) => m.name === 'hit'),
    {
      name: 'hit',
      kind: 'rate',
      rate: 0.5,
      trues: 1,
      total: 2,
    },
  );
  const size = r.metrics.find((m) => m.name === 'size');
  assert.ok(size?.kind === 'trend');
  assert.equal(size.count, 2);
  assert.equal(size.summary.min, 1.5);
  assert.equal(size.summary.max, 3);
  assert.deepEqual(
    r.thresholds.map((t) => [t.passed, t.actual, t.unit]),
    [
      [true, 11, 'ms'],
      [false, 66.666666667, '%'],
      [true, 3, '/s'],
    ],
  );
  const interrupted = new WorkflowAggregate('i', { type: 'x' });
  interrupted.markStarted(T0);
  assert.equal(interrupted.toResult().status, 'interrupted');
  assert.equal(new WorkflowAggregate('n', { type: 'x' }).toResult().status, 'skipped');
  const failed = new WorkflowAggregate('f', { type: 'x' });
  failed.setStatus('failed', 'setup hook threw');
  const fr = failed.toResult();
  assert.equal(fr.status, 'failed');
  assert.equal(fr.error, 'setup hook threw');
});
