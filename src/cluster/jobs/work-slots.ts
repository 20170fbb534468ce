// Owns a worker's side of dispatched work: which of its cores each part holds, the fence
// check (a part's fence must be above the last one seen for its (job, workflow)), each part's
// state (accepted → running → cancelling → ended), and the numbering of its windows per thread
// (1, 2, 3… without gaps). Check and allocation happen in one synchronous call. A pure core.

import { checkConfigIntegers, reject, type Rejection } from './errors.js';

export type WorkState = 'accepted' | 'running' | 'cancelling' | 'ended';

export interface WorkPart {
  readonly dispatchId: string;
  readonly job: string;
  readonly workflow: string;
  readonly fence: number;
  readonly cores: readonly number[];
  state: WorkState;
  /** Last window seq numbered per thread of the part. */
  readonly seqs: number[];
  outcome: 'completed' | 'failed' | 'cancelled' | null;
}

export type WorkSlotsErrorCode =
  'E_DRAINING' | 'E_STALE_FENCE' | 'E_NO_CORES' | 'E_TOO_MANY' | 'E_INVALID' | 'E_UNKNOWN_DISPATCH';

export interface WorkSlotsConfig {
  readonly cores: number;
  /** Parts remembered (running and ended-but-unreported). */
  readonly maxParts: number;
  /** Fences remembered per (job, workflow), oldest forgotten first. */
  readonly maxFences: number;
}

export class WorkSlots {
  private readonly cfg: WorkSlotsConfig;
  private readonly holders: (string | null)[];
  private readonly parts = new Map<string, WorkPart>();
  private readonly fences = new Map<string, number>();
  private draining = false;

  constructor(config: Pick<WorkSlotsConfig, 'cores'> & Partial<WorkSlotsConfig>) {
    this.cfg = checkConfigIntegers(
      'work slots config',
      { maxParts: 1000, maxFences: 10_000, ...config },
      [
        ['cores', 1],
        ['maxParts', 1],
        ['maxFences', 1],
      ],
    );
    this.holders = new Array<string | null>(this.cfg.cores).fill(null);
  }

  get totalCores(): number {
    return this.cfg.cores;
  }

  get freeCores(): number {
    return this.holders.filter((h) => h === null).length;
  }

  get activeCount(): number {
    let n = 0;
    for (const p of this.parts.values()) if (p.state !== 'ended') n++;
    return n;
  }

  /** healthy while at most half the cores are busy, busy above that. */
  get health(): 'healthy' | 'busy' {
    return this.freeCores * 2 >= this.cfg.cores ? 'healthy' : 'busy';
  }

  /** Stops taking new work (an orderly shutdown). */
  drain(): void {
    this.draining = true;
  }

  part(dispatchId: string): WorkPart | undefined {
    return this.parts.get(dispatchId);
  }

  /** Accepts a part and takes `threads` cores for it, or refuses it (nothing changes). */
  accept(q: {
    dispatchId: string;
    job: string;
    workflow: string;
    fence: number;
    threads: number;
  }): { ok: true; part: WorkPart; duplicate: boolean } | Rejection<WorkSlotsErrorCode> {
    const known = this.parts.get(q.dispatchId);
    if (known) {
      if (known.fence === q.fence) return { ok: true, part: known, duplicate: true };
      return reject('E_INVALID', `dispatch '${q.dispatchId}' is known with another fence`);
    }
    if (this.draining) return reject('E_DRAINING', 'this worker is draining');
    if (!Number.isSafeInteger(q.threads) || q.threads < 1)
      return reject('E_INVALID', 'threads must be a positive integer');
    const fk = JSON.stringify([q.job, q.workflow]);
    const last = this.fences.get(fk);
    if (last !== undefined && q.fence <= last) {
      return reject(
        'E_STALE_FENCE',
        `fence ${q.fence} for workflow '${q.workflow}' of job '${q.job}' is not above ${last}`,
      );
    }
    if (q.threads > this.freeCores) {
      return reject('E_NO_CORES', `${q.threads} core(s) asked, ${this.freeCores} free`);
    }
    if (this.parts.size >= this.cfg.maxParts) {
      if (!this.evictEnded()) return reject('E_TOO_MANY', `${this.cfg.maxParts} parts are held`);
    }
    const cores: number[] = [];
    for (let c = 0; c < this.holders.length && cores.length < q.threads; c++) {
      if (this.holders[c] === null) {
        this.holders[c] = q.dispatchId;
        cores.push(c);
      }
    }
    this.fences.delete(fk);
    this.fences.set(fk, q.fence);
    if (this.fences.size > this.cfg.maxFences) {
      const oldest = this.fences.keys().next();
      if (!oldest.done) this.fences.delete(oldest.value);
    }
    const part: WorkPart = {
      dispatchId: q.dispatchId,
      job: q.job,
      workflow: q.workflow,
      fence: q.fence,
      cores,
      state: 'accepted',
      seqs: new Array<number>(q.threads).fill(0),
      outcome: null,
    };
    this.parts.set(q.dispatchId, part);
    return { ok: true, part, duplicate: false };
  }

  started(dispatchId: string): void {
    const p = this.parts.get(dispatchId);
    if (p?.state === 'accepted') p.state = 'running';
  }

  /** The next seq of thread `thread` of the part (null for an unknown part or thread). */
  nextSeq(dispatchId: string, thread: number): number | null {
    const p = this.parts.get(dispatchId);
    if (!p || !Number.isInteger(thread) || thread < 0 || thread >= p.seqs.length) return null;
    p.seqs[thread]!++;
    return p.seqs[thread]!;
  }

  /** Parts of `job` (one workflow's, if given) to cancel; those already ending are listed too. */
  cancel(job: string, workflow?: string, fence?: number): string[] {
    const out: string[] = [];
    for (const p of this.parts.values()) {
      if (p.job !== job || (workflow !== undefined && p.workflow !== workflow)) continue;
      if (fence !== undefined && fence < p.fence && workflow !== undefined) continue;
      if (p.state === 'accepted' || p.state === 'running') p.state = 'cancelling';
      out.push(p.dispatchId);
    }
    return out.sort();
  }

  /** The part ended: its cores are free again; the record stays until `forget`. */
  finish(
    dispatchId: string,
    outcome: 'completed' | 'failed' | 'cancelled',
  ): { ok: true; part: WorkPart } | Rejection<WorkSlotsErrorCode> {
    const p = this.parts.get(dispatchId);
    if (!p) return reject('E_UNKNOWN_DISPATCH', `dispatch '${dispatchId}' is not known`);
    if (p.state === 'ended') return { ok: true, part: p };
    p.outcome = p.state === 'cancelling' && outcome === 'completed' ? 'cancelled' : outcome;
    p.state = 'ended';
    for (const c of p.cores) if (this.holders[c] === dispatchId) this.holders[c] = null;
    return { ok: true, part: p };
  }

  /** The manager acknowledged the part's end: nothing is kept but its fence. */
  forget(dispatchId: string): void {
    const p = this.parts.get(dispatchId);
    if (p?.state === 'ended') this.parts.delete(dispatchId);
  }

  private evictEnded(): boolean {
    for (const [id, p] of this.parts) {
      if (p.state === 'ended') {
        this.parts.delete(id);
        return true;
      }
    }
    return false;
  }
}
