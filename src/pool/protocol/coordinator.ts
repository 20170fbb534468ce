// Owns the main thread's side of one worker's coordination session: job tracking, sequencing,
// session identity and the outbox. Sans-I/O: never touches a MessagePort, timer, clock or RNG;
// the shell posts what drainOutbox() returns and acts on the events handleInbound() returns.

import { SalvoError } from '../../errors.js';
import {
  validateEnvelope,
  validateOp,
  type DiagnosticLevel,
  type JobOutcome,
  type MainOp,
  type PoolEnvelope,
  type WorkerOp,
  isMainOp,
} from './envelope.js';
import { ACCEPTED, ChannelError, refused, type Accepted } from './errors.js';
import { canTransition, isTerminal, allowedInStatusSnapshot, type JobState } from './job-state.js';
import { MAX_RELEASED_JOBS, MAX_TRACKED_JOBS, requireCount } from './limits.js';
import { EnvelopeOutbox } from './outbox.js';

/** Why non-terminal jobs were failed all at once. */
export type JobsFailedCause = 'worker_replaced' | 'bootstrap_failed' | 'shutdown_completed';

/** What the shell learns from an accepted inbound message. */
export type CoordinatorEvent =
  | { readonly type: 'worker_ready'; readonly workerId: string }
  | {
      readonly type: 'bootstrap_failed';
      readonly workerId: string;
      readonly reason: string;
      /** The same failure as a ChannelError (kind `bootstrap_failed`), for logging or throwing. */
      readonly error: ChannelError;
    }
  /** Job ids in ascending order; every one is now `failed`. */
  | {
      readonly type: 'jobs_failed';
      readonly jobIds: readonly number[];
      readonly cause: JobsFailedCause;
    }
  | {
      readonly type: 'job_status';
      readonly jobId: number;
      readonly state: JobState;
      readonly detail?: string;
      /** False when the snapshot was stale (the job had already moved on) and was ignored. */
      readonly applied: boolean;
    }
  | { readonly type: 'job_completed'; readonly jobId: number; readonly outcome: JobOutcome }
  | {
      readonly type: 'cancel_acknowledged';
      readonly jobId: number;
      /** True when a shutdown is in progress, so no drain_job was queued. */
      readonly supersededByShutdown: boolean;
    }
  | {
      readonly type: 'drained';
      readonly jobId: number;
      /** True when a shutdown is in progress, so no finalize_job was queued. */
      readonly supersededByShutdown: boolean;
    }
  | { readonly type: 'finalized'; readonly jobId: number }
  | { readonly type: 'shutdown_completed' }
  | {
      readonly type: 'diagnostic';
      readonly workerId: string;
      readonly level: DiagnosticLevel;
      readonly category: string;
      readonly message: string;
      readonly metadata?: string;
    }
  | {
      readonly type: 'stats_window';
      readonly workerId: string;
      readonly jobId: number;
      readonly windowSeq: number;
      readonly payload: Uint8Array;
    };

export type InboundResult =
  | { readonly ok: true; readonly events: readonly CoordinatorEvent[] }
  | { readonly ok: false; readonly error: ChannelError };

export interface PoolCoordinatorOptions {
  /** First decision sequence to stamp (default 1), e.g. to continue a recorded decision log. */
  readonly firstDecisionSeq?: number;
  /** Bound on tracked jobs, terminal ones included until removeJob (default MAX_TRACKED_JOBS). */
  readonly maxTrackedJobs?: number;
  /** Bound on undrained outbound envelopes (default MAX_OUTBOX_MESSAGES). */
  readonly maxOutboxMessages?: number;
  /** Bound on released, not yet ended jobs (default MAX_RELEASED_JOBS). */
  readonly maxReleasedJobs?: number;
}

interface TrackedJob {
  readonly jobId: number;
  readonly regionId: number;
  state: JobState;
  /** Sequence number of the last envelope sent about this job. */
  lastSeqNo: number;
}

/**
 * The main-thread coordinator for one worker. Commands (spawnJob, cancelJob, pollStatus,
 * requestShutdown) either queue an envelope and change state, or change nothing and return the
 * error. handleInbound checks an envelope and applies it, or rejects it; a rejected envelope
 * changes no job, session or outbox state. The one exception, kept from the seed: an envelope
 * that passed the session and sequence checks but whose operation is refused (unknown job,
 * illegal transition) still consumes its sequence number, so its redelivery is not fresh.
 */
