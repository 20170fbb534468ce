// Owns the owner gate's placement of one job over its target datacenters: a workflow's executor
// is split over the DCs (`splitExecutor`), each share goes to that DC's manager leader
// (`dc.dispatch`), windows coming back are handed on tagged
// `dc/worker#incarnation/thread/part`, and each DC's `dc.workflow-done` settles its part. A DC that refuses or cannot be reached fails
// its part; a DC silent for longer than asked (`terminateStalled`), or still running when the
// job's deadline passes (`timeOut`), times out; cancellation goes to every DC that took a
// share. Hooks run once, on the first target DC that takes them.

import { WindowMerger, type DcTotals } from '../../cluster/jobs/window-merger.js';
import type { ExecutorShare } from '../../engine/plan.js';
import { HookError, SalvoError } from '../../errors.js';
import { splitShare } from '../../run/executor-spec.js';
import type {
  HookCall,
  PlacedWorkflow,
  Placement,
  PlacementPart,
  PlacementReport,
  RunningHookCall,
  WorkflowCall,
} from '../../run/placement.js';
import type { RpcReply } from '../../protocol/index.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import type { StatsWindow } from '../../stats/types.js';
import type { DcWindows, DcWorkflowDone } from '../jobs/dc-wire.js';
import type { DcLink } from './dc-link.js';
import { background } from './background.js';
import { recordHandled } from '../../handled-errors.js';

export type PartOutcome = 'completed' | 'failed' | 'cancelled' | 'timed-out';

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
  /** A window merged for the first time (`source`: the worker thread): the job's reporting. */
  readonly onMerged?: (dc: string, source: string, window: StatsWindow) => void;
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
  readonly call: WorkflowCall;
  readonly parts: Map<string, PartState>;
  readonly onWindow: (source: string, window: StatsWindow) => void;
  readonly resolve: (r: PlacementReport) => void;
  cancelled: string | null;
  settled: boolean;
}

/** How one `dc.windows` batch was taken. */
export interface WindowsDelivery {
  merged: number;
  duplicates: number;
  rejected: number;
}

export const DEFAULT_CANCEL_TIMEOUT_MS = 10_000;
/** Times one dispatch is sent again after a refusal that named a retry-after. */
export const MAX_DISPATCH_RETRIES = 5;
/** Longest wait a refusal's retry-after may impose on one dispatch. */
export const MAX_DISPATCH_RETRY_AFTER_MS = 30_000;
/** Refusals that mean "not now" (the leader's rate limit or load), not "never". */
const RETRYABLE_REFUSALS = new Set(['E_RATE_LIMITED', 'E_UNAVAILABLE', 'over_capacity']);

/** How long a refusal asks the gate to wait before sending the dispatch again; null: do not. */
export function retryAfterMs(reply: RpcReply): number | null {
  if (reply.ok || !RETRYABLE_REFUSALS.has(reply.error.code)) return null;
  const v = reply.error.details?.retryAfterMs;
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  return Math.min(MAX_DISPATCH_RETRY_AFTER_MS, Math.max(1, Math.ceil(v)));
}

export class ClusterPlacement implements Placement {
  private readonly active = new Map<string, ActiveWorkflow>();
  /** Every workflow's per-DC parts, in the order they ended (the job's DC outcomes). */
  private ended: ClusterWorkflowReport[] = [];
  /** Windows merged exactly per DC and worker, for the result's per-DC breakdown. */
  private readonly merger = new WindowMerger({ maxJobs: 1 });
  private readonly accepted = new Set<string>();
  /** Workflow names ever run here: a second run of the same name is refused (windows would mix). */
  private readonly seen = new Set<string>();

  constructor(private readonly o: ClusterPlacementOptions) {}

  /** Execution units: the target DCs' cores as last reported (at least one per DC). */
  get size(): number {
    let n = 0;
    for (const d of this.o.dcs) n += Math.max(1, d.lastCapacity?.capacity.totalCores ?? 1);
    return n;
  }

