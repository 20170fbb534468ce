// Tests for src/stats/recorder.ts: window sequencing and reset, what a window contains, error
// kind bounds, custom metrics and their kind conflicts and bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram } from '../../src/stats/histogram.js';
import {
  MAX_CUSTOM_METRICS,
  MAX_ERROR_KINDS_PER_WINDOW,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_STATUSES_PER_WINDOW,
  WorkflowRecorder,
} from '../../src/stats/recorder.js';

void test('windows carry seq 1,2,3 with contiguous bounds and reset after each take', () => {
  const rec = new WorkflowRecorder('shop', 1_000);
  const step = rec.step('home');
  assert.equal(rec.step('home'), step, 'step() returns the same recorder for a name');
  step.ok(1500, 200);
  step.ok(2500, 200);
  step.fail(30_000, 'timeout', 'timed out after 30ms');
  rec.iterationStarted();
  rec.iterationStarted();
  rec.iterationCompleted(true);
  rec.iterationCompleted(false);
  rec.iterationDropped();
  rec.setVus(3, 10);

  const w1 = rec.takeWindow(2_000);
  assert.equal(w1.workflow, 'shop');
  assert.equal(w1.seq, 1);
  assert.equal(w1.startMs, 1_000);
  assert.equal(w1.endMs, 2_000);
  assert.equal(w1.activeVus, 3);
  assert.equal(w1.allocatedVus, 10);
  assert.deepEqual(w1.iterations, { started: 2, completed: 2, failed: 1, dropped: 1 });
  const home = w1.steps.home!;
  assert.equal(home.count, 3);
  assert.equal(home.ok, 2);
  assert.equal(home.failed, 1);
  assert.deepEqual(home.errors, { timeout: 1 });
  assert.deepEqual(home.errorSamples, { timeout: 'timed out after 30ms' });
  assert.deepEqual(home.statuses, { '200': 2 });
  const h = Histogram.fromSparse(home.latency);
  assert.equal(h.count, 3);
  assert.equal(h.min, 1500);
  assert.equal(h.max, 30_000);

  const w2 = rec.takeWindow(3_000);
  assert.equal(w2.seq, 2);
  assert.equal(w2.startMs, 2_000);
  assert.equal(w2.endMs, 3_000);
  assert.deepEqual(w2.steps, {}, 'a step that did nothing is omitted after its first window');
  assert.deepEqual(w2.iterations, { started: 0, completed: 0, failed: 0, dropped: 0 });
  assert.equal(w2.activeVus, 3, 'VUs are a level, not a per-window count');

  step.ok(700);
  const w3 = rec.takeWindow(4_000);
  assert.equal(w3.seq, 3);
  assert.equal(w3.steps.home!.count, 1);
  assert.deepEqual(w3.steps.home!.errors, {});
  assert.deepEqual(w3.steps.home!.statuses, {});
  assert.equal(w3.steps.home!.latency.min, 700);
});

void test('a new step and metric appear once with zeros so the receiver learns their names', () => {
  const rec = new WorkflowRecorder('w', 0);
  rec.step('idle');
  rec.counter('c');
  rec.trend('t');
  rec.rate('r');
  rec.gauge('g');
  const w1 = rec.takeWindow(1000);
  assert.equal(w1.steps.idle!.count, 0);
  assert.equal(w1.steps.idle!.latency.count, 0);
  assert.deepEqual(w1.metrics.c, { kind: 'counter', value: 0 });
  assert.deepEqual(w1.metrics.r, { kind: 'rate', trues: 0, total: 0 });
  assert.equal(w1.metrics.t?.kind, 'trend');
  assert.equal(w1.metrics.g, undefined, 'a gauge that was never set is not sent');
  const w2 = rec.takeWindow(2000);
  assert.deepEqual(w2.steps, {});
  assert.deepEqual(w2.metrics, {});
});

void test('distinct error kinds per step per window are bounded; overflow goes to other', () => {
  const rec = new WorkflowRecorder('w', 0);
  const step = rec.step('s');
  for (let i = 0; i < MAX_ERROR_KINDS_PER_WINDOW + 50; i++)
    step.fail(10, `kind_${i}`, `message ${i}`);
  step.fail(10, 'kind_0', 'again');
  step.fail(10, `kind_${MAX_ERROR_KINDS_PER_WINDOW + 10}`, 'overflow again');
  step.fail(10, 'x'.repeat(10), 'y'.repeat(MAX_ERROR_MESSAGE_CHARS * 3));
  const errors = rec.takeWindow(1).steps.s!.errors;
  const w = rec.takeWindow(1);
  assert.deepEqual(w.steps, {});
  assert.equal(Object.keys(errors).length, MAX_ERROR_KINDS_PER_WINDOW + 1);
  assert.equal(errors.kind_0, 2);
  assert.equal(errors.other, 52);
  assert.equal(errors[`kind_${MAX_ERROR_KINDS_PER_WINDOW}`], undefined);
  const total = Object.values(errors).reduce((a, b) => a + b, 0);
  assert.equal(total, MAX_ERROR_KINDS_PER_WINDOW + 53);

  // In the next window the bound starts afresh, and one sample per kind is kept and bounded.
  step.fail(10, 'fresh', 'first');
  step.fail(10, 'fresh', 'second');
  step.fail(10, 'long', 'z'.repeat(MAX_ERROR_MESSAGE_CHARS * 2));
  const next = rec.takeWindow(2).steps.s!;
  assert.deepEqual(next.errors, { fresh: 2, long: 1 });
  assert.equal(next.errorSamples.fresh, 'first');
  assert.equal(next.errorSamples.long!.length, MAX_ERROR_MESSAGE_CHARS);
});