export class PoolCoordinator {
  private readonly maxTrackedJobs: number;
  private readonly outbox: EnvelopeOutbox;
  private readonly jobs = new Map<number, TrackedJob>();
  /** Jobs the shell released before they ended, oldest first (a subset of `jobs`). */
  private readonly released = new Set<number>();
  private readonly maxReleasedJobs: number;
  /** Released jobs forgotten at the bound before their worker ended them. */
  releasedEvicted = 0;
  /** Worker messages about released jobs, absorbed without an event. */
  releasedMessagesAbsorbed = 0;
  private lastInboundSeq = 0;
  private activeWorkerId: string | null = null;
  private workerReady = false;
  private shutdownRequested = false;

  constructor(seed: number, options: PoolCoordinatorOptions = {}) {
    this.outbox = new EnvelopeOutbox({
      seed,
      maxMessages: options.maxOutboxMessages,
      firstDecisionSeq: options.firstDecisionSeq,
    });
    this.maxTrackedJobs = requireCount(
      'maxTrackedJobs',
      options.maxTrackedJobs ?? MAX_TRACKED_JOBS,
    );
    this.maxReleasedJobs = requireCount(
      'maxReleasedJobs',
      options.maxReleasedJobs ?? MAX_RELEASED_JOBS,
    );
  }

  // ─── Queries ──────────────────────────────────────────────────────────────────────────────

  get isWorkerReady(): boolean {
    return this.workerReady;
  }

  get isShutdownRequested(): boolean {
    return this.shutdownRequested;
  }

  /** Tracked jobs that are not yet completed or failed. */
  get inflightCount(): number {
    let count = 0;
    for (const job of this.jobs.values()) if (!isTerminal(job.state)) count++;
    return count;
  }

  /** Tracked jobs, terminal and released ones included. */
  get trackedCount(): number {
    return this.jobs.size;
  }

  /** Released jobs whose worker has not ended them yet. */
  get releasedCount(): number {
    return this.released.size;
  }

  /** Highest worker sequence number accepted in the current inbound session (0: none yet). */
  get lastInboundSeqNo(): number {
    return this.lastInboundSeq;
  }

  /** The worker session messages are accepted from, or null between sessions. */
  get activeWorker(): string | null {
    return this.activeWorkerId;
  }

  /** Envelopes queued and not yet drained. */
  get pendingOutboundCount(): number {
    return this.outbox.length;
  }

  get currentTurn(): number {
    return this.outbox.turn;
  }

  jobState(jobId: number): JobState | undefined {
    return this.jobs.get(jobId)?.state;
  }

  // ─── Commands ─────────────────────────────────────────────────────────────────────────────

  advanceTurn(): void {
    this.outbox.turn++;
  }

  /** Takes every queued envelope, oldest first, for the shell to post. */
  drainOutbox(): PoolEnvelope[] {
    return this.outbox.drain();
  }

  /** Queues spawn_job and tracks the job as `queued`. */
  spawnJob(request: {
    readonly jobId: number;
    readonly regionId: number;
    readonly taskId: number;
    readonly obligationId: number;
    readonly payload: Uint8Array;
  }): Accepted {
    if (!this.workerReady) return refused({ kind: 'worker_not_ready' });
    if (this.shutdownRequested) return refused({ kind: 'shutdown_in_progress' });
    const op: MainOp = {
      type: 'spawn_job',
      jobId: request.jobId,
      regionId: request.regionId,
      taskId: request.taskId,
      obligationId: request.obligationId,
      payload: request.payload,
    };
    const invalid = validateOp(op);
    if (invalid !== null) return { ok: false, error: invalid };
    if (this.jobs.has(op.jobId)) return refused({ kind: 'duplicate_job_id', jobId: op.jobId });
    if (this.jobs.size - this.released.size >= this.maxTrackedJobs) {
      return refused({
        kind: 'limit_exceeded',
        resource: 'tracked_jobs',
        limit: this.maxTrackedJobs,
      });
    }
    const full = this.outbox.full();
    if (full !== null) return full;
    const envelope = this.enqueue(op);
    this.jobs.set(op.jobId, {
      jobId: op.jobId,
      regionId: op.regionId,
      state: 'queued',
      lastSeqNo: envelope.seqNo,
    });
    return ACCEPTED;
  }

