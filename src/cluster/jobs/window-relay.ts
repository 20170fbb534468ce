// Owns a manager's relay of statistics windows up to the owner gate of each job: windows tagged
// (job, source = worker#incarnation/thread, workflow, seq) are deduplicated (each counted once
// however often a worker resends it), queued per job (bounded), batched, sent with up to
// `maxInFlight` batches per job awaiting acknowledgement (so the relay's rate does not hang on one
// round trip to a gate that may be in another DC), and kept until the gate acknowledges them; a
// failed batch goes back to the front of the queue and is retried with backoff. Acknowledged
// windows are retained (bounded) until the job is released, so that when the job moves to a new
// owner gate they can all be sent to it again (`rewind`). A batch is
// bounded by count and by its wire weight (MessagePack values and bytes), so it always fits the
// receiver's frame limits. A pure core: time comes in as `now`; no I/O.

import { MAX_DECODE_VALUES } from '../../protocol/codec.js';
import { MAX_FRAME_BYTES } from '../../protocol/framing.js';
import { checkConfigIntegers, reject, type Rejection } from './errors.js';

export interface WindowRelayConfig {
  readonly maxBatch: number;
  /** MessagePack values (scalars, containers, map keys) the windows of one batch may hold. */
  readonly maxBatchValues: number;
  /** Encoded bytes the windows of one batch may take (an upper bound is counted). */
  readonly maxBatchBytes: number;
  /** Batches per job sent and not yet acknowledged (the gate counts each window once). */
  readonly maxInFlight: number;
  /** Windows queued (unacknowledged) per job; more are refused (the worker resends later). */
  readonly maxQueuedPerJob: number;
  readonly maxJobs: number;
  /** Sources (worker incarnation, thread, workflow) remembered per job for deduplication. */
  readonly maxSourcesPerJob: number;
  /** Seqs remembered above a source's contiguous prefix. */
  readonly maxAheadPerSource: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /**
   * Acknowledged windows kept per job until the job is released, so a new owner gate can be
   * sent them all again (`rewind`); past this (or `maxRetainedTotal`), the job's are dropped and
   * its retention is incomplete.
   */
  readonly maxRetainedPerJob: number;
  readonly maxRetainedTotal: number;
}

export const DEFAULT_WINDOW_RELAY_CONFIG: WindowRelayConfig = {
  maxBatch: 512,
  // The receiver refuses a frame over MAX_DECODE_VALUES values or MAX_FRAME_BYTES bytes; the
  // margin is for the message around the windows.
  maxBatchValues: MAX_DECODE_VALUES - 1024,
  maxBatchBytes: MAX_FRAME_BYTES - 64 * 1024,
  maxInFlight: 4,
  maxQueuedPerJob: 20_000,
  maxJobs: 1000,
  maxSourcesPerJob: 10_000,
  maxAheadPerSource: 1024,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
  // One window per thread per second: a 10-minute job on 16 threads keeps 9,600.
  maxRetainedPerJob: 20_000,
  maxRetainedTotal: 100_000,
};

export interface RelayedWindow {
  readonly source: string;
  readonly workflow: string;
  readonly seq: number;
  readonly window: unknown;
}

export interface RelayBatch {
  readonly job: string;
  readonly batchId: number;
  readonly windows: readonly RelayedWindow[];
}

interface Source {
  /** Every seq ≤ prefix was accepted. */
  prefix: number;
  above: Set<number>;
  /** Every seq ≤ deliveredPrefix reached the gate (it acknowledged it). */
  deliveredPrefix: number;
  deliveredAbove: Set<number>;
}

/** A queued window and its wire weight. */
interface Queued {
  readonly w: RelayedWindow;
  readonly values: number;
  readonly bytes: number;
}

interface JobQueue {
  /** Not yet sent, oldest first. */
  readonly queue: Queued[];
  readonly sources: Map<string, Source>;
  /** Sent, awaiting the gate, by batch id. */
  readonly inFlight: Map<number, Queued[]>;
  /** Windows in `inFlight`. */
  inFlightWindows: number;
  retryAtMs: number;
  failures: number;
  /** Acknowledged windows, oldest first, kept for a new owner (see `rewind`). */
  retained: Queued[];
  /** False once a retained window was dropped (or the job was met part-way, `markIncomplete`). */
  retainedComplete: boolean;
  /** When a batch of the job last went out (null: none yet; `expireIdle` starts counting then). */
  activeAtMs: number | null;
}

function newQueue(): JobQueue {
  return {
    queue: [],
    sources: new Map(),
    inFlight: new Map(),
    inFlightWindows: 0,
    retryAtMs: 0,
    failures: 0,
    retained: [],
    retainedComplete: true,
    activeAtMs: null,
  };
}

