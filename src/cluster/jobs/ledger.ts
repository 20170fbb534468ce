// Owns the gate job ledger: the replicated state machine every gate applies, in log order, to
// the commands Raft committed (submit, DC accepted, cancel requested, DC finished, complete,
// ownership transfer, sweep). Deterministic: same commands in, same state, answers and events
// out, on every replica. It never reads a clock (each command carries its `atMs`), never does
// I/O and never throws on a bad command: it answers with a typed rejection.
//
// Contract:
// - A job has one owner gate and a fence token. Commands the owner issues (dc-accepted,
//   dc-finished, complete) must carry the job's current fence; an older one is E_STALE_FENCE.
//   Ownership moves only by `transfer-owner` with a strictly higher fence.
// - Idempotency: keys are scoped to the submitting client. The same key with the same payload
//   digest gets the same job id and the original answer, whether the first job is still
//   running or has ended (while it is retained); the same key with another digest is
//   E_IDEMPOTENCY_CONFLICT. A key lives exactly as long as its job record: once the job is
//   evicted, the key is free and a new submission with it makes a new job.
// - Legal transitions: a target DC goes pending → accepted → {completed, failed, cancelled,
//   timed-out}, or pending → {failed, cancelled, timed-out} (it never completes without having
//   accepted). The job goes submitted → running (first acceptance) → cancelling (cancel
//   requested, also from submitted) → ended, and ends only by `complete`, once every target DC
//   has finished. Repeating a command already applied (same DC outcome, second acceptance,
//   second cancel, second complete) is a duplicate: nothing changes and no event comes out, so
//   a job ends exactly once.
// - Global status when a job ends: any DC failed or timed out ⇒ failed (a timed-out DC counts
//   as failed: its share of the load did not run to the end and its result is not known);
//   else any DC cancelled ⇒ cancelled; else (all completed) ⇒ completed.
// - Deadlines: a submit carries `deadlineMs` (after its `atMs`, at most `maxJobTimeoutMs` after
//   it); the ledger only keeps it (every gate reads it from here, so it survives restarts and
//   leader changes). The owner ends an overdue job like any other: its unfinished DCs finish
//   `timed-out`, then `complete` with a reason, kept as `endReason`.
// - Bounds: at most `maxActiveJobs` jobs not ended; ended jobs are kept for a retention period
//   (completed and unsuccessful jobs each their own) and at most `maxEndedJobs` of them, the
//   oldest evicted first. Eviction runs before every valid command, at that command's `atMs`.

import { checkConfigIntegers, jobsInvariant, reject } from './errors.js';
import {
  validateLedgerCommand,
  validateLedgerSnapshot,
  type JobSnapshot,
  type LedgerSnapshot,
} from './ledger-codec.js';
import {
  DEFAULT_LEDGER_CONFIG,
  type DcOutcome,
  type DcState,
  type EndedStatus,
  type JobFields,
  type JobStatus,
  type JobView,
  type LedgerCommand,
  type LedgerConfig,
  type LedgerErrorCode,
  type LedgerEvent,
  type LedgerRejection,
  type LedgerResult,
  type SubmitAnswer,
} from './ledger-types.js';
import type { Rejection } from './errors.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface JobRecord extends Mutable<JobFields> {
  /** Target DCs in submission order (Map keeps it). */
  readonly dcs: Map<string, DcState>;
  readonly answer: SubmitAnswer;
  /** The submit's `resume` payload, kept until the job ends. */
  resume: unknown;
}

/** The global status of a job whose every target DC has finished (see the header). */
export function globalStatus(outcomes: Iterable<DcOutcome>): EndedStatus {
  let cancelled = false;
  let any = false;
  for (const o of outcomes) {
    any = true;
    if (o === 'failed' || o === 'timed-out') return 'failed';
    if (o === 'cancelled') cancelled = true;
  }
  jobsInvariant(any, 'a job ends with at least one target datacenter');
  return cancelled ? 'cancelled' : 'completed';
}

function isEnded(status: JobStatus): status is EndedStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

function isOutcome(state: DcState): state is DcOutcome {
  return state !== 'pending' && state !== 'accepted';
}

function keyOf(client: string, key: string): string {
  return JSON.stringify([client, key]);
}

export class JobLedger {
  private readonly cfg: LedgerConfig;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly keys = new Map<string, string>();
  /** Ended jobs by retention class, in eviction order, each with when it ended. */
  private readonly endedCompleted = new Map<string, number>();
  private readonly endedUnsuccessful = new Map<string, number>();
  private events: LedgerEvent[] = [];

