// Owns the per-client rate limit of a gate: one token bucket per client (refilled continuously,
// capped at its burst), a bounded table of clients (the least recently seen is forgotten first:
// a forgotten client starts again with a full bucket, which only ever errs on the generous
// side), and the retry-after hint of a refusal. Time comes in as `nowMs`; never reads a clock.

import { checkConfigIntegers } from './errors.js';

export interface RateLimiterConfig {
  /** Requests a client may make at once after a quiet period (the bucket size). */
  readonly burst: number;
  /** Sustained requests per second per client (the refill rate). */
  readonly perSecond: number;
  /** Clients tracked at once; beyond it the least recently seen is forgotten. */
  readonly maxClients: number;
}

/** Defaults: a client may submit a burst of 50, then 20 a second (REFERENCE §2.3's 10/s doubled). */
export const DEFAULT_RATE_LIMITER_CONFIG: RateLimiterConfig = {
  burst: 50,
  perSecond: 20,
  maxClients: 10_000,
};

export type RateDecision =
  | { readonly ok: true; readonly remaining: number }
  /** `retryAfterMs`: when one token will be back (at least 1 ms). */
  | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly cfg: RateLimiterConfig;
  private readonly buckets = new Map<string, Bucket>();

  constructor(config: Partial<RateLimiterConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'rate limiter config',
      { ...DEFAULT_RATE_LIMITER_CONFIG, ...config },
      [
        ['burst', 1],
        ['perSecond', 1],
        ['maxClients', 1],
      ],
    );
  }

  get clients(): number {
    return this.buckets.size;
  }

  /** Takes `cost` tokens from `client`'s bucket at `nowMs`, or says when to retry. */
  take(client: string, nowMs: number, cost = 1): RateDecision {
    const b = this.refilled(client, nowMs);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    const missing = Math.min(cost, this.cfg.burst) - b.tokens;
    return {
      ok: false,
      retryAfterMs: Math.max(1, Math.ceil((missing * 1000) / this.cfg.perSecond)),
    };
  }

  private refilled(client: string, nowMs: number): Bucket {
    let b = this.buckets.get(client);
    if (b === undefined) {
      b = { tokens: this.cfg.burst, atMs: nowMs };
      if (this.buckets.size >= this.cfg.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    } else {
      this.buckets.delete(client);
      // A clock that stepped back refills nothing (and never takes tokens away).
      const elapsed = Math.max(0, nowMs - b.atMs);
      b.tokens = Math.min(this.cfg.burst, b.tokens + (elapsed * this.cfg.perSecond) / 1000);
      b.atMs = Math.max(b.atMs, nowMs);
    }
    this.buckets.set(client, b);
    return b;
  }
}
