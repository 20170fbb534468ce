// Owns the upward flow of a manager: `work.windows` from workers (checked, tagged
// `worker#incarnation/thread`, deduplicated and queued in the WindowRelay, acknowledged), the
// batches of `dc.windows` to each job's owner gate now (several in flight, each acknowledged,
// retried with backoff), and `work.done` (the part's end); once every part of a workflow ended
// and its windows reached the gate, `dc.workflow-done` goes up (retried until acknowledged) and
// the end is recorded in Raft. What a new owner gate must get again is kept by OwnerHandover
// (through `retention`); an end it asks for again goes out with `resendEnd`.

import { windowProblem } from '../../cluster/jobs/window-check.js';
import type { RelayBatch } from '../../cluster/jobs/window-relay.js';
import type { ErrorMessage, MessageOf, RequestContext } from '../../protocol/index.js';
import type { NodeAddress, TimerHandle } from '../../runtime/types.js';
import type { WorkDoneDef, WorkWindowsDef } from '../jobs/work-wire.js';
import type { DcWorkflowDone } from '../jobs/dc-wire.js';
import type { StatsWindow } from '../../stats/types.js';
import {
  fail,
  MAX_ABANDONED,
  originalKey,
  propose,
  roleProblem,
  type ManagerContext,
  type PartInfo,
} from './context.js';
import { sweepReported } from './reported-sweep.js';

export interface RelayOptions {
  readonly tickMs: number;
  readonly gateTimeoutMs: number;
}

interface EndedWorkflow {
  readonly job: string;
  readonly workflow: string;
  outcome: 'completed' | 'failed' | 'cancelled';
  /** The DC state holds the end (this outcome, or an earlier one this was replaced with). */
  recorded: boolean;
  /** The leader term in which this node saw the end. */
  readonly term: number;
  sending: boolean;
  retryAtMs: number;
  failures: number;
  /** The parts as reported before (an end sent again to a new owner gate). */
  parts?: DcWorkflowDone['parts'];
}

export const MAX_ENDED_WAITING = 10_000;
/** A job's retained windows and ends go after this long without a window (its release was lost). */
export const RETAIN_IDLE_MS = 3_600_000;

/**
 * Where a thread's windows come from, as the relay and the gate count them: the worker
 * incarnation, the thread among the workflow's, and the part. A part numbers its windows from
 * 1, so two parts of one workflow on one worker (a lost part that came back to a worker that ran
 * these threads before) must not share a source, or the second's windows would read as repeats.
 */
export function windowSource(
  info: { worker: string; incarnation: number; firstThread: number; dispatchId: string },
  thread: number,
): string {
  return `${info.worker}#${info.incarnation}/${info.firstThread + thread}/${info.dispatchId}`;
}
/** How often a manager lets go of the state of workflows whose end reached the gate. */
const SWEEP_MS = 1_000;

