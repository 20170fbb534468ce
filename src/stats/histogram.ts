// Owns the HDR-style log-linear histogram every latency and trend in Salvo is kept in, and its
// sparse wire form. Hand-written (no dependency) because `record` is the hot path; it must never
// allocate per sample, read a clock, or lose exactness when merged.

import type { SparseHistogram } from './types.js';
import { InternalError, MalformedDataError } from '../errors.js';

/**
 * Layout (identical on every thread and machine, which is what makes merging exact):
 * 3 significant decimal digits → 2048 sub-buckets per power-of-two bucket (HdrHistogram's
 * `subBucketCount` for 3 digits), unit 1 (values are integers, microseconds for latencies).
 * Bucket 0 covers 0…2047 with width 1; bucket b ≥ 1 covers 2^(b+10)…2^(b+11)−1 with width 2^b,
 * stored as its upper 1024 sub-buckets. A bucket's width is < 1/1024 of its values, so the
 * relative error of any reported value is below 0.1%.
 */
const SUB_BUCKET_HALF_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_MAGNITUDE; // 1024
const SUB_BUCKET_COUNT = SUB_BUCKET_HALF_COUNT * 2; // 2048
const TWO_POW_32 = 2 ** 32;

/** Largest value recorded as itself; larger values are clamped to it and counted in `clamped`. */
export const HISTOGRAM_MAX_VALUE = 2 ** 43 - 1;
/** Buckets needed to reach HISTOGRAM_MAX_VALUE: 2048·2^32 = 2^43. */
const BUCKET_COUNT = 33;
/** Number of counters (bucket indexes are 0 … HISTOGRAM_INDEX_COUNT − 1). */
export const HISTOGRAM_INDEX_COUNT = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT; // 34 816

/** Counters are allocated lazily in chunks of this many (2 KiB of Float64 each). */
const CHUNK_SHIFT = 8;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;
const CHUNK_COUNT = HISTOGRAM_INDEX_COUNT / CHUNK_SIZE; // 136
/** Fixed per-instance overhead estimate for `footprintBytes` (object, fields, chunk table). */
const FIXED_OVERHEAD_BYTES = 128 + CHUNK_COUNT * 8;

/** Bucket index of a non-negative integer value ≤ HISTOGRAM_MAX_VALUE. No allocation. */
export function histogramIndexOf(value: number): number {
  if (value < SUB_BUCKET_COUNT) return value;
  let bucket: number;
  let sub: number;
  if (value < TWO_POW_32) {
    // bit length − 11; Math.clz32 treats the argument as uint32, so values ≥ 2^31 work.
    bucket = 21 - Math.clz32(value);
    sub = value >>> bucket;
  } else {
    bucket = 53 - Math.clz32(Math.floor(value / TWO_POW_32));
    sub = Math.floor(value / 2 ** bucket);
  }
  return ((bucket + 1) << SUB_BUCKET_HALF_MAGNITUDE) + (sub - SUB_BUCKET_HALF_COUNT);
}

