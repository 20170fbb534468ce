// Owns what a manager leader does when a worker is lost mid-run (silent past `lostAfterMs`,
// reaped, back as a new incarnation, leaving, or found gone or without its part at a takeover):
// each of its live parts is re-dispatched to another worker from the workflow's original
// dispatch, for what is left of its share, with a new dispatch id and fence, within a retry
// budget per workflow and per job; the lost part's windows already relayed stay counted and its
// late ones are discarded. When no worker can take it, the part fails (and with it the workflow
// on this DC), with the reason in the DC's report.

import {
  TERMINAL_PART_STATES,
  type Part,
  type WorkflowOutcome,
} from '../../cluster/jobs/dc-dispatch.js';
import type { ExecutorShare } from '../../engine/plan.js';
import type { ErrorMessage } from '../../protocol/index.js';
import { splitShare } from '../jobs/executor-share.js';
import { remainingShare } from '../jobs/share-remainder.js';
import {
  abandon,
  originalKey,
  propose,
  type ManagerContext,
  workDispatch,
  type OriginalDispatch,
} from './context.js';

export interface RecoveryOptions {
  /** Replacements one workflow may have on this DC over its life. */
  readonly perWorkflow: number;
  /** Replacements one job may have on this DC over its life (all workflows together). */
  readonly perJob: number;
  /** How long a lost part may wait for a worker with enough free cores. */
  readonly waitMs: number;
  /** How long a worker has to accept the replacement. */
  readonly workerTimeoutMs: number;
  /**
   * A worker silent this long loses its parts (they are re-dispatched) though it stays
   * registered until it is reaped; if it comes back, what those parts send is discarded.
   */
  readonly lostAfterMs: number;
}

export const DEFAULT_RECOVERY: RecoveryOptions = {
  perWorkflow: 3,
  perJob: 10,
  waitMs: 10_000,
  workerTimeoutMs: 5_000,
  // Within REFERENCE §4.4's 2–15 s job-level suspicion; the registry's 900 s reap is for memory.
  lostAfterMs: 15_000,
};

/** Jobs whose spent budget a manager remembers at most (the oldest are forgotten first). */
const MAX_BUDGET_ENTRIES = 20_000;
/** How often a lost part waiting for free cores looks again. */
const POLL_MS = 250;

export interface RecoveryNote {
  readonly job: string;
  readonly workflow: string;
  readonly text: string;
}