  constructor(config: Partial<LedgerConfig> = {}) {
    this.cfg = checkConfigIntegers('job ledger config', { ...DEFAULT_LEDGER_CONFIG, ...config }, [
      ['maxActiveJobs', 1],
      ['maxEndedJobs', 1],
      ['completedRetentionMs', 0],
      ['unsuccessfulRetentionMs', 0],
      ['maxTargetDcs', 1],
      ['maxIdChars', 1],
      ['maxReasonChars', 1],
      ['maxJobTimeoutMs', 1],
      ['maxResumeChars', 0],
    ]);
  }

  // ──────────────────────────────────────────────── queries

  get size(): number {
    return this.jobs.size;
  }

  get activeJobs(): number {
    return this.jobs.size - this.endedCompleted.size - this.endedUnsuccessful.size;
  }

  get endedJobs(): number {
    return this.endedCompleted.size + this.endedUnsuccessful.size;
  }

  /** Idempotency keys held (one per retained job that was submitted with one). */
  get keyCount(): number {
    return this.keys.size;
  }

  job(jobId: string): JobView | undefined {
    const j = this.jobs.get(jobId);
    return j ? view(j) : undefined;
  }

  /** Every retained job, in submission order. */
  *views(): Generator<JobView> {
    for (const j of this.jobs.values()) yield view(j);
  }

  /**
   * The `resume` payload a live job was submitted with (what a new owner runs it from); null
   * when the job ended, is unknown, or was submitted without one.
   */
  resumeOf(jobId: string): unknown {
    return this.jobs.get(jobId)?.resume ?? null;
  }

  /** The answer the job's submission got (what a duplicate submission is answered with). */
  answerFor(jobId: string): SubmitAnswer | undefined {
    return this.jobs.get(jobId)?.answer;
  }

  /** The job a client's idempotency key points to, if it is still retained. */
  jobForKey(client: string, key: string): string | undefined {
    return this.keys.get(keyOf(client, key));
  }

  // ──────────────────────────────────────────────── commands

  /** Applies one committed command (untrusted: it is validated first). */
  apply(command: unknown): LedgerResult {
    const valid = validateLedgerCommand(command, this.cfg);
    if (!('type' in valid)) return { ...valid, events: [] };
    this.events = [];
    this.evict(valid.atMs);
    const result = this.dispatch(valid);
    const events = this.events;
    this.events = [];
    this.checkInvariants();
    if (result.ok) return { ...result, events: [...events, ...result.events] };
    return { ...result, events };
  }

  private dispatch(c: LedgerCommand): LedgerResult {
    switch (c.type) {
      case 'submit':
        return this.submit(c);
      case 'sweep':
        return applied(false, []);
      default:
        break;
    }
    const job = this.jobs.get(c.jobId);
    if (!job) return refuse('E_JOB_UNKNOWN', `no job '${c.jobId}' (never submitted, or evicted)`);
    switch (c.type) {
      case 'dc-accepted':
        return this.dcAccepted(job, c.dc, c.fence);
      case 'cancel-requested':
        return this.cancelRequested(job, c.reason);
      case 'dc-finished':
        return this.dcFinished(job, c.dc, c.outcome, c.fence);
      case 'complete':
        return this.complete(job, c.fence, c.atMs, c.reason);
      case 'transfer-owner':
        return this.transfer(job, c.ownerGate, c.fence);
    }
  }

  private submit(c: Extract<LedgerCommand, { type: 'submit' }>): LedgerResult {
    const keyed = c.idempotencyKey === null ? null : keyOf(c.client, c.idempotencyKey);
    const byKey = keyed === null ? undefined : this.keys.get(keyed);
    if (byKey !== undefined) {
      const original = this.jobs.get(byKey);
      jobsInvariant(original !== undefined, `idempotency key points to missing job '${byKey}'`);
      if (original.payloadDigest !== c.payloadDigest) {
        return refuse(
          'E_IDEMPOTENCY_CONFLICT',
          `idempotency key '${c.idempotencyKey}' was used for job '${byKey}' with another payload`,
        );
      }
      return applied(true, [], original.answer);
    }
    const existing = this.jobs.get(c.jobId);
    if (existing) {
      if (
        existing.payloadDigest === c.payloadDigest &&
        existing.client === c.client &&
        existing.idempotencyKey === c.idempotencyKey
      ) {
        return applied(true, [], existing.answer);
      }
      return refuse('E_JOB_EXISTS', `job id '${c.jobId}' is taken by another submission`);
    }
    if (this.activeJobs >= this.cfg.maxActiveJobs) {
      return refuse('E_LEDGER_FULL', `${this.cfg.maxActiveJobs} jobs are running; try again later`);
    }
    const answer: SubmitAnswer = {
      jobId: c.jobId,
      submittedAtMs: c.atMs,
      ownerGate: c.ownerGate,
      fence: c.fence,
      targetDcs: [...c.targetDcs],
    };
    const job: JobRecord = {
      jobId: c.jobId,
      client: c.client,
      idempotencyKey: c.idempotencyKey,
      payloadDigest: c.payloadDigest,
      ownerGate: c.ownerGate,
      fence: c.fence,
      status: 'submitted',
      submittedAtMs: c.atMs,
      endedAtMs: null,
      cancelReason: null,
      deadlineMs: c.deadlineMs ?? null,
      endReason: null,
      dcs: new Map(c.targetDcs.map((dc) => [dc, 'pending'])),
      answer,
      resume: c.resume ?? null,
    };
    this.jobs.set(job.jobId, job);
    if (keyed !== null) this.keys.set(keyed, job.jobId);
    return applied(false, [{ type: 'job-submitted', jobId: job.jobId }], answer);
  }

