// Owns what a manager leader does when a job moves to another owner gate: it keeps, per job,
// whether it relayed every window and workflow end of the job on this DC (the relay retains the
// windows, this keeps the ends the old owner acknowledged), and on `dc.adopt` from the new owner
// (a higher fence) records the new owner in the DC state, then sends it everything again —
// windows first, then the ends — answering which workflows ran here and whether that is all of
// them. `dc.release` (the job ended) lets it all go.

import type { ErrorMessage, MessageOf, RequestContext } from '../../protocol/index.js';
import type { DcAdoptDef, DcAdopted, DcReleaseDef, DcWorkflowDone } from '../jobs/dc-wire.js';
import type { BundleRelay } from './bundle-relay.js';
import { fail, gateRequestProblem, propose, roleProblem, type ManagerContext } from './context.js';
import type { ResultRelay } from './result-relay.js';

/** Workflow ends kept (over all jobs) to be sent again to a new owner gate. */
export const MAX_REPORTED_KEPT = 10_000;
/** Jobs remembered as relayed whole by this leader. */
const MAX_FROM_START = 10_000;

type Outcome = 'completed' | 'failed' | 'cancelled';

export class OwnerHandover {
  /** Ends the owner gate acknowledged, per job, kept until the job is released. */
  private readonly reportedEnds = new Map<
    string,
    Map<string, { outcome: Outcome; parts: DcWorkflowDone['parts'] }>
  >();
  private reportedKept = 0;
  /** Jobs whose every dispatch on this DC this node recorded, with the term it led then. */
  private readonly fromStart = new Map<string, number>();
  readonly counters = { adopted: 0, adoptRepeats: 0, windowsReplayed: 0, endsReplayed: 0 };

  constructor(
    private readonly ctx: ManagerContext,
    private readonly relay: ResultRelay,
    private readonly bundles: BundleRelay,
  ) {
    ctx.dispatchRecorded = (job, first) => this.dispatchRecorded(job, first);
    ctx.ownerMoved = (to) => this.moveTo(to);
    relay.retention = {
      holdsWhole: (job) => this.holdsWhole(job),
      keepReported: (job, workflow, outcome, parts) =>
        this.keepReported(job, workflow, outcome as Outcome, parts),
      release: (job) => this.release(job),
      jobs: () => this.reportedEnds.keys(),
    };
  }

  private dispatchRecorded(job: string, first: boolean): void {
    const term = this.ctx.leadership.term;
    const whole = first || this.fromStart.get(job) === term;
    this.fromStart.delete(job);
    // A workflow of the job that came through an earlier leader: its windows are not all here.
    if (!whole) return;
    this.fromStart.set(job, term);
    if (this.fromStart.size > MAX_FROM_START) {
      const oldest = this.fromStart.keys().next();
      if (!oldest.done) this.fromStart.delete(oldest.value);
    }
  }

  /** This leader relayed every window and end of `job` on this DC and still holds them all. */
  holdsWhole(job: string): boolean {
    const { ctx } = this;
    return (
      ctx.leadership.isLeader() &&
      this.fromStart.get(job) === ctx.leadership.term &&
      ctx.relay.retainedWhole(job)
    );
  }

  private keepReported(
    job: string,
    workflow: string,
    outcome: Outcome,
    parts: DcWorkflowDone['parts'],
  ): void {
    let ends = this.reportedEnds.get(job);
    if (ends === undefined) {
      ends = new Map();
      this.reportedEnds.set(job, ends);
    }
    if (!ends.has(workflow)) this.reportedKept++;
    ends.set(workflow, { outcome, parts });
    while (this.reportedKept > MAX_REPORTED_KEPT) {
      const oldest = this.reportedEnds.keys().next();
      if (oldest.done) break;
      this.ctx.log.log('warn', 'manager: too many reported ends kept; a job loses its replay', {
        job: oldest.value,
      });
      this.release(oldest.value);
    }
  }

