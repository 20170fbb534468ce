// Owns rate-limited logging of rejected peers: a token bucket in front of a Logger, so a client
// looping on refused connections costs a few log lines a second, not the disk. Suppressed lines
// are counted and the count is reported on the next line that passes. Pure: the owner refills
// the bucket from its timers (`refill`); never reads a clock.

import type { Logger, LogLevel } from '../runtime/types.js';

/** Lines that may pass at once after a quiet period. */
export const REJECTION_LOG_BURST = 20;
/** Lines per second that may pass under a sustained flood. */
export const REJECTION_LOG_PER_SECOND = 5;
/** How often a server refills its bucket. */
export const REJECTION_LOG_REFILL_MS = 1_000;

export class RateLimitedLog {
  private tokens: number;
  private suppressedSinceLast = 0;
  /** Lines suppressed over the whole life of this log. */
  suppressedTotal = 0;
  passedTotal = 0;

  constructor(
    private readonly log: Logger | undefined,
    private readonly burst: number = REJECTION_LOG_BURST,
    private readonly perSecond: number = REJECTION_LOG_PER_SECOND,
  ) {
    this.tokens = burst;
  }

  /** Logs the line if a token is left, else counts it as suppressed. */
  write(level: LogLevel, message: string, fields: Record<string, unknown> = {}): boolean {
    if (this.tokens < 1) {
      this.suppressedSinceLast++;
      this.suppressedTotal++;
      return false;
    }
    this.tokens--;
    this.passedTotal++;
    const suppressed = this.suppressedSinceLast;
    this.suppressedSinceLast = 0;
    this.log?.log(level, message, suppressed > 0 ? { ...fields, suppressed } : fields);
    return true;
  }

  /** Adds the tokens earned over `elapsedMs`; reports a pending suppressed count if one can pass. */
  refill(elapsedMs: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (this.perSecond * elapsedMs) / 1000);
    if (this.suppressedSinceLast > 0 && this.tokens >= 1) {
      this.write('warn', 'rejected-peer log lines were suppressed by the rate limit');
    }
  }
}