  /** Common checks of a fenced command on a live job; null when it may proceed. */
  private fenceCheck(job: JobRecord, fence: number, what: string): LedgerRejection | null {
    if (fence < job.fence) {
      return refuse(
        'E_STALE_FENCE',
        `${what} for job '${job.jobId}' carries fence ${fence}, older than the owner's ${job.fence}`,
      );
    }
    if (fence > job.fence) {
      return refuse(
        'E_FENCE_AHEAD',
        `${what} for job '${job.jobId}' carries fence ${fence}, newer than the owner's ${job.fence} without a transfer`,
      );
    }
    return null;
  }

  private dcState(job: JobRecord, dc: string): DcState | LedgerRejection {
    const state = job.dcs.get(dc);
    if (state === undefined) {
      return refuse('E_UNKNOWN_DC', `datacenter '${dc}' is not a target of job '${job.jobId}'`);
    }
    return state;
  }

  private dcAccepted(job: JobRecord, dc: string, fence: number): LedgerResult {
    const state = this.dcState(job, dc);
    if (typeof state !== 'string') return state;
    const stale = this.fenceCheck(job, fence, 'dc-accepted');
    if (stale) return stale;
    if (state === 'accepted') return applied(true, []);
    if (state !== 'pending') {
      return refuse(
        'E_ILLEGAL_TRANSITION',
        `datacenter '${dc}' of job '${job.jobId}' already ended (${state})`,
      );
    }
    job.dcs.set(dc, 'accepted');
    const events: LedgerEvent[] = [{ type: 'dc-accepted', jobId: job.jobId, dc }];
    if (job.status === 'submitted') this.setStatus(job, 'running', events);
    return applied(false, events);
  }

  private cancelRequested(job: JobRecord, reason: string): LedgerResult {
    if (isEnded(job.status)) {
      return refuse('E_JOB_ENDED', `job '${job.jobId}' already ended (${job.status})`);
    }
    if (job.status === 'cancelling') return applied(true, []);
    const cut = this.cut(reason);
    job.cancelReason = cut;
    const events: LedgerEvent[] = [{ type: 'cancel-requested', jobId: job.jobId, reason: cut }];
    this.setStatus(job, 'cancelling', events);
    return applied(false, events);
  }

  private dcFinished(job: JobRecord, dc: string, outcome: DcOutcome, fence: number): LedgerResult {
    const state = this.dcState(job, dc);
    if (typeof state !== 'string') return state;
    const stale = this.fenceCheck(job, fence, 'dc-finished');
    if (stale) return stale;
    if (isOutcome(state)) {
      if (state === outcome) return applied(true, []);
      return refuse(
        'E_ILLEGAL_TRANSITION',
        `datacenter '${dc}' of job '${job.jobId}' already ended ${state}; cannot end it ${outcome}`,
      );
    }
    if (state === 'pending' && outcome === 'completed') {
      return refuse(
        'E_ILLEGAL_TRANSITION',
        `datacenter '${dc}' of job '${job.jobId}' cannot complete before it accepted the job`,
      );
    }
    job.dcs.set(dc, outcome);
    return applied(false, [{ type: 'dc-finished', jobId: job.jobId, dc, outcome }]);
  }

