// Owns what a gate does about job deadlines: it tracks every live job's deadline from the
// ledger it applies (so a restarted gate, a new leader or a later owner knows them too), and a
// supervised check ends the overdue jobs this gate owns: a running one through its OwnedJob
// (unfinished DCs time out and are cancelled), one it owns without running it (its program was
// lost with a restart) by the ledger alone. On the ledger leader, a job overdue for longer than
// the grace whose owner has not ended it is handed to `onOverdueNotOwned`.

import { formatMs } from '../../api/duration.js';
import { EXIT } from '../../errors.js';
import { JobTimeouts } from '../../cluster/jobs/job-timeouts.js';
import type { JobView, LedgerCommand, LedgerEvent } from '../../cluster/jobs/ledger-types.js';
import type { JobResult } from '../jobs/client-wire.js';
import { background } from './background.js';
import type { GateState } from './gate-context.js';
import { keepResult } from './kept-results.js';
import { ledgerConfig } from './submissions.js';

export interface OverdueJobsOptions {
  readonly state: GateState;
  /** True while this gate leads the ledger's Raft group. */
  readonly isLeader: () => boolean;
  /** How long past its deadline a job not ended by its owner waits before the hook hears of it. */
  readonly graceMs: number;
  /** An overdue job whose owner did not end it within the grace (called once per job). */
  readonly onOverdueNotOwned?: (job: JobView, overdueMs: number) => void;
}

export class OverdueJobs {
  readonly tracker: JobTimeouts;
  /** Jobs this gate is ending by the ledger alone (no second end while one runs). */
  private readonly ending = new Set<string>();
  /** Jobs `onOverdueNotOwned` was told of (once each). */
  private readonly reported = new Set<string>();
  private readonly log;

  constructor(private readonly o: OverdueJobsOptions) {
    this.tracker = new JobTimeouts({ maxJobs: ledgerConfig(o.state).maxActiveJobs });
    this.log = o.state.runtime.log.child({ component: 'overdue-jobs' });
  }

  /** Follows the ledger: a submitted job's deadline is tracked until the job ends or goes. */
  onEvents(events: readonly LedgerEvent[]): void {
    for (const e of events) {
      if (e.type === 'job-submitted') {
        const deadline = this.o.state.machine.ledger.job(e.jobId)?.deadlineMs ?? null;
        if (deadline !== null && !this.tracker.add(e.jobId, deadline)) {
          this.log.log('error', 'deadline not tracked: the tracker is full', { job: e.jobId });
        }
      } else if (e.type === 'job-ended' || e.type === 'job-evicted') {
        this.forget(e.jobId);
      }
    }
  }

  /** The ledger was replaced by a snapshot: the deadlines are read again from it. */
  rebuild(): void {
    this.tracker.clear();
    this.ending.clear();
    this.reported.clear();
    for (const v of this.o.state.machine.ledger.views()) {
      if (v.endedAtMs === null && v.deadlineMs !== null) this.tracker.add(v.jobId, v.deadlineMs);
    }
  }

  private forget(job: string): void {
    this.tracker.remove(job);
    this.ending.delete(job);
    this.reported.delete(job);
  }

  /** One check (the gate's supervisor runs it periodically). */
  check(): void {
    const s = this.o.state;
    const now = s.runtime.clock.wallMs();
    for (const due of this.tracker.due(now)) {
      const v = s.machine.ledger.job(due.jobId);
      if (v === undefined || v.endedAtMs !== null) {
        this.forget(due.jobId);
        continue;
      }
      const after = formatMs(due.deadlineMs - v.submittedAtMs);
      if (v.ownerGate === s.selfId) {
        const owned = s.owned.get(v.jobId);
        if (owned !== undefined && !owned.ended) {
          owned.timeOut(after);
        } else if (owned === undefined && !this.ending.has(v.jobId)) {
          this.ending.add(v.jobId);
          const unfinished = v.targetDcs.filter(
            (dc) => v.dcs[dc] === 'pending' || v.dcs[dc] === 'accepted',
          );
          const reason = `timed out after ${after}: ${unfinished.join(', ') || 'no datacenter'} did not finish`;
          this.log.log('warn', 'job deadline passed on a job this gate does not run; ending it', {
            job: v.jobId,
            reason,
          });
          background(
            s.runtime.log,
            `timing out ${v.jobId}`,
            this.endByLedger(v, reason, 'timed-out').finally(() => this.ending.delete(v.jobId)),
          );
        }
        continue;
      }
      const overdueMs = now - due.deadlineMs;
      const ownerKnown = s.gates.has(v.ownerGate);
      if (!this.o.isLeader() || this.reported.has(v.jobId)) continue;
      if (ownerKnown && overdueMs < this.o.graceMs) continue;
      this.reported.add(v.jobId);
      this.log.log('warn', 'job overdue and its owner has not ended it', {
        job: v.jobId,
        owner: v.ownerGate,
        overdueMs,
      });
      this.o.onOverdueNotOwned?.(v, overdueMs);
    }
  }