export interface RelayCounters {
  accepted: number;
  duplicates: number;
  refused: number;
  batchesSent: number;
  batchesAcked: number;
  retries: number;
  /** Jobs whose retention passed a bound (their retained windows were let go). */
  retentionDropped: number;
}

/** How hard a sender should hold back, from how full a job's queue is. */
export type BackpressureLevel = 'none' | 'throttle' | 'batch' | 'reject';

/** The level for a queue holding `queued` of at most `max`: <50 % none, <75 % throttle, <90 % batch, else reject. */
export function backpressureLevel(queued: number, max: number): BackpressureLevel {
  const fill = max > 0 ? queued / max : 1;
  if (fill < 0.5) return 'none';
  if (fill < 0.75) return 'throttle';
  if (fill < 0.9) return 'batch';
  return 'reject';
}

export type RelayErrorCode = 'E_QUEUE_FULL' | 'E_TOO_MANY_JOBS' | 'E_WINDOW_BOUND' | 'E_INVALID';

export class WindowRelay {
  private readonly cfg: WindowRelayConfig;
  private readonly jobs = new Map<string, JobQueue>();
  private nextBatch = 0;
  /** Retained windows over all jobs. */
  private retainedTotal = 0;
  readonly counters: RelayCounters = {
    accepted: 0,
    duplicates: 0,
    refused: 0,
    batchesSent: 0,
    batchesAcked: 0,
    retries: 0,
    retentionDropped: 0,
  };

