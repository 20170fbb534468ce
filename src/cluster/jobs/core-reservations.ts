// Owns a manager leader's reservations of worker cores for dispatches: which core of which
// worker each dispatch holds, and the fence token every dispatch carries. Each reservation is
// decided and recorded in one synchronous call (no two dispatches ever hold the same core);
// cores come back on completion, cancellation or the worker's loss. Never does I/O or reads a
// clock; bad requests are typed rejections, never exceptions.
//
// Contract:
// - `reserve` takes the lowest free core indexes of the worker, all or nothing; `reserveAll`
//   does so for a batch (a round of a split plan): either every request is granted or none.
// - Fence tokens: term · 2^32 + n, n counting reservations of this leader from 1. A new
//   leader builds its table with its Raft term, so its tokens are above every token of an
//   older term, and a worker keeps only the highest token it saw per workflow.
// - One live dispatch per (job, workflow, worker) and per dispatch id.
// - Bounded: workers, cores per worker and live reservations each have a limit.

import { checkConfigIntegers, jobsInvariant, reject, type Rejection } from './errors.js';
import { MAX_WORKER_CORES } from './split-plan.js';

/** Highest term whose fence tokens stay safe integers (term · 2^32 + 2^32 − 1 < 2^53). */
export const MAX_FENCE_TERM = 2 ** 21 - 1;
const FENCE_COUNTER_LIMIT = 2 ** 32 - 1;

export interface CoreReservationsConfig {
  /** The Raft term of the leader that owns this table (fence tokens are derived from it). */
  readonly term: number;
  readonly maxWorkers: number;
  readonly maxReservations: number;
}

export const DEFAULT_CORE_RESERVATIONS_LIMITS = {
  maxWorkers: 10_000,
  maxReservations: 100_000,
} as const;

export interface ReservationRequest {
  readonly dispatchId: string;
  readonly job: string;
  readonly workflow: string;
  readonly worker: string;
  readonly cores: number;
}

export interface Reservation extends Omit<ReservationRequest, 'cores'> {
  /** Core indexes on the worker, ascending. */
  readonly cores: readonly number[];
  readonly fence: number;
}

export type ReservationErrorCode =
  | 'E_INVALID_REQUEST'
  | 'E_UNKNOWN_WORKER'
  | 'E_DUPLICATE_DISPATCH'
  /** More cores than the worker has at all. */
  | 'E_EXCEEDS_TOTAL'
  /** More cores than the worker has free now. */
  | 'E_INSUFFICIENT_CORES'
  | 'E_TOO_MANY'
  | 'E_FENCE_EXHAUSTED'
  | 'E_UNKNOWN_DISPATCH'
  | 'E_CORES_IN_USE';

export type ReservationRejection = Rejection<ReservationErrorCode>;

interface WorkerCores {
  total: number;
  /** Dispatch id holding each core, or null when free. */
  readonly holders: (string | null)[];
  free: number;
}

function badId(v: unknown): boolean {
  return typeof v !== 'string' || v === '' || v.length > 256;
}

export class CoreReservations {
  private readonly term: number;
  private readonly maxWorkers: number;
  private readonly maxReservations: number;
  private counter = 0;
  private readonly workers = new Map<string, WorkerCores>();
  private readonly live = new Map<string, Reservation>();
  /** `JSON([job, workflow, worker])` → dispatch id. */
  private readonly byPlacement = new Map<string, string>();

  private constructor(cfg: CoreReservationsConfig) {
    this.term = cfg.term;
    this.maxWorkers = cfg.maxWorkers;
    this.maxReservations = cfg.maxReservations;
  }

  /**
   * A table for the leader of `term`, or a rejection if the term cannot make safe fence tokens.
   * Throws a JobsConfigError for a limit below 1 (a configuration mistake, not data).
   */
  static create(
    config: Pick<CoreReservationsConfig, 'term'> & Partial<CoreReservationsConfig>,
  ): CoreReservations | ReservationRejection {
    const cfg = { ...DEFAULT_CORE_RESERVATIONS_LIMITS, ...config };
    if (!Number.isSafeInteger(cfg.term) || cfg.term < 0 || cfg.term > MAX_FENCE_TERM) {
      return reject(
        'E_INVALID_REQUEST',
        `term must be an integer in 0…${MAX_FENCE_TERM}, got ${String(cfg.term)}`,
      );
    }
    checkConfigIntegers('core reservations config', cfg, [
      ['maxWorkers', 1],
      ['maxReservations', 1],
    ]);
    return new CoreReservations(cfg);
  }

