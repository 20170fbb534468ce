// Owns a manager's relay of statistics windows up to the owner gate of each job: windows tagged
// (job, source = worker#incarnation/thread, workflow, seq) are deduplicated (each counted once
// however often a worker resends it), queued per job (bounded), batched, sent one batch at a
// time per job, and kept until the gate acknowledges them; a failed batch is retried with
// backoff. A pure core: time comes in as `now`; it never does I/O.

import { checkConfigIntegers, reject, type Rejection } from './errors.js';

export interface WindowRelayConfig {
  readonly maxBatch: number;
  /** Windows queued (unacknowledged) per job; more are refused (the worker resends later). */
  readonly maxQueuedPerJob: number;
  readonly maxJobs: number;
  /** Sources (worker incarnation, thread, workflow) remembered per job for deduplication. */
  readonly maxSourcesPerJob: number;
  /** Seqs remembered above a source's contiguous prefix. */
  readonly maxAheadPerSource: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export const DEFAULT_WINDOW_RELAY_CONFIG: WindowRelayConfig = {
  maxBatch: 512,
  maxQueuedPerJob: 20_000,
  maxJobs: 1000,
  maxSourcesPerJob: 10_000,
  maxAheadPerSource: 1024,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
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

interface JobQueue {
  readonly queue: RelayedWindow[];
  readonly sources: Map<string, Source>;
  inFlight: RelayBatch | null;
  retryAtMs: number;
  failures: number;
}

export interface RelayCounters {
  accepted: number;
  duplicates: number;
  refused: number;
  batchesSent: number;
  batchesAcked: number;
  retries: number;
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
  readonly counters: RelayCounters = {
    accepted: 0,
    duplicates: 0,
    refused: 0,
    batchesSent: 0,
    batchesAcked: 0,
    retries: 0,
  };

  constructor(config: Partial<WindowRelayConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'window relay config',
      { ...DEFAULT_WINDOW_RELAY_CONFIG, ...config },
      [
        ['maxBatch', 1],
        ['maxQueuedPerJob', 1],
        ['maxJobs', 1],
        ['maxSourcesPerJob', 1],
        ['maxAheadPerSource', 1],
        ['retryBaseMs', 0],
        ['retryMaxMs', 0],
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
      q = { queue: [], sources: new Map(), inFlight: null, retryAtMs: 0, failures: 0 };
      this.jobs.set(job, q);
    }
    const sk = `${w.source}\u0000${w.workflow}`;
    let src = q.sources.get(sk);
    if (src && (w.seq <= src.prefix || src.above.has(w.seq))) {
      this.counters.duplicates++;
      return { ok: true, duplicate: true };
    }
    if (q.queue.length >= this.cfg.maxQueuedPerJob) {
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
    q.queue.push(w);
    this.counters.accepted++;
    return { ok: true, duplicate: false };
  }

  /** The next batch to send for `job` (none while one is in flight or a retry is not due). */
  next(job: string, now: number): RelayBatch | null {
    const q = this.jobs.get(job);
    if (!q || q.inFlight || q.queue.length === 0 || now < q.retryAtMs) return null;
    const batch: RelayBatch = {
      job,
      batchId: ++this.nextBatch,
      windows: q.queue.slice(0, this.cfg.maxBatch),
    };
    q.inFlight = batch;
    this.counters.batchesSent++;
    if (q.failures > 0) this.counters.retries++;
    return batch;
  }

  /** Jobs that have a batch ready to go now. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [job, q] of this.jobs) {
      if (!q.inFlight && q.queue.length > 0 && now >= q.retryAtMs) out.push(job);
    }
    return out;
  }

  /** The gate acknowledged the batch: its windows leave the queue. */
  acked(job: string, batchId: number): boolean {
    const q = this.jobs.get(job);
    if (!q || q.inFlight?.batchId !== batchId) return false;
    q.queue.splice(0, q.inFlight.windows.length);
    for (const w of q.inFlight.windows) {
      const src = q.sources.get(`${w.source}\u0000${w.workflow}`);
      if (!src) continue;
      src.deliveredAbove.add(w.seq);
      while (src.deliveredAbove.delete(src.deliveredPrefix + 1)) src.deliveredPrefix++;
    }
    q.inFlight = null;
    q.failures = 0;
    q.retryAtMs = 0;
    this.counters.batchesAcked++;
    return true;
  }

  /** The batch was not acknowledged: it is sent again after a backoff (returned). */
  failed(job: string, batchId: number, now: number): number | null {
    const q = this.jobs.get(job);
    if (!q || q.inFlight?.batchId !== batchId) return null;
    q.inFlight = null;
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
      q = { queue: [], sources: new Map(), inFlight: null, retryAtMs: 0, failures: 0 };
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
    return workflow === undefined
      ? q.queue.length
      : q.queue.filter((w) => w.workflow === workflow).length;
  }

  /** How hard senders of `job`'s windows should hold back now. */
  backpressure(job: string): BackpressureLevel {
    return backpressureLevel(this.jobs.get(job)?.queue.length ?? 0, this.cfg.maxQueuedPerJob);
  }

  /** Forgets a job (ended, or its owner is gone). */
  dropJob(job: string): void {
    this.jobs.delete(job);
  }

  get jobCount(): number {
    return this.jobs.size;
  }
}
