// Owns the fan-out of one cancellation to the workers running a job on this DC and the
// collection of their acknowledgements: a cancellation ends when every worker acknowledged, or
// at its deadline naming the workers that did not answer. A pure core: time comes in as `now`.

import { checkConfigIntegers, reject, type Rejection } from './errors.js';

export interface CancelFanoutConfig {
  readonly maxOpen: number;
}

export interface CancelOutcome {
  readonly cancelId: number;
  readonly job: string;
  readonly workflow: string | undefined;
  readonly acknowledged: string[];
  readonly unanswered: string[];
}

interface Open {
  readonly job: string;
  readonly workflow: string | undefined;
  readonly waiting: Set<string>;
  readonly acknowledged: string[];
  readonly deadlineMs: number;
}

export class CancelFanout {
  private readonly cfg: CancelFanoutConfig;
  private readonly open = new Map<number, Open>();
  private nextId = 0;

  constructor(config: Partial<CancelFanoutConfig> = {}) {
    this.cfg = checkConfigIntegers('cancel fan-out config', { maxOpen: 10_000, ...config }, [
      ['maxOpen', 1],
    ]);
  }

  get openCount(): number {
    return this.open.size;
  }

  /**
   * Starts a cancellation sent to `workers`. With no worker to ask it is complete at once
   * (`done`); otherwise it waits for `ack`s until `now + timeoutMs`.
   */
  start(
    job: string,
    workflow: string | undefined,
    workers: readonly string[],
    now: number,
    timeoutMs: number,
  ): { ok: true; cancelId: number; done: CancelOutcome | null } | Rejection<'E_TOO_MANY'> {
    if (this.open.size >= this.cfg.maxOpen) {
      return reject('E_TOO_MANY', `${this.cfg.maxOpen} cancellations are already waiting`);
    }
    const cancelId = ++this.nextId;
    const waiting = new Set(workers);
    if (waiting.size === 0) {
      return {
        ok: true,
        cancelId,
        done: { cancelId, job, workflow, acknowledged: [], unanswered: [] },
      };
    }
    this.open.set(cancelId, {
      job,
      workflow,
      waiting,
      acknowledged: [],
      deadlineMs: now + timeoutMs,
    });
    return { ok: true, cancelId, done: null };
  }

  /** A worker acknowledged; returns the outcome when it was the last one awaited. */
  ack(cancelId: number, worker: string): CancelOutcome | null {
    const o = this.open.get(cancelId);
    if (!o || !o.waiting.delete(worker)) return null;
    o.acknowledged.push(worker);
    if (o.waiting.size > 0) return null;
    this.open.delete(cancelId);
    return this.outcome(cancelId, o);
  }

  /** Cancellations past their deadline, with the workers that did not answer. */
  expire(now: number): CancelOutcome[] {
    const out: CancelOutcome[] = [];
    for (const [id, o] of this.open) {
      if (now < o.deadlineMs) continue;
      this.open.delete(id);
      out.push(this.outcome(id, o));
    }
    return out;
  }

  private outcome(cancelId: number, o: Open): CancelOutcome {
    return {
      cancelId,
      job: o.job,
      workflow: o.workflow,
      acknowledged: [...o.acknowledged].sort(),
      unanswered: [...o.waiting].sort(),
    };
  }
}
