// Owns the owner gate's placement of one job over its target datacenters: a workflow's executor
// is split over the DCs (`splitExecutor`), each share goes to that DC's manager leader
// (`dc.dispatch`), windows coming back are handed on tagged `dc/worker#incarnation/thread`, and
// each DC's `dc.workflow-done` settles its part. A DC that refuses or cannot be reached fails
// its part; a DC silent for longer than asked (`terminateStalled`) times out; cancellation goes
// to every DC that took a share. Hooks run once, on the first target DC that takes them.

import { splitExecutor } from '../../engine/plan.js';
import type { ExecutorConfig } from '../../api/executors.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import type { DcWindows, DcWorkflowDone } from '../jobs/dc-wire.js';
import type { DcLink } from './dc-link.js';

export type PartOutcome = 'completed' | 'failed' | 'cancelled' | 'timed-out';

/** One workflow as the run hands it to the placement. */
export interface ClusterWorkflowCall {
  readonly workflow: string;
  readonly executor: ExecutorConfig;
  readonly data: unknown;
  readonly context: Readonly<Record<string, unknown>>;
  readonly baseUrl?: string;
  readonly windowMs: number;
  readonly cancelGraceMs: number;
}

/** How one DC's share of one workflow ended. */
export interface DcPart {
  readonly dc: string;
  readonly outcome: PartOutcome;
  /** Why it did not complete (refusal, unreachable, a worker's failure, silence). */
  readonly failure?: string;
  /** The workers' parts as the DC reported them (empty when it never ran). */
  readonly workers: DcWorkflowDone['parts'];
}

export interface ClusterWorkflowReport {
  readonly workflow: string;
  readonly parts: readonly DcPart[];
}

export interface PlacedClusterWorkflow {
  readonly done: Promise<ClusterWorkflowReport>;
  /** Cancels this workflow on every DC that took a share. */
  cancel(reason: string): void;
  /** Ends as timed-out every DC part that sent nothing for `quietMs`. */
  terminateStalled(quietMs: number, why: string): void;
}

export interface HookCall {
  readonly workflow: string;
  readonly hook: 'setup' | 'teardown';
  readonly timeoutMs: number;
  readonly data: unknown;
  readonly context: Readonly<Record<string, unknown>>;
  readonly baseUrl?: string;
}

export type HookOutcome =
  | { readonly ok: true; readonly value: unknown; readonly dc: string; readonly worker?: string }
  | { readonly ok: false; readonly error: string };

export interface ClusterPlacementOptions {
  readonly runtime: Runtime;
  readonly job: string;
  readonly ownerGate: string;
  readonly ownerAddress: NodeAddress;
  /** The job's fence now (the ledger's; it changes only with ownership). */
  readonly fence: () => number;
  readonly bundle: { readonly hash: string; readonly sizeBytes: number; readonly file: string };
  /** Target DCs in the job's order. */
  readonly dcs: readonly DcLink[];
  /** A DC took its first share (the owner records it in the ledger). */
  readonly onDcAccepted: (dc: string) => void;
  readonly dispatchTimeoutMs?: number;
  readonly cancelTimeoutMs?: number;
}

interface PartState {
  readonly dc: string;
  state: 'dispatching' | 'running' | 'ended';
  lastHeardMs: number;
  result: DcPart | null;
}

interface ActiveWorkflow {
  readonly call: ClusterWorkflowCall;
  readonly parts: Map<string, PartState>;
  readonly onWindow: (source: string, window: unknown) => void;
  readonly resolve: (r: ClusterWorkflowReport) => void;
  cancelled: string | null;
  settled: boolean;
}

export const DEFAULT_CANCEL_TIMEOUT_MS = 10_000;

export class ClusterPlacement {
  private readonly active = new Map<string, ActiveWorkflow>();
  private readonly accepted = new Set<string>();
  /** Workflow names ever run here: a second run of the same name is refused (windows would mix). */
  private readonly seen = new Set<string>();

  constructor(private readonly o: ClusterPlacementOptions) {}

  /** Execution units: the target DCs (each spreads its share over its workers). */
  get size(): number {
    return this.o.dcs.length;
  }

  /** DCs that accepted at least one share. */
  get acceptedDcs(): ReadonlySet<string> {
    return this.accepted;
  }

