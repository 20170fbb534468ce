// Owns `dc.capacity` and `dc.dispatch` on a manager: the leader checks the gate's fence and
// duplicates against the DC state, queues the share in the dispatcher (split over workers by
// free cores, cores reserved atomically, a fence per part), sends `work.dispatch` to each
// worker, retries the whole share (bounded) when a worker refuses or does not answer, records
// the accepted dispatch in Raft, and answers `dc.accepted` — or E_NOT_LEADER (with the leader's
// address), E_NO_WORKERS, E_INSUFFICIENT_CAPACITY, E_STALE_FENCE.

import type { DispatchRequest, Part } from '../../cluster/jobs/dc-dispatch.js';
import type { ExecutorShare } from '../../engine/plan.js';
import type { ErrorMessage, MessageOf, RequestContext } from '../../protocol/index.js';
import type { TimerHandle } from '../../runtime/types.js';
import type { DcCapacityDef, DcDispatchDef } from '../jobs/dc-wire.js';
import { shareProblem, shareVus, splitShare } from '../jobs/executor-share.js';
import {
  abandon,
  fail,
  keepOriginal,
  propose,
  roleProblem,
  workDispatch,
  type ManagerContext,
} from './context.js';

/**
 * A dispatch up to this size goes into the DC state whole, so a new leader can re-dispatch a
 * lost worker's part; a larger one (a big data set) stays with the leader that took it (Raft
 * proposals are capped at 256 KiB).
 */
export const MAX_REPLICATED_DISPATCH_CHARS = 128 * 1024;

export interface DispatchOptions {
  /** How long a worker has to accept a part. */
  readonly workerTimeoutMs: number;
  /** Whole-share attempts when workers refuse or do not answer. */
  readonly attempts: number;
}

type Dispatch = MessageOf<typeof DcDispatchDef>;

type Planned =
  | { readonly ok: true; readonly parts: readonly Part[] }
  | { readonly ok: false; readonly code: string; readonly message: string };

interface Waiter {
  resolve(d: Planned): void;
  readonly excluded?: ReadonlySet<string>;
}

const wkey = (job: string, workflow: string, attempt: number): string =>
  JSON.stringify([job, workflow, attempt]);

