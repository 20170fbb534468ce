// Owns a manager leader's dispatch decisions for its DC: the queue of workflow shares waiting
// for cores, their split over workers (planSplit), the atomic core reservation with a fence
// token per part (CoreReservations), and each part's lifecycle until its workflow ends on this
// DC. A pure core: time comes in as `now`, answers are values; it never does I/O.
//
// Contract:
// - `submit` queues a request (bounded); `pump(offers, now)` serves the queue in arrival order:
//   the longest prefix of waiting requests that fits is planned together (explicit priorities
//   first, the rest in proportion to VUs, at least one core each, see split-plan.ts) and its
//   cores are reserved in one synchronous call. A later request never overtakes an earlier one,
//   so a workflow waiting for cores is served as soon as any are free (no starvation).
// - Exclusive workflows run alone on the DC: one starts only when no other part holds cores,
//   and nothing else starts while it runs.
// - A request waiting longer than `maxWaitMs` is refused E_INSUFFICIENT_CAPACITY; with no
//   worker offered at all it is refused E_NO_WORKERS at once.
// - Parts move pending → dispatched → running → completed | failed | cancelled (running may
//   be skipped); terminal states have no way out. A part's cores come back when it ends; when
//   every part of a workflow has ended, `partEnded` reports the workflow's outcome on this DC
//   (failed if any part failed, else cancelled if any was cancelled, else completed).

import {
  CoreReservations,
  type Reservation,
  type ReservationRejection,
} from './core-reservations.js';
import { checkConfigIntegers, jobsInvariant, reject, type Rejection } from './errors.js';
import { planSplit, type WorkerOffer, type WorkflowDemand } from './split-plan.js';

export interface DcDispatchConfig {
  /** The leader's Raft term (fence tokens are derived from it). */
  readonly term: number;
  readonly maxWaiting: number;
  readonly maxWaitMs: number;
  readonly maxParts: number;
}

export const DEFAULT_DC_DISPATCH_CONFIG = {
  maxWaiting: 10_000,
  maxWaitMs: 30_000,
  maxParts: 100_000,
} as const;

export interface DispatchRequest {
  readonly job: string;
  readonly workflow: string;
  readonly attempt: number;
  readonly vus: number;
  readonly priority: number | null;
  readonly exclusive: boolean;
}

export type PartState = 'pending' | 'dispatched' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_PART_STATES: readonly PartState[] = ['completed', 'failed', 'cancelled'];