  runWorkflow(
    call: ClusterWorkflowCall,
    onWindow: (source: string, window: unknown) => void,
  ): PlacedClusterWorkflow {
    let resolve!: (r: ClusterWorkflowReport) => void;
    const done = new Promise<ClusterWorkflowReport>((r) => (resolve = r));
    const now = this.o.runtime.clock.monotonicMs();
    const wf: ActiveWorkflow = {
      call,
      parts: new Map(),
      onWindow,
      resolve,
      cancelled: null,
      settled: false,
    };
    if (this.seen.has(call.workflow)) {
      resolve({
        workflow: call.workflow,
        parts: this.o.dcs.map((d) => ({
          dc: d.dc,
          outcome: 'failed' as const,
          failure: `workflow '${call.workflow}' already ran in this job`,
          workers: [],
        })),
      });
      return { done, cancel: () => undefined, terminateStalled: () => undefined };
    }
    this.seen.add(call.workflow);
    this.active.set(call.workflow, wf);
    const shares = splitExecutor(call.executor, this.o.dcs.length);
    this.o.dcs.forEach((link, i) => {
      const share = shares[i];
      if (share === null || share === undefined) return;
      const part: PartState = { dc: link.dc, state: 'dispatching', lastHeardMs: now, result: null };
      wf.parts.set(link.dc, part);
      void this.dispatch(wf, link, part, share);
    });
    this.settleIfDone(wf);
    return {
      done,
      cancel: (reason) => this.cancelWorkflow(wf, reason),
      terminateStalled: (quietMs, why) => this.terminateStalled(wf, quietMs, why),
    };
  }

  private async dispatch(
    wf: ActiveWorkflow,
    link: DcLink,
    part: PartState,
    share: unknown,
  ): Promise<void> {
    const c = wf.call;
    const reply = await link.toLeader(
      {
        t: 'dc.dispatch',
        job: this.o.job,
        fence: this.o.fence(),
        ownerGate: this.o.ownerGate,
        ownerAddress: this.o.ownerAddress,
        workflow: c.workflow,
        attempt: 1,
        bundle: this.o.bundle,
        share,
        data: c.data ?? null,
        context: { ...c.context },
        ...(c.baseUrl !== undefined ? { baseUrl: c.baseUrl } : {}),
        windowMs: c.windowMs,
        cancelGraceMs: c.cancelGraceMs,
      },
      this.o.dispatchTimeoutMs,
    );
    if (part.state === 'ended') return;
    part.lastHeardMs = this.o.runtime.clock.monotonicMs();
    if (!reply.ok) {
      this.endPart(wf, part, {
        dc: part.dc,
        outcome: wf.cancelled !== null ? 'cancelled' : 'failed',
        failure: `${reply.error.code}: ${reply.error.message}`,
        workers: [],
      });
      return;
    }
    part.state = 'running';
    if (!this.accepted.has(part.dc)) {
      this.accepted.add(part.dc);
      this.o.onDcAccepted(part.dc);
    }
    // A cancel that came while the dispatch was on its way reaches this DC now.
    if (wf.cancelled !== null) void this.sendCancel(link, wf.cancelled, c.workflow);
  }

  /** Windows from a DC's manager; returns how many were handed to a running workflow. */
  deliverWindows(batch: DcWindows): number {
    let delivered = 0;
    const now = this.o.runtime.clock.monotonicMs();
    for (const w of batch.windows) {
      const wf = this.active.get(w.workflow);
      const part = wf?.parts.get(batch.dc);
      if (wf === undefined || part === undefined || part.state === 'ended') continue;
      part.lastHeardMs = now;
      wf.onWindow(`${batch.dc}/${w.source}`, w.window);
      delivered++;
    }
    return delivered;
  }

  /** A DC's end of one workflow; false when no running part expected it (late or duplicate). */
  deliverDone(done: DcWorkflowDone): boolean {
    const wf = this.active.get(done.workflow);
    const part = wf?.parts.get(done.dc);
    if (wf === undefined || part === undefined || part.state === 'ended') return false;
    const failures = done.parts.flatMap((p) =>
      p.failure !== undefined ? [`${p.worker}: ${p.failure}`] : [],
    );
    this.endPart(wf, part, {
      dc: done.dc,
      outcome: done.outcome,
      ...(failures.length > 0 ? { failure: failures.join('; ') } : {}),
      workers: done.parts,
    });
    return true;
  }