  /**
   * Ends a job this gate owns but cannot run (a job moved here that cannot be resumed): its
   * unfinished DCs are cancelled and fail, then `complete` with the reason. Once per job.
   */
  endUnrunnable(v: JobView, reason: string): void {
    if (this.ending.has(v.jobId)) return;
    this.ending.add(v.jobId);
    this.log.log('warn', 'ending a job this gate owns but cannot run', { job: v.jobId, reason });
    background(
      this.o.state.runtime.log,
      `ending ${v.jobId}`,
      this.endByLedger(v, reason, 'failed').finally(() => this.ending.delete(v.jobId)),
    );
  }

  /**
   * Ends a job this gate owns but does not run (overdue, or not resumable): each unfinished DC
   * is told to cancel and finishes with `outcome`, then `complete` with the reason. A step the
   * ledger refuses because the job moved on (ended, another owner) stops it; the ledger keeps
   * the end single.
   */
  private async endByLedger(
    v: JobView,
    reason: string,
    outcome: 'timed-out' | 'failed',
  ): Promise<void> {
    const s = this.o.state;
    const unfinished = v.targetDcs.filter(
      (dc) => v.dcs[dc] === 'pending' || v.dcs[dc] === 'accepted',
    );
    const timeoutMs = s.cfg.cancelTimeoutMs;
    for (const dc of unfinished) {
      const link = s.dcLinks.get(dc);
      if (link === undefined) continue;
      background(
        s.runtime.log,
        `cancel of ${v.jobId} on ${dc}`,
        link
          .toLeader(
            { t: 'dc.cancel', job: v.jobId, fence: v.fence, reason, timeoutMs },
            timeoutMs + 2_000,
          )
          .then((reply) => {
            if (!reply.ok) {
              this.log.log('warn', 'datacenter did not take the cancel of a job ended here', {
                job: v.jobId,
                dc,
                error: reply.error.message,
              });
            }
          }),
      );
    }
    for (const dc of unfinished) {
      const base = { atMs: 0, jobId: v.jobId, fence: v.fence };
      if (!(await this.step({ ...base, type: 'dc-finished', dc, outcome }))) return;
    }
    if (!(await this.step({ type: 'complete', atMs: 0, jobId: v.jobId, fence: v.fence, reason }))) {
      return;
    }
    const ended = s.machine.ledger.job(v.jobId);
    if (ended === undefined || ended.endedAtMs === null) return;
    const dcs: JobResult['dcs'] = {};
    for (const [dc, st] of Object.entries(ended.dcs)) {
      if (st !== 'pending' && st !== 'accepted') dcs[dc] = st;
    }
    const status: JobResult['status'] =
      ended.status === 'completed' || ended.status === 'cancelled' ? ended.status : 'failed';
    keepResult(s, v.jobId, {
      t: 'job.result',
      job: v.jobId,
      status,
      exitCode: status === 'completed' ? EXIT.ok : status === 'cancelled' ? 130 : EXIT.runFailed,
      dcs,
      results: null,
      failure: ended.endReason ?? reason,
      endedAtMs: ended.endedAtMs,
    });
  }

  /** Proposes one step; true when it was applied (or repeated), or the DC had ended already. */
  private async step(c: LedgerCommand): Promise<boolean> {
    const s = this.o.state;
    const out = await s.proposer.propose({ ...c, atMs: s.runtime.clock.wallMs() });
    if (!out.ok) {
      this.log.log('warn', 'ledger step of an overdue job not taken; retried later', {
        type: c.type,
        error: out.message,
      });
      return false;
    }
    const r = out.result;
    if (r.ok || r.code === 'E_ILLEGAL_TRANSITION') return true;
    this.log.log('info', 'ledger refused a step of an overdue job; leaving it', {
      type: c.type,
      code: r.code,
      error: r.message,
    });
    return false;
  }
}
