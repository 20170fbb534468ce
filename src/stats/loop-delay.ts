// Owns the generator's own event-loop delay: on a worker thread, a timer armed every
// LOOP_DELAY_RESOLUTION_MS records how late it ran into a Histogram (µs) that statistics windows
// carry; on the main thread, the per-thread and merged figures of the results document.
// Hand-written on a timer rather than perf_hooks.monitorEventLoopDelay: that histogram cannot be
// shipped between threads and merged exactly; this one uses the shared Histogram layout.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { summarize } from './aggregate.js';
import type { GeneratorResult, LoopDelayResult, SparseHistogram } from './types.js';

/** How often the sampling timer runs; a sample is how much later than this it ran. */
export const LOOP_DELAY_RESOLUTION_MS = 10;
/**
 * The summary warns when the merged p99 event-loop delay exceeds this: a response that arrives
 * while the loop is blocked is timed late by up to the delay, and an open-model iteration starts
 * late by as much, so beyond a few milliseconds the generator's pauses show up as the target's
 * latency (or as dropped iterations).
 */
export const LOOP_DELAY_WARN_P99_MS = 5;

/**
 * One thread's sampler. Shared by every job of the thread: `acquire` when a job starts,
 * `release` when it ends (the timer runs while at least one job does, and never keeps the
 * thread alive). `take` returns the samples since the previous take (null if none) and resets.
 */
export class LoopDelaySampler {
  private readonly histogram = new Histogram();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private users = 0;

  constructor(private readonly resolutionMs: number = LOOP_DELAY_RESOLUTION_MS) {}

  acquire(): void {
    if (this.users++ > 0) return;
    this.last = performance.now();
    this.timer = setInterval(() => this.sample(), this.resolutionMs);
    this.timer.unref();
  }

  release(): void {
    if (this.users === 0 || --this.users > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  take(): SparseHistogram | null {
    if (this.histogram.isEmpty) return null;
    const sparse = this.histogram.toSparse();
    this.histogram.reset();
    return sparse;
  }

  private sample(): void {
    const now = performance.now();
    const lateUs = (now - this.last - this.resolutionMs) * 1000;
    this.last = now;
    this.histogram.record(lateUs > 0 ? lateUs : 0);
  }
}

let threadSampler: LoopDelaySampler | undefined;

/** Makes this thread's jobs sample its event-loop delay (a worker thread calls it once). */
export function sampleThreadLoopDelay(): void {
  threadSampler ??= new LoopDelaySampler();
}

/** This thread's sampler, if `sampleThreadLoopDelay` was called on it. */
export function threadLoopDelay(): LoopDelaySampler | undefined {
  return threadSampler;
}

/** Main thread: event-loop delay samples by worker, merged into the results document. */
export class LoopDelayAggregate {
  private readonly byWorker = new Map<number, Histogram>();

  /** Adds a window's samples from `worker`; throws (changing nothing) when they are malformed. */
  add(worker: number, samples: SparseHistogram): void {
    const h = this.byWorker.get(worker) ?? new Histogram();
    h.mergeSparse(samples);
    this.byWorker.set(worker, h);
  }

  toResult(): GeneratorResult {
    const merged = new Histogram();
    const threads: LoopDelayResult['threads'] = [];
    for (const [worker, h] of [...this.byWorker].sort((a, b) => a[0] - b[0])) {
      merged.merge(h);
      threads.push({ worker, samples: h.count, ...summarize(h, 1000) });
    }
    const summary = summarize(merged, 1000);
    return {
      eventLoopDelay: {
        resolutionMs: LOOP_DELAY_RESOLUTION_MS,
        warnP99Ms: LOOP_DELAY_WARN_P99_MS,
        exceeded: summary.p99 > LOOP_DELAY_WARN_P99_MS,
        merged: { samples: merged.count, ...summary },
        threads,
        histogram: merged.toSparse(),
      },
    };
  }
}
