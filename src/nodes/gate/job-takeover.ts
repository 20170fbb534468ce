// Owns how a job outlives its owner gate. A supervised check moves to this gate, with a higher
// fence committed in the ledger, (a) on the ledger leader, every live job whose owner has not
// answered it for `ownerLossMs`, and (b) every live job the ledger says this gate owns but it
// does not run (it restarted). A job moved here by this gate's own claim is then run from its
// replicated submission as a resumed job (its DCs send everything again); one that cannot be
// resumed ends, failed, with the reason. A job moved away from this gate is deposed at once. A
// job past its deadline is left to OverdueJobs, which ends it instead.

import type { JobView, LedgerEvent } from '../../cluster/jobs/ledger-types.js';
import { background } from './background.js';
import type { GateState } from './gate-context.js';
import type { OverdueJobs } from './overdue-jobs.js';
import { pendingFromResume } from './resume-payload.js';
import { startOwnedJob } from './submissions.js';

/** Claims remembered (job → the fence this gate proposed for it); the oldest go first. */
const MAX_CLAIMS = 10_000;

export interface JobTakeoverOptions {
  readonly state: GateState;
  readonly overdue: OverdueJobs;
  /** True while this gate leads the ledger. */
  readonly isLeader: () => boolean;
  /** On the leader: ms since `gate` last answered it (null when not known or not leading). */
  readonly quietMs: (gate: string) => number | null;
  /** How long an owner may be silent to the leader before its jobs move. */
  readonly ownerLossMs: number;
}

export class JobTakeover {
  /** Jobs this gate claimed, with the fence it proposed (the resumed job runs at that fence). */
  private readonly claims = new Map<string, number>();
  /** Claims being proposed now (one at a time per job). */
  private readonly claiming = new Set<string>();
  readonly counters = { claimed: 0, resumed: 0, unrunnable: 0, deposed: 0 };
  private readonly log;

  constructor(private readonly o: JobTakeoverOptions) {
    this.log = o.state.runtime.log.child({ component: 'job-takeover' });
  }

  /** Follows the ledger: a job moved here by this gate's claim starts; one moved away stops. */
  onEvents(events: readonly LedgerEvent[]): void {
    const s = this.o.state;
    for (const e of events) {
      if (e.type !== 'owner-changed') continue;
      const owned = s.owned.get(e.jobId);
      if (e.ownerGate !== s.selfId) {
        if (owned !== undefined && owned.fence < e.fence) {
          this.counters.deposed++;
          owned.depose(`gate ${e.ownerGate} owns the job now (fence ${e.fence})`);
        }
        continue;
      }
      if (this.claims.get(e.jobId) === e.fence) this.resume(e.jobId);
    }
  }

  /** One check (the gate's supervisor runs it periodically). */
  check(): void {
    const s = this.o.state;
    if (!s.caughtUp()) return;
    const leader = this.o.isLeader();
    const now = s.runtime.clock.wallMs();
    for (const v of s.machine.ledger.views()) {
      if (v.endedAtMs !== null || this.claiming.has(v.jobId)) continue;
      // Past its deadline a job is not moved but ended (OverdueJobs), wherever it is owned.
      if (v.deadlineMs !== null && now >= v.deadlineMs) continue;
      if (v.ownerGate === s.selfId) {
        if (s.owned.has(v.jobId) || s.pending.has(v.jobId)) continue;
        // Moved here by this gate's claim but not started (its event came while catching up).
        if (this.claims.get(v.jobId) === v.fence) this.resume(v.jobId);
        else this.claim(v, 'this gate owns the job but does not run it (it restarted)');
        continue;
      }
      if (!leader) continue;
      if (!s.gates.has(v.ownerGate)) {
        this.claim(v, `its owner ${v.ownerGate} is not a gate of this cluster`);
        continue;
      }
      const quiet = this.o.quietMs(v.ownerGate);
      if (quiet !== null && quiet >= this.o.ownerLossMs) {
        this.claim(v, `its owner ${v.ownerGate} has not answered for ${Math.round(quiet)} ms`);
      }
    }
  }

  /**
   * A stopping peer asks this gate to take `jobId` over: claimed now (not after `ownerLossMs`).
   * False when this gate cannot: not caught up, the job unknown, ended, or owned here already.
   */
  takeOverFrom(peer: string, jobId: string): boolean {
    const s = this.o.state;
    if (!s.caughtUp()) return false;
    const v = s.machine.ledger.job(jobId);
    if (v === undefined || v.endedAtMs !== null || v.ownerGate !== peer) return false;
    if (!this.claiming.has(jobId)) this.claim(v, `its owner ${peer} is stopping`);
    return true;
  }

  /** Proposes the job's move here with the next fence. */
  private claim(v: JobView, why: string): void {
    const s = this.o.state;
    const fence = v.fence + 1;
    this.claiming.add(v.jobId);
    this.claims.delete(v.jobId);
    this.claims.set(v.jobId, fence);
    if (this.claims.size > MAX_CLAIMS) {
      const oldest = this.claims.keys().next();
      if (!oldest.done) this.claims.delete(oldest.value);
    }
    this.counters.claimed++;
    this.log.log('warn', 'taking a job over', { job: v.jobId, from: v.ownerGate, fence, why });
    background(
      s.runtime.log,
      `taking over ${v.jobId}`,
      s.proposer
        .propose({
          type: 'transfer-owner',
          atMs: s.runtime.clock.wallMs(),
          jobId: v.jobId,
          ownerGate: s.selfId,
          fence,
        })
        .then((out) => {
          if (!out.ok || !out.result.ok) {
            this.log.log('info', 'job not taken over', {
              job: v.jobId,
              error: out.ok ? JSON.stringify(out.result) : out.message,
            });
          }
        })
        .finally(() => this.claiming.delete(v.jobId)),
    );
  }

  /** Runs a job moved here from its replicated submission, or ends it when it cannot run. */
  private resume(jobId: string): void {
    const s = this.o.state;
    const v = s.machine.ledger.job(jobId);
    if (v === undefined || v.endedAtMs !== null || v.ownerGate !== s.selfId) return;
    if (s.owned.has(jobId)) return;
    const p = pendingFromResume(s, jobId, s.machine.ledger.resumeOf(jobId));
    if (typeof p === 'string') {
      this.counters.unrunnable++;
      this.o.overdue.endUnrunnable(v, `its owner gate was lost and ${p}`);
      return;
    }
    this.counters.resumed++;
    this.log.log('warn', 'resuming a job moved to this gate', { job: jobId, fence: v.fence });
    startOwnedJob(s, v, p, v.submittedAtMs);
  }
}