  /** The job ended (or its retention expired): what was kept for a new owner goes. */
  release(job: string): void {
    this.ctx.relay.dropJob(job);
    this.fromStart.delete(job);
    this.reportedKept -= this.reportedEnds.get(job)?.size ?? 0;
    this.reportedEnds.delete(job);
  }

  /** Ends kept for new owners, over all jobs. */
  get endsKept(): number {
    return this.reportedKept;
  }

  async onAdopt(m: MessageOf<typeof DcAdoptDef>, rc: RequestContext): Promise<unknown> {
    const { ctx } = this;
    const refused = gateRequestProblem(ctx, rc, m);
    if (refused) return refused;
    if (m.bundleHash !== undefined) this.bundles.noteOwner(m.bundleHash, m.ownerAddress);
    const moved = await this.moveTo(m);
    if ('t' in moved) return moved;
    return this.adopted(m.job, moved.requeued, moved.complete);
  }

  /**
   * Records `to` as the job's owner (a higher fence) and sends it again what this DC had sent
   * the old one; a repeat of the same owner changes nothing. Also used when a dispatch from a
   * new owner finds the workflow running already.
   */
  async moveTo(to: {
    readonly job: string;
    readonly fence: number;
    readonly ownerGate: string;
    readonly ownerAddress: { host: string; port: number };
  }): Promise<{ requeued: number; complete: boolean } | ErrorMessage> {
    const { ctx } = this;
    const known = ctx.state.job(to.job);
    const ran = known !== undefined && Object.keys(known.workflows).length > 0;
    if (known !== undefined && known.fence === to.fence && known.ownerGate === to.ownerGate) {
      // A repeat (its answer was lost): everything is on its way to this owner already.
      this.counters.adoptRepeats++;
      return { requeued: 0, complete: !ran || this.holdsWhole(to.job) };
    }
    // Whether this leader holds it all is decided before the owner changes (no await between).
    const whole = !ran || this.holdsWhole(to.job);
    const r = await propose(ctx, {
      op: 'owner',
      job: to.job,
      fence: to.fence,
      ownerGate: to.ownerGate,
      ownerAddress: to.ownerAddress,
    });
    if ('t' in r) return r;
    if (!r.ok) {
      if (r.code === 'E_DUPLICATE') return { requeued: 0, complete: this.holdsWhole(to.job) };
      return fail(r.code, r.message);
    }
    if (!ran) return { requeued: 0, complete: true };
    const m = to;
    // The DC state names the new owner now: what follows is sent there.
    const { requeued } = ctx.relay.rewind(m.job);
    let ends = 0;
    for (const [workflow, end] of this.reportedEnds.get(m.job) ?? []) {
      this.relay.resendEnd(m.job, workflow, end.outcome, end.parts);
      ends++;
    }
    this.counters.adopted++;
    this.counters.windowsReplayed += requeued;
    this.counters.endsReplayed += ends;
    ctx.log.log('info', 'manager: job moved to a new owner gate', {
      job: m.job,
      owner: m.ownerGate,
      fence: m.fence,
      windows: requeued,
      ends,
      whole,
    });
    return { requeued, complete: whole && ctx.relay.retainedWhole(m.job) };
  }

  private adopted(job: string, requeued: number, complete: boolean): DcAdopted {
    const workflows: Record<string, Outcome | null> = {};
    for (const [name, w] of Object.entries(this.ctx.state.job(job)?.workflows ?? {})) {
      workflows[name] = w.outcome;
    }
    return { t: 'dc.adopted', job, dc: this.ctx.dc, workflows, requeued, complete };
  }

  onRelease(m: MessageOf<typeof DcReleaseDef>, rc: RequestContext): unknown {
    const bad = roleProblem(rc, ['gate'], m.t);
    if (bad) return bad;
    const fence = this.ctx.state.checkFence(m.job, m.fence);
    if (!fence.ok) return fail(fence.code, fence.message);
    this.release(m.job);
    return { t: 'dc.released', job: m.job, dc: this.ctx.dc };
  }
}
