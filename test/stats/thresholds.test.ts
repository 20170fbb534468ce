// Tests for src/stats/thresholds.ts: every accepted form, rejected expressions and their
// messages, target kinds and applicability, and evaluation pass/fail against an aggregate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThresholdSyntaxError } from '../../src/errors.js';
import { WorkflowAggregate } from '../../src/stats/aggregate.js';
import { WorkflowRecorder } from '../../src/stats/recorder.js';
import {
  evaluateThreshold,
  parseThreshold,
  thresholdApplicability,
  thresholdTargetKind,
  type ParsedThreshold,
} from '../../src/stats/thresholds.js';

void test('parses every statistic form', () => {
  const cases: [string, Partial<ParsedThreshold>][] = [
    ['p50 < 100', { stat: { name: 'percentile', p: 50 }, op: '<', value: 100, unit: null }],
    ['p75<=1s', { stat: { name: 'percentile', p: 75 }, op: '<=', value: 1, unit: 's' }],
    ['p90 > 250us', { stat: { name: 'percentile', p: 90 }, op: '>', unit: 'us' }],
    ['p95 >= 2m', { stat: { name: 'percentile', p: 95 }, op: '>=', unit: 'm' }],
    ['p99 == 250ms', { stat: { name: 'percentile', p: 99 }, op: '==', unit: 'ms' }],
    ['p99.9 != 3', { stat: { name: 'percentile', p: 99.9 }, op: '!=' }],
    ['p(99.99) < 5ms', { stat: { name: 'percentile', p: 99.99 } }],
    ['p( 42 ) < 5ms', { stat: { name: 'percentile', p: 42 } }],
    ['p100 < 5ms', { stat: { name: 'percentile', p: 100 } }],
    ['min < 1.5ms', { stat: { name: 'min' }, value: 1.5 }],
    ['max < 2s', { stat: { name: 'max' } }],
    ['mean < 20', { stat: { name: 'mean' } }],
    ['avg < 20', { stat: { name: 'mean' }, statText: 'avg' }],
    ['med < 20µs', { stat: { name: 'percentile', p: 50 }, unit: 'us' }],
    ['stdev < 5ms', { stat: { name: 'stdev' } }],
    ['count > 1000', { stat: { name: 'count' }, value: 1000 }],
    ['rps >= 99.5', { stat: { name: 'rps' }, value: 99.5 }],
    ['error_rate < 1%', { stat: { name: 'rate' }, value: 1, unit: '%' }],
    ['rate < 0.01', { stat: { name: 'rate' }, value: 0.01, unit: null }],
    ['errors == 0', { stat: { name: 'errors' }, op: '==', value: 0 }],
    ['value > -5', { stat: { name: 'value' }, value: -5 }],
    ['  P99   <   1e3  ', { stat: { name: 'percentile', p: 99 }, value: 1000 }],
  ];
  for (const [expression, expected] of cases) {
    const parsed = parseThreshold('checkout', expression);
    assert.equal(parsed.target, 'checkout');
    assert.equal(parsed.expression, expression);
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(parsed[key as keyof ParsedThreshold], value, `${expression}: ${key}`);
    }
  }
});

void test('rejects bad expressions with a message naming target, expression, problem and forms', () => {
  const cases: [string, RegExp][] = [
    ['p99 < 250parsecs', /unknown unit 'parsecs'/],
    ['p101 < 1ms', /percentile 'p101' is out of range/],
    ['p(0) < 1ms', /out of range/],
    ['p99 250ms', /missing comparison operator/],
    ['p99 => 250ms', /unknown operator '=>'/],
    ['p99 = 250ms', /unknown operator '='/],
    ['p99x < 1', /unknown statistic 'p99x'/],
    ['latency < 1', /unknown statistic 'latency'/],
    ['< 5', /statistic before the operator is missing/],
    ['p99 <', /value after the operator is missing/],
    ['p99 < fast', /'fast' is not a number/],
    ['count < 5ms', /'count' is not a duration/],
    ['p95 < 5%', /'%' applies only to rates/],
    ['error_rate < 5ms', /'error_rate' is not a duration/],
    ['rate < 150%', /between 0% and 100%/],
    ['', /expression is empty/],
  ];
  for (const [expression, problem] of cases) {
    assert.throws(
      () => parseThreshold('checkout', expression),
      (error: unknown) => {
        assert.ok(error instanceof ThresholdSyntaxError, expression);
        assert.equal(error.code, 'E_THRESHOLD_SYNTAX');
        assert.match(error.message, problem, expression);
        assert.match(error.message, /'checkout'/, `${expression}: names the target`);
        assert.ok(error.message.includes(`"${expression}"`), `${expression}: quotes it`);
        assert.match(error.message, /accepted: .*p\(N\).*ops: < <= > >= == !=/, 'lists forms');
        return true;
      },
    );
  }
  assert.throws(() => parseThreshold('', 'p99 < 1'), /target .* is empty/);
});