  /**
   * Cancels everything on every DC that accepted a share; resolves with each DC's answer.
   * Parts still running end as cancelled when their DC reports, or after the timeout.
   */
  async cancelAll(
    reason: string,
  ): Promise<Map<string, { acknowledged: string[]; unanswered: string[]; error?: string }>> {
    for (const wf of this.active.values()) wf.cancelled ??= reason;
    const out = new Map<string, { acknowledged: string[]; unanswered: string[]; error?: string }>();
    await Promise.all(
      this.o.dcs.map(async (link) => {
        if (!this.accepted.has(link.dc)) {
          out.set(link.dc, { acknowledged: [], unanswered: [] });
          return;
        }
        out.set(link.dc, await this.sendCancel(link, reason, undefined));
      }),
    );
    const timeout = this.o.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS;
    for (const wf of this.active.values()) {
      for (const part of wf.parts.values()) {
        if (part.state === 'dispatching') continue;
        this.o.runtime.timers.after(timeout, () => {
          if (part.state === 'ended') return;
          this.endPart(wf, part, {
            dc: part.dc,
            outcome: 'cancelled',
            failure: `datacenter ${part.dc} did not report the cancelled workflow within ${timeout} ms`,
            workers: [],
          });
        });
      }
    }
    return out;
  }

  private cancelWorkflow(wf: ActiveWorkflow, reason: string): void {
    if (wf.cancelled !== null || wf.settled) return;
    wf.cancelled = reason;
    for (const link of this.o.dcs) {
      const part = wf.parts.get(link.dc);
      if (part?.state === 'running') void this.sendCancel(link, reason, wf.call.workflow);
    }
  }

  private async sendCancel(
    link: DcLink,
    reason: string,
    workflow: string | undefined,
  ): Promise<{ acknowledged: string[]; unanswered: string[]; error?: string }> {
    const timeoutMs = this.o.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS;
    const reply = await link.toLeader(
      {
        t: 'dc.cancel',
        job: this.o.job,
        fence: this.o.fence(),
        ...(workflow !== undefined ? { workflow } : {}),
        reason: reason.slice(0, 4096),
        timeoutMs,
      },
      timeoutMs + 2_000,
    );
    if (!reply.ok) {
      return {
        acknowledged: [],
        unanswered: [],
        error: `${reply.error.code}: ${reply.error.message}`,
      };
    }
    const m = reply.message as unknown as { acknowledged: string[]; unanswered: string[] };
    return { acknowledged: [...m.acknowledged], unanswered: [...m.unanswered] };
  }

  private terminateStalled(wf: ActiveWorkflow, quietMs: number, why: string): void {
    const now = this.o.runtime.clock.monotonicMs();
    for (const part of wf.parts.values()) {
      if (part.state !== 'running' || now - part.lastHeardMs < quietMs) continue;
      this.endPart(wf, part, { dc: part.dc, outcome: 'timed-out', failure: why, workers: [] });
    }
  }

  private endPart(wf: ActiveWorkflow, part: PartState, result: DcPart): void {
    if (part.state === 'ended') return;
    part.state = 'ended';
    part.result = result;
    this.settleIfDone(wf);
  }

  private settleIfDone(wf: ActiveWorkflow): void {
    if (wf.settled) return;
    for (const p of wf.parts.values()) if (p.state !== 'ended') return;
    wf.settled = true;
    this.active.delete(wf.call.workflow);
    wf.resolve({
      workflow: wf.call.workflow,
      parts: [...wf.parts.values()].map((p) => p.result as DcPart),
    });
  }

  /** Runs one hook on the first target DC that takes it. */
  async runHook(call: HookCall): Promise<HookOutcome> {
    const problems: string[] = [];
    for (const link of this.o.dcs) {
      const reply = await link.toLeader(
        {
          t: 'dc.hook',
          job: this.o.job,
          fence: this.o.fence(),
          workflow: call.workflow,
          hook: call.hook,
          timeoutMs: call.timeoutMs,
          bundle: this.o.bundle,
          data: call.data ?? null,
          context: { ...call.context },
          ...(call.baseUrl !== undefined ? { baseUrl: call.baseUrl } : {}),
        },
        call.timeoutMs + 2_000,
      );
      if (!reply.ok) {
        problems.push(`${link.dc}: ${reply.error.code}: ${reply.error.message}`);
        if (reply.error.code === 'E_NO_WORKERS') continue;
        break;
      }
      const m = reply.message as unknown as {
        ok: boolean;
        value: unknown;
        error?: string;
        worker?: string;
      };
      if (!m.ok) return { ok: false, error: m.error ?? `${call.hook} failed on ${link.dc}` };
      return {
        ok: true,
        value: m.value,
        dc: link.dc,
        ...(m.worker !== undefined ? { worker: m.worker } : {}),
      };
    }
    return { ok: false, error: `no datacenter ran the ${call.hook} hook (${problems.join('; ')})` };
  }
}