  get reservationCount(): number {
    return this.live.size;
  }

  freeCores(worker: string): number {
    return this.workers.get(worker)?.free ?? 0;
  }

  totalCores(worker: string): number {
    return this.workers.get(worker)?.total ?? 0;
  }

  reservation(dispatchId: string): Reservation | undefined {
    return this.live.get(dispatchId);
  }

  reservations(): IterableIterator<Reservation> {
    return this.live.values();
  }

  /** Registers a worker or changes its core count (never below the cores it has reserved). */
  setWorker(id: string, totalCores: number): { ok: true } | ReservationRejection {
    if (badId(id))
      return reject(
        'E_INVALID_REQUEST',
        'worker id must be a non-empty string of at most 256 characters',
      );
    if (!Number.isSafeInteger(totalCores) || totalCores < 1 || totalCores > MAX_WORKER_CORES) {
      return reject(
        'E_INVALID_REQUEST',
        `worker '${id}': cores must be an integer in 1…${MAX_WORKER_CORES}`,
      );
    }
    const known = this.workers.get(id);
    if (!known) {
      if (this.workers.size >= this.maxWorkers)
        return reject('E_TOO_MANY', `at most ${this.maxWorkers} workers`);
      this.workers.set(id, {
        total: totalCores,
        holders: new Array<string | null>(totalCores).fill(null),
        free: totalCores,
      });
      return { ok: true };
    }
    for (let c = totalCores; c < known.total; c++) {
      if (known.holders[c] !== null) {
        return reject(
          'E_CORES_IN_USE',
          `worker '${id}': core ${c} is reserved; cannot shrink to ${totalCores} cores`,
        );
      }
    }
    known.free += totalCores - known.total;
    known.holders.length = totalCores;
    known.holders.fill(null, Math.min(known.total, totalCores));
    known.total = totalCores;
    return { ok: true };
  }

  /** The worker is gone: forgets it and returns the reservations that lost their cores. */
  removeWorker(id: string): Reservation[] {
    const known = this.workers.get(id);
    if (!known) return [];
    const lost: Reservation[] = [];
    for (const r of [...this.live.values()]) {
      if (r.worker === id) lost.push(this.drop(r));
    }
    this.workers.delete(id);
    return lost;
  }

  /** Reserves cores for one dispatch, all or nothing. */
  reserve(
    request: ReservationRequest,
  ): { ok: true; reservation: Reservation } | ReservationRejection {
    const r = this.reserveAll([request]);
    return r.ok ? { ok: true, reservation: r.reservations[0]! } : r;
  }

  /** Reserves cores for every request, or for none (the first problem is returned). */
  reserveAll(
    requests: readonly ReservationRequest[],
  ): { ok: true; reservations: Reservation[] } | ReservationRejection {
    if (!Array.isArray(requests)) return reject('E_INVALID_REQUEST', 'requests must be a list');
    if (this.live.size + requests.length > this.maxReservations) {
      return reject('E_TOO_MANY', `at most ${this.maxReservations} live reservations`);
    }
    if (this.counter + requests.length > FENCE_COUNTER_LIMIT) {
      return reject(
        'E_FENCE_EXHAUSTED',
        `fence tokens of term ${this.term} are used up; a new term is needed`,
      );
    }
    const wanted = new Map<string, number>();
    const ids = new Set<string>();
    const placements = new Set<string>();
    for (const q of requests) {
      const problem = this.requestProblem(q, ids, placements);
      if (problem) return problem;
      wanted.set(q.worker, (wanted.get(q.worker) ?? 0) + q.cores);
    }
    for (const [worker, n] of wanted) {
      const w = this.workers.get(worker)!;
      if (n > w.free) {
        return reject(
          'E_INSUFFICIENT_CORES',
          `worker '${worker}' has ${w.free} free core(s); ${n} requested`,
        );
      }
    }
    // Every check passed: take the cores, in the same synchronous block.
    const granted = requests.map((q) => this.take(q));
    this.checkInvariants();
    return { ok: true, reservations: granted };
  }

