// Owns one job on the gate that owns it: runs its program over a ClusterPlacement, records each
// DC's acceptance and end in the ledger, streams snapshots to its watchers, fans a cancel out to
// the DCs, times it out when its deadline passes, and ends the job exactly once (every DC's
// outcome, then `complete`, each retried until the ledger takes it), after which its watchers
// get the result. Stops acting the moment the ledger says another gate owns the job (a stale
// fence). Drives the job's reporting (sampled once per window on the Runtime clock, the newest
// windows in each snapshot, the final report delivered once before the result goes out).

import { globalStatus } from '../../cluster/jobs/ledger.js';
import type { DcOutcome, EndedStatus, LedgerCommand } from '../../cluster/jobs/ledger-types.js';
import { EXIT } from '../../errors.js';
import type { RpcConnection } from '../../protocol/index.js';
import { distributedSection } from '../../reporters/dc-groups.js';
import type { JobReporting, JobReportingEnd } from '../../reporters/job-reporting.js';
import type { NodeAddress, Runtime, TimerHandle } from '../../runtime/types.js';
import type { RunResults } from '../../stats/types.js';
import type { DcAdopted, DcWindows, DcWorkflowDone } from '../jobs/dc-wire.js';
import type { JobCancelAck, JobResult, JobSnapshot } from '../jobs/client-wire.js';
import {
  ClusterPlacement,
  DEFAULT_CANCEL_TIMEOUT_MS,
  type WindowsDelivery,
} from './cluster-placement.js';
import type { DcLink } from './dc-link.js';
import { JOB_WINDOW_MS, type JobProgram, type ProgramOutcome } from './job-program.js';
import type { ProposeOutcome } from './ledger-proposer.js';
import { background } from './background.js';
import { sleep } from './ledger-proposer.js';
import { MAX_HELD_WINDOWS, ReplayHold } from './replay-hold.js';

/** Watchers one job streams to at once; more are refused. */
export const MAX_WATCHERS_PER_JOB = 64;
/** Attempts to record one ledger step of the job's end before giving up (logged). */
const MAX_END_ATTEMPTS = 20;

export interface OwnedJobOptions {
  readonly runtime: Runtime;
  readonly job: string;
  readonly fence: number;
  readonly ownerGate: string;
  readonly ownerAddress: NodeAddress;
  readonly submittedAtMs: number;
  readonly bundle: { readonly hash: string; readonly sizeBytes: number; readonly file: string };
  readonly dcs: readonly DcLink[];
  readonly program: JobProgram;
  readonly propose: (command: LedgerCommand) => Promise<ProposeOutcome>;
  /** The ledger's state of each target DC now (to know what is still to be recorded). */
  readonly ledgerDcs: () => Readonly<Record<string, string>> | undefined;
  readonly onEnded: (result: JobResult) => void;
  /** The job's reporters (and its series), run on this gate once. */
  readonly reporting: JobReporting;
  readonly dispatchTimeoutMs?: number;
  readonly cancelTimeoutMs?: number;
  /**
   * The job moved here from a lost owner: each DC is told (`dc.adopt`) before the program
   * replays, and sends its windows and workflow ends again.
   */
  readonly resumed?: boolean;
  /** A resumed job the ledger says was being cancelled: cancelled again once its DCs follow. */
  readonly cancelReason?: string;
}

/** Attempts to tell a DC that the job moved here, one a second. */
const MAX_ADOPT_ATTEMPTS = 30;
/** How long a resumed job's replay waits for the DCs to answer the handover before it starts. */
const ADOPT_WAIT_MS = 10_000;
/** How often what DCs sent again for a resumed job is looked at for the replay. */
const HOLD_FLUSH_MS = 100;