export class DispatchCoordinator {
  private readonly waiters = new Map<string, Waiter>();
  /** Dispatches being served, by (job, workflow, attempt): a duplicate joins the first. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private pumpTimer: TimerHandle | null = null;
  private sweepTimer: TimerHandle | null = null;
  readonly counters = { accepted: 0, duplicates: 0, refused: 0, workerRefusals: 0, retries: 0 };
  /** Dispatches accepted since the throughput interval began, and when it began. */
  private intervalCount = 0;
  private intervalStartMs: number | null = null;

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: DispatchOptions,
  ) {}

  start(): void {
    this.intervalStartMs = this.ctx.now();
    this.sweepTimer = this.ctx.runtime.timers.every(250, () => this.pump());
  }

  stop(): void {
    this.sweepTimer?.cancel();
    this.pumpTimer?.cancel();
    for (const w of this.waiters.values())
      w.resolve({ ok: false, code: 'E_NO_WORKERS', message: 'manager stopping' });
    this.waiters.clear();
  }

  onCapacity(_m: MessageOf<typeof DcCapacityDef>): unknown {
    const { ctx } = this;
    const now = ctx.now();
    const workers = ctx.registry.list(now);
    const d = ctx.leadership.isLeader() ? ctx.leadership.dispatcher() : null;
    const live = workers.filter((w) => w.unhealthySinceMs === null);
    const counts = ctx.registry.healthCounts(now);
    return {
      t: 'dc.capacity-info',
      dc: ctx.dc,
      leader: ctx.leadership.leader(),
      workers: workers.length,
      healthyWorkers: counts.healthy,
      totalCores: live.reduce((n, w) => n + w.cores, 0),
      freeCores: live.reduce(
        (n, w) => n + (d ? d.reservations.freeCores(w.id) : w.freeCoresReported),
        0,
      ),
    };
  }

  /**
   * Dispatches accepted per second over the interval since the last call (the first interval
   * starts at `start`), and starts a new interval.
   */
  takeThroughput(): { count: number; intervalMs: number; perSecond: number } {
    const now = this.ctx.now();
    const since = this.intervalStartMs ?? now;
    const intervalMs = now - since;
    const count = this.intervalCount;
    this.intervalCount = 0;
    this.intervalStartMs = now;
    return { count, intervalMs, perSecond: intervalMs > 0 ? (count * 1000) / intervalMs : 0 };
  }

  /** Serves the dispatcher's queue (soon, so dispatches arriving together are split together). */
  schedulePump(): void {
    if (this.pumpTimer !== null) return;
    this.pumpTimer = this.ctx.runtime.timers.after(0, () => {
      this.pumpTimer = null;
      this.pump();
    });
  }

  pump(): void {
    const d = this.ctx.leadership.dispatcher();
    if (!d) return;
    if (!this.ctx.leadership.isLeader()) {
      // Leadership moved on: whatever waits here is refused with the new leader's address.
      const refusal = this.ctx.leadership.notLeader();
      for (const r of d.dropAllWaiting()) {
        const k = wkey(r.job, r.workflow, r.attempt);
        this.waiters.get(k)?.resolve({ ok: false, code: refusal.code, message: refusal.message });
        this.waiters.delete(k);
      }
      return;
    }
    const now = this.ctx.now();
    // Workers a waiting retry excluded are not offered to anyone in this round (kept simple).
    const excluded = new Set<string>();
    for (const w of this.waiters.values()) for (const id of w.excluded ?? []) excluded.add(id);
    const offers = this.ctx.registry
      .offers(now, (id) => d.reservations.freeCores(id))
      .filter((o) => !excluded.has(o.id) && this.ctx.workerConns.has(o.id));
    for (const decision of d.pump(offers, now)) {
      const k = wkey(decision.request.job, decision.request.workflow, decision.request.attempt);
      const w = this.waiters.get(k);
      this.waiters.delete(k);
      if (w) w.resolve(decision.result);
      else if (decision.result.ok) {
        // Nobody waits (stopped): give the cores back.
        for (const p of decision.result.parts) d.transition(p.dispatchId, 'failed');
      }
    }
  }

  async onDispatch(m: Dispatch, rc: RequestContext): Promise<unknown> {
    const bad = roleProblem(rc, ['gate'], m.t);
    if (bad) return bad;
    const k = wkey(m.job, m.workflow, m.attempt);
    const joined = this.inFlight.get(k);
    if (joined) {
      this.counters.duplicates++;
      return joined;
    }
    const p = this.serve(m).finally(() => this.inFlight.delete(k));
    this.inFlight.set(k, p);
    return p;
  }

  private async serve(m: Dispatch): Promise<unknown> {
    const { ctx } = this;
    if (!ctx.leadership.isLeader()) return ctx.leadership.notLeader();
    const problem = shareProblem(m.share);
    if (problem)
      return this.refuse('E_INVALID', `workflow '${m.workflow}': bad executor share: ${problem}`);
    const fence = ctx.state.checkFence(m.job, m.fence);
    if (!fence.ok) return this.refuse(fence.code, fence.message);
    const job = ctx.state.job(m.job);
    const known = job?.workflows[m.workflow];
    if (known && known.attempt >= m.attempt) {
      this.counters.duplicates++;
      // A new owner replaying the job (its `dc.adopt` may not have come through): the workflow
      // reports to it from now on.
      if (job !== undefined && m.fence > job.fence) {
        const moved = await ctx.ownerMoved(m);
        if ('t' in moved) return moved;
      }
      return {
        t: 'dc.accepted',
        job: m.job,
        dc: ctx.dc,
        workflow: m.workflow,
        managerFence: known.managerFence,
        workers: known.parts.map((p) => p.worker),
        cores: known.parts.reduce((n, p) => n + p.threads, 0),
        duplicate: true,
      };
    }
    const share = m.share as ExecutorShare;
    const ext = m;
    const request: DispatchRequest = {
      job: m.job,
      workflow: m.workflow,
      attempt: m.attempt,
      vus: shareVus(share),
      priority: typeof ext.priority === 'number' ? ext.priority : null,
      exclusive: ext.exclusive === true,
    };
    let lastError: ErrorMessage | null = null;
    /** Workers that failed this dispatch are not offered for its retries. */
    const excluded = new Set<string>();
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      if (attempt > 1) this.counters.retries++;
      const decided = await this.plan(request, excluded);
      if (!decided.ok) {
        if (lastError !== null && decided.code === 'E_NO_WORKERS') break;
        return this.refuse(decided.code, decided.message);
      }
      const sent = await this.sendParts(m, share, decided.parts);
      if (sent === null) return this.record(m, decided.parts);
      lastError = sent.error;
      for (const w of sent.failed) excluded.add(w);
      if (!ctx.leadership.isLeader()) break;
    }
    return this.refuse(
      lastError?.code ?? 'E_DISPATCH_FAILED',
      lastError?.message ?? 'dispatch failed',
    );
  }

  private plan(request: DispatchRequest, excluded: ReadonlySet<string>): Promise<Planned> {
    const d = this.ctx.leadership.dispatcher();
    if (!d) return Promise.resolve({ ok: false, code: 'E_NO_WORKERS', message: 'not leading' });
    if (this.ctx.registry.size === 0) {
      return Promise.resolve({
        ok: false,
        code: 'E_NO_WORKERS',
        message: `no worker is registered in DC '${this.ctx.dc}'`,
      });
    }
    const queued = d.submit(request, this.ctx.now());
    if (!queued.ok) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiters.set(wkey(request.job, request.workflow, request.attempt), { resolve, excluded });
      this.schedulePump();
    });
  }

  /** Sends every part; null when all were accepted, else the first refusal (all parts undone). */
  private async sendParts(
    m: Dispatch,
    share: ExecutorShare,
    parts: readonly Part[],
  ): Promise<{ error: ErrorMessage; failed: string[] } | null> {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    if (!d) return { error: ctx.leadership.notLeader(), failed: [] };
    const threads = parts[0]?.threads ?? 1;
    const shares = splitShare(share, threads);
    const now = ctx.now();
    const results = await Promise.all(
      parts.map(async (p): Promise<ErrorMessage | null> => {
        const conn = ctx.workerConns.get(p.worker);
        const rec = ctx.registry.get(p.worker, now);
        if (!conn || !rec) {
          ctx.registry.dispatchFailed(p.worker, now);
          return fail('E_WORKER_UNREACHABLE', `worker '${p.worker}' has no connection`);
        }
        ctx.parts.set(p.dispatchId, {
          dispatchId: p.dispatchId,
          job: p.job,
          workflow: p.workflow,
          worker: p.worker,
          incarnation: rec.incarnation,
          firstThread: p.firstThread,
          threads: p.cores.length,
          iterations: p.cores.map(() => 0),
        });
        ctx.registry.dispatchStarted(p.worker, now);
        const sentAt = ctx.now();
        const reply = await conn.request(
          workDispatch(
            p,
            rec.incarnation,
            m,
            shares.slice(p.firstThread, p.firstThread + p.cores.length),
          ),
          { timeoutMs: this.opts.workerTimeoutMs },
        );
        ctx.registry.recordLatency(p.worker, ctx.now() - sentAt, ctx.now());
        if (reply.ok) {
          ctx.registry.dispatchSucceeded(p.worker);
          const moved = d.transition(p.dispatchId, 'dispatched');
          if (!moved.ok)
            ctx.log.log('debug', 'manager: part already moved on', {
              dispatchId: p.dispatchId,
              to: 'dispatched',
            });
          return null;
        }
        this.counters.workerRefusals++;
        const circuit = ctx.registry.dispatchFailed(p.worker, ctx.now());
        ctx.log.log('warn', 'manager: worker did not take a part', {
          worker: p.worker,
          dispatchId: p.dispatchId,
          code: reply.error.code,
          error: reply.error.message,
          circuit,
        });
        return fail(
          reply.error.code === 'timeout' ? 'E_WORKER_TIMEOUT' : 'E_WORKER_REFUSED',
          `worker '${p.worker}' did not take its part: ${reply.error.message}`,
          { worker: p.worker, code: reply.error.code },
        );
      }),
    );
    const firstFailure = results.find((r) => r !== null) ?? null;
    if (firstFailure === null) return null;
    // Undo the whole share: cancel the parts that started (they keep their cores until they
    // drain and report their end), give back the cores of those that never started.
    parts.forEach((p, i) => {
      abandon(ctx, p.dispatchId);
      ctx.parts.delete(p.dispatchId);
      if (results[i] === null) this.cancelAbandoned(p, 'dispatch abandoned');
      else if (d.part(p.dispatchId)?.state === 'pending') d.transition(p.dispatchId, 'failed');
      d.detach(p.dispatchId);
    });
    return {
      error: firstFailure,
      failed: parts.filter((_, i) => results[i] !== null).map((p) => p.worker),
    };
  }

  /** Records the accepted dispatch in the DC's Raft log, then answers the gate. */
  private async record(m: Dispatch, parts: readonly Part[]): Promise<unknown> {
    const { ctx } = this;
    const managerFence = Math.max(...parts.map((p) => p.fence));
    const acceptedAtMs = ctx.now();
    const first = Object.keys(ctx.state.job(m.job)?.workflows ?? {}).length === 0;
    const r = await propose(ctx, {
      op: 'dispatch',
      job: m.job,
      fence: m.fence,
      ownerGate: m.ownerGate,
      ownerAddress: m.ownerAddress,
      workflow: m.workflow,
      attempt: m.attempt,
      managerFence,
      parts: parts.map((p) => ({
        dispatchId: p.dispatchId,
        worker: p.worker,
        fence: p.fence,
        threads: p.cores.length,
        firstThread: p.firstThread,
        totalThreads: p.threads,
      })),
      ...(JSON.stringify(m).length <= MAX_REPLICATED_DISPATCH_CHARS ? { original: m } : {}),
      acceptedAtMs,
    });
    if ('t' in r || !r.ok) {
      const error: ErrorMessage = 't' in r ? r : fail(r.code, r.message);
      const d = ctx.leadership.dispatcher();
      for (const p of parts) {
        abandon(ctx, p.dispatchId);
        ctx.parts.delete(p.dispatchId);
        this.cancelAbandoned(p, 'dispatch not recorded');
        d?.detach(p.dispatchId);
      }
      return this.refuse(error.code, error.message, error.details);
    }
    keepOriginal(ctx, { message: m, acceptedAtMs });
    ctx.dispatchRecorded(m.job, first);
    this.counters.accepted++;
    this.intervalCount++;
    ctx.log.log('info', 'manager: workflow dispatched', {
      job: m.job,
      workflow: m.workflow,
      workers: parts.map((p) => p.worker),
      cores: parts.reduce((n, p) => n + p.cores.length, 0),
    });
    return {
      t: 'dc.accepted',
      job: m.job,
      dc: ctx.dc,
      workflow: m.workflow,
      managerFence,
      workers: parts.map((p) => p.worker),
      cores: parts.reduce((n, p) => n + p.cores.length, 0),
      duplicate: false,
    };
  }

  /** Asks the worker to stop a part whose dispatch was given up (it reports its end, acknowledged). */
  private cancelAbandoned(p: Part, reason: string): void {
    const conn = this.ctx.workerConns.get(p.worker);
    if (!conn) return;
    void conn
      .request(
        { t: 'work.cancel', job: p.job, workflow: p.workflow, fence: p.fence, reason },
        { timeoutMs: this.opts.workerTimeoutMs },
      )
      .then((r) => {
        if (!r.ok) {
          this.ctx.log.log('debug', 'manager: cancel of an abandoned part not acknowledged', {
            dispatchId: p.dispatchId,
            code: r.error.code,
          });
        }
      });
  }

  private refuse(code: string, message: string, details?: Record<string, unknown>): ErrorMessage {
    this.counters.refused++;
    return fail(code, message, details);
  }

  /** Resolves the waiters of dispatches dropped from the queue (a cancel before they were served). */
  dropped(requests: readonly DispatchRequest[]): void {
    for (const r of requests) {
      const k = wkey(r.job, r.workflow, r.attempt);
      this.waiters.get(k)?.resolve({
        ok: false,
        code: 'E_CANCELLED',
        message: 'the job was cancelled while it waited for cores',
      });
      this.waiters.delete(k);
    }
  }
}