void test('checks are counted per step and check name, and reset per window', () => {
  const rec = new WorkflowRecorder('w', 0);
  const step = rec.step('login');
  rec.check('login', 'status is 200', true);
  rec.check('login', 'status is 200', false);
  step.check('has token', true);
  const w1 = rec.takeWindow(1);
  assert.deepEqual(w1.checks, {
    login: { 'status is 200': { passes: 1, fails: 1 }, 'has token': { passes: 1, fails: 0 } },
  });
  assert.deepEqual(rec.takeWindow(2).checks, {});
});

void test('custom metrics: counter sums, gauge keeps last/min/max, rate counts, trend scales', () => {
  const rec = new WorkflowRecorder('w', 0);
  const c = rec.counter('orders');
  c.add();
  c.add(4);
  const g = rec.gauge('queue');
  g.set(5);
  g.set(2);
  g.set(9);
  g.set(7, 1234);
  const r = rec.rate('cache_hit');
  r.add(true);
  r.add(false);
  r.add(true);
  const t = rec.trend('ttfb');
  t.add(1.5);
  t.add(2.25);
  const w = rec.takeWindow(5000);
  assert.deepEqual(w.metrics.orders, { kind: 'counter', value: 5 });
  assert.deepEqual(w.metrics.queue, { kind: 'gauge', value: 7, min: 2, max: 9, atMs: 1234 });
  assert.deepEqual(w.metrics.cache_hit, { kind: 'rate', trues: 2, total: 3 });
  const trend = w.metrics.ttfb;
  assert.equal(trend?.kind, 'trend');
  if (trend?.kind === 'trend') {
    assert.equal(trend.values.min, 1500);
    assert.equal(trend.values.max, 2250);
    assert.equal(trend.values.count, 2);
  }
  g.set(1);
  const w2 = rec.takeWindow(6000);
  assert.deepEqual(w2.metrics.queue, { kind: 'gauge', value: 1, min: 1, max: 1, atMs: 6000 });
  assert.equal(w2.metrics.orders, undefined);
  assert.throws(() => t.add(-1), /non-negative/);
  assert.throws(() => c.add(Number.NaN), /finite/);
});

void test('asking for an existing metric name with another kind throws naming both kinds', () => {
  const rec = new WorkflowRecorder('w', 0);
  assert.equal(rec.counter('m'), rec.counter('m'));
  assert.throws(
    () => rec.gauge('m'),
    /metric 'm' is already a counter; it cannot also be used as a gauge/,
  );
  rec.trend('t');
  assert.throws(() => rec.rate('t'), /already a trend.*as a rate/);
});

void test('the number of custom metrics is bounded with a clear error', () => {
  const rec = new WorkflowRecorder('w', 0);
  for (let i = 0; i < MAX_CUSTOM_METRICS; i++) rec.counter(`c${i}`);
  assert.throws(() => rec.counter('one more'), /too many custom metrics \(limit 1000\)/);
  assert.doesNotThrow(() => rec.counter('c5'), 'existing names still resolve');
});

void test('window end never precedes its start', () => {
  const rec = new WorkflowRecorder('w', 5000);
  const w = rec.takeWindow(4000);
  assert.equal(w.startMs, 5000);
  assert.equal(w.endMs, 5000);
});

void test('statuses are counted per window, bounded to MAX_STATUSES_PER_WINDOW distinct, overflow as other', () => {
  const rec = new WorkflowRecorder('w', 0);
  const step = rec.step('s');
  step.ok(10, 200);
  step.ok(10, 200);
  step.fail(10, 'status_503', 'x', 503);
  step.ok(10, 0); // not an HTTP status code the client produces: still counted
  step.ok(10, 1000);
  step.ok(10); // no status (not an HTTP step)
  assert.deepEqual(rec.takeWindow(1).steps.s!.statuses, { '0': 1, '200': 2, '503': 1, '1000': 1 });
  assert.deepEqual(rec.takeWindow(2).steps, {}, 'counts reset with the window');
  step.ok(10, 204);
  assert.deepEqual(rec.takeWindow(3).steps.s!.statuses, { '204': 1 });

  for (let code = 100; code < 100 + MAX_STATUSES_PER_WINDOW; code++) step.ok(10, code);
  step.ok(10, 100); // already seen: counted as itself
  step.ok(10, 100 + MAX_STATUSES_PER_WINDOW); // one distinct too many
  step.ok(10, 999);
  const statuses = rec.takeWindow(4).steps.s!.statuses;
  assert.equal(Object.keys(statuses).length, MAX_STATUSES_PER_WINDOW + 1);
  assert.equal(statuses['100'], 2);
  assert.equal(statuses['other'], 2);
  assert.equal(statuses[String(100 + MAX_STATUSES_PER_WINDOW)], undefined);
});