function lookup(steps: string[], metrics: Record<string, 'counter' | 'gauge' | 'rate' | 'trend'>) {
  return {
    hasStep: (name: string) => steps.includes(name),
    metricKind: (name: string) => metrics[name],
  };
}

void test('target kinds and applicability can be checked before a run', () => {
  const l = lookup(['login'], { orders: 'counter', depth: 'gauge', hit: 'rate', size: 'trend' });
  assert.equal(thresholdTargetKind('*', l), 'workflow');
  assert.equal(thresholdTargetKind('errors', l), 'errors');
  assert.equal(thresholdTargetKind('login', l), 'step');
  assert.equal(thresholdTargetKind('orders', l), 'counter');
  assert.equal(thresholdTargetKind('size', l), 'trend');
  assert.equal(thresholdTargetKind('nope', l), null);
  const ok = (t: string, e: string, kind: Parameters<typeof thresholdApplicability>[1]) =>
    thresholdApplicability(parseThreshold(t, e), kind);
  assert.equal(ok('login', 'p99 < 1s', 'step'), null);
  assert.equal(ok('errors', 'rate < 1%', 'errors'), null);
  assert.equal(ok('orders', 'rate > 100', 'counter'), null);
  assert.equal(ok('orders', 'count > 5', 'counter'), null);
  assert.equal(ok('depth', 'value < 5', 'gauge'), null);
  assert.equal(ok('hit', 'rate > 0.9', 'rate'), null);
  assert.equal(ok('size', 'p95 < 1500', 'trend'), null);
  assert.match(
    ok('depth', 'p95 < 5', 'gauge')!,
    /'p95' does not apply; use one of value, min, max/,
  );
  assert.match(ok('size', 'p95 < 5ms', 'trend')!, /unitless/);
  assert.match(ok('orders', 'rate < 5%', 'counter')!, /per second/);
  assert.match(
    ok('login', 'error_rate < 5', 'step')!,
    /fraction between 0 and 1 \(did you mean 5%\?\)/,
  );
  assert.match(ok('errors', 'p99 < 5', 'errors')!, /does not apply/);
  assert.match(ok('login', 'value < 5', 'step')!, /does not apply/);
});

function buildAggregate(): WorkflowAggregate {
  const T0 = 1_000_000;
  const agg = new WorkflowAggregate('w', { type: 'x' });
  agg.markStarted(T0);
  const rec = new WorkflowRecorder('w', T0);
  const login = rec.step('login');
  for (let i = 1; i <= 100; i++) login.ok(i * 20); // 0.02ms … 2ms, exact below 2048µs
  const pay = rec.step('pay');
  for (let i = 0; i < 8; i++) pay.ok(500_000);
  pay.fail(2_000_000, 'timeout', 'timed out');
  pay.fail(2_000_000, 'timeout', 'timed out');
  rec.step('idle');
  rec.counter('orders').add(50);
  rec.gauge('depth').set(7);
  rec.rate('hit').add(true);
  rec.rate('hit').add(true);
  rec.rate('hit').add(false);
  rec.rate('hit').add(true);
  const size = rec.trend('size');
  for (let i = 1; i <= 10; i++) size.add(i / 2);
  rec.rate('empty');
  agg.applyWindow('t', rec.takeWindow(T0 + 10_000));
  agg.markEnded(T0 + 10_000);
  return agg;
}