  private complete(
    job: JobRecord,
    fence: number,
    atMs: number,
    reason: string | undefined,
  ): LedgerResult {
    if (isEnded(job.status)) return applied(true, []);
    const stale = this.fenceCheck(job, fence, 'complete');
    if (stale) return stale;
    const outcomes: Record<string, DcOutcome> = {};
    const pending: string[] = [];
    for (const [dc, state] of job.dcs) {
      if (isOutcome(state)) outcomes[dc] = state;
      else pending.push(dc);
    }
    if (pending.length > 0) {
      return refuse(
        'E_DCS_PENDING',
        `job '${job.jobId}' still waits for datacenter(s) ${pending.join(', ')}`,
      );
    }
    const status = globalStatus(Object.values(outcomes));
    const events: LedgerEvent[] = [];
    this.setStatus(job, status, events);
    job.endedAtMs = atMs;
    job.resume = null;
    if (reason !== undefined) job.endReason = this.cut(reason);
    (status === 'completed' ? this.endedCompleted : this.endedUnsuccessful).set(job.jobId, atMs);
    events.push({ type: 'job-ended', jobId: job.jobId, status, dcs: outcomes });
    this.evictOverCount();
    return applied(false, events);
  }

  private transfer(job: JobRecord, ownerGate: string, fence: number): LedgerResult {
    if (isEnded(job.status)) {
      return refuse(
        'E_JOB_ENDED',
        `job '${job.jobId}' already ended (${job.status}); it has no owner to move`,
      );
    }
    if (fence === job.fence && ownerGate === job.ownerGate) return applied(true, []);
    if (fence <= job.fence) {
      return refuse(
        'E_STALE_FENCE',
        `ownership of job '${job.jobId}' moves only with a fence above ${job.fence}, got ${fence}`,
      );
    }
    job.ownerGate = ownerGate;
    job.fence = fence;
    return applied(false, [{ type: 'owner-changed', jobId: job.jobId, ownerGate, fence }]);
  }

  private cut(reason: string): string {
    return reason.length > this.cfg.maxReasonChars
      ? `${reason.slice(0, this.cfg.maxReasonChars - 1)}…`
      : reason;
  }

  private setStatus(job: JobRecord, to: JobStatus, events: LedgerEvent[]): void {
    const from = job.status;
    jobsInvariant(!isEnded(from), `job '${job.jobId}' changes status after it ended`);
    job.status = to;
    events.push({ type: 'status-changed', jobId: job.jobId, from, to });
  }

  // ──────────────────────────────────────────────── retention

  private evict(atMs: number): void {
    this.evictByAge(this.endedCompleted, atMs - this.cfg.completedRetentionMs);
    this.evictByAge(this.endedUnsuccessful, atMs - this.cfg.unsuccessfulRetentionMs);
    this.evictOverCount();
  }

  /** Evicts from the head of `queue` while the head ended at or before `cutoffMs`. */
  private evictByAge(queue: Map<string, number>, cutoffMs: number): void {
    for (const [jobId, endedAtMs] of queue) {
      if (endedAtMs > cutoffMs) break;
      this.remove(jobId, 'age');
    }
  }

  private evictOverCount(): void {
    while (this.endedJobs > this.cfg.maxEndedJobs) {
      const a = first(this.endedCompleted);
      const b = first(this.endedUnsuccessful);
      const victim = a === undefined ? b : b === undefined || a[1] <= b[1] ? a : b;
      jobsInvariant(victim !== undefined, 'over the ended-job bound with no ended job');
      this.remove(victim[0], 'count');
    }
  }

  private remove(jobId: string, cause: 'age' | 'count'): void {
    const job = this.jobs.get(jobId);
    jobsInvariant(job !== undefined, `evicting unknown job '${jobId}'`);
    this.jobs.delete(jobId);
    this.endedCompleted.delete(jobId);
    this.endedUnsuccessful.delete(jobId);
    if (job.idempotencyKey !== null) {
      const k = keyOf(job.client, job.idempotencyKey);
      if (this.keys.get(k) === jobId) this.keys.delete(k);
    }
    this.events.push({ type: 'job-evicted', jobId, cause });
  }

  private checkInvariants(): void {
    jobsInvariant(this.endedJobs <= this.cfg.maxEndedJobs, 'ended jobs above their bound');
    jobsInvariant(this.keys.size <= this.jobs.size, 'more idempotency keys than jobs');
  }

  // ──────────────────────────────────────────────── snapshots

  /** The whole state as plain data (for a Raft snapshot); restoring it yields an equal ledger. */
  snapshot(): LedgerSnapshot {
    const jobs: JobSnapshot[] = [];
    for (const j of this.jobs.values()) {
      jobs.push({
        ...fieldsOf(j),
        submitFence: j.answer.fence,
        submitOwnerGate: j.answer.ownerGate,
        dcs: [...j.dcs],
        ...(j.resume !== null ? { resume: j.resume } : {}),
      });
    }
    return {
      version: 1,
      jobs,
      endedCompleted: [...this.endedCompleted.keys()],
      endedUnsuccessful: [...this.endedUnsuccessful.keys()],
    };
  }

