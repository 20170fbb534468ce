// Owns a new DC leader's takeover of the jobs its predecessor dispatched: once it leads a new
// term (after a short settle so workers' links are up), every workflow the DC state records as
// dispatched and not ended is adopted (its parts' cores reserved again, tracked as running) and
// each worker running a part of it gets `work.transfer` with this term's fence, so its windows
// and part ends come here from now on and go up to the job's owner gate as before. A part
// whose worker is gone, or whose worker no longer knows it, is recovered like a lost worker's.

import type { WorkflowOutcome as PartOutcome } from '../../cluster/jobs/dc-dispatch.js';
import type { TimerHandle } from '../../runtime/types.js';
import {
  fail,
  keepOriginal,
  originalKey,
  type ManagerContext,
  type OriginalDispatch,
} from './context.js';
import type { PartRecovery } from './part-recovery.js';

/** Times a worker that does not answer is asked to follow the new leader. */
const MAX_TRANSFER_ATTEMPTS = 5;
const UNANSWERED = new Set(['timeout', 'connection_closed']);

export interface TakeoverOptions {
  /** Wait after winning a term before taking over (workers re-dial and register meanwhile). */
  readonly settleMs: number;
  readonly workerTimeoutMs: number;
}

export class TakeoverCoordinator {
  private timer: TimerHandle | null = null;
  readonly counters = {
    takeovers: 0,
    adopted: 0,
    transfersAcked: 0,
    transfersFailed: 0,
    adoptFailed: 0,
    /** Parts found without their worker (gone, or it did not know the part). */
    partsLost: 0,
  };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: TakeoverOptions,
    private readonly recovery: Pick<PartRecovery, 'partLost' | 'spentBefore'>,
  ) {}

  /** This node leads `term` now (a fresh dispatcher was made for it). */
  onNewTerm(term: number): void {
    this.timer?.cancel();
    this.timer = this.ctx.runtime.timers.after(this.opts.settleMs, () => {
      this.timer = null;
      this.takeOver(term);
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  takeOver(term: number): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    const st = ctx.raft()?.status();
    if (!d || st?.role !== 'leader' || st.term !== term) return;
    const fence = term * 2 ** 32;
    const now = ctx.now();
    for (const [job, rec] of ctx.state.jobs()) {
      for (const [workflow, w] of Object.entries(rec.workflows)) {
        if (w.outcome !== null) {
          // Ended, but its gate may not have heard: the end is reported again (it dedups).
          if (w.reported !== true) ctx.workflowEnded(job, workflow, w.outcome);
          continue;
        }
        if (d.has(job, workflow)) continue;
        if (w.original !== undefined && !ctx.originals.has(originalKey(job, workflow))) {
          keepOriginal(ctx, {
            message: w.original as OriginalDispatch['message'],
            acceptedAtMs: w.acceptedAtMs ?? now,
          });
        }
        const jobReplaced = Object.values(rec.workflows).reduce((n, x) => n + (x.replaced ?? 0), 0);
        this.recovery.spentBefore(job, workflow, w.replaced ?? 0, jobReplaced);
        const gone = (worker: string): boolean =>
          ctx.registry.get(worker, now) === undefined || !ctx.workerConns.has(worker);
        const adopted = d.adopt(
          job,
          workflow,
          w.parts.map((p) => ({
            dispatchId: p.dispatchId,
            worker: p.worker,
            fence: p.fence,
            threads: p.threads,
            firstThread: p.firstThread ?? 0,
            totalThreads: p.totalThreads ?? p.threads,
          })),
          gone,
        );
        if (!adopted.ok) {
          this.counters.adoptFailed++;
          ctx.log.log('warn', 'manager: could not take over a workflow', {
            job,
            workflow,
            error: adopted.message,
          });
          continue;
        }
        this.counters.adopted++;
        const byWorker = new Map<string, string[]>();
        const lost: string[] = [];
        for (const p of adopted.parts) {
          if (adopted.unreserved.has(p.dispatchId)) {
            lost.push(p.dispatchId);
            continue;
          }
          // Given up in an earlier term of this node, perhaps; it is this leader's part now.
          ctx.abandoned.delete(p.dispatchId);
          const reg = ctx.registry.get(p.worker, now);
          ctx.parts.set(p.dispatchId, {
            dispatchId: p.dispatchId,
            job,
            workflow,
            worker: p.worker,
            incarnation: reg?.incarnation ?? 0,
            firstThread: p.firstThread,
            threads: p.cores.length,
          });
          byWorker.set(p.worker, [...(byWorker.get(p.worker) ?? []), p.dispatchId]);
        }
        for (const [worker, ids] of byWorker) this.transfer(worker, job, fence, ids);
        for (const id of lost) {
          this.lose(id, 'it was not registered with the new leader, or no longer had its cores');
        }
      }
    }
    this.counters.takeovers++;
    ctx.log.log('info', "manager: took over the DC's running jobs", {
      term,
      adopted: this.counters.adopted,
    });
  }

  private transfer(
    worker: string,
    job: string,
    fence: number,
    dispatchIds: string[],
    attempt = 1,
  ): void {
    const { ctx } = this;
    const conn = ctx.workerConns.get(worker);
    if (!conn) {
      this.counters.transfersFailed++;
      ctx.log.log('warn', 'manager: no link to a worker to transfer its parts', { worker, job });
      return;
    }
    void conn
      .request(
        { t: 'work.transfer', job, manager: ctx.id, fence, dispatchIds },
        { timeoutMs: this.opts.workerTimeoutMs },
      )
      .then((r) => {
        if (r.ok) {
          this.counters.transfersAcked++;
          // The DC recorded a part only once its worker had taken it: an id the worker does
          // not know now is a part it lost (it restarted), not one still on its way.
          const ended = (r.message as { ended?: unknown }).ended;
          if (Array.isArray(ended)) {
            for (const e of ended as { dispatchId: string; outcome: PartOutcome }[]) {
              if (dispatchIds.includes(e.dispatchId)) this.endedBefore(e.dispatchId, e.outcome);
            }
          }
          const pending = (r.message as { pending?: unknown }).pending;
          if (Array.isArray(pending)) {
            for (const id of pending) {
              if (typeof id === 'string' && dispatchIds.includes(id)) {
                this.lose(id, 'it did not know the part when the new leader took over');
              }
            }
          }
          return;
        }
        this.counters.transfersFailed++;
        if (UNANSWERED.has(r.error.code)) {
          // No answer is not a refusal: the worker may have taken it late, or be paused. Asked
          // again (bounded); past that its parts are lost and recovered like a gone worker's.
          const term = fence / 2 ** 32;
          if (attempt < MAX_TRANSFER_ATTEMPTS) {
            ctx.runtime.timers.after(this.opts.workerTimeoutMs, () => {
              if (ctx.leadership.isLeader() && ctx.leadership.term === term) {
                this.transfer(worker, job, fence, dispatchIds, attempt + 1);
              }
            });
          } else if (ctx.leadership.isLeader() && ctx.leadership.term === term) {
            for (const id of dispatchIds) this.lose(id, 'it did not answer the new leader');
          }
          return;
        }
        const e = fail(r.error.code, r.error.message);
        ctx.log.log('warn', 'manager: worker refused a job transfer', {
          worker,
          job,
          code: e.code,
          error: e.message,
        });
      });
  }

  /**
   * The worker had ended the part, and the old leader acknowledged it, before this one took
   * over: it ends here the same way (what it reported with its end, such as published values,
   * went with the old leader).
   */
  private endedBefore(dispatchId: string, outcome: PartOutcome): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    const p = d?.part(dispatchId);
    if (!d || !p) return;
    const r = d.transition(dispatchId, outcome);
    if (r.ok && r.workflowEnded) ctx.workflowEnded(p.job, p.workflow, r.workflowEnded);
  }

  private lose(dispatchId: string, why: string): void {
    this.counters.partsLost++;
    this.ctx.parts.delete(dispatchId);
    this.recovery.partLost(dispatchId, why);
  }
}