export class PartRecovery {
  private readonly spent = new Map<string, number>();
  /** Per (job, workflow): what happened to its lost parts, reported with the workflow's end. */
  private readonly notes = new Map<string, string[]>();
  readonly counters = {
    lost: 0,
    replaced: 0,
    nothingLeft: 0,
    budgetSpent: 0,
    noWorker: 0,
    refusedByWorker: 0,
  };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: RecoveryOptions,
    private readonly onEnded: (job: string, workflow: string, outcome: WorkflowOutcome) => void,
  ) {
    ctx.recoveryNotes = (job, workflow) => this.notesFor(job, workflow);
    ctx.workflowForgotten = (job, workflow) => this.forget(job, workflow);
  }

  /** The worker is gone: its parts are held and recovered one by one (in the background). */
  workerLost(worker: string, why: string): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    if (!d) return;
    const { parts, ended } = d.workerLost(worker, (p) => this.canReplace(p));
    if (parts.length > 0) {
      ctx.log.log('warn', 'manager: worker lost with running parts', {
        worker,
        why,
        parts: parts.map((p) => p.dispatchId),
      });
    }
    for (const e of ended) this.onEnded(e.job, e.workflow, e.outcome);
    for (const p of parts) this.lost(p, worker, why);
  }

  /** The worker has been silent past `lostAfterMs`: its live parts are lost (once each). */
  workerSilent(worker: string, silentMs: number): void {
    const d = this.ctx.leadership.dispatcher();
    if (!d) return;
    for (const p of d.liveOn(worker)) {
      this.partLost(p.dispatchId, `silent for ${Math.round(silentMs / 1000)} s`);
    }
  }

  get lostAfterMs(): number {
    return this.opts.lostAfterMs;
  }

  /**
   * One part is lost while its worker may live on (a new leader found the worker gone, or the
   * worker does not know the part): it is held and recovered like a lost worker's part.
   */
  partLost(dispatchId: string, why: string): void {
    const d = this.ctx.leadership.dispatcher();
    const p = d?.part(dispatchId);
    if (!d || !p || TERMINAL_PART_STATES.includes(p.state)) return;
    if (this.canReplace(p)) d.markLost(dispatchId);
    else {
      const r = d.transition(dispatchId, 'failed');
      if (r.ok && r.workflowEnded) this.onEnded(p.job, p.workflow, r.workflowEnded);
    }
    this.lost(p, p.worker, why);
  }

  /**
   * Replacements (job, workflow) and its whole job already had under earlier leaders (from the
   * DC state), so a failover does not reset the budgets.
   */
  spentBefore(job: string, workflow: string, replaced: number, jobReplaced: number): void {
    const wk = originalKey(job, workflow);
    const jk = JSON.stringify([job]);
    if (replaced > 0) this.spent.set(wk, Math.max(this.spent.get(wk) ?? 0, replaced));
    if (jobReplaced > 0) this.spent.set(jk, Math.max(this.spent.get(jk) ?? 0, jobReplaced));
  }

  private canReplace(p: Part): boolean {
    const { ctx } = this;
    return (
      ctx.leadership.isLeader() &&
      ctx.originals.has(originalKey(p.job, p.workflow)) &&
      ctx.state.job(p.job)?.cancelled !== true
    );
  }

  private lost(p: Part, worker: string, why: string): void {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    this.counters.lost++;
    abandon(ctx, p.dispatchId);
    if (!d?.isReplacing(p.dispatchId)) {
      this.note(p, `worker '${worker}' was lost (${why}); its part was not re-dispatched`);
      return;
    }
    void this.recover(p, worker, why).catch((error: unknown) => {
      ctx.log.log('error', 'manager: recovery of a lost part failed', {
        dispatchId: p.dispatchId,
        error: error instanceof Error ? error.message : String(error),
      });
      this.settle(p, 'failed');
    });
  }

  /** Notes on the lost parts of (job, workflow), for its end report. */
  notesFor(job: string, workflow: string): readonly string[] {
    return this.notes.get(originalKey(job, workflow)) ?? [];
  }

  /** The workflow's end reached its gate: what was kept for it goes. */
  forget(job: string, workflow: string): void {
    this.notes.delete(originalKey(job, workflow));
    this.spent.delete(originalKey(job, workflow));
  }

  private note(p: Pick<Part, 'job' | 'workflow'>, text: string): void {
    const k = originalKey(p.job, p.workflow);
    const list = this.notes.get(k) ?? [];
    if (list.length < 20) list.push(text);
    this.notes.set(k, list);
    if (this.notes.size > MAX_BUDGET_ENTRIES) {
      const first = this.notes.keys().next();
      if (!first.done) this.notes.delete(first.value);
    }
  }

  private settle(p: Part, as: WorkflowOutcome): void {
    const d = this.ctx.leadership.dispatcher();
    const ended = d?.settleLost(p.dispatchId, as) ?? null;
    if (ended !== null) this.onEnded(p.job, p.workflow, ended);
  }

  /** Takes one replacement from the budgets; false when either is spent. */
  private spend(job: string, workflow: string): boolean {
    const wk = originalKey(job, workflow);
    const jk = JSON.stringify([job]);
    const w = this.spent.get(wk) ?? 0;
    const j = this.spent.get(jk) ?? 0;
    if (w >= this.opts.perWorkflow || j >= this.opts.perJob) return false;
    this.spent.set(wk, w + 1);
    this.spent.set(jk, j + 1);
    while (this.spent.size > MAX_BUDGET_ENTRIES) {
      const first = this.spent.keys().next();
      if (first.done) break;
      this.spent.delete(first.value);
    }
    return true;
  }

  /** The worker with the most free cores that can take `cores` threads, not in `excluded`. */
  private pick(cores: number, excluded: ReadonlySet<string>): string | null {
    const { ctx } = this;
    const d = ctx.leadership.dispatcher();
    if (!d) return null;
    let best: { id: string; free: number } | null = null;
    for (const o of ctx.registry.offers(ctx.now(), (id) => d.reservations.freeCores(id))) {
      if (excluded.has(o.id) || !ctx.workerConns.has(o.id) || o.freeCores < cores) continue;
      if (best === null || o.freeCores > best.free) best = { id: o.id, free: o.freeCores };
    }
    return best?.id ?? null;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.ctx.runtime.timers.after(ms, resolve));
  }

  private async recover(first: Part, lostWorker: string, why: string): Promise<void> {
    const { ctx } = this;
    let lost = first;
    /** The part the DC state records for these threads (a replacement that never ran is not). */
    const recorded = first.dispatchId;
    const excluded = new Set<string>([lostWorker]);
    const since = ctx.now();
    for (;;) {
      const d = ctx.leadership.dispatcher();
      const original = ctx.originals.get(originalKey(lost.job, lost.workflow));
      if (!d || !ctx.leadership.isLeader() || original === undefined) {
        this.note(lost, `worker '${lostWorker}' was lost (${why}); this manager stopped leading`);
        return this.settle(lost, 'failed');
      }
      if (ctx.state.job(lost.job)?.cancelled === true) return this.settle(lost, 'cancelled');
      const info = ctx.parts.get(lost.dispatchId);
      const elapsed = ctx.now() - original.acceptedAtMs;
      const all = splitShare(original.message.share as ExecutorShare, lost.threads);
      const shares = all
        .slice(lost.firstThread, lost.firstThread + lost.cores.length)
        .map((s, i) => remainingShare(s, elapsed, info?.iterations?.[i] ?? 0));
      if (shares.every((s) => s === null)) {
        this.counters.nothingLeft++;
        this.note(
          lost,
          `worker '${lostWorker}' was lost (${why}) after its share's planned end; nothing was re-dispatched`,
        );
        return this.settle(lost, 'completed');
      }
      const worker = this.pick(lost.cores.length, excluded);
      if (worker === null) {
        if (ctx.now() - since < this.opts.waitMs) {
          await this.wait(POLL_MS);
          continue;
        }
        this.counters.noWorker++;
        this.note(
          lost,
          `worker '${lostWorker}' was lost (${why}); no worker had ${lost.cores.length} free core(s) within ${this.opts.waitMs} ms to take its part`,
        );
        return this.settle(lost, 'failed');
      }
      if (!this.spend(lost.job, lost.workflow)) {
        this.counters.budgetSpent++;
        this.note(
          lost,
          `worker '${lostWorker}' was lost (${why}); the retry budget (${this.opts.perWorkflow} per workflow, ${this.opts.perJob} per job) is spent`,
        );
        return this.settle(lost, 'failed');
      }
      const r = d.replace(lost.dispatchId, worker);
      if (!r.ok) {
        excluded.add(worker);
        continue;
      }
      ctx.parts.delete(lost.dispatchId);
      const refused = await this.send(
        r.part,
        recorded,
        shares.map((s, i) => s ?? emptyShare(all[lost.firstThread + i]!)),
        original.message,
      );
      if (refused === null) {
        this.counters.replaced++;
        this.note(
          lost,
          `worker '${lostWorker}' was lost (${why}) ${Math.round(elapsed)} ms into its part; ${lost.cores.length} thread(s) re-dispatched to '${worker}'`,
        );
        ctx.log.log('warn', 'manager: lost part re-dispatched', {
          job: lost.job,
          workflow: lost.workflow,
          lost: lost.dispatchId,
          to: worker,
          dispatchId: r.part.dispatchId,
        });
        return;
      }
      this.counters.refusedByWorker++;
      ctx.log.log('warn', 'manager: a worker did not take a lost part', {
        worker,
        error: refused.message,
      });
      excluded.add(worker);
      ctx.parts.delete(r.part.dispatchId);
      abandon(ctx, r.part.dispatchId);
      d.markLost(r.part.dispatchId);
      lost = r.part;
    }
  }

  /** Sends the replacement; null when the worker took it (recorded in Raft), else why not. */
  private async send(
    part: Part,
    recordedId: string,
    shares: ExecutorShare[],
    m: OriginalDispatch['message'],
  ): Promise<ErrorMessage | null> {
    const { ctx } = this;
    const conn = ctx.workerConns.get(part.worker);
    const rec = ctx.registry.get(part.worker, ctx.now());
    if (!conn || !rec) return { t: 'error', code: 'E_WORKER_UNREACHABLE', message: 'gone' };
    ctx.parts.set(part.dispatchId, {
      dispatchId: part.dispatchId,
      job: part.job,
      workflow: part.workflow,
      worker: part.worker,
      incarnation: rec.incarnation,
      firstThread: part.firstThread,
      threads: part.cores.length,
      iterations: part.cores.map(() => 0),
    });
    const reply = await conn.request(workDispatch(part, rec.incarnation, m, shares), {
      timeoutMs: this.opts.workerTimeoutMs,
    });
    if (!reply.ok) return reply.error;
    ctx.leadership.dispatcher()?.transition(part.dispatchId, 'dispatched');
    const recorded = await propose(ctx, {
      op: 'part-replaced',
      job: part.job,
      workflow: part.workflow,
      lostDispatchId: recordedId,
      part: {
        dispatchId: part.dispatchId,
        worker: part.worker,
        fence: part.fence,
        threads: part.cores.length,
        firstThread: part.firstThread,
        totalThreads: part.threads,
      },
    });
    if ('t' in recorded || !recorded.ok) {
      ctx.log.log('warn', 'manager: replacement part not recorded in the DC state', {
        dispatchId: part.dispatchId,
        error: recorded.message,
      });
    }
    return null;
  }
}

/** A share with nothing to run (a thread of a replaced part whose own share had ended). */
function emptyShare(share: ExecutorShare): ExecutorShare {
  const c = share.config;
  switch (c.type) {
    case 'constant-vus':
    case 'constant-arrival-rate':
      return { ...share, config: { ...c, durationMs: 0 } };
    case 'ramping-vus':
      return { ...share, config: { ...c, startVus: 0, stages: [{ durationMs: 0, target: 0 }] } };
    case 'ramping-arrival-rate':
      return { ...share, config: { ...c, startRate: 0, stages: [{ durationMs: 0, target: 0 }] } };
    case 'shared-iterations':
      return { ...share, config: { ...c, iterations: 0, maxDurationMs: 0 } };
  }
}