void test('evaluation: pass and fail with actual values in the result unit', () => {
  const agg = buildAggregate();
  const cases: [string, string, boolean, number | null, string][] = [
    ['login', 'p99 < 2ms', true, 1.98, 'ms'],
    ['login', 'p99 < 1.98ms', false, 1.98, 'ms'],
    ['login', 'p99 <= 1980us', true, 1.98, 'ms'],
    ['login', 'p(50) == 1', true, 1, 'ms'],
    ['login', 'med < 0.001s', false, 1, 'ms'],
    ['login', 'max < 2001us', true, 2, 'ms'],
    ['login', 'min >= 0.02ms', true, 0.02, 'ms'],
    ['login', 'avg == 1.01ms', true, 1.01, 'ms'],
    ['login', 'stdev > 0.5', true, 0.577321, 'ms'],
    ['login', 'count == 100', true, 100, ''],
    ['login', 'rps == 10', true, 10, '/s'],
    ['login', 'errors == 0', true, 0, ''],
    ['login', 'error_rate == 0', true, 0, '%'],
    ['pay', 'error_rate < 10%', false, 20, '%'],
    ['pay', 'rate <= 0.2', true, 20, '%'],
    ['pay', 'errors < 3', true, 2, ''],
    ['pay', 'max < 1m', true, 2000, 'ms'],
    ['*', 'count == 110', true, 110, ''],
    ['*', 'max <= 2s', true, 2000, 'ms'],
    ['*', 'rps > 10', true, 11, '/s'],
    ['errors', 'rate < 1%', false, 1.818181818, '%'],
    ['errors', 'rate < 2%', true, 1.818181818, '%'],
    ['errors', 'count == 2', true, 2, ''],
    ['orders', 'count == 50', true, 50, ''],
    ['orders', 'rate >= 5', true, 5, '/s'],
    ['orders', 'rate > 5', false, 5, '/s'],
    ['depth', 'value < 10', true, 7, ''],
    ['depth', 'max < 7', false, 7, ''],
    ['hit', 'rate > 70%', true, 75, '%'],
    ['hit', 'rate > 0.8', false, 75, '%'],
    ['size', 'p50 < 2.51', true, 2.501, ''], // 2500 sits in a bucket 2 wide
    ['size', 'max == 5', true, 5, ''],
    ['size', 'count == 10', true, 10, ''],
  ];
  for (const [target, expression, passed, actual, unit] of cases) {
    const r = evaluateThreshold(parseThreshold(target, expression), agg);
    const label = `${target}: ${expression} → ${JSON.stringify(r)}`;
    assert.equal(r.passed, passed, label);
    assert.equal(r.unit, unit, label);
    if (actual === null) assert.equal(r.actual, null, label);
    else assert.ok(r.actual !== null && Math.abs(r.actual - actual) < 1e-6, label);
    assert.equal(r.message, undefined, label);
  }
});

void test('evaluation never throws: unknown target, inapplicable stat and no data fail clearly', () => {
  const agg = buildAggregate();
  const unknown = evaluateThreshold(parseThreshold('missing', 'p99 < 1s'), agg);
  assert.equal(unknown.passed, false);
  assert.equal(unknown.actual, null);
  assert.match(unknown.message!, /target 'missing' is neither a step nor a custom metric/);
  const wrongKind = evaluateThreshold(parseThreshold('depth', 'p99 < 1'), agg);
  assert.equal(wrongKind.passed, false);
  assert.match(wrongKind.message!, /gauge metric 'depth'/);
  const noData = evaluateThreshold(parseThreshold('idle', 'p99 < 1s'), agg);
  assert.equal(noData.passed, false);
  assert.equal(noData.actual, null);
  assert.match(noData.message!, /step 'idle': no latency samples/);
  const idleCount = evaluateThreshold(parseThreshold('idle', 'count == 0'), agg);
  assert.equal(idleCount.passed, true, 'a count of zero is data');
  const emptyRate = evaluateThreshold(parseThreshold('empty', 'rate > 0.5'), agg);
  assert.equal(emptyRate.passed, false);
  assert.match(emptyRate.message!, /no values/);
});
