// Owns which manager leads each part a worker runs, and what happens when that manager is
// gone: parts whose manager cannot be reached are orphaned (with the time), a job-leader
// transfer from a newer term re-points them (a transfer for parts not dispatched yet is kept
// and applied when they arrive), the same manager coming back clears the orphan mark, and
// parts orphaned past the grace period are handed back to be given up. A pure core: time comes
// in as `now`; answers are values.

import { checkConfigIntegers, reject, type Rejection } from './errors.js';

export interface WorkLeadersConfig {
  readonly maxParts: number;
  readonly maxPending: number;
  /** A pending transfer not applied within this long is dropped. */
  readonly pendingTtlMs: number;
}

export interface LeadRecord {
  readonly dispatchId: string;
  readonly job: string;
  manager: string;
  orphanedAtMs: number | null;
}

interface Pending {
  readonly manager: string;
  readonly term: number;
  readonly atMs: number;
}

export type TransferErrorCode = 'E_STALE_FENCE' | 'E_UNKNOWN_MANAGER' | 'E_CONFLICT';

export interface TransferCounters {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: Record<TransferErrorCode, number>;
}

/** A fence's term (fences are term · 2^32 + n). */
export function fenceTerm(fence: number): number {
  return Math.floor(fence / 2 ** 32);
}

export class WorkLeaders {
  private readonly cfg: WorkLeadersConfig;
  private readonly parts = new Map<string, LeadRecord>();
  /** Per job: the highest term seen (dispatch or transfer) and who leads it in that term. */
  private readonly jobs = new Map<string, { term: number; manager: string | null }>();
  private readonly pending = new Map<string, Pending>();
  readonly counters: TransferCounters = {
    received: 0,
    accepted: 0,
    duplicates: 0,
    rejected: { E_STALE_FENCE: 0, E_UNKNOWN_MANAGER: 0, E_CONFLICT: 0 },
  };

  constructor(config: Partial<WorkLeadersConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'work leaders config',
      { maxParts: 1000, maxPending: 1000, pendingTtlMs: 60_000, ...config },
      [
        ['maxParts', 1],
        ['maxPending', 1],
        ['pendingTtlMs', 1],
      ],
    );
  }

  leaderOf(dispatchId: string): string | undefined {
    return this.parts.get(dispatchId)?.manager;
  }

  record(dispatchId: string): LeadRecord | undefined {
    return this.parts.get(dispatchId);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * A part was dispatched by `manager` with `fence`: it is led by that manager, or by the one a
   * newer pending transfer names (which is applied and dropped). Returns the leading manager.
   */
  track(dispatchId: string, job: string, manager: string, fence: number): string {
    let lead = manager;
    let term = fenceTerm(fence);
    const p = this.pending.get(dispatchId);
    if (p) {
      this.pending.delete(dispatchId);
      if (p.term >= term) {
        lead = p.manager;
        term = p.term;
      }
    }
    const j = this.jobs.get(job);
    if (!j || term > j.term) this.jobs.set(job, { term, manager: lead });
    if (this.parts.size >= this.cfg.maxParts) {
      const first = this.parts.keys().next();
      if (!first.done) this.parts.delete(first.value);
    }
    this.parts.set(dispatchId, { dispatchId, job, manager: lead, orphanedAtMs: null });
    return lead;
  }

  /** A job-leader transfer (see the header); `known` says whether `manager` is one of ours. */
  transfer(
    job: string,
    manager: string,
    fence: number,
    dispatchIds: readonly string[],
    known: boolean,
    now: number,
  ):
    | { ok: true; accepted: string[]; pending: string[]; duplicate: boolean }
    | Rejection<TransferErrorCode> {
    this.counters.received++;
    if (!known) {
      this.counters.rejected.E_UNKNOWN_MANAGER++;
      return reject('E_UNKNOWN_MANAGER', `'${manager}' is not a manager of this worker`);
    }
    const term = fenceTerm(fence);
    const j = this.jobs.get(job);
    if (j && term < j.term) {
      this.counters.rejected.E_STALE_FENCE++;
      return reject(
        'E_STALE_FENCE',
        `transfer of job '${job}' from term ${term}; term ${j.term} was seen`,
      );
    }
    if (j && term === j.term && j.manager !== null && j.manager !== manager) {
      this.counters.rejected.E_CONFLICT++;
      return reject('E_CONFLICT', `job '${job}' is already led by '${j.manager}' in term ${term}`);
    }
    const duplicate = j !== undefined && term === j.term && j.manager === manager;
    this.jobs.set(job, { term, manager });
    const accepted: string[] = [];
    const pending: string[] = [];
    for (const id of dispatchIds) {
      const r = this.parts.get(id);
      if (r && r.job === job) {
        r.manager = manager;
        r.orphanedAtMs = null;
        accepted.push(id);
      } else {
        if (this.pending.size >= this.cfg.maxPending) this.expirePending(now, true);
        this.pending.set(id, { manager, term, atMs: now });
        pending.push(id);
      }
    }
    // Parts of the job not listed are led by the new leader too (it leads the whole job).
    for (const r of this.parts.values()) {
      if (r.job === job && r.manager !== manager) {
        r.manager = manager;
        r.orphanedAtMs = null;
        accepted.push(r.dispatchId);
      }
    }
    if (duplicate) this.counters.duplicates++;
    else this.counters.accepted++;
    return { ok: true, accepted: accepted.sort(), pending: pending.sort(), duplicate };
  }

  /** `manager` could not be reached: its parts are orphaned from `now` (if not already). */
  orphaned(manager: string, now: number): string[] {
    const out: string[] = [];
    for (const r of this.parts.values()) {
      if (r.manager === manager && r.orphanedAtMs === null) {
        r.orphanedAtMs = now;
        out.push(r.dispatchId);
      }
    }
    return out;
  }

  /** `manager` answered again: its parts are no longer orphaned. */
  recovered(manager: string): string[] {
    const out: string[] = [];
    for (const r of this.parts.values()) {
      if (r.manager === manager && r.orphanedAtMs !== null) {
        r.orphanedAtMs = null;
        out.push(r.dispatchId);
      }
    }
    return out;
  }

  /** Parts orphaned for `graceMs` or longer (the caller gives them up and forgets them). */
  expired(now: number, graceMs: number): string[] {
    this.expirePending(now, false);
    const out: string[] = [];
    for (const r of this.parts.values()) {
      if (r.orphanedAtMs !== null && now - r.orphanedAtMs >= graceMs) out.push(r.dispatchId);
    }
    return out;
  }

  forget(dispatchId: string): void {
    this.parts.delete(dispatchId);
  }

  private expirePending(now: number, oldestToo: boolean): void {
    for (const [id, p] of this.pending) {
      if (now - p.atMs >= this.cfg.pendingTtlMs) this.pending.delete(id);
    }
    if (oldestToo && this.pending.size >= this.cfg.maxPending) {
      const first = this.pending.keys().next();
      if (!first.done) this.pending.delete(first.value);
    }
  }
}
