// Tests for src/stats/histogram.ts: accuracy against exact percentiles, exact summary stats,
// clamping, exact merging (direct and via the sparse wire form), validation and bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Histogram,
  HISTOGRAM_INDEX_COUNT,
  HISTOGRAM_MAX_VALUE,
  histogramHighestEquivalent,
  histogramIndexOf,
  histogramLowestEquivalent,
  percentileRank,
} from '../../src/stats/histogram.js';
import type { SparseHistogram } from '../../src/stats/types.js';
import { InternalError } from '../../src/errors.js';
import { seededRandom } from '../support/random.js';

const rng = seededRandom;

/** Log-uniform integers across 0 … 10^maxDigits, plus a few exact small ones. */
function samples(seed: number, n: number, maxDigits = 9): number[] {
  const r = rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(10 ** (r() * maxDigits)) - 1 + (i % 3));
  return out;
}

const PERCENTILES = [0.001, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)) - 1]!;
}

void test('index layout: every index maps back to a range containing its values', () => {
  for (let index = 0; index < HISTOGRAM_INDEX_COUNT; index++) {
    const lo = histogramLowestEquivalent(index);
    const hi = histogramHighestEquivalent(index);
    assert.equal(histogramIndexOf(lo), index, `lowest of ${index}`);
    assert.equal(histogramIndexOf(hi), index, `highest of ${index}`);
    if (index + 1 < HISTOGRAM_INDEX_COUNT) {
      assert.equal(histogramLowestEquivalent(index + 1), hi + 1, `contiguous at ${index}`);
    }
    assert.ok(hi - lo <= lo / 1000 + 0 || lo < 2048, `width within 0.1% at ${index}`);
  }
  assert.equal(histogramHighestEquivalent(HISTOGRAM_INDEX_COUNT - 1), HISTOGRAM_MAX_VALUE);
});

void test('percentileRank avoids floating-point noise', () => {
  assert.equal(percentileRank(99.9, 1000), 999);
  assert.equal(percentileRank(50, 1), 1);
  assert.equal(percentileRank(0.0001, 10), 1);
  assert.equal(percentileRank(100, 7), 7);
  assert.equal(percentileRank(50, 3), 2);
});

void test('percentiles are within 0.1% (+1µs) of exact sorted-array percentiles on random data', () => {
  for (const seed of [1, 2, 3]) {
    const values = samples(seed, 50_000, seed === 3 ? 12.9 : 9);
    const h = new Histogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of PERCENTILES) {
      const exact = exactPercentile(sorted, p);
      const got = h.percentile(p);
      assert.ok(
        Math.abs(got - exact) <= exact * 0.001 + 1,
        `seed ${seed} p${p}: got ${got}, exact ${exact}`,
      );
      assert.ok(got >= exact, `p${p} reports the highest equivalent value (>= exact)`);
    }
    assert.equal(h.percentile(100), sorted[sorted.length - 1]);
  }
});

void test('count, min, max, mean and stdev are exact', () => {
  const values = samples(7, 20_000, 7);
  const h = new Histogram();
  for (const v of values) h.record(v);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  assert.equal(h.count, n);
  assert.equal(h.min, Math.min(...values));
  assert.equal(h.max, Math.max(...values));
  assert.ok(Math.abs(h.mean - mean) <= mean * 1e-12, `mean ${h.mean} vs ${mean}`);
  assert.ok(
    Math.abs(h.stdev - Math.sqrt(variance)) <= Math.sqrt(variance) * 1e-9,
    `stdev ${h.stdev} vs ${Math.sqrt(variance)}`,
  );
  const single = new Histogram();
  single.record(42);
  assert.equal(single.stdev, 0);
  assert.equal(single.percentile(50), 42);
  assert.equal(single.percentile(0.1), 42, 'never below min');
});

void test('small values are exact and percentiles never exceed max', () => {
  const h = new Histogram();
  for (let v = 0; v < 2048; v++) h.record(v);
  assert.equal(h.percentile(50), 1023);
  h.record(1_234_567);
  assert.equal(h.percentile(100), 1_234_567, 'clamped to recorded max, not bucket top');
});

void test('empty histogram reports zeros and isEmpty', () => {
  const h = new Histogram();
  assert.equal(h.isEmpty, true);
  assert.equal(h.count, 0);
  assert.equal(h.min, 0);
  assert.equal(h.max, 0);
  assert.equal(h.mean, 0);
  assert.equal(h.stdev, 0);
  assert.equal(h.percentile(99), 0);
  assert.deepEqual(h.toSparse().buckets, []);
});

void test('values above 2^43-1 are clamped and counted; fractions truncate; bad input throws', () => {
  const h = new Histogram();
  h.record(2 ** 50);
  h.record(HISTOGRAM_MAX_VALUE);
  h.record(12.9);
  assert.equal(h.clamped, 1);
  assert.equal(h.max, HISTOGRAM_MAX_VALUE);
  assert.equal(h.min, 12);
  assert.equal(h.percentile(100), HISTOGRAM_MAX_VALUE);
  assert.equal(h.toSparse().clamped, 1);
  assert.equal(Histogram.fromSparse(h.toSparse()).clamped, 1);
  assert.throws(() => h.record(-1), InternalError);
  assert.throws(() => h.record(Number.NaN), InternalError);
  assert.throws(() => h.recordCount(5, 1.5), InternalError);
  assert.throws(() => h.percentile(0), InternalError);
  assert.throws(() => h.percentile(100.5), InternalError);
});