/** Smallest value that maps to `index`. */
export function histogramLowestEquivalent(index: number): number {
  if (index < SUB_BUCKET_COUNT) return index;
  const bucket = (index >>> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  const sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
  return sub * 2 ** bucket;
}

/** Largest value that maps to `index`. */
export function histogramHighestEquivalent(index: number): number {
  if (index < SUB_BUCKET_COUNT) return index;
  const bucket = (index >>> SUB_BUCKET_HALF_MAGNITUDE) - 1;
  return histogramLowestEquivalent(index) + 2 ** bucket - 1;
}

/**
 * The 1-based rank of the sample at percentile `p` among `count` samples: ceil(p/100 · count),
 * at least 1. Computed as p·count/100 and nudged down by 1e-12 relative so that binary
 * floating-point noise (99.9·1000/100 = 999.0000000000001) does not push it one rank up.
 */
export function percentileRank(p: number, count: number): number {
  const exact = (p * count) / 100;
  const rank = Math.ceil(exact - exact * 1e-12);
  return Math.min(count, Math.max(1, rank));
}

function isNonNegativeInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

function isFiniteNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/**
 * Checks a sparse histogram that crossed a thread or the network; throws an Error that says
 * exactly what is wrong. Returns the input, typed, when valid.
 */
export function validateSparseHistogram(s: unknown, what = 'sparse histogram'): SparseHistogram {
  if (typeof s !== 'object' || s === null)
    throw new MalformedDataError(`${what}: expected an object`);
  const h = s as Record<string, unknown>;
  const { count, min, max, sum, sumSquares, buckets, clamped } = h;
  if (!isNonNegativeInteger(count) || count > Number.MAX_SAFE_INTEGER) {
    throw new MalformedDataError(
      `${what}: count must be a non-negative integer, got ${String(count)}`,
    );
  }
  if (clamped !== undefined && (!isNonNegativeInteger(clamped) || clamped > count)) {
    throw new MalformedDataError(
      `${what}: clamped must be an integer in 0…count, got ${JSON.stringify(clamped)}`,
    );
  }
  for (const [name, v] of [
    ['min', min],
    ['max', max],
    ['sum', sum],
    ['sumSquares', sumSquares],
  ] as const) {
    if (!isFiniteNumber(v) || v < 0) {
      throw new MalformedDataError(
        `${what}: ${name} must be a finite non-negative number, got ${String(v)}`,
      );
    }
  }
  if (!Array.isArray(buckets) || buckets.length % 2 !== 0) {
    throw new MalformedDataError(`${what}: buckets must be an array of [index, count] pairs`);
  }
  let total = 0;
  let previous = -1;
  for (let i = 0; i < buckets.length; i += 2) {
    const index: unknown = buckets[i];
    const n: unknown = buckets[i + 1];
    if (!isNonNegativeInteger(index) || index >= HISTOGRAM_INDEX_COUNT) {
      throw new MalformedDataError(
        `${what}: bucket index at position ${i} must be an integer in 0…${HISTOGRAM_INDEX_COUNT - 1}, got ${String(index)}`,
      );
    }
    if (index <= previous) {
      throw new MalformedDataError(
        `${what}: bucket indexes must be strictly ascending (position ${i})`,
      );
    }
    if (!isNonNegativeInteger(n) || n === 0) {
      throw new MalformedDataError(
        `${what}: bucket count at position ${i + 1} must be a positive integer, got ${String(n)}`,
      );
    }
    previous = index;
    total += n;
  }
  if (total !== count) {
    throw new MalformedDataError(
      `${what}: bucket counts add up to ${total}, but count is ${count}`,
    );
  }
  if (count > 0) {
    const first = buckets[0] as number;
    const last = buckets[buckets.length - 2] as number;
    const minV = min as number;
    const maxV = max as number;
    if (
      !Number.isInteger(minV) ||
      !Number.isInteger(maxV) ||
      minV < histogramLowestEquivalent(first) ||
      minV > histogramHighestEquivalent(first) ||
      maxV < histogramLowestEquivalent(last) ||
      maxV > histogramHighestEquivalent(last)
    ) {
      throw new MalformedDataError(
        `${what}: min ${minV} / max ${maxV} do not match the lowest/highest bucket`,
      );
    }
  }
  return h as unknown as SparseHistogram;
}

/**
 * Log-linear histogram of non-negative integers 0 … 2^43−1 with 3 significant digits.
 * Memory: counters are allocated lazily in 2 KiB chunks of 256, so an empty histogram is about
 * 1.2 KB, one with latencies in a narrow band a few chunks, and a full one at most
 * 136 chunks ≈ 280 KB, whatever the number of samples.
 */
export class Histogram {
  private readonly chunks: (Float64Array | null)[] = new Array<Float64Array | null>(
    CHUNK_COUNT,
  ).fill(null);
  private allocatedChunks = 0;
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = 0;
  private sum = 0;
  private sumSquares = 0;
  /** Samples that were above HISTOGRAM_MAX_VALUE and recorded as HISTOGRAM_MAX_VALUE. */
  clamped = 0;

  /**
   * Records one value. Fractions are truncated; values above HISTOGRAM_MAX_VALUE are clamped;
   * negative or NaN values throw a RangeError (a caller bug, e.g. a wall-clock latency).
   */
  record(value: number): void {
    if (!(value >= 0)) throw new InternalError(`Histogram: cannot record ${value}`);
    let v = Math.trunc(value);
    if (v > HISTOGRAM_MAX_VALUE) {
      v = HISTOGRAM_MAX_VALUE;
      this.clamped++;
    }
    const index = v < SUB_BUCKET_COUNT ? v : histogramIndexOf(v);
    const chunk = this.chunks[index >>> CHUNK_SHIFT] ?? this.allocate(index >>> CHUNK_SHIFT);
    chunk[index & CHUNK_MASK]! += 1;
    this.total++;
    this.sum += v;
    this.sumSquares += v * v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  /** Records `n` (a non-negative integer) occurrences of `value`. */
  recordCount(value: number, n: number): void {
    if (!(value >= 0)) throw new InternalError(`Histogram: cannot record ${value}`);
    if (!(n >= 0) || !Number.isInteger(n)) {
      throw new InternalError(`Histogram: count must be a non-negative integer, got ${n}`);
    }
    if (n === 0) return;
    let v = Math.trunc(value);
    if (v > HISTOGRAM_MAX_VALUE) {
      v = HISTOGRAM_MAX_VALUE;
      this.clamped += n;
    }
    const index = histogramIndexOf(v);
    const chunk = this.chunks[index >>> CHUNK_SHIFT] ?? this.allocate(index >>> CHUNK_SHIFT);
    chunk[index & CHUNK_MASK]! += n;
    this.total += n;
    this.sum += v * n;
    this.sumSquares += v * v * n;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  private allocate(chunkIndex: number): Float64Array {
    const chunk = new Float64Array(CHUNK_SIZE);
    this.chunks[chunkIndex] = chunk;
    this.allocatedChunks++;
    return chunk;
  }

  get count(): number {
    return this.total;
  }

  get isEmpty(): boolean {
    return this.total === 0;
  }

  /** Smallest recorded value; 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  /** Largest recorded value; 0 when empty. */
  get max(): number {
    return this.maxValue;
  }

  /** Exact mean of the recorded (truncated, clamped) values; 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Population standard deviation from the running sum and sum of squares; 0 when empty. */
  get stdev(): number {
    if (this.total === 0) return 0;
    const mean = this.sum / this.total;
    const variance = this.sumSquares / this.total - mean * mean;
    return variance > 0 ? Math.sqrt(variance) : 0;
  }

  /** Bytes held by counters plus a fixed overhead estimate; bounded by ~280 KB. */
  get footprintBytes(): number {
    return FIXED_OVERHEAD_BYTES + this.allocatedChunks * CHUNK_SIZE * 8;
  }

  /**
   * The value at percentile `p` (0 < p ≤ 100): the highest value equivalent to the bucket
   * holding the sample of rank ceil(p/100·count), clamped to [min, max]. 0 when empty.
   */
  percentile(p: number): number {
    if (!(p > 0 && p <= 100)) {
      throw new InternalError(`Histogram.percentile: p must be in (0, 100], got ${p}`);
    }
    if (this.total === 0) return 0;
    const rank = percentileRank(p, this.total);
    let seen = 0;
    for (let c = 0; c < CHUNK_COUNT; c++) {
      const chunk = this.chunks[c];
      if (!chunk) continue;
      for (let i = 0; i < CHUNK_SIZE; i++) {
        seen += chunk[i]!;
        if (seen >= rank) {
          const value = histogramHighestEquivalent((c << CHUNK_SHIFT) + i);
          return Math.max(this.minValue, Math.min(this.maxValue, value));
        }
      }
    }
    return this.maxValue;
  }

  /** Adds every sample of `other` (exact: same layout). */
  merge(other: Histogram): void {
    if (other === this)
      throw new InternalError('Histogram.merge: cannot merge a histogram into itself');
    if (other.total === 0) return;
    for (let c = 0; c < CHUNK_COUNT; c++) {
      const source = other.chunks[c];
      if (!source) continue;
      const target = this.chunks[c] ?? this.allocate(c);
      for (let i = 0; i < CHUNK_SIZE; i++) target[i]! += source[i]!;
    }
    this.addSummary(other.total, other.minValue, other.maxValue, other.sum, other.sumSquares);
    this.clamped += other.clamped;
  }

  /** Validates `s` (throws a descriptive Error and changes nothing if invalid), then adds it. */
  mergeSparse(s: SparseHistogram): void {
    validateSparseHistogram(s);
    if (s.count === 0) return;
    const { buckets } = s;
    for (let i = 0; i < buckets.length; i += 2) {
      const index = buckets[i]!;
      const chunk = this.chunks[index >>> CHUNK_SHIFT] ?? this.allocate(index >>> CHUNK_SHIFT);
      chunk[index & CHUNK_MASK]! += buckets[i + 1]!;
    }
    this.addSummary(s.count, s.min, s.max, s.sum, s.sumSquares);
    this.clamped += s.clamped ?? 0;
  }

  private addSummary(count: number, min: number, max: number, sum: number, sq: number): void {
    this.total += count;
    this.sum += sum;
    this.sumSquares += sq;
    if (min < this.minValue) this.minValue = min;
    if (max > this.maxValue) this.maxValue = max;
  }

  /** Only the non-empty buckets, in ascending index order. `clamped` is present only if > 0. */
  toSparse(): SparseHistogram {
    const buckets: number[] = [];
    if (this.total > 0) {
      for (let c = 0; c < CHUNK_COUNT; c++) {
        const chunk = this.chunks[c];
        if (!chunk) continue;
        for (let i = 0; i < CHUNK_SIZE; i++) {
          const n = chunk[i]!;
          if (n !== 0) buckets.push((c << CHUNK_SHIFT) + i, n);
        }
      }
    }
    const sparse: SparseHistogram = {
      count: this.total,
      min: this.min,
      max: this.max,
      sum: this.sum,
      sumSquares: this.sumSquares,
      buckets,
    };
    if (this.clamped > 0) sparse.clamped = this.clamped;
    return sparse;
  }

  static fromSparse(s: SparseHistogram): Histogram {
    const h = new Histogram();
    h.mergeSparse(s);
    return h;
  }

  /** Empties the histogram, keeping the allocated chunks for reuse (no reallocation). */
  reset(): void {
    if (this.total > 0) {
      for (const chunk of this.chunks) if (chunk) chunk.fill(0);
    }
    this.total = 0;
    this.minValue = Number.POSITIVE_INFINITY;
    this.maxValue = 0;
    this.sum = 0;
    this.sumSquares = 0;
    this.clamped = 0;
  }
}
