// Owns how long a gate keeps what it alone knows about an ended job (its final result for late
// watchers): bounded by count (the oldest ended goes first) and by age. Time comes in as
// `nowMs`; never reads a clock.

import { checkConfigIntegers } from './errors.js';

export interface RetentionConfig {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
}

/** Defaults: as many as the ledger keeps ended jobs, for as long as it keeps a failed one. */
export const DEFAULT_RETENTION_CONFIG: RetentionConfig = {
  maxEntries: 10_000,
  maxAgeMs: 3_600_000,
};

export class EndedRetention<T> {
  private readonly cfg: RetentionConfig;
  /** In insertion order, which is end order (a re-put moves the entry to the back). */
  private readonly entries = new Map<string, { value: T; endedAtMs: number }>();

  constructor(config: Partial<RetentionConfig> = {}) {
    this.cfg = checkConfigIntegers('retention config', { ...DEFAULT_RETENTION_CONFIG, ...config }, [
      ['maxEntries', 1],
      ['maxAgeMs', 0],
    ]);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keeps `value` for `job`; returns the jobs evicted to stay within the count. */
  put(job: string, value: T, endedAtMs: number): string[] {
    this.entries.delete(job);
    this.entries.set(job, { value, endedAtMs });
    const evicted: string[] = [];
    while (this.entries.size > this.cfg.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  get(job: string): T | undefined {
    return this.entries.get(job)?.value;
  }

  /** Drops entries that ended more than maxAgeMs before `nowMs`; returns their jobs. */
  sweep(nowMs: number): string[] {
    const evicted: string[] = [];
    for (const [job, e] of this.entries) {
      if (nowMs - e.endedAtMs < this.cfg.maxAgeMs) continue;
      this.entries.delete(job);
      evicted.push(job);
    }
    return evicted;
  }
}