export class ResultRelay {
  private timer: TimerHandle | null = null;
  private readonly ended = new Map<string, EndedWorkflow>();
  private readonly zombiesStopped = new Set<string>();
  private sweptAtMs = 0;
  readonly counters = {
    windowsIn: 0,
    windowsInvalid: 0,
    windowsAbandoned: 0,
    /** Given-up parts a worker was told to stop when their windows came in. */
    zombiesStopped: 0,
    batchesAcked: 0,
    batchesFailed: 0,
    workflowsReported: 0,
    doneIn: 0,
    conflictingEnds: 0,
  };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly opts: RelayOptions,
  ) {
    ctx.workflowEnded = (job, workflow, outcome) => this.workflowEnded(job, workflow, outcome);
  }

  /**
   * What is kept for a new owner gate (set by the owner handover): whether this leader holds
   * every window and end of a job, and where an acknowledged end is kept.
   */
  retention: {
    holdsWhole(job: string): boolean;
    keepReported(
      job: string,
      workflow: string,
      outcome: string,
      parts: DcWorkflowDone['parts'],
    ): void;
    release(job: string): void;
    jobs(): Iterable<string>;
  } = {
    holdsWhole: () => false,
    keepReported: () => undefined,
    release: () => undefined,
    jobs: () => [],
  };

  /**
   * Sends a workflow's end again (to the job's owner now, after its windows), as reported
   * before; nothing when the end is being reported already.
   */
  resendEnd(
    job: string,
    workflow: string,
    outcome: EndedWorkflow['outcome'],
    parts: DcWorkflowDone['parts'],
  ): void {
    const k = JSON.stringify([job, workflow]);
    if (this.ended.has(k)) return;
    this.ended.set(k, {
      job,
      workflow,
      outcome,
      recorded: true,
      term: this.ctx.leadership.term,
      sending: false,
      retryAtMs: 0,
      failures: 0,
      parts,
    });
  }

  start(): void {
    this.timer = this.ctx.runtime.timers.every(this.opts.tickMs, () => this.tick());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** A known, live part of this worker, or the error to answer with. */
  private partOf(
    m: { dispatchId: string; job: string; workflow: string; incarnation: number },
    rc: RequestContext,
  ): PartInfo | { t: 'error'; code: string; message: string } {
    const info = this.ctx.parts.get(m.dispatchId);
    if (!info || info.job !== m.job || info.workflow !== m.workflow) {
      return fail('E_UNKNOWN_DISPATCH', `dispatch '${m.dispatchId}' is not known to this manager`);
    }
    if (info.worker !== rc.session.remoteNodeId || info.incarnation !== m.incarnation) {
      return fail(
        'E_FORBIDDEN',
        `dispatch '${m.dispatchId}' belongs to another worker incarnation`,
      );
    }
    return info;
  }

  onWindows(m: MessageOf<typeof WorkWindowsDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['worker'], m.t);
    if (bad) return bad;
    const { ctx } = this;
    if (ctx.abandoned.has(m.dispatchId)) {
      // Only the leader may discard: a follower that gave the part up in an earlier term sends
      // the worker on (a later leader may have taken the part over).
      if (!ctx.leadership.isLeader()) return ctx.leadership.notLeader();
      if (this.stillRecorded(m.job, m.workflow, m.dispatchId)) return this.partLost(m.dispatchId);
      // A part given up or lost (its worker was reaped or restarted): its late windows are
      // acknowledged so the worker stops resending, counted, and never merged.
      this.counters.windowsAbandoned += m.windows.length;
      this.stopZombie(m.job, m.workflow, m.dispatchId, rc.session.remoteNodeId);
      return {
        t: 'work.windows-ack',
        dispatchId: m.dispatchId,
        accepted: 0,
        duplicates: m.windows.length,
      };
    }
    const info = this.partOf(m, rc);
    if ('t' in info) return info;
    const d = ctx.leadership.dispatcher();
    const part = d?.part(m.dispatchId);
    if (part?.state === 'dispatched') d!.transition(m.dispatchId, 'running');
    const source = (thread: number): string => windowSource(info, thread);
    (m.floor ?? []).forEach((floor, thread) => {
      if (thread < info.threads) ctx.relay.advance(m.job, source(thread), m.workflow, floor);
    });
    let accepted = 0;
    let duplicates = 0;
    for (const w of m.windows) {
      this.counters.windowsIn++;
      const problem = windowProblem(w.window);
      if (problem !== null || (w.window as { workflow?: unknown }).workflow !== m.workflow) {
        this.counters.windowsInvalid++;
        ctx.log.log('warn', 'manager: bad window from a worker dropped', {
          dispatchId: m.dispatchId,
          error: problem ?? 'window of another workflow',
        });
        continue;
      }
      const r = ctx.relay.offer(m.job, {
        source: source(w.thread),
        workflow: m.workflow,
        seq: w.seq,
        window: { ...(w.window as object), seq: w.seq },
      });
      if (!r.ok) return fail(r.code, r.message, { accepted, duplicates });
      if (r.duplicate) duplicates++;
      else {
        accepted++;
        const it = (w.window as StatsWindow).iterations;
        if (info.iterations !== undefined && w.thread < info.iterations.length)
          info.iterations[w.thread]! += it.completed + it.failed;
      }
    }
    this.flush(m.job);
    return {
      t: 'work.windows-ack',
      dispatchId: m.dispatchId,
      accepted,
      duplicates,
      delivered: this.delivered(m.job, m.workflow, info),
      backpressure: ctx.relay.backpressure(m.job),
    };
  }

  /** Per thread of the part, how far its windows reached the gate. */
  private delivered(job: string, workflow: string, info: PartInfo): number[] {
    return Array.from({ length: info.threads }, (_, i) =>
      this.ctx.relay.delivered(job, windowSource(info, i), workflow),
    );
  }

  /** The DC state still has `dispatchId` as a live part of the workflow (not replaced, not ended). */
  private stillRecorded(job: string, workflow: string, dispatchId: string): boolean {
    const w = this.ctx.state.job(job)?.workflows[workflow];
    return (
      w !== undefined && w.outcome === null && w.parts.some((p) => p.dispatchId === dispatchId)
    );
  }

  /**
   * A lost part whose replacement is not recorded yet: what its worker sends waits (it is
   * discarded once the replacement is recorded, or goes to a later leader that keeps the part).
   */
  private partLost(dispatchId: string): ErrorMessage {
    return fail('E_PART_LOST', `dispatch '${dispatchId}' is lost and being replaced; try later`);
  }

  /**
   * A worker still runs a part this DC gave up (it was cut off and came back): it is told once
   * to stop, unless it runs another live part of that workflow (the cancel is per workflow).
   */
  private stopZombie(
    job: string,
    workflow: string,
    dispatchId: string,
    worker: string | null,
  ): void {
    const { ctx } = this;
    if (worker === null || this.zombiesStopped.has(dispatchId)) return;
    // Only the leader knows the part was replaced; a part the DC state still records is not a
    // zombie (this node gave it up in an earlier term, and a later leader took it over).
    if (!ctx.leadership.isLeader() || this.stillRecorded(job, workflow, dispatchId)) return;
    const d = ctx.leadership.dispatcher();
    if (d?.liveOn(worker).some((p) => p.job === job && p.workflow === workflow)) return;
    const conn = ctx.workerConns.get(worker);
    if (!conn) return;
    this.zombiesStopped.add(dispatchId);
    if (this.zombiesStopped.size > MAX_ABANDONED) {
      const first = this.zombiesStopped.values().next();
      if (!first.done) this.zombiesStopped.delete(first.value);
    }
    this.counters.zombiesStopped++;
    void conn
      .request(
        {
          t: 'work.cancel',
          job,
          workflow,
          fence: ctx.state.job(job)?.fence ?? 0,
          reason: 'this part was re-dispatched while the worker was out of reach',
        },
        { timeoutMs: this.opts.gateTimeoutMs },
      )
      .then((r) => {
        if (!r.ok) {
          ctx.log.log('debug', 'manager: stop of a given-up part not acknowledged', {
            dispatchId,
            worker,
            code: r.error.code,
          });
        }
      });
  }

  onDone(m: MessageOf<typeof WorkDoneDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['worker'], m.t);
    if (bad) return bad;
    const { ctx } = this;
    if (ctx.abandoned.has(m.dispatchId)) {
      if (!ctx.leadership.isLeader()) return ctx.leadership.notLeader();
      if (this.stillRecorded(m.job, m.workflow, m.dispatchId)) return this.partLost(m.dispatchId);
      // A part of a dispatch given up: its cores come back now that it ended.
      const d = ctx.leadership.dispatcher();
      const part = d?.part(m.dispatchId);
      if (d && part && !['completed', 'failed', 'cancelled'].includes(part.state)) {
        d.transition(m.dispatchId, m.outcome);
        this.onCoresFreed?.();
      }
      return { t: 'work.done-ack', dispatchId: m.dispatchId };
    }
    const info = this.partOf(m, rc);
    if ('t' in info) {
      // Already reported and forgotten: acknowledge so the worker stops resending.
      return info.code === 'E_UNKNOWN_DISPATCH'
        ? { t: 'work.done-ack', dispatchId: m.dispatchId }
        : info;
    }
    this.counters.doneIn++;
    const d = ctx.leadership.dispatcher();
    const part = d?.part(m.dispatchId);
    if (!d || !part) return { t: 'work.done-ack', dispatchId: m.dispatchId };
    const r = d.transition(m.dispatchId, m.outcome);
    if (!r.ok) {
      // A resent end (its ack was lost) is the same move again; anything else is a conflict.
      if (part.state !== m.outcome) {
        this.counters.conflictingEnds++;
        ctx.log.log('warn', 'manager: part transition refused', {
          dispatchId: m.dispatchId,
          worker: info.worker,
          from: part.state,
          to: m.outcome,
          error: r.message,
        });
      }
      return { t: 'work.done-ack', dispatchId: m.dispatchId };
    }
    ctx.parts.set(m.dispatchId, {
      ...info,
      report: {
        ...(m.failure !== undefined ? { failure: m.failure } : {}),
        published: m.published,
        network: m.network,
        interrupted: m.interrupted,
        notes: m.notes,
      },
    });
    ctx.log.log('debug', 'manager: part ended', {
      dispatchId: m.dispatchId,
      from: r.from,
      to: m.outcome,
    });
    if (r.workflowEnded) this.workflowEnded(m.job, m.workflow, r.workflowEnded);
    this.onCoresFreed?.();
    return { t: 'work.done-ack', dispatchId: m.dispatchId };
  }

  /** Called when a part's end gave cores back (the dispatcher may serve its queue). */
  onCoresFreed: (() => void) | null = null;

  workflowEnded(
    job: string,
    workflow: string,
    outcome: 'completed' | 'failed' | 'cancelled',
  ): void {
    const k = JSON.stringify([job, workflow]);
    const known = this.ended.get(k);
    // An end seen in an earlier term and never recorded gives way to this term's.
    if (known !== undefined && (known.recorded || known.term === this.ctx.leadership.term)) return;
    this.ended.delete(k);
    if (this.ended.size >= MAX_ENDED_WAITING) {
      this.ctx.log.log(
        'error',
        'manager: too many workflow ends awaiting their gate; dropping the oldest',
        {},
      );
      const first = this.ended.keys().next();
      if (!first.done) this.ended.delete(first.value);
    }
    this.ended.set(k, {
      job,
      workflow,
      outcome,
      recorded: false,
      term: this.ctx.leadership.term,
      sending: false,
      retryAtMs: 0,
      failures: 0,
    });
    this.onCoresFreed?.();
  }

  private tick(): void {
    const now = this.ctx.now();
    for (const job of this.ctx.relay.due(now)) this.flush(job);
    for (const e of this.ended.values()) this.report(e, now);
    if (now - this.sweptAtMs >= SWEEP_MS) {
      this.sweptAtMs = now;
      sweepReported(
        this.ctx,
        (job, workflow) => this.ended.has(JSON.stringify([job, workflow])),
        (job) => this.retention.holdsWhole(job),
      );
      for (const job of this.ctx.relay.expireIdle(now, RETAIN_IDLE_MS)) this.retention.release(job);
      const relayed = new Set(this.ctx.relay.jobIds());
      for (const job of [...this.retention.jobs()]) {
        if (!relayed.has(job)) this.retention.release(job);
      }
    }
  }

  /** Sends the job's next batches of windows to its owner gate, as many as the relay allows. */
  private flush(job: string): void {
    const { ctx } = this;
    const owner = ctx.state.job(job);
    if (!owner) return;
    for (let batch = ctx.relay.next(job, ctx.now()); batch; batch = ctx.relay.next(job, ctx.now()))
      this.send(job, owner, batch);
  }

  private send(
    job: string,
    owner: { ownerAddress: NodeAddress; fence: number },
    batch: RelayBatch,
  ): void {
    const { ctx } = this;
    void ctx.gateLinks
      .get(owner.ownerAddress)
      .then((conn) =>
        conn.request(
          { t: 'dc.windows', job, dc: ctx.dc, fence: owner.fence, windows: [...batch.windows] },
          { timeoutMs: this.opts.gateTimeoutMs },
        ),
      )
      .then(
        (reply) => {
          if (reply.ok) {
            this.counters.batchesAcked++;
            ctx.relay.acked(job, batch.batchId);
            this.flush(job);
            return;
          }
          this.counters.batchesFailed++;
          ctx.relay.failed(job, batch.batchId, ctx.now());
          ctx.log.log('debug', 'manager: gate did not take windows', {
            job,
            code: reply.error.code,
          });
        },
        (error: unknown) => {
          this.counters.batchesFailed++;
          ctx.relay.failed(job, batch.batchId, ctx.now());
          ctx.log.log('debug', 'manager: owner gate unreachable', {
            job,
            error: error instanceof Error ? error.message : String(error),
          });
        },
      );
  }

  /** Reports a workflow's end once its windows all reached the gate; retried until acknowledged. */
  private report(e: EndedWorkflow, now: number): void {
    const { ctx } = this;
    if (e.sending || now < e.retryAtMs || ctx.relay.pending(e.job, e.workflow) > 0) return;
    const owner = ctx.state.job(e.job);
    const d = ctx.leadership.dispatcher();
    if (!owner || !d) return;
    if (!e.recorded && e.term !== ctx.leadership.term) {
      // Seen in an earlier term of this node: the workflow may have been taken over since (and
      // run on); this term's dispatcher decides its end.
      this.ended.delete(JSON.stringify([e.job, e.workflow]));
      return;
    }
    if (!e.recorded) {
      // The end goes into the DC state before the gate hears of it: a leader that lost its
      // quorum cannot report an end the DC did not agree on, and a second end of the same
      // workflow (another leader's, another outcome) takes the recorded one.
      e.sending = true;
      void this.record(e).then((ok) => {
        e.sending = false;
        if (ok) this.report(e, this.ctx.now());
        else this.retryLater(e, 'the DC state did not take the end');
      });
      return;
    }
    const lostNotes = e.parts === undefined ? ctx.recoveryNotes(e.job, e.workflow) : [];
    const parts = e.parts ?? this.partsReport(e, lostNotes);
    e.sending = true;
    void ctx.gateLinks
      .get(owner.ownerAddress)
      .then((conn) =>
        conn.request(
          {
            t: 'dc.workflow-done',
            job: e.job,
            dc: ctx.dc,
            fence: owner.fence,
            workflow: e.workflow,
            outcome: e.outcome,
            parts,
          },
          { timeoutMs: this.opts.gateTimeoutMs },
        ),
      )
      .then(
        async (reply) => {
          e.sending = false;
          if (!reply.ok) return this.retryLater(e, reply.error.message);
          this.counters.workflowsReported++;
          this.ended.delete(JSON.stringify([e.job, e.workflow]));
          if (this.retention.holdsWhole(e.job))
            this.retention.keepReported(e.job, e.workflow, e.outcome, parts);
          if (e.parts !== undefined) return; // sent again to a new owner: nothing more to drop
          for (const p of d.partsOf(e.job, e.workflow)) ctx.parts.delete(p.dispatchId);
          d.forget(e.job, e.workflow);
          ctx.originals.delete(originalKey(e.job, e.workflow));
          ctx.workflowForgotten(e.job, e.workflow);
          // The job's last workflow here was reported: its relay state (dedup marks) goes too,
          // unless its windows are retained for a new owner (then `release` or expiry does it).
          if (
            d.partsOf(e.job).length === 0 &&
            !d.has(e.job, e.workflow) &&
            ctx.relay.pending(e.job) === 0 &&
            !this.retention.holdsWhole(e.job)
          ) {
            ctx.relay.dropJob(e.job);
          }
          const r = await propose(ctx, {
            op: 'workflow-reported',
            job: e.job,
            workflow: e.workflow,
          });
          if ('t' in r || !r.ok)
            ctx.log.log('debug', 'manager: workflow end reported but not marked so', {
              job: e.job,
              workflow: e.workflow,
            });
        },
        (error: unknown) => {
          e.sending = false;
          this.retryLater(e, error instanceof Error ? error.message : String(error));
        },
      );
  }

  /** Each part's outcome and report, for the workflow's end. */
  private partsReport(e: EndedWorkflow, lostNotes: readonly string[]): DcWorkflowDone['parts'] {
    const d = this.ctx.leadership.dispatcher();
    return (d?.partsOf(e.job, e.workflow) ?? []).map((p, i) => {
      const info = this.ctx.parts.get(p.dispatchId);
      const r = info?.report;
      return {
        worker: p.worker,
        ...(r?.failure !== undefined
          ? { failure: r.failure }
          : p.state === 'failed'
            ? { failure: `worker '${p.worker}' was lost before it reported` }
            : {}),
        published: r?.published ?? {},
        network: r?.network ?? { requests: 0, bytesSent: 0, bytesReceived: 0 },
        interrupted: r?.interrupted ?? 0,
        notes: [...(r?.notes ?? []), ...(i === 0 ? lostNotes : [])],
      };
    });
  }

  /** Records the end in the DC state; true once it holds this end or an earlier one. */
  private async record(e: EndedWorkflow): Promise<boolean> {
    const { ctx } = this;
    const r = await propose(ctx, {
      op: 'workflow-end',
      job: e.job,
      workflow: e.workflow,
      outcome: e.outcome,
    });
    if (!('t' in r) && r.ok) {
      e.recorded = true;
      return true;
    }
    const held = ctx.state.job(e.job)?.workflows[e.workflow]?.outcome ?? null;
    if (!('t' in r) && r.code === 'E_DUPLICATE' && held !== null) {
      if (held !== e.outcome) {
        ctx.log.log('info', 'manager: the DC had recorded another end of the workflow', {
          job: e.job,
          workflow: e.workflow,
          recorded: held,
          seen: e.outcome,
        });
      }
      e.outcome = held;
      e.recorded = true;
      return true;
    }
    return false;
  }

  private retryLater(e: EndedWorkflow, why: string): void {
    e.failures++;
    e.retryAtMs = this.ctx.now() + Math.min(5_000, 100 * 2 ** Math.min(e.failures, 10));
    this.ctx.log.log('debug', 'manager: workflow end not acknowledged; will retry', {
      job: e.job,
      workflow: e.workflow,
      why,
    });
  }
}