  /** Queues cancel_job and moves the job to `cancel_requested`. */
  cancelJob(jobId: number, reason: string): Accepted {
    if (this.shutdownRequested) return refused({ kind: 'shutdown_in_progress' });
    const job = this.jobs.get(jobId);
    if (job === undefined) return refused({ kind: 'unknown_job_id', jobId });
    return this.transitionAndSend(job, 'cancel_requested', { type: 'cancel_job', jobId, reason });
  }

  /** Queues poll_status for a tracked job; the answer arrives as a `job_status` event. */
  pollStatus(jobId: number): Accepted {
    if (this.shutdownRequested) return refused({ kind: 'shutdown_in_progress' });
    const job = this.jobs.get(jobId);
    if (job === undefined) return refused({ kind: 'unknown_job_id', jobId });
    const full = this.outbox.full();
    if (full !== null) return full;
    job.lastSeqNo = this.enqueue({ type: 'poll_status', jobId }).seqNo;
    return ACCEPTED;
  }

  /**
   * Discards every queued session message and queues shutdown_worker in their place. Jobs stay
   * as they are until the worker answers shutdown_completed (or the session is replaced).
   */
  requestShutdown(reason: string): Accepted {
    if (this.shutdownRequested) return refused({ kind: 'shutdown_in_progress' });
    const op: MainOp = { type: 'shutdown_worker', reason };
    const invalid = validateOp(op);
    if (invalid !== null) return { ok: false, error: invalid };
    this.shutdownRequested = true;
    this.outbox.clear();
    this.enqueue(op);
    return ACCEPTED;
  }

  /** Forgets a terminal job (the shell calls this once it has recorded the job's result). */
  removeJob(jobId: number): Accepted {
    const job = this.jobs.get(jobId);
    if (job === undefined) return refused({ kind: 'unknown_job_id', jobId });
    if (!isTerminal(job.state)) {
      return refused({ kind: 'job_not_terminal', jobId, state: job.state });
    }
    this.jobs.delete(jobId);
    return ACCEPTED;
  }

  /**
   * The shell is done with a job, whatever its state: a terminal job is forgotten now; one the
   * worker is still ending (a cancel that timed out) is forgotten when the worker ends it, and
   * its messages until then are absorbed without events. So every job leaves no record behind.
   */
  releaseJob(jobId: number): Accepted {
    const job = this.jobs.get(jobId);
    if (job === undefined) return refused({ kind: 'unknown_job_id', jobId });
    if (isTerminal(job.state)) {
      this.jobs.delete(jobId);
      return ACCEPTED;
    }
    this.released.add(jobId);
    if (this.released.size > this.maxReleasedJobs) {
      const oldest = this.released.values().next().value as number;
      this.released.delete(oldest);
      this.jobs.delete(oldest);
      this.releasedEvicted++;
    }
    return ACCEPTED;
  }

  /**
   * The worker thread is gone (terminated by the shell, or it exited): its session is over, so
   * every job still running is failed and every released job is forgotten, since no worker
   * will ever end it. Returns the events for the jobs the shell still holds.
   */
  workerTerminated(): CoordinatorEvent[] {
    const events: CoordinatorEvent[] = [];
    this.endSession(events, 'worker_replaced');
    const visible = this.released.size > 0 ? this.absorbReleased(events) : events;
    this.assertInvariants();
    return visible;
  }

  // ─── Inbound ──────────────────────────────────────────────────────────────────────────────

  /** Checks and applies one envelope from the worker. */
  handleInbound(envelope: PoolEnvelope): InboundResult {
    const invalid = validateEnvelope(envelope);
    if (invalid !== null) return { ok: false, error: invalid };
    const { op } = envelope;
    if (isMainOp(op)) {
      return refused({ kind: 'unexpected_direction', op: op.type, receivedBy: 'main' });
    }
    // validateEnvelope guarantees a worker op carries its worker id.
    const workerId = envelope.workerId ?? '';
    const isBootstrap = op.type === 'bootstrap_ready' || op.type === 'bootstrap_failed';
    const replacesSession = isBootstrap && op.workerId !== this.activeWorkerId;
    if (!isBootstrap && workerId !== this.activeWorkerId) {
      return refused({
        kind: 'inbound_worker_session_mismatch',
        expected: this.activeWorkerId,
        actual: workerId,
      });
    }
    // A new worker instance starts a new inbound sequence. Freshness is judged against the
    // mark the envelope would be accepted under, before anything is reset.
    const lastSeen = replacesSession ? 0 : this.lastInboundSeq;
    if (envelope.seqNo <= lastSeen) {
      return refused({ kind: 'inbound_sequence_not_fresh', lastSeen, actual: envelope.seqNo });
    }

    const events: CoordinatorEvent[] = [];
    if (replacesSession) {
      this.failNonTerminalJobs(events, 'worker_replaced');
      this.outbox.clear();
    }
    this.lastInboundSeq = envelope.seqNo;
    const applied = this.apply(op, workerId, events);
    const visible = this.released.size > 0 ? this.absorbReleased(events) : events;
    this.assertInvariants();
    return applied === null ? { ok: true, events: visible } : { ok: false, error: applied };
  }