  /** Each DC's merged totals (and per worker), counted once per window. */
  breakdown(): Record<string, DcTotals> {
    return this.merger.view(this.o.job)?.dcs ?? {};
  }

  get reports(): readonly ClusterWorkflowReport[] {
    return this.ended;
  }

  /** Workflows running now, and jobs the merger holds (both 0 once `release` ran). */
  get held(): { workflows: number; mergedJobs: number; reports: number; workflowNames: number } {
    return {
      workflows: this.active.size,
      mergedJobs: this.merger.jobCount,
      reports: this.reports.length,
      workflowNames: this.seen.size,
    };
  }

  /**
   * Drops what the job held here once its result is built: the merger's state, the per-workflow
   * reports and names. Windows or ends arriving later find nothing to update.
   */
  release(): void {
    this.merger.drop(this.o.job);
    this.ended = [];
    this.seen.clear();
  }

  /** DCs that accepted at least one share. */
  get acceptedDcs(): ReadonlySet<string> {
    return this.accepted;
  }

  runWorkflow(
    call: WorkflowCall,
    onWindow: (source: string, window: StatsWindow) => void,
  ): PlacedWorkflow {
    let resolve!: (r: PlacementReport) => void;
    const done = new Promise<PlacementReport>((r) => (resolve = r));
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
      throw new SalvoError('E_INTERNAL', `workflow '${call.workflow}' already ran in this job`);
    }
    this.seen.add(call.workflow);
    this.active.set(call.workflow, wf);
    const shares = splitShare(call.share, this.o.dcs.length);
    this.o.dcs.forEach((link, i) => {
      const share = shares[i];
      if (share === null || share === undefined) return;
      const part: PartState = { dc: link.dc, state: 'dispatching', lastHeardMs: now, result: null };
      wf.parts.set(link.dc, part);
      background(
        this.o.runtime.log,
        `dispatch of ${call.workflow} to ${link.dc}`,
        this.dispatch(wf, link, part, share),
      );
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
    share: ExecutorShare,
  ): Promise<void> {
    const c = wf.call;
    const message = {
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
      ...(c.baseUrl !== null ? { baseUrl: c.baseUrl } : {}),
      windowMs: Math.min(60_000, Math.max(10, c.windowMs)),
      cancelGraceMs: Math.min(3_600_000, c.cancelGraceMs),
    };
    const ended = (): boolean => part.state === 'ended';
    let reply = await link.toLeader(message, this.o.dispatchTimeoutMs);
    // A leader that is rate limiting or overloaded says when to come back: the same dispatch is
    // sent again then (bounded), unless the workflow was cancelled or settled meanwhile.
    for (let retry = 1; retry <= MAX_DISPATCH_RETRIES; retry++) {
      const waitMs = retryAfterMs(reply);
      if (waitMs === null || ended() || wf.cancelled !== null) break;
      part.lastHeardMs = this.o.runtime.clock.monotonicMs();
      this.o.runtime.log.log('info', 'datacenter asked to retry the dispatch later', {
        job: this.o.job,
        dc: link.dc,
        workflow: c.workflow,
        waitMs,
        retry,
      });
      await new Promise<void>((resolve) => this.o.runtime.timers.after(waitMs, resolve));
      if (ended() || wf.cancelled !== null) break;
      reply = await link.toLeader(message, this.o.dispatchTimeoutMs);
    }
    if (ended()) return;
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
    if (wf.cancelled !== null) {
      background(
        this.o.runtime.log,
        `cancel on ${link.dc}`,
        this.sendCancel(link, wf.cancelled, c.workflow),
      );
    }
  }

  /**
   * Windows from a DC's manager, counted the way the merger took them: merged (and handed to the
   * running workflow), duplicates (already merged), rejected (no running part, or refused by the
   * merger, e.g. too far ahead of its source's sequence: the manager may send it again later).
   */
  deliverWindows(batch: DcWindows): WindowsDelivery {
    const out = { merged: 0, duplicates: 0, rejected: 0 };
    const now = this.o.runtime.clock.monotonicMs();
    for (const w of batch.windows) {
      const wf = this.active.get(w.workflow);
      const part = wf?.parts.get(batch.dc);
      if (wf === undefined || part === undefined || part.state === 'ended') {
        out.rejected++;
        continue;
      }
      part.lastHeardMs = now;
      const r = this.merger.apply(
        { job: this.o.job, dc: batch.dc, worker: w.source, window: w.window },
        now,
      );
      if (r.ok && !r.merged) {
        out.duplicates++;
        continue;
      }
      // A malformed window still goes to the run, which counts it (it is never merged there).
      if (!r.ok && r.code !== 'E_WINDOW_INVALID') {
        out.rejected++;
        continue;
      }
      wf.onWindow(`${batch.dc}/${w.source}`, w.window as StatsWindow);
      if (r.ok) {
        out.merged++;
        this.o.onMerged?.(batch.dc, `${batch.dc}/${w.source}`, w.window as StatsWindow);
      } else out.rejected++;
    }
    return out;
  }

  /** `dc` accepted work of the job before it moved here (it is told of a cancel). */
  noteAccepted(dc: string): void {
    this.accepted.add(dc);
  }

  /** The workflow runs on `dc` now (its part there was accepted and has not ended). */
  running(workflow: string, dc: string): boolean {
    const part = this.active.get(workflow)?.parts.get(dc);
    return part !== undefined && part.state !== 'ended';
  }

  /** A DC's end of one workflow; false when no running part expected it (late or duplicate). */
  deliverDone(done: DcWorkflowDone): boolean {
    const wf = this.active.get(done.workflow);
    const part = wf?.parts.get(done.dc);
    if (wf === undefined && !this.reports.some((r) => r.workflow === done.workflow)) {
      // Neither running nor ended: not a workflow of this job. Its values are not taken.
      this.o.runtime.log.log('warn', 'gate: end of an unknown workflow ignored', {
        job: this.o.job,
        dc: done.dc,
        workflow: done.workflow,
        published: done.parts.flatMap((p) => Object.keys(p.published)),
      });
      return false;
    }
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
      if (part?.state === 'running') {
        background(
          this.o.runtime.log,
          `cancel on ${link.dc}`,
          this.sendCancel(link, reason, wf.call.workflow),
        );
      }
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

  /** Target DCs with a share of a running workflow that has not ended, in the job's order. */
  unfinishedDcs(): string[] {
    const open = new Set<string>();
    for (const wf of this.active.values()) {
      for (const p of wf.parts.values()) if (p.state !== 'ended') open.add(p.dc);
    }
    return this.o.dcs.map((l) => l.dc).filter((dc) => open.has(dc));
  }

  /**
   * The job's deadline passed: every part of `dcs` still running ends `timed-out` with
   * `failure` (what the DC reported so far stays merged; a later report of it is not taken),
   * and each of those DCs is told to cancel the job. Returns how many parts it ended.
   */
  timeOut(dcs: readonly string[], failure: string, reason: string): number {
    let ended = 0;
    for (const wf of [...this.active.values()]) {
      for (const part of wf.parts.values()) {
        if (part.state === 'ended' || !dcs.includes(part.dc)) continue;
        this.endPart(wf, part, {
          dc: part.dc,
          outcome: 'timed-out',
          failure: `datacenter ${part.dc} ${failure}`,
          workers: [],
        });
        ended++;
      }
    }
    for (const link of this.o.dcs) {
      if (!dcs.includes(link.dc)) continue;
      background(
        this.o.runtime.log,
        `cancel on ${link.dc} (deadline)`,
        this.sendCancel(link, reason, undefined),
      );
    }
    return ended;
  }

  /**
   * Parts of `wf` silent for `quietMs` or more end `timed-out`, and each of their DCs is told to
   * cancel the workflow (it may still be running there, only unheard). Returns how many ended.
   */
  private terminateStalled(wf: ActiveWorkflow, quietMs: number, why: string): number {
    const now = this.o.runtime.clock.monotonicMs();
    const stalled = new Set<string>();
    let ended = 0;
    for (const part of wf.parts.values()) {
      if (part.state === 'ended' || now - part.lastHeardMs < quietMs) continue;
      this.endPart(wf, part, {
        dc: part.dc,
        outcome: 'timed-out',
        failure: `datacenter ${part.dc} ${why}`,
        workers: [],
      });
      stalled.add(part.dc);
      ended++;
    }
    for (const link of this.o.dcs) {
      if (!stalled.has(link.dc)) continue;
      background(
        this.o.runtime.log,
        `cancel of '${wf.call.workflow}' on ${link.dc} (stalled)`,
        this.sendCancel(link, `datacenter ${link.dc} ${why}`, wf.call.workflow),
      );
    }
    return ended;
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
    const parts = [...wf.parts.values()].map((p) => p.result as DcPart);
    this.ended.push({ workflow: wf.call.workflow, parts });
    wf.resolve({ parts: parts.flatMap((p) => placementParts(p)) });
  }

  /** Runs one hook once, on the first target DC that takes it. */
  runHook(call: HookCall): RunningHookCall {
    let stop!: (reason: string) => void;
    const stopped = new Promise<never>((_, reject) => {
      stop = (reason) => reject(new HookError('E_HOOK_FAILED', `${call.hook} stopped: ${reason}`));
    });
    // A stop before the answer ends the wait (the race's caller sees it); the stop promise
    // itself is observed here so it never counts as unhandled when the answer came first.
    stopped.catch((error: unknown) => recordHandled('gate: a hook was stopped', error));
    const result = Promise.race([this.hookOnDcs(call), stopped]);
    return { result, stop: (reason) => stop(reason) };
  }

  private async hookOnDcs(call: HookCall): Promise<unknown> {
    const problems: string[] = [];
    for (const link of this.o.dcs) {
      const reply = await link.toLeader(
        {
          t: 'dc.hook',
          job: this.o.job,
          fence: this.o.fence(),
          workflow: call.workflow,
          hook: call.hook,
          timeoutMs: Math.max(1, Math.min(3_600_000, call.timeoutMs)),
          ownerAddress: this.o.ownerAddress,
          bundle: this.o.bundle,
          data: call.data ?? null,
          context: { ...call.context },
          ...(call.baseUrl !== null ? { baseUrl: call.baseUrl } : {}),
        },
        call.timeoutMs + 2_000,
      );
      if (!reply.ok) {
        problems.push(`${link.dc}: ${reply.error.code}: ${reply.error.message}`);
        if (reply.error.code === 'E_NO_WORKERS') continue;
        break;
      }
      const m = reply.message as unknown as { ok: boolean; value: unknown; error?: string };
      if (!m.ok)
        throw new HookError('E_HOOK_FAILED', m.error ?? `${call.hook} failed on ${link.dc}`);
      return m.value;
    }
    throw new HookError(
      'E_HOOK_FAILED',
      `no datacenter ran the ${call.hook} hook (${problems.join('; ')})`,
    );
  }
}

/** A DC's part as the run sees it: one part per worker, or one for the DC when none ran. */
function placementParts(p: DcPart): PlacementPart[] {
  if (p.workers.length === 0) {
    return [
      {
        unit: p.dc,
        ...(p.outcome === 'completed' || p.outcome === 'cancelled'
          ? {}
          : { failure: p.failure ?? p.outcome }),
        cancelled: p.outcome === 'cancelled',
        published: {},
        interrupted: 0,
        notes: p.failure !== undefined && p.outcome === 'cancelled' ? [p.failure] : [],
      },
    ];
  }
  return p.workers.map((w) => ({
    unit: `${p.dc}/${w.worker}`,
    ...(w.failure !== undefined
      ? { failure: w.failure }
      : p.outcome === 'failed' || p.outcome === 'timed-out'
        ? { failure: p.failure ?? p.outcome }
        : {}),
    cancelled: p.outcome === 'cancelled',
    published: { ...w.published },
    network: { ...w.network },
    interrupted: w.interrupted,
    notes: [...w.notes],
  }));
}