const NEXT: Readonly<Record<PartState, readonly PartState[]>> = {
  pending: ['dispatched', 'failed', 'cancelled'],
  dispatched: ['running', 'completed', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export interface Part {
  readonly dispatchId: string;
  readonly job: string;
  readonly workflow: string;
  readonly worker: string;
  /** Core indexes reserved on the worker. */
  readonly cores: readonly number[];
  readonly vus: number;
  readonly fence: number;
  /** Index of the part's first thread among the workflow's threads on this DC, and their count. */
  readonly firstThread: number;
  readonly threads: number;
  readonly exclusive: boolean;
  state: PartState;
}

export type DispatchErrorCode =
  | 'E_NO_WORKERS'
  | 'E_INSUFFICIENT_CAPACITY'
  | 'E_QUEUE_FULL'
  | 'E_DUPLICATE_DISPATCH'
  | 'E_INVALID_REQUEST';

export interface Decision {
  readonly request: DispatchRequest;
  readonly result:
    { readonly ok: true; readonly parts: readonly Part[] } | Rejection<DispatchErrorCode>;
}

export type WorkflowOutcome = 'completed' | 'failed' | 'cancelled';

interface Waiting {
  readonly request: DispatchRequest;
  readonly sinceMs: number;
}

const key = (job: string, workflow: string): string => JSON.stringify([job, workflow]);

export interface DispatchCounters {
  granted: number;
  partsGranted: number;
  refused: number;
  waited: number;
}

export class DcDispatcher {
  readonly reservations: CoreReservations;
  private readonly cfg: DcDispatchConfig;
  private readonly waiting: Waiting[] = [];
  private readonly parts = new Map<string, Part>();
  /** (job, workflow) → dispatch ids of its parts. */
  private readonly byWorkflow = new Map<string, string[]>();
  private nextId = 0;
  /** Parts taken out of their workflow (a dispatch given up) that still hold cores until they end. */
  private readonly detached = new Set<string>();
  /** Lost parts (failed, cores given back) whose workflow waits for their replacement. */
  private readonly replacing = new Set<string>();
  readonly counters: DispatchCounters = { granted: 0, partsGranted: 0, refused: 0, waited: 0 };

  private constructor(cfg: DcDispatchConfig, reservations: CoreReservations) {
    this.cfg = cfg;
    this.reservations = reservations;
  }

  static create(
    config: Pick<DcDispatchConfig, 'term'> & Partial<DcDispatchConfig>,
  ): DcDispatcher | ReservationRejection {
    const cfg = checkConfigIntegers(
      'dc dispatch config',
      { ...DEFAULT_DC_DISPATCH_CONFIG, ...config },
      [
        ['maxWaiting', 1],
        ['maxWaitMs', 0],
        ['maxParts', 1],
      ],
    );
    const r = CoreReservations.create({ term: cfg.term, maxReservations: cfg.maxParts });
    if ('ok' in r) return r;
    return new DcDispatcher(cfg, r);
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Whether (job, workflow) has parts or a request waiting. */
  has(job: string, workflow: string): boolean {
    return (
      this.byWorkflow.has(key(job, workflow)) ||
      this.waiting.some((w) => w.request.job === job && w.request.workflow === workflow)
    );
  }

  /** Queues a request; the answer comes from `pump`. */
  submit(request: DispatchRequest, now: number): { ok: true } | Rejection<DispatchErrorCode> {
    if (!Number.isSafeInteger(request.vus) || request.vus < 1)
      return reject('E_INVALID_REQUEST', 'vus must be a positive integer');
    if (this.has(request.job, request.workflow)) {
      return reject(
        'E_DUPLICATE_DISPATCH',
        `workflow '${request.workflow}' of job '${request.job}' is already dispatched on this DC`,
      );
    }
    if (this.waiting.length >= this.cfg.maxWaiting)
      return reject('E_QUEUE_FULL', `${this.cfg.maxWaiting} dispatches are already waiting`);
    this.waiting.push({ request, sinceMs: now });
    return { ok: true };
  }

  /** Serves the queue (see the header); returns a decision for every request served or refused. */
  pump(offers: readonly WorkerOffer[], now: number): Decision[] {
    const out: Decision[] = [];
    if (this.waiting.length === 0) return out;
    if (offers.length === 0 && this.reservations.reservationCount === 0) {
      for (const w of this.waiting.splice(0)) {
        out.push(
          this.refuse(w.request, 'E_NO_WORKERS', 'no healthy worker is registered in this DC'),
        );
      }
      return out;
    }
    const exclusiveRunning = [...this.parts.values()].some(
      (p) => p.exclusive && !TERMINAL_PART_STATES.includes(p.state),
    );
    const busy = this.reservations.reservationCount > 0;
    if (!exclusiveRunning) this.serve(offers, busy, out);
    // Whatever still waits too long is refused.
    for (let i = 0; i < this.waiting.length;) {
      const w = this.waiting[i]!;
      if (now - w.sinceMs >= this.cfg.maxWaitMs) {
        this.waiting.splice(i, 1);
        out.push(
          this.refuse(
            w.request,
            'E_INSUFFICIENT_CAPACITY',
            `no free core for workflow '${w.request.workflow}' within ${this.cfg.maxWaitMs} ms`,
          ),
        );
      } else i++;
    }
    return out;
  }

  private serve(offers: readonly WorkerOffer[], busy: boolean, out: Decision[]): void {
    const head = this.waiting[0];
    if (!head) return;
    let batch: Waiting[];
    if (head.request.exclusive) {
      if (busy) return;
      batch = [head];
    } else {
      const end = this.waiting.findIndex((w) => w.request.exclusive);
      batch = this.waiting.slice(0, end < 0 ? this.waiting.length : end);
    }
    const free = offers.reduce((n, o) => n + o.freeCores, 0);
    if (batch.length > free) batch = batch.slice(0, free);
    if (batch.length === 0) {
      this.counters.waited++;
      return;
    }
    const demands: WorkflowDemand[] = batch.map((w, i) => ({
      name: String(i),
      vus: w.request.vus,
      priority: w.request.priority,
      exclusive: false,
    }));
    const plan = planSplit(demands, offers);
    if (!plan.ok) {
      this.counters.waited++;
      return;
    }
    const round = plan.rounds[0];
    jobsInvariant(round !== undefined, 'a split plan of one shared round has no round');
    const requests = round.placements.map((p) => {
      const w = batch[Number(p.workflow)]!;
      return {
        dispatchId: `d${this.cfg.term}.${++this.nextId}`,
        job: w.request.job,
        workflow: w.request.workflow,
        worker: p.worker,
        cores: p.cores,
        vus: p.vus,
        index: Number(p.workflow),
      };
    });
    const granted = this.reservations.reserveAll(requests);
    if (!granted.ok) {
      this.counters.waited++;
      return;
    }
    this.waiting.splice(0, batch.length);
    const byIndex = new Map<number, Part[]>();
    granted.reservations.forEach((r: Reservation, i) => {
      const q = requests[i]!;
      const list = byIndex.get(q.index) ?? [];
      list.push({
        dispatchId: r.dispatchId,
        job: r.job,
        workflow: r.workflow,
        worker: r.worker,
        cores: r.cores,
        vus: q.vus,
        fence: r.fence,
        firstThread: 0,
        threads: 0,
        exclusive: batch[q.index]!.request.exclusive,
        state: 'pending',
      });
      byIndex.set(q.index, list);
    });
    batch.forEach((w, i) => {
      const list = byIndex.get(i) ?? [];
      jobsInvariant(list.length > 0, 'a served workflow got no part');
      const threads = list.reduce((n, p) => n + p.cores.length, 0);
      let first = 0;
      const parts = list.map((p) => {
        const part: Part = { ...p, firstThread: first, threads };
        first += p.cores.length;
        this.parts.set(part.dispatchId, part);
        return part;
      });
      this.byWorkflow.set(
        key(w.request.job, w.request.workflow),
        parts.map((p) => p.dispatchId),
      );
      this.counters.granted++;
      this.counters.partsGranted += parts.length;
      out.push({ request: w.request, result: { ok: true, parts } });
    });
  }

  private refuse(request: DispatchRequest, code: DispatchErrorCode, message: string): Decision {
    this.counters.refused++;
    return { request, result: reject(code, message) };
  }

  part(dispatchId: string): Part | undefined {
    return this.parts.get(dispatchId);
  }

  partsOf(job: string, workflow?: string): Part[] {
    const out: Part[] = [];
    for (const p of this.parts.values()) {
      if (p.job === job && (workflow === undefined || p.workflow === workflow)) out.push(p);
    }
    return out;
  }

  /** The parts of `worker` that have not ended (and are not detached). */
  liveOn(worker: string): Part[] {
    const out: Part[] = [];
    for (const p of this.parts.values()) {
      if (p.worker !== worker || TERMINAL_PART_STATES.includes(p.state)) continue;
      if (!this.detached.has(p.dispatchId)) out.push(p);
    }
    return out;
  }

  allParts(): IterableIterator<Part> {
    return this.parts.values();
  }

  /** Moves a part along its lifecycle; an illegal move is refused and changes nothing. */
  transition(
    dispatchId: string,
    to: PartState,
  ):
    | { ok: true; from: PartState; workflowEnded: WorkflowOutcome | null }
    | Rejection<'E_UNKNOWN_DISPATCH' | 'E_ILLEGAL_TRANSITION'> {
    const p = this.parts.get(dispatchId);
    if (!p) return reject('E_UNKNOWN_DISPATCH', `dispatch '${dispatchId}' is not known`);
    const from = p.state;
    if (!NEXT[from].includes(to)) {
      return reject(
        'E_ILLEGAL_TRANSITION',
        `dispatch '${dispatchId}' cannot go from ${from} to ${to}`,
      );
    }
    p.state = to;
    let workflowEnded: WorkflowOutcome | null = null;
    if (TERMINAL_PART_STATES.includes(to)) {
      this.reservations.release(dispatchId);
      if (this.detached.delete(dispatchId)) this.parts.delete(dispatchId);
      else workflowEnded = this.workflowOutcome(p.job, p.workflow);
    }
    return { ok: true, from, workflowEnded };
  }

  /** The outcome of (job, workflow) on this DC once every part ended, else null. */
  workflowOutcome(job: string, workflow: string): WorkflowOutcome | null {
    const ids = this.byWorkflow.get(key(job, workflow));
    if (!ids) return null;
    if (ids.some((id) => this.replacing.has(id))) return null;
    const states = ids.map((id) => this.parts.get(id)?.state ?? 'failed');
    if (!states.every((s) => TERMINAL_PART_STATES.includes(s))) return null;
    if (states.includes('failed')) return 'failed';
    if (states.includes('cancelled')) return 'cancelled';
    return 'completed';
  }

  /**
   * The worker is gone: its live parts fail and give their cores back. A part `hold` picks is
   * kept awaiting a replacement (`replace`) or a settlement (`settleLost`): until then its
   * workflow does not end.
   */
  workerLost(
    worker: string,
    hold: (p: Part) => boolean = () => false,
  ): {
    parts: Part[];
    ended: { job: string; workflow: string; outcome: WorkflowOutcome }[];
  } {
    const lost: Part[] = [];
    const ended: { job: string; workflow: string; outcome: WorkflowOutcome }[] = [];
    for (const p of this.parts.values()) {
      if (p.worker !== worker || TERMINAL_PART_STATES.includes(p.state)) continue;
      if (!this.detached.has(p.dispatchId) && hold(p)) this.replacing.add(p.dispatchId);
      const r = this.transition(p.dispatchId, 'failed');
      lost.push(p);
      if (r.ok && r.workflowEnded)
        ended.push({ job: p.job, workflow: p.workflow, outcome: r.workflowEnded });
    }
    this.reservations.removeWorker(worker);
    return { parts: lost, ended };
  }

  /**
   * Takes over parts a previous leader dispatched (they run on their workers): their cores are
   * reserved again under their dispatch ids and they are tracked as running. A part whose
   * worker `gone` names, or whose cores cannot be reserved again, is tracked without cores and
   * listed in `unreserved`, for the caller to recover.
   */
  adopt(
    job: string,
    workflow: string,
    records: readonly {
      dispatchId: string;
      worker: string;
      fence: number;
      threads: number;
      firstThread: number;
      totalThreads: number;
    }[],
    gone: (worker: string) => boolean = () => false,
  ): { ok: true; parts: Part[]; unreserved: Set<string> } | Rejection<'E_DUPLICATE_DISPATCH'> {
    if (this.byWorkflow.has(key(job, workflow))) {
      return reject(
        'E_DUPLICATE_DISPATCH',
        `workflow '${workflow}' of job '${job}' is already tracked`,
      );
    }
    // Each part is reserved on its own: one whose worker cannot hold it any more (it restarted
    // and runs other parts now) is tracked without cores, like a gone worker's, for recovery.
    const coresOf = new Map<string, readonly number[]>();
    for (const r of records) {
      if (gone(r.worker)) continue;
      const granted = this.reservations.reserve({
        dispatchId: r.dispatchId,
        job,
        workflow,
        worker: r.worker,
        cores: r.threads,
      });
      if (granted.ok) coresOf.set(r.dispatchId, granted.reservation.cores);
    }
    const parts = records.map((r): Part => {
      const part: Part = {
        dispatchId: r.dispatchId,
        job,
        workflow,
        worker: r.worker,
        // A gone worker's part holds no cores; only their count matters (for its replacement).
        cores: coresOf.get(r.dispatchId) ?? Array.from({ length: r.threads }, (_, i) => i),
        vus: 0,
        fence: r.fence,
        firstThread: r.firstThread,
        threads: r.totalThreads,
        exclusive: false,
        state: 'running',
      };
      this.parts.set(part.dispatchId, part);
      return part;
    });
    this.byWorkflow.set(
      key(job, workflow),
      parts.map((p) => p.dispatchId),
    );
    const unreserved = new Set(
      records.filter((r) => !coresOf.has(r.dispatchId)).map((r) => r.dispatchId),
    );
    return { ok: true, parts, unreserved };
  }

  /** Drops every waiting request (this node stopped leading). */
  dropAllWaiting(): DispatchRequest[] {
    return this.waiting.splice(0).map((w) => w.request);
  }

  /** Drops a waiting request of (job, workflow?) — a cancel before it was served. */
  dropWaiting(job: string, workflow?: string): DispatchRequest[] {
    const out: DispatchRequest[] = [];
    for (let i = 0; i < this.waiting.length;) {
      const r = this.waiting[i]!.request;
      if (r.job === job && (workflow === undefined || r.workflow === workflow)) {
        out.push(r);
        this.waiting.splice(i, 1);
      } else i++;
    }
    return out;
  }

  /**
   * Takes a part out of its workflow (its dispatch was given up): the workflow may be
   * dispatched again at once, while the part keeps its cores until it ends (the worker still
   * runs it until its cancel drains).
   */
  detach(dispatchId: string): void {
    const p = this.parts.get(dispatchId);
    if (!p) return;
    const k = key(p.job, p.workflow);
    const ids = (this.byWorkflow.get(k) ?? []).filter((id) => id !== dispatchId);
    if (ids.length > 0) this.byWorkflow.set(k, ids);
    else this.byWorkflow.delete(k);
    if (TERMINAL_PART_STATES.includes(p.state)) this.parts.delete(dispatchId);
    else this.detached.add(dispatchId);
  }

  /** Whether the part was lost and awaits its replacement or settlement. */
  isReplacing(dispatchId: string): boolean {
    return this.replacing.has(dispatchId);
  }

  /** Holds a part whose (re)dispatch failed for a replacement, as `workerLost` does. */
  markLost(dispatchId: string): void {
    const p = this.parts.get(dispatchId);
    if (!p || this.detached.has(dispatchId)) return;
    this.replacing.add(dispatchId);
    if (!TERMINAL_PART_STATES.includes(p.state)) this.transition(dispatchId, 'failed');
  }

  /**
   * Reserves cores on `worker` for a part that takes the lost part's threads of its workflow
   * (a new dispatch id and fence); the lost part leaves the workflow.
   */
  replace(
    lostId: string,
    worker: string,
  ): { ok: true; part: Part } | ReservationRejection | Rejection<'E_UNKNOWN_DISPATCH'> {
    const lost = this.parts.get(lostId);
    if (!lost || !this.replacing.has(lostId))
      return reject('E_UNKNOWN_DISPATCH', `dispatch '${lostId}' awaits no replacement`);
    const dispatchId = `d${this.cfg.term}.${++this.nextId}`;
    const granted = this.reservations.reserveAll([
      { dispatchId, job: lost.job, workflow: lost.workflow, worker, cores: lost.cores.length },
    ]);
    if (!granted.ok) return granted;
    const r = granted.reservations[0];
    jobsInvariant(r !== undefined, 'a granted replacement has no reservation');
    const part: Part = { ...lost, dispatchId, worker, cores: r.cores, fence: r.fence };
    part.state = 'pending';
    this.parts.set(dispatchId, part);
    const k = key(lost.job, lost.workflow);
    this.byWorkflow.set(
      k,
      (this.byWorkflow.get(k) ?? []).map((id) => (id === lostId ? dispatchId : id)),
    );
    this.replacing.delete(lostId);
    this.parts.delete(lostId);
    return { ok: true, part };
  }

  /**
   * Ends the wait for a lost part's replacement: it counts as `as` (failed when no replacement
   * could run, completed when nothing of its share was left, cancelled with its job). Returns
   * the workflow's outcome when this ended it.
   */
  settleLost(dispatchId: string, as: WorkflowOutcome): WorkflowOutcome | null {
    if (!this.replacing.delete(dispatchId)) return null;
    const p = this.parts.get(dispatchId);
    if (!p) return null;
    p.state = as;
    return this.workflowOutcome(p.job, p.workflow);
  }

  /** The (job, workflow) pairs that have parts here. */
  workflows(): [job: string, workflow: string][] {
    return [...this.byWorkflow.keys()].map((k) => JSON.parse(k) as [string, string]);
  }

  /**
   * Drops a workflow whatever its parts' states (the DC state says it ended and was reported):
   * every part goes with its cores. Returns the parts that had not ended.
   */
  drop(job: string, workflow: string): Part[] {
    const k = key(job, workflow);
    const live: Part[] = [];
    for (const id of this.byWorkflow.get(k) ?? []) {
      const p = this.parts.get(id);
      if (p && !TERMINAL_PART_STATES.includes(p.state)) live.push(p);
      this.reservations.release(id);
      this.replacing.delete(id);
      this.parts.delete(id);
    }
    this.byWorkflow.delete(k);
    return live;
  }

  /** Forgets an ended workflow's parts (after its end was reported). */
  forget(job: string, workflow: string): void {
    const k = key(job, workflow);
    for (const id of this.byWorkflow.get(k) ?? []) {
      const p = this.parts.get(id);
      if (p && !TERMINAL_PART_STATES.includes(p.state)) return;
      if (this.replacing.has(id)) return;
    }
    for (const id of this.byWorkflow.get(k) ?? []) this.parts.delete(id);
    this.byWorkflow.delete(k);
  }
}