  private requestProblem(
    q: ReservationRequest,
    ids: Set<string>,
    placements: Set<string>,
  ): ReservationRejection | null {
    if (typeof q !== 'object' || q === null)
      return reject('E_INVALID_REQUEST', 'a request must be an object');
    for (const f of ['dispatchId', 'job', 'workflow', 'worker'] as const) {
      if (badId(q[f]))
        return reject(
          'E_INVALID_REQUEST',
          `${f} must be a non-empty string of at most 256 characters`,
        );
    }
    if (!Number.isSafeInteger(q.cores) || q.cores < 1) {
      return reject(
        'E_INVALID_REQUEST',
        `dispatch '${q.dispatchId}': cores must be a positive integer, got ${String(q.cores)}`,
      );
    }
    const w = this.workers.get(q.worker);
    if (!w)
      return reject(
        'E_UNKNOWN_WORKER',
        `dispatch '${q.dispatchId}': worker '${q.worker}' is not registered`,
      );
    if (q.cores > w.total) {
      return reject(
        'E_EXCEEDS_TOTAL',
        `dispatch '${q.dispatchId}': worker '${q.worker}' has ${w.total} core(s) in all; ${q.cores} requested`,
      );
    }
    const placement = JSON.stringify([q.job, q.workflow, q.worker]);
    if (this.live.has(q.dispatchId) || ids.has(q.dispatchId)) {
      return reject('E_DUPLICATE_DISPATCH', `dispatch '${q.dispatchId}' already holds cores`);
    }
    if (this.byPlacement.has(placement) || placements.has(placement)) {
      return reject(
        'E_DUPLICATE_DISPATCH',
        `workflow '${q.workflow}' of job '${q.job}' already holds cores on worker '${q.worker}'`,
      );
    }
    ids.add(q.dispatchId);
    placements.add(placement);
    return null;
  }

  private take(q: ReservationRequest): Reservation {
    const w = this.workers.get(q.worker)!;
    const cores: number[] = [];
    for (let c = 0; c < w.total && cores.length < q.cores; c++) {
      if (w.holders[c] === null) {
        w.holders[c] = q.dispatchId;
        cores.push(c);
      }
    }
    jobsInvariant(
      cores.length === q.cores,
      `worker '${q.worker}' had fewer free cores than counted`,
    );
    w.free -= q.cores;
    this.counter++;
    const r: Reservation = {
      dispatchId: q.dispatchId,
      job: q.job,
      workflow: q.workflow,
      worker: q.worker,
      cores,
      fence: this.term * 2 ** 32 + this.counter,
    };
    this.live.set(r.dispatchId, r);
    this.byPlacement.set(JSON.stringify([q.job, q.workflow, q.worker]), r.dispatchId);
    return r;
  }

  /** Gives a dispatch's cores back (it completed or was cancelled). */
  release(dispatchId: string): { ok: true; reservation: Reservation } | ReservationRejection {
    const r = this.live.get(dispatchId);
    if (!r) return reject('E_UNKNOWN_DISPATCH', `dispatch '${dispatchId}' holds no cores`);
    return { ok: true, reservation: this.drop(r) };
  }

  /** Gives back every core the job holds (it ended or was cancelled). */
  releaseJob(job: string): Reservation[] {
    const out: Reservation[] = [];
    for (const r of [...this.live.values()]) if (r.job === job) out.push(this.drop(r));
    return out;
  }

  private drop(r: Reservation): Reservation {
    const w = this.workers.get(r.worker);
    jobsInvariant(w !== undefined, `reservation '${r.dispatchId}' on unknown worker '${r.worker}'`);
    for (const c of r.cores) {
      jobsInvariant(
        w.holders[c] === r.dispatchId,
        `core ${c} of '${r.worker}' is not held by '${r.dispatchId}'`,
      );
      w.holders[c] = null;
    }
    w.free += r.cores.length;
    this.live.delete(r.dispatchId);
    this.byPlacement.delete(JSON.stringify([r.job, r.workflow, r.worker]));
    return r;
  }

  private checkInvariants(): void {
    jobsInvariant(
      this.byPlacement.size === this.live.size,
      'placement index out of step with reservations',
    );
  }
}