export class OwnedJob {
  readonly placement: ClusterPlacement;
  private readonly watchers = new Set<RpcConnection>();
  private seq = 0;
  private state: 'running' | 'cancelling' | 'ending' | 'ended' | 'deposed' = 'running';
  private cancelling: Promise<JobCancelAck['dcs']> | null = null;
  /** Set once the deadline passed: why the job ends, and the DCs that did not finish. */
  private timedOut: { readonly reason: string; readonly dcs: readonly string[] } | null = null;
  /** Ends the wait for the program (after a timeout, when it does not stop in time). */
  private hardStop: ((outcome: ProgramOutcome) => void) | null = null;
  private sampling: TimerHandle | null = null;
  private readonly log;
  /** DCs that could not send again all they had sent the lost owner (resumed jobs only). */
  private readonly incomplete = new Set<string>();
  /** What DCs sent again for a resumed job, held until the replay reaches its workflows. */
  private readonly hold: ReplayHold;
  private holdTimer: TimerHandle | null = null;

  constructor(private readonly o: OwnedJobOptions) {
    this.log = o.runtime.log.child({ component: 'owned-job', job: o.job });
    this.placement = new ClusterPlacement({
      runtime: o.runtime,
      job: o.job,
      ownerGate: o.ownerGate,
      ownerAddress: o.ownerAddress,
      fence: () => o.fence,
      bundle: o.bundle,
      dcs: o.dcs,
      onDcAccepted: (dc) =>
        background(
          this.log,
          `recording ${dc}'s acceptance`,
          this.record({ type: 'dc-accepted', atMs: 0, jobId: o.job, dc, fence: o.fence }),
        ),
      onMerged: (dc, source, window) => o.reporting.window(dc, source, window),
      ...(o.dispatchTimeoutMs !== undefined ? { dispatchTimeoutMs: o.dispatchTimeoutMs } : {}),
      ...(o.cancelTimeoutMs !== undefined ? { cancelTimeoutMs: o.cancelTimeoutMs } : {}),
    });
    this.hold = new ReplayHold(this.placement, MAX_HELD_WINDOWS, o.resumed === true);
  }

  get job(): string {
    return this.o.job;
  }

  get fence(): number {
    return this.o.fence;
  }

  get ended(): boolean {
    return this.state === 'ended' || this.state === 'deposed';
  }

  /** Why the job timed out, once its deadline passed; null before. */
  get timeoutReason(): string | null {
    return this.timedOut?.reason ?? null;
  }