  /** A ledger in the state `snapshot` describes, or a rejection saying what is inconsistent. */
  static restore(
    snapshot: unknown,
    config: Partial<LedgerConfig> = {},
  ): JobLedger | Rejection<'E_INVALID_SNAPSHOT'> {
    const valid = validateLedgerSnapshot(snapshot);
    if ('ok' in valid) return valid;
    const ledger = new JobLedger(config);
    const bad = (problem: string): Rejection<'E_INVALID_SNAPSHOT'> =>
      reject('E_INVALID_SNAPSHOT', `ledger snapshot: ${problem}`);
    for (const s of valid.jobs) {
      if (ledger.jobs.has(s.jobId)) return bad(`job '${s.jobId}' appears twice`);
      const dcs = new Map<string, DcState>(s.dcs.map(([dc, st]) => [dc, st]));
      if (dcs.size !== s.dcs.length) return bad(`job '${s.jobId}' lists a datacenter twice`);
      if (isEnded(s.status) !== (s.endedAtMs !== null)) {
        return bad(`job '${s.jobId}' has status ${s.status} but endedAtMs ${String(s.endedAtMs)}`);
      }
      const { submitFence, submitOwnerGate, dcs: _pairs, resume, ...fields } = s;
      const job: JobRecord = {
        // Snapshots written before jobs had deadlines lack the last two fields.
        ...fieldsOf({
          ...fields,
          deadlineMs: fields.deadlineMs ?? null,
          endReason: fields.endReason ?? null,
        }),
        dcs,
        answer: {
          jobId: s.jobId,
          submittedAtMs: s.submittedAtMs,
          ownerGate: submitOwnerGate,
          fence: submitFence,
          targetDcs: [...dcs.keys()],
        },
        resume: isEnded(s.status) ? null : (resume ?? null),
      };
      ledger.jobs.set(job.jobId, job);
      if (job.idempotencyKey !== null) {
        const k = keyOf(job.client, job.idempotencyKey);
        if (ledger.keys.has(k)) return bad(`idempotency key of job '${job.jobId}' is used twice`);
        ledger.keys.set(k, job.jobId);
      }
    }
    const queues = [
      [valid.endedCompleted, ledger.endedCompleted, (st: JobStatus) => st === 'completed'],
      [
        valid.endedUnsuccessful,
        ledger.endedUnsuccessful,
        (st: JobStatus) => st === 'failed' || st === 'cancelled',
      ],
    ] as const;
    for (const [ids, queue, fits] of queues) {
      for (const id of ids) {
        const job = ledger.jobs.get(id);
        if (!job || !fits(job.status) || job.endedAtMs === null || queue.has(id)) {
          return bad(`ended-job queue names '${id}', which is not a retained job of that class`);
        }
        queue.set(id, job.endedAtMs);
      }
    }
    let ended = 0;
    for (const j of ledger.jobs.values()) if (isEnded(j.status)) ended++;
    if (ended !== ledger.endedJobs) return bad('an ended job is missing from the retention queues');
    if (ledger.endedJobs > ledger.cfg.maxEndedJobs) return bad('more ended jobs than maxEndedJobs');
    return ledger;
  }
}

function first(queue: Map<string, number>): [string, number] | undefined {
  for (const entry of queue) return entry;
  return undefined;
}

function applied(duplicate: boolean, events: LedgerEvent[], answer?: SubmitAnswer): LedgerResult {
  return answer === undefined
    ? { ok: true, duplicate, events }
    : { ok: true, duplicate, events, answer };
}

function refuse(code: LedgerErrorCode, message: string): LedgerRejection {
  return { ...reject(code, message), events: [] };
}

function fieldsOf(j: JobFields): JobFields {
  return {
    jobId: j.jobId,
    client: j.client,
    idempotencyKey: j.idempotencyKey,
    payloadDigest: j.payloadDigest,
    ownerGate: j.ownerGate,
    fence: j.fence,
    status: j.status,
    submittedAtMs: j.submittedAtMs,
    endedAtMs: j.endedAtMs,
    cancelReason: j.cancelReason,
    deadlineMs: j.deadlineMs,
    endReason: j.endReason,
  };
}

function view(j: JobRecord): JobView {
  return { ...fieldsOf(j), dcs: Object.fromEntries(j.dcs), targetDcs: [...j.dcs.keys()] };
}