  constructor(config: Partial<WindowRelayConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'window relay config',
      { ...DEFAULT_WINDOW_RELAY_CONFIG, ...config },
      [
        ['maxBatch', 1],
        ['maxBatchValues', 1],
        ['maxBatchBytes', 1],
        ['maxInFlight', 1],
        ['maxQueuedPerJob', 1],
        ['maxJobs', 1],
        ['maxSourcesPerJob', 1],
        ['maxAheadPerSource', 1],
        ['retryBaseMs', 0],
        ['retryMaxMs', 0],
        ['maxRetainedPerJob', 0],
        ['maxRetainedTotal', 0],
      ],
    );
  }

  /** Takes one window for `job`: queued, or a duplicate (counted once), or refused. */
  offer(
    job: string,
    w: RelayedWindow,
  ): { ok: true; duplicate: boolean } | Rejection<RelayErrorCode> {
    if (!Number.isSafeInteger(w.seq) || w.seq < 1) {
      this.counters.refused++;
      return reject('E_INVALID', 'seq must be a positive integer');
    }
    let q = this.jobs.get(job);
    if (!q) {
      if (this.jobs.size >= this.cfg.maxJobs) {
        this.counters.refused++;
        return reject('E_TOO_MANY_JOBS', `at most ${this.cfg.maxJobs} jobs relay windows at once`);
      }
      q = newQueue();
      this.jobs.set(job, q);
    }
    const sk = `${w.source}\u0000${w.workflow}`;
    let src = q.sources.get(sk);
    if (src && (w.seq <= src.prefix || src.above.has(w.seq))) {
      this.counters.duplicates++;
      return { ok: true, duplicate: true };
    }
    if (q.queue.length + q.inFlightWindows >= this.cfg.maxQueuedPerJob) {
      this.counters.refused++;
      return reject(
        'E_QUEUE_FULL',
        `${this.cfg.maxQueuedPerJob} windows of job '${job}' await the gate`,
      );
    }
    if (!src) {
      if (q.sources.size >= this.cfg.maxSourcesPerJob) {
        this.counters.refused++;
        return reject(
          'E_WINDOW_BOUND',
          `at most ${this.cfg.maxSourcesPerJob} window sources per job`,
        );
      }
      src = { prefix: 0, above: new Set(), deliveredPrefix: 0, deliveredAbove: new Set() };
      q.sources.set(sk, src);
    }
    if (w.seq > src.prefix + this.cfg.maxAheadPerSource) {
      this.counters.refused++;
      return reject(
        'E_WINDOW_BOUND',
        `window ${w.seq} of '${w.source}' is too far ahead of ${src.prefix}`,
      );
    }
    src.above.add(w.seq);
    while (src.above.delete(src.prefix + 1)) src.prefix++;
    const weight = { values: 0, bytes: 0 };
    weigh(w, weight);
    q.queue.push({ w, values: weight.values, bytes: weight.bytes });
    this.counters.accepted++;
    return { ok: true, duplicate: false };
  }

  /** The next batch to send for `job` (none while `maxInFlight` are out or a retry is not due). */
  next(job: string, now: number): RelayBatch | null {
    const q = this.jobs.get(job);
    if (!q || !this.ready(q, now)) return null;
    q.activeAtMs = now;
    // At least one window (a window alone over the bounds could never leave otherwise).
    let n = 0;
    let values = 0;
    let bytes = 0;
    for (const e of q.queue) {
      if (n >= this.cfg.maxBatch) break;
      values += e.values;
      bytes += e.bytes;
      if (n > 0 && (values > this.cfg.maxBatchValues || bytes > this.cfg.maxBatchBytes)) break;
      n++;
    }
    const entries = q.queue.splice(0, n);
    const batch: RelayBatch = { job, batchId: ++this.nextBatch, windows: entries.map((e) => e.w) };
    q.inFlight.set(batch.batchId, entries);
    q.inFlightWindows += entries.length;
    this.counters.batchesSent++;
    if (q.failures > 0) this.counters.retries++;
    return batch;
  }

  /** Jobs that have a batch ready to go now. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [job, q] of this.jobs) {
      if (this.ready(q, now)) out.push(job);
    }
    return out;
  }

  private ready(q: JobQueue, now: number): boolean {
    return q.inFlight.size < this.cfg.maxInFlight && q.queue.length > 0 && now >= q.retryAtMs;
  }

  /** The gate acknowledged the batch: its windows leave the queue. */
  acked(job: string, batchId: number): boolean {
    const q = this.jobs.get(job);
    const entries = q?.inFlight.get(batchId);
    if (!q || !entries) return false;
    q.inFlight.delete(batchId);
    q.inFlightWindows -= entries.length;
    for (const { w } of entries) {
      const src = q.sources.get(`${w.source}\u0000${w.workflow}`);
      if (!src) continue;
      src.deliveredAbove.add(w.seq);
      while (src.deliveredAbove.delete(src.deliveredPrefix + 1)) src.deliveredPrefix++;
    }
    q.failures = 0;
    q.retryAtMs = 0;
    this.retain(job, q, entries);
    this.counters.batchesAcked++;
    return true;
  }

  /** Keeps acknowledged windows for a new owner, within both bounds (else none of the job's). */
  private retain(job: string, q: JobQueue, entries: readonly Queued[]): void {
    if (!q.retainedComplete) return;
    if (
      q.retained.length + entries.length > this.cfg.maxRetainedPerJob ||
      this.retainedTotal + entries.length > this.cfg.maxRetainedTotal
    ) {
      this.counters.retentionDropped++;
      this.markIncomplete(job);
      return;
    }
    q.retained.push(...entries);
    this.retainedTotal += entries.length;
  }

  /**
   * The job's retention cannot be whole (a bound was passed, or this node met the job part-way,
   * e.g. as a new leader): what it retained is let go.
   */
  markIncomplete(job: string): void {
    let q = this.jobs.get(job);
    if (!q) {
      if (this.jobs.size >= this.cfg.maxJobs) return;
      q = newQueue();
      this.jobs.set(job, q);
    }
    this.retainedTotal -= q.retained.length;
    q.retained = [];
    q.retainedComplete = false;
  }

  /**
   * The job has a new owner that holds none of its windows: every retained window (and any
   * awaiting the old owner) goes back to the queue, oldest first, to be sent again. Returns the
   * windows queued again and whether they are all the job's windows since it began here.
   */
  rewind(job: string): { requeued: number; complete: boolean } {
    const q = this.jobs.get(job);
    if (!q) return { requeued: 0, complete: false };
    const inFlight = [...q.inFlight.keys()]
      .sort((a, b) => a - b)
      .flatMap((b) => q.inFlight.get(b)!);
    q.inFlight.clear();
    q.inFlightWindows = 0;
    const again = [...q.retained, ...inFlight];
    q.queue.unshift(...again);
    this.retainedTotal -= q.retained.length;
    q.retained = [];
    q.failures = 0;
    q.retryAtMs = 0;
    return { requeued: again.length, complete: q.retainedComplete };
  }

  /** Whether every acknowledged window of `job` is still retained (false for an unknown job). */
  retainedWhole(job: string): boolean {
    return this.jobs.get(job)?.retainedComplete ?? false;
  }

  /** Windows retained for `job` (acknowledged, kept for a new owner). */
  retainedCount(job?: string): number {
    if (job === undefined) return this.retainedTotal;
    return this.jobs.get(job)?.retained.length ?? 0;
  }

  /** Drops jobs with nothing queued or in flight that saw no window for `idleMs` (returned). */
  expireIdle(now: number, idleMs: number): string[] {
    const out: string[] = [];
    for (const [job, q] of this.jobs) {
      // A record no batch went out of yet (made by a floor or a mark) starts its idle time now.
      q.activeAtMs ??= now;
      if (q.queue.length > 0 || q.inFlightWindows > 0 || now - q.activeAtMs < idleMs) continue;
      out.push(job);
    }
    for (const job of out) this.dropJob(job);
    return out;
  }

  /** The batch was not acknowledged: its windows go back first, sent after a backoff (returned). */
  failed(job: string, batchId: number, now: number): number | null {
    const q = this.jobs.get(job);
    const entries = q?.inFlight.get(batchId);
    if (!q || !entries) return null;
    q.inFlight.delete(batchId);
    q.inFlightWindows -= entries.length;
    q.queue.unshift(...entries);
    q.failures++;
    const delay = Math.min(
      this.cfg.retryMaxMs,
      this.cfg.retryBaseMs * 2 ** Math.min(q.failures - 1, 20),
    );
    q.retryAtMs = now + delay;
    return delay;
  }

  /**
   * The sender knows every window of `source` up to `floor` reached the gate (through an
   * earlier leader): both marks start there, so later windows count as contiguous.
   */
  advance(job: string, source: string, workflow: string, floor: number): void {
    if (!Number.isSafeInteger(floor) || floor < 1) return;
    let q = this.jobs.get(job);
    if (!q) {
      if (this.jobs.size >= this.cfg.maxJobs) return;
      q = newQueue();
      this.jobs.set(job, q);
    }
    const sk = `${source}\u0000${workflow}`;
    let src = q.sources.get(sk);
    if (!src) {
      if (q.sources.size >= this.cfg.maxSourcesPerJob) return;
      src = { prefix: 0, above: new Set(), deliveredPrefix: 0, deliveredAbove: new Set() };
      q.sources.set(sk, src);
    }
    if (floor > src.prefix) {
      src.prefix = floor;
      for (const s of src.above) if (s <= floor) src.above.delete(s);
      while (src.above.delete(src.prefix + 1)) src.prefix++;
    }
    if (floor > src.deliveredPrefix) {
      src.deliveredPrefix = floor;
      for (const s of src.deliveredAbove) if (s <= floor) src.deliveredAbove.delete(s);
      while (src.deliveredAbove.delete(src.deliveredPrefix + 1)) src.deliveredPrefix++;
    }
  }

  /** How far the gate acknowledged `source`'s windows of `workflow` without a gap (0: none). */
  delivered(job: string, source: string, workflow: string): number {
    return this.jobs.get(job)?.sources.get(`${source}\u0000${workflow}`)?.deliveredPrefix ?? 0;
  }

  /** Windows of `job` (of one workflow, if given) not yet acknowledged by the gate. */
  pending(job: string, workflow?: string): number {
    const q = this.jobs.get(job);
    if (!q) return 0;
    if (workflow === undefined) return q.queue.length + q.inFlightWindows;
    let n = q.queue.filter((e) => e.w.workflow === workflow).length;
    for (const entries of q.inFlight.values())
      n += entries.filter((e) => e.w.workflow === workflow).length;
    return n;
  }

  /** How hard senders of `job`'s windows should hold back now (in-flight windows count, as in the bound). */
  backpressure(job: string): BackpressureLevel {
    return backpressureLevel(this.pending(job), this.cfg.maxQueuedPerJob);
  }

  /** Forgets a job (ended, or its owner is gone), its retained windows with it. */
  dropJob(job: string): void {
    const q = this.jobs.get(job);
    if (q) this.retainedTotal -= q.retained.length;
    this.jobs.delete(job);
  }

  get jobCount(): number {
    return this.jobs.size;
  }

  /** The jobs the relay holds state for. */
  jobIds(): string[] {
    return [...this.jobs.keys()];
  }
}

/**
 * Adds the MessagePack weight of `v` to `acc`: values as the decoder counts them (every scalar,
 * array, map and map key) and an upper bound on its encoded bytes.
 */
export function weigh(v: unknown, acc: { values: number; bytes: number }): void {
  acc.values++;
  if (typeof v === 'string') {
    acc.bytes += 5 + utf8Bound(v);
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    acc.bytes += 9;
  } else if (Array.isArray(v)) {
    acc.bytes += 5;
    // Histogram buckets are long arrays of numbers: counted without a call each.
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x === 'number') {
        acc.values++;
        acc.bytes += 9;
      } else weigh(x, acc);
    }
  } else if (v instanceof Uint8Array) {
    acc.bytes += 5 + v.byteLength;
  } else if (typeof v === 'object' && v !== null) {
    acc.bytes += 5;
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue; // the wire codec leaves undefined fields out
      acc.values++;
      acc.bytes += 5 + utf8Bound(k);
      weigh(x, acc);
    }
  } else {
    acc.bytes += 1;
  }
}

/** UTF-8 length of `s`, counting 3 bytes for each surrogate (a lone one encodes as 3). */
function utf8Bound(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 ? 1 : 2;
  }
  return n;
}