  private isDeposed(): boolean {
    return this.state === 'deposed';
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Runs the job to its end; the returned promise never rejects. */
  async run(): Promise<void> {
    let outcome: ProgramOutcome;
    const stopped = new Promise<ProgramOutcome>((resolve) => (this.hardStop = resolve));
    if (this.o.resumed === true) {
      // What the DCs send again goes on to the replay as soon as it reaches each workflow.
      this.holdTimer = this.o.runtime.timers.every(HOLD_FLUSH_MS, () => this.hold.flush());
      // The replay waits for the DCs' answers a while; a DC that answers later still follows
      // (its resends are held, and a dispatch under this fence moves the job there too).
      const adopted = this.adoptDcs();
      background(this.log, 'handover to the datacenters', adopted);
      await Promise.race([adopted, sleep(this.o.runtime, ADOPT_WAIT_MS)]);
      if (this.o.cancelReason !== undefined) {
        background(this.log, 'cancel of the resumed job', this.cancel(this.o.cancelReason));
      }
    }
    try {
      const running = this.o.program.run(this.placement);
      // The program made its run synchronously: its statistics can be sampled from now on.
      this.startReporting();
      outcome = await Promise.race([running, stopped]);
    } catch (error) {
      const failure = `the job's program failed: ${error instanceof Error ? error.message : String(error)}`;
      this.log.log('error', failure);
      outcome = { results: null, exitCode: 4, failure, workflows: [] };
    }
    this.hardStop = null;
    this.holdTimer?.cancel();
    this.holdTimer = null;
    this.hold.clear();
    await this.end(outcome);
  }

  // ─── handover ─────────────────────────────────────────────────────────────────────────────

  /**
   * Tells every target DC the job is owned here now (retried, one a second): each records the
   * new owner and sends its windows and ends again. A DC that cannot send them all (its leader
   * changed during the job, or a retention bound passed) is remembered, and the job's end says
   * so. Returns once every DC answered or gave up.
   */
  private async adoptDcs(): Promise<void> {
    const o = this.o;
    await Promise.all(
      o.dcs.map(async (link) => {
        for (let attempt = 1; attempt <= MAX_ADOPT_ATTEMPTS && !this.ended; attempt++) {
          const reply = await link.toLeader({
            t: 'dc.adopt',
            job: o.job,
            fence: o.fence,
            ownerGate: o.ownerGate,
            ownerAddress: o.ownerAddress,
            bundleHash: o.bundle.hash,
          });
          if (reply.ok) {
            const a = reply.message as DcAdopted;
            if (a.complete !== true) this.incomplete.add(link.dc);
            this.hold.expect(link.dc, Object.keys(a.workflows));
            // A DC that ran some of the job is one to cancel if the job is cancelled.
            if (Object.keys(a.workflows).length > 0) this.placement.noteAccepted(link.dc);
            this.log.log('info', 'datacenter follows the job to this gate', {
              dc: link.dc,
              windows: a.requeued,
              complete: a.complete,
            });
            return;
          }
          if (reply.error.code === 'E_STALE_FENCE') {
            this.log.log('warn', 'datacenter knows a newer owner of the job', { dc: link.dc });
            this.hold.expect(link.dc, []);
            return;
          }
          this.log.log('debug', 'datacenter did not take the handover yet', {
            dc: link.dc,
            attempt,
            error: reply.error.message,
          });
          await sleep(o.runtime, 1_000);
        }
        this.hold.expect(link.dc, []);
        if (!this.ended) {
          this.incomplete.add(link.dc);
          this.log.log('warn', 'datacenter never took the handover', { dc: link.dc });
        }
      }),
    );
  }

  /** Tells each DC the job ended, so it lets go of what it kept for a new owner (best effort). */
  private releaseDcs(): void {
    for (const link of this.o.dcs) {
      background(
        this.log,
        `release on ${link.dc}`,
        link.toLeader({ t: 'dc.release', job: this.o.job, fence: this.o.fence }).then((r) => {
          if (!r.ok) {
            this.log.log('debug', 'datacenter did not take the release', {
              dc: link.dc,
              error: r.error.message,
            });
          }
        }),
      );
    }
  }

  /**
   * Another gate owns the job now (the ledger moved it): this one stops acting for it at once —
   * no ledger step, no cancel, its watchers and reporters closed — and leaves the DCs running.
   */
  depose(reason: string): void {
    if (this.state === 'ended' || this.state === 'deposed') return;
    this.log.log('warn', 'another gate owns the job now; this gate stops acting for it', {
      reason,
    });
    this.state = 'deposed';
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    background(this.log, 'stopping the reporters', this.stopReporting(reason));
    this.hardStop?.({ results: null, exitCode: EXIT.runFailed, failure: reason, workflows: [] });
  }

  // ─── deadline ─────────────────────────────────────────────────────────────────────────────

  /**
   * The job's deadline passed (`after` says how long it ran, e.g. "5m"): the DCs still running
   * its workflows (every target DC when none is, e.g. during a hook) end `timed-out` and are told
   * to cancel, the program stops, and the job ends `failed` with a reason naming them. What the
   * finished DCs reported stays merged. Returns the reason, or null (nothing done) when the job
   * is already ending, ended or timed out: whichever of completion and timeout comes first wins.
   */
  timeOut(after: string): string | null {
    if ((this.state !== 'running' && this.state !== 'cancelling') || this.timedOut !== null) {
      return null;
    }
    const running = this.placement.unfinishedDcs();
    const dcs = running.length > 0 ? running : this.o.dcs.map((l) => l.dc);
    const reason = `timed out after ${after}: ${dcs.join(', ')} did not finish`;
    this.timedOut = { reason, dcs };
    this.log.log('warn', 'job deadline passed; ending it as timed out', { reason });
    this.placement.timeOut(dcs, `did not finish before the job's deadline (${after})`, reason);
    this.o.program.stop(reason);
    // The program normally returns at once (its running parts just ended); if a hook or a
    // workflow keeps it, the job still ends after the cancel timeout, with what was merged.
    this.o.runtime.timers.after(this.o.cancelTimeoutMs ?? DEFAULT_CANCEL_TIMEOUT_MS, () =>
      this.hardStop?.({
        results: null,
        exitCode: EXIT.runFailed,
        failure: `${reason} (the run did not stop in time; its results were not built)`,
        workflows: this.placement.reports,
        breakdown: this.placement.breakdown(),
      }),
    );
    return reason;
  }

  // ─── reporting ────────────────────────────────────────────────────────────────────────────

  private startReporting(): void {
    const source = this.o.program.reportSource();
    if (source === null || this.sampling !== null) return;
    const clock = this.o.runtime.clock;
    this.o.reporting.start(source.startedAtMs, source);
    this.sampling = this.o.runtime.timers.every(JOB_WINDOW_MS, () =>
      this.o.reporting.sample(clock.wallMs()),
    );
  }

  /** Stops the job's reporters at once (this gate no longer owns the job, or is stopping). */
  stopReporting(reason: string): Promise<unknown> {
    this.sampling?.cancel();
    this.sampling = null;
    return this.o.reporting.abort(reason);
  }

  /** Delivers the final report (the results get the series, `distributed` and notes). */
  private finishReporting(
    outcome: ProgramOutcome,
    dcs: Record<string, DcOutcome>,
  ): Promise<JobReportingEnd> {
    this.sampling?.cancel();
    this.sampling = null;
    const results = resultsDocument(outcome.results);
    if (results === null) {
      return this.o.reporting
        .abort('the job ended without results')
        .then((outcomes) => ({ outcomes, summary: undefined }));
    }
    results.distributed = distributedSection(this.o.job, dcs, outcome.breakdown ?? {});
    return this.o.reporting.finish(results, this.o.runtime.clock.wallMs());
  }

  // ─── ledger ───────────────────────────────────────────────────────────────────────────────

  /** Proposes one step of the job; retries until the ledger answers, gives up when deposed. */
  private async record(c: LedgerCommand): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_END_ATTEMPTS; attempt++) {
      if (this.state === 'deposed') return false;
      const out = await this.o.propose({
        ...c,
        atMs: this.o.runtime.clock.wallMs(),
      });
      if (!out.ok) {
        this.log.log('warn', 'ledger step not taken; retrying', {
          type: c.type,
          error: out.message,
        });
        continue;
      }
      const r = out.result;
      if (r.ok) return true;
      if (r.code === 'E_STALE_FENCE' || r.code === 'E_FENCE_AHEAD') {
        this.log.log('warn', 'another gate owns the job now; this gate stops acting for it', {
          error: r.message,
        });
        this.state = 'deposed';
        for (const w of this.watchers) w.close();
        this.watchers.clear();
        background(
          this.log,
          'stopping the reporters',
          this.stopReporting('another gate owns the job'),
        );
        return false;
      }
      this.log.log('warn', 'ledger refused a step of the job', {
        type: c.type,
        code: r.code,
        error: r.message,
      });
      return false;
    }
    this.log.log('error', 'ledger step abandoned after retries', { type: c.type });
    return false;
  }

  // ─── ending ───────────────────────────────────────────────────────────────────────────────

  /** Each DC's outcome from the workflows' parts (status rules of docs/cluster-jobs.md). */
  dcOutcomes(outcome: ProgramOutcome): Record<string, DcOutcome> {
    const out: Record<string, DcOutcome> = {};
    const cancelled = this.state === 'cancelling' || this.cancelling !== null;
    for (const link of this.o.dcs) {
      const parts = outcome.workflows.flatMap((w) => w.parts.filter((p) => p.dc === link.dc));
      if (parts.some((p) => p.outcome === 'failed')) out[link.dc] = 'failed';
      else if (parts.some((p) => p.outcome === 'timed-out')) out[link.dc] = 'timed-out';
      else if (parts.some((p) => p.outcome === 'cancelled') || cancelled)
        out[link.dc] = 'cancelled';
      else if (outcome.failure !== undefined && parts.length === 0) out[link.dc] = 'failed';
      else out[link.dc] = 'completed';
      // A DC that did not finish by the deadline timed out (unless it had failed already).
      if (this.timedOut?.dcs.includes(link.dc) === true && out[link.dc] !== 'failed') {
        out[link.dc] = 'timed-out';
      }
    }
    return out;
  }

  private async end(outcome: ProgramOutcome): Promise<void> {
    if (this.state === 'ended' || this.state === 'deposed' || this.state === 'ending') return;
    this.state = 'ending';
    const outcomes = this.dcOutcomes(outcome);
    // A DC whose statistics were lost in a handover did not complete as far as the job knows.
    for (const dc of this.incomplete) if (outcomes[dc] === 'completed') outcomes[dc] = 'failed';
    const o = this.o;
    // The reporters get the final report while the ledger records the end; never rejects.
    const reporting = this.finishReporting(outcome, outcomes).catch(
      (error: unknown): JobReportingEnd => {
        this.log.log('error', 'reporting failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        return { outcomes: [], summary: undefined };
      },
    );
    for (const [dc, result] of Object.entries(outcomes)) {
      const now = o.ledgerDcs()?.[dc];
      if (now === result) continue;
      // A DC may not complete without having accepted (e.g. it got no share of any workflow).
      if (result === 'completed' && now === 'pending') {
        if (
          !(await this.record({ type: 'dc-accepted', atMs: 0, jobId: o.job, dc, fence: o.fence }))
        )
          break;
      }
      if (
        !(await this.record({
          type: 'dc-finished',
          atMs: 0,
          jobId: o.job,
          dc,
          outcome: result,
          fence: o.fence,
        }))
      ) {
        break;
      }
    }
    if (this.isDeposed()) return;
    const timedOut = this.timedOut;
    await this.record({
      type: 'complete',
      atMs: 0,
      jobId: o.job,
      fence: o.fence,
      ...(timedOut !== null ? { reason: timedOut.reason } : {}),
    });
    if (this.isDeposed()) return;
    const reported = await reporting;
    if (reported.summary !== undefined) this.log.log('info', reported.summary);
    if (this.isDeposed()) return;
    const status: EndedStatus = globalStatus(Object.values(outcomes));
    const timeoutFailure =
      timedOut === null
        ? outcome.failure
        : outcome.failure === undefined || outcome.failure.startsWith(timedOut.reason)
          ? timedOut.reason
          : `${timedOut.reason}; ${outcome.failure}`;
    const partial = this.incompleteNote();
    const failure =
      partial === null
        ? timeoutFailure
        : timeoutFailure === undefined
          ? partial
          : `${timeoutFailure}; ${partial}`;
    const result: JobResult = {
      t: 'job.result',
      job: o.job,
      status,
      exitCode:
        timedOut !== null || partial !== null
          ? EXIT.runFailed
          : status === 'completed'
            ? outcome.exitCode
            : Math.max(outcome.exitCode, status === 'failed' ? 4 : 0),
      dcs: outcomes,
      results: outcome.results ?? null,
      ...(outcome.breakdown !== undefined ? { breakdown: outcome.breakdown } : {}),
      ...(failure !== undefined ? { failure: failure.slice(0, 4096) } : {}),
      ...(reported.outcomes.length > 0
        ? {
            reporters: reported.outcomes.map((r) =>
              r.error === undefined ? r : { ...r, error: r.error.slice(0, 4096) },
            ),
          }
        : {}),
      endedAtMs: o.runtime.clock.wallMs(),
    };
    this.state = 'ended';
    this.placement.release();
    this.releaseDcs();
    for (const w of this.watchers) w.notify(result);
    this.watchers.clear();
    o.onEnded(result);
  }

  /** What the job's statistics miss after a handover (null: nothing). */
  private incompleteNote(): string | null {
    if (this.incomplete.size === 0) return null;
    return `the statistics of ${[...this.incomplete].join(', ')} before this gate took the job over are incomplete (the datacenter could not send them all again)`;
  }

  // ─── DC messages ──────────────────────────────────────────────────────────────────────────

  /**
   * A DC's windows. In a job resumed here, those of workflows the DC ran for the old owner that
   * the replay has not reached yet are held until it does; 'not-ready' when there is no room to
   * hold them (the DC sends them again).
   */
  windows(batch: DcWindows): WindowsDelivery | 'not-ready' {
    const none = { merged: 0, duplicates: 0, rejected: 0 };
    if (this.ended) return { ...none, rejected: batch.windows.length };
    const out = this.hold.windows(batch, (b) => this.placement.deliverWindows(b));
    if (out === 'full') return 'not-ready';
    return out === null ? none : (out as WindowsDelivery);
  }

  workflowDone(done: DcWorkflowDone): boolean {
    if (this.ended) return false;
    return this.hold.holdDone(done) || this.placement.deliverDone(done);
  }

  // ─── cancel ───────────────────────────────────────────────────────────────────────────────

  /** Records the cancel in the ledger, stops the program, cancels on every DC; per-DC answers. */
  cancel(reason: string): Promise<JobCancelAck['dcs']> {
    if (this.cancelling !== null) return this.cancelling;
    if (this.state !== 'running') return Promise.resolve({});
    this.state = 'cancelling';
    this.cancelling = (async () => {
      await this.record({ type: 'cancel-requested', atMs: 0, jobId: this.o.job, reason });
      // The placement marks every running workflow cancelled before the run is stopped, so the
      // run's own per-workflow cancels add no second message to the DCs.
      const acks = this.placement.cancelAll(reason);
      this.o.program.stop(reason);
      return Object.fromEntries(await acks);
    })();
    return this.cancelling;
  }

  // ─── watchers ─────────────────────────────────────────────────────────────────────────────

  /** The job now; `history`: with every kept window (a new watcher's first snapshot). */
  snapshot(status: JobSnapshot['status'], dcs: JobSnapshot['dcs'], history = false): JobSnapshot {
    const windows = history ? this.o.reporting.history() : this.o.reporting.liveWindows();
    return {
      t: 'job.snapshot',
      job: this.o.job,
      status,
      seq: ++this.seq,
      elapsedMs: Math.max(0, this.o.runtime.clock.wallMs() - this.o.submittedAtMs),
      dcs,
      stats: this.o.program.liveStats() ?? null,
      breakdown: this.placement.breakdown(),
      ...(windows.length > 0 ? { windows } : {}),
    };
  }

  /** Adds a watcher; false when the job has as many as it may. */
  watch(conn: RpcConnection): boolean {
    if (this.watchers.has(conn)) return true;
    if (this.watchers.size >= MAX_WATCHERS_PER_JOB || this.ended) return false;
    this.watchers.add(conn);
    conn.onClose(() => this.watchers.delete(conn));
    return true;
  }

  /** Pushes a snapshot to every watcher (the node's tick calls it at least once a second). */
  pushSnapshot(status: JobSnapshot['status'], dcs: JobSnapshot['dcs']): void {
    if (this.watchers.size === 0 || this.ended) return;
    const s = this.snapshot(status, dcs);
    for (const w of this.watchers) {
      if (w.notify(s)) continue;
      this.log.log('warn', 'a watcher did not take a snapshot; dropping it', { open: w.isOpen });
      this.watchers.delete(w);
    }
  }
}

/** The results document of an outcome, when it is one (a program may end without). */
function resultsDocument(results: unknown): RunResults | null {
  if (typeof results !== 'object' || results === null) return null;
  const r = results as Partial<RunResults>;
  return typeof r.run === 'object' && r.run !== null && Array.isArray(r.workflows)
    ? (results as RunResults)
    : null;
}