  /** Drops events about released jobs (the shell is done with them); forgets the ended ones. */
  private absorbReleased(events: CoordinatorEvent[]): CoordinatorEvent[] {
    const visible: CoordinatorEvent[] = [];
    for (const event of events) {
      if (event.type === 'jobs_failed') {
        const jobIds = event.jobIds.filter((id) => !this.absorb(id));
        if (jobIds.length > 0) visible.push({ ...event, jobIds });
      } else if ('jobId' in event && this.absorb(event.jobId)) {
        continue;
      } else visible.push(event);
    }
    return visible;
  }

  /** Whether `jobId` is released (its event is absorbed); forgets it once it has ended. */
  private absorb(jobId: number): boolean {
    if (!this.released.has(jobId)) return false;
    this.releasedMessagesAbsorbed++;
    const job = this.jobs.get(jobId);
    if (job === undefined || isTerminal(job.state)) {
      this.released.delete(jobId);
      this.jobs.delete(jobId);
    }
    return true;
  }

  /** Applies an accepted worker operation; returns the error when its content is refused. */
  private apply(op: WorkerOp, workerId: string, events: CoordinatorEvent[]): ChannelError | null {
    switch (op.type) {
      case 'bootstrap_ready':
        this.activeWorkerId = op.workerId;
        this.workerReady = true;
        this.shutdownRequested = false;
        events.push({ type: 'worker_ready', workerId: op.workerId });
        return null;
      case 'bootstrap_failed':
        this.endSession(events, 'bootstrap_failed');
        events.push({
          type: 'bootstrap_failed',
          workerId: op.workerId,
          reason: op.reason,
          error: new ChannelError({
            kind: 'bootstrap_failed',
            workerId: op.workerId,
            reason: op.reason,
          }),
        });
        return null;
      case 'status_snapshot':
        return this.applyStatusSnapshot(op, events);
      case 'job_completed': {
        const job = this.jobs.get(op.jobId);
        if (job === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId: op.jobId });
        if (job.state !== 'queued' && job.state !== 'running' && job.state !== 'cancel_requested') {
          return new ChannelError({
            kind: 'unexpected_completion_phase',
            jobId: op.jobId,
            state: job.state,
          });
        }
        job.state = 'completed';
        events.push({ type: 'job_completed', jobId: op.jobId, outcome: op.outcome });
        return null;
      }
      case 'cancel_acknowledged':
        return this.advanceCancellation(op.jobId, 'draining', events);
      case 'drain_completed':
        return this.advanceCancellation(op.jobId, 'finalizing', events);
      case 'finalize_completed': {
        const job = this.jobs.get(op.jobId);
        if (job === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId: op.jobId });
        // Stricter than the seed, which let finalize_completed end a queued or running job:
        // only a job in the finalize phase can report that phase's end.
        if (job.state !== 'finalizing') {
          return new ChannelError({
            kind: 'unexpected_completion_phase',
            jobId: op.jobId,
            state: job.state,
          });
        }
        job.state = 'completed';
        events.push({ type: 'finalized', jobId: op.jobId });
        return null;
      }
      case 'shutdown_completed':
        this.endSession(events, 'shutdown_completed');
        events.push({ type: 'shutdown_completed' });
        return null;
      case 'diagnostic':
        events.push({
          type: 'diagnostic',
          workerId,
          level: op.level,
          category: op.category,
          message: op.message,
          ...(op.metadata === undefined ? {} : { metadata: op.metadata }),
        });
        return null;
      case 'stats_window': {
        const job = this.jobs.get(op.jobId);
        if (job === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId: op.jobId });
        if (isTerminal(job.state)) {
          return new ChannelError({
            kind: 'stats_window_for_terminal_job',
            jobId: op.jobId,
            state: job.state,
          });
        }
        events.push({
          type: 'stats_window',
          workerId,
          jobId: op.jobId,
          windowSeq: op.windowSeq,
          payload: op.payload,
        });
        return null;
      }
    }
  }

  private applyStatusSnapshot(
    op: Extract<WorkerOp, { type: 'status_snapshot' }>,
    events: CoordinatorEvent[],
  ): ChannelError | null {
    const { jobId, state } = op;
    if (isTerminal(state)) {
      return new ChannelError({ kind: 'terminal_status_snapshot', jobId, state });
    }
    if (!allowedInStatusSnapshot(state)) {
      return new ChannelError({ kind: 'invalid_status_snapshot_state', jobId, state });
    }
    const job = this.jobs.get(jobId);
    if (job === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId });
    const detail = op.detail === undefined ? {} : { detail: op.detail };
    // A snapshot the worker sent before it saw our cancel (or before it completed) is stale.
    if (job.state !== 'created' && job.state !== 'queued' && job.state !== 'running') {
      events.push({ type: 'job_status', jobId, state, ...detail, applied: false });
      return null;
    }
    if (job.state !== state) {
      const moved = transition(job, state);
      if (moved !== null) return moved;
    }
    events.push({ type: 'job_status', jobId, state, ...detail, applied: true });
    return null;
  }

  /**
   * cancel_acknowledged moves a job to `draining` and queues drain_job; drain_completed moves it
   * to `finalizing` and queues finalize_job. While a shutdown is in progress neither follow-up is
   * sent: the job stays put and fails when the session ends.
   */
  private advanceCancellation(
    jobId: number,
    next: 'draining' | 'finalizing',
    events: CoordinatorEvent[],
  ): ChannelError | null {
    const job = this.jobs.get(jobId);
    if (job === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId });
    const type = next === 'draining' ? 'cancel_acknowledged' : 'drained';
    if (this.shutdownRequested) {
      events.push({ type, jobId, supersededByShutdown: true });
      return null;
    }
    const sent = this.transitionAndSend(
      job,
      next,
      next === 'draining' ? { type: 'drain_job', jobId } : { type: 'finalize_job', jobId },
    );
    if (!sent.ok) return sent.error;
    events.push({ type, jobId, supersededByShutdown: false });
    return null;
  }

  // ─── Internals ────────────────────────────────────────────────────────────────────────────

  private transitionAndSend(job: TrackedJob, next: JobState, op: MainOp): Accepted {
    if (!canTransition(job.state, next)) {
      return refused({ kind: 'invalid_transition', jobId: job.jobId, from: job.state, to: next });
    }
    const invalid = validateOp(op);
    if (invalid !== null) return { ok: false, error: invalid };
    const full = this.outbox.full();
    if (full !== null) return full;
    job.state = next;
    job.lastSeqNo = this.enqueue(op).seqNo;
    return ACCEPTED;
  }

  /** The worker session is over: fail what is still running, forget what was queued for it. */
  private endSession(events: CoordinatorEvent[], cause: JobsFailedCause): void {
    this.failNonTerminalJobs(events, cause);
    this.outbox.clear();
    this.activeWorkerId = null;
    this.workerReady = false;
    this.shutdownRequested = false;
  }

  private failNonTerminalJobs(events: CoordinatorEvent[], cause: JobsFailedCause): void {
    const failed: number[] = [];
    for (const job of this.jobs.values()) {
      if (isTerminal(job.state)) continue;
      job.state = 'failed';
      failed.push(job.jobId);
    }
    if (failed.length > 0) {
      events.push({ type: 'jobs_failed', jobIds: failed.sort((a, b) => a - b), cause });
    }
  }

  private enqueue(op: MainOp): PoolEnvelope {
    return this.outbox.push(op);
  }

  private assertInvariants(): void {
    if (this.workerReady && this.activeWorkerId === null) {
      throw new SalvoError(
        'E_INTERNAL',
        'pool coordinator: ready without an active worker session',
      );
    }
    if (this.jobs.size - this.released.size > this.maxTrackedJobs) {
      throw new SalvoError('E_INTERNAL', 'pool coordinator: tracked jobs above their bound');
    }
    if (this.released.size > this.maxReleasedJobs) {
      throw new SalvoError('E_INTERNAL', 'pool coordinator: released jobs above their bound');
    }
  }
}

function transition(job: TrackedJob, next: JobState): ChannelError | null {
  if (!canTransition(job.state, next)) {
    return new ChannelError({
      kind: 'invalid_transition',
      jobId: job.jobId,
      from: job.state,
      to: next,
    });
  }
  job.state = next;
  return null;
}