void test('recordCount equals repeated record', () => {
  const a = new Histogram();
  const b = new Histogram();
  a.recordCount(5000, 3);
  a.recordCount(7, 0);
  for (let i = 0; i < 3; i++) b.record(5000);
  assert.deepEqual(a.toSparse(), b.toSparse());
});

void test('histogram merge is exact: merged percentiles equal one histogram fed all samples', () => {
  for (const [seed, parts] of [
    [11, 2],
    [12, 3],
    [13, 4],
  ] as const) {
    const values = samples(seed, 40_000, 12);
    const r = rng(seed * 31);
    const whole = new Histogram();
    const split = Array.from({ length: parts }, () => new Histogram());
    for (const v of values) {
      whole.record(v);
      split[Math.floor(r() * parts)]!.record(v);
    }
    const direct = new Histogram();
    for (const part of split) direct.merge(part);
    const viaSparse = new Histogram();
    for (const part of split) {
      const wire = JSON.parse(JSON.stringify(part.toSparse())) as SparseHistogram;
      viaSparse.mergeSparse(wire);
    }
    const viaFromSparse = Histogram.fromSparse(split[0]!.toSparse());
    for (const part of split.slice(1)) viaFromSparse.merge(Histogram.fromSparse(part.toSparse()));
    for (const merged of [direct, viaSparse, viaFromSparse]) {
      for (let p = 0.5; p <= 100; p += 0.5) {
        assert.equal(merged.percentile(p), whole.percentile(p), `seed ${seed} p${p}`);
      }
      for (const p of [99.9, 99.99, 0.001]) assert.equal(merged.percentile(p), whole.percentile(p));
      assert.equal(merged.count, whole.count);
      assert.equal(merged.min, whole.min);
      assert.equal(merged.max, whole.max);
      assert.ok(Math.abs(merged.mean - whole.mean) <= whole.mean * 1e-12);
      assert.ok(Math.abs(merged.stdev - whole.stdev) <= whole.stdev * 1e-9);
      assert.deepEqual(merged.toSparse().buckets, whole.toSparse().buckets);
    }
  }
});

void test('merging into an empty histogram and merging an empty one are identities', () => {
  const a = new Histogram();
  for (const v of samples(5, 1000)) a.record(v);
  const before = a.toSparse();
  a.merge(new Histogram());
  a.mergeSparse(new Histogram().toSparse());
  assert.deepEqual(a.toSparse(), before);
  const b = new Histogram();
  b.merge(a);
  assert.deepEqual(b.toSparse(), before);
  assert.throws(() => a.merge(a), /itself/);
});

void test('reset empties without reallocating', () => {
  const h = new Histogram();
  for (const v of samples(9, 5000)) h.record(v);
  const footprint = h.footprintBytes;
  h.reset();
  assert.equal(h.isEmpty, true);
  assert.deepEqual(h.toSparse().buckets, []);
  assert.equal(h.percentile(50), 0);
  assert.equal(h.footprintBytes, footprint);
  h.record(3);
  assert.equal(h.min, 3);
  assert.equal(h.max, 3);
});

void test('malformed sparse input is rejected with a clear error and changes nothing', () => {
  const good = new Histogram();
  good.record(100);
  good.record(5000);
  const valid = good.toSparse();
  const target = new Histogram();
  target.record(1);
  const before = target.toSparse();
  const cases: [string, unknown, RegExp][] = [
    ['not an object', null, /expected an object/],
    ['negative count', { ...valid, count: -1 }, /count must be/],
    ['odd buckets', { ...valid, buckets: [1] }, /pairs/],
    ['index out of range', { ...valid, buckets: [HISTOGRAM_INDEX_COUNT, 2] }, /bucket index/],
    ['fractional index', { ...valid, buckets: [1.5, 2] }, /bucket index/],
    ['descending', { ...valid, buckets: [5000, 1, 100, 1] }, /ascending/],
    ['zero count', { ...valid, count: 1, buckets: [100, 1, 200, 0] }, /positive integer/],
    ['count mismatch', { ...valid, count: 3 }, /add up to 2/],
    ['NaN sum', { ...valid, sum: Number.NaN }, /sum must be/],
    ['min mismatch', { ...valid, min: 50 }, /do not match/],
    ['bad clamped', { ...valid, clamped: 9 }, /clamped/],
  ];
  for (const [name, input, message] of cases) {
    assert.throws(() => target.mergeSparse(input as SparseHistogram), message, name);
    assert.throws(() => Histogram.fromSparse(input as SparseHistogram), message, name);
  }
  assert.deepEqual(target.toSparse(), before);
});

void test('memory is bounded: 10M values over the full range stay under 300 KB; idle is small', () => {
  const idle = new Histogram();
  assert.ok(idle.footprintBytes < 4096, `idle ${idle.footprintBytes} bytes`);
  const narrow = new Histogram();
  for (let i = 0; i < 100_000; i++) narrow.record(20_000 + (i % 5000));
  assert.ok(narrow.footprintBytes < 16 * 1024, `narrow band ${narrow.footprintBytes} bytes`);
  const h = new Histogram();
  const r = rng(99);
  let afterFirstMillion = 0;
  for (let i = 0; i < 10_000_000; i++) {
    h.record(Math.floor(2 ** (r() * 44)));
    if (i === 1_000_000) afterFirstMillion = h.footprintBytes;
  }
  assert.equal(h.count, 10_000_000);
  assert.ok(h.footprintBytes <= 300 * 1024, `full ${h.footprintBytes} bytes`);
  assert.ok(h.footprintBytes <= afterFirstMillion * 1.01, 'does not grow with samples');
  assert.ok(h.clamped > 0);
});
