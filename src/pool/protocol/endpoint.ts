// Owns a worker thread's side of the coordination session: it turns main-thread envelopes into
// commands for the worker shell and the shell's reports into envelopes, refusing anything out of
// protocol. Sans-I/O: never touches a MessagePort, timer, clock or RNG.

import { EnvelopeOutbox } from './outbox.js';
import { SalvoError } from '../../errors.js';
import {
  validateEnvelope,
  validateOp,
  type DiagnosticLevel,
  type JobOutcome,
  type MainOp,
  type PoolEnvelope,
  type SpawnJobRequest,
  type WorkerOp,
  isWorkerOp,
  utf8ByteLength,
} from './envelope.js';
import { ACCEPTED, ChannelError, refused, type Accepted } from './errors.js';
import { allowedInStatusSnapshot, type JobState } from './job-state.js';
import { MAX_TRACKED_JOBS, MAX_WORKER_ID_BYTES, requireCount } from './limits.js';

/** What the worker shell must do for an accepted main-thread envelope. */
export type WorkerCommand =
  | { readonly type: 'spawn'; readonly jobId: number; readonly request: SpawnJobRequest }
  | { readonly type: 'poll'; readonly jobId: number }
  | { readonly type: 'cancel'; readonly jobId: number; readonly reason: string }
  | { readonly type: 'drain'; readonly jobId: number }
  | { readonly type: 'finalize'; readonly jobId: number }
  | { readonly type: 'shutdown'; readonly reason: string };

export type EndpointInboundResult =
  | {
      readonly ok: true;
      /** Empty when the envelope needs no action (e.g. a cancel that lost the race to completion). */
      readonly commands: readonly WorkerCommand[];
    }
  | { readonly ok: false; readonly error: ChannelError };

/** The endpoint's lifecycle: it may report jobs only between bootstrap_ready and shutdown_completed. */
export type EndpointPhase = 'starting' | 'ready' | 'bootstrap_failed' | 'shutting_down' | 'stopped';

/**
 * The worker's view of one job. It refines JobState with the points where the worker has
 * answered and waits for the main thread's next control message.
 */
export type WorkerJobPhase =
  | 'queued'
  | 'running'
  | 'cancel_requested'
  /** cancel_acknowledged sent; waiting for drain_job. */
  | 'cancel_acknowledged'
  | 'draining'
  /** drain_completed sent; waiting for finalize_job. */
  | 'drained'
  | 'finalizing'
  | 'completed'
  | 'failed';

export interface WorkerEndpointOptions {
  /** Bound on tracked jobs; the oldest terminal ones are forgotten first (default MAX_TRACKED_JOBS). */
  readonly maxTrackedJobs?: number;
  /** Bound on undrained outbound envelopes (default MAX_OUTBOX_MESSAGES). */
  readonly maxOutboxMessages?: number;
}

/** Phases in which the worker may still send job reports (during shutdown it may finish work). */
const REPORTING_PHASES: ReadonlySet<EndpointPhase> = new Set(['ready', 'shutting_down']);

/**
 * A worker thread's protocol endpoint. handleInbound checks a main-thread envelope (version,
 * digest, identity, direction, fresh sequence) and returns commands; the report methods
 * (reportStatus, completeJob, acknowledgeCancel, …) queue envelopes or refuse with the error,
 * changing nothing. A refused inbound envelope changes nothing either, except that, once it has
 * passed the sequence check, its sequence number is consumed (as on the coordinator).
 */
export class WorkerEndpoint {
  readonly workerId: string;
  private readonly maxTrackedJobs: number;
  private readonly outbox: EnvelopeOutbox;
  private lastInboundSeq = 0;
  private phaseNow: EndpointPhase = 'starting';
  /** Insertion-ordered, so the oldest terminal job is the first one found. */
  private readonly jobs = new Map<number, WorkerJobPhase>();

  constructor(workerId: string, seed: number, options: WorkerEndpointOptions = {}) {
    if (workerId === '' || utf8ByteLength(workerId) > MAX_WORKER_ID_BYTES) {
      throw new SalvoError('E_INTERNAL', `worker id must be 1–${MAX_WORKER_ID_BYTES} UTF-8 bytes`);
    }
    this.workerId = workerId;
    this.outbox = new EnvelopeOutbox({
      seed,
      maxMessages: options.maxOutboxMessages,
      workerId,
    });
    this.maxTrackedJobs = requireCount(
      'maxTrackedJobs',
      options.maxTrackedJobs ?? MAX_TRACKED_JOBS,
    );
  }

  // ─── Queries ──────────────────────────────────────────────────────────────────────────────

  get phase(): EndpointPhase {
    return this.phaseNow;
  }

  get lastInboundSeqNo(): number {
    return this.lastInboundSeq;
  }

  get pendingOutboundCount(): number {
    return this.outbox.length;
  }

  get trackedCount(): number {
    return this.jobs.size;
  }

  jobPhase(jobId: number): WorkerJobPhase | undefined {
    return this.jobs.get(jobId);
  }

  // ─── Outbound: the shell's reports ────────────────────────────────────────────────────────

  advanceTurn(): void {
    this.outbox.turn++;
  }

  drainOutbox(): PoolEnvelope[] {
    return this.outbox.drain();
  }

  bootstrapReady(): Accepted {
    if (this.phaseNow !== 'starting') return this.wrongPhase('bootstrap_ready');
    const sent = this.send({ type: 'bootstrap_ready', workerId: this.workerId });
    if (sent.ok) this.phaseNow = 'ready';
    return sent;
  }

  bootstrapFailed(reason: string): Accepted {
    if (this.phaseNow !== 'starting') return this.wrongPhase('bootstrap_failed');
    const sent = this.send({ type: 'bootstrap_failed', workerId: this.workerId, reason });
    if (sent.ok) this.phaseNow = 'bootstrap_failed';
    return sent;
  }

  /** Reports a job the worker has queued or started (only `queued` and `running` are reportable). */
  reportStatus(jobId: number, state: JobState, detail?: string): Accepted {
    const job = this.reportableJob(jobId);
    if (!job.ok) return job;
    if (!allowedInStatusSnapshot(state)) {
      return refused({ kind: 'invalid_status_snapshot_state', jobId, state });
    }
    const current = job.phase;
    if (current !== state && !(current === 'queued' && state === 'running')) {
      return refused({ kind: 'invalid_transition', jobId, from: toJobState(current), to: state });
    }
    const op: WorkerOp =
      detail === undefined
        ? { type: 'status_snapshot', jobId, state }
        : { type: 'status_snapshot', jobId, state, detail };
    return this.sendAndMove(op, jobId, state);
  }

  /**
   * Reports a job's natural end. Legal while queued or running, and while a cancel is requested
   * but not yet acknowledged (completion raced the cancel); after cancel_acknowledged the job
   * must finish through drain and finalize.
   */
  completeJob(jobId: number, outcome: JobOutcome): Accepted {
    const job = this.reportableJob(jobId);
    if (!job.ok) return job;
    if (job.phase !== 'queued' && job.phase !== 'running' && job.phase !== 'cancel_requested') {
      return refused({ kind: 'unexpected_completion_phase', jobId, state: toJobState(job.phase) });
    }
    return this.sendAndMove({ type: 'job_completed', jobId, outcome }, jobId, 'completed');
  }

  acknowledgeCancel(jobId: number): Accepted {
    return this.answerControl(jobId, 'cancel_requested', 'cancel_acknowledged', 'draining', {
      type: 'cancel_acknowledged',
      jobId,
    });
  }

  drainCompleted(jobId: number): Accepted {
    return this.answerControl(jobId, 'draining', 'drained', 'finalizing', {
      type: 'drain_completed',
      jobId,
    });
  }

  finalizeCompleted(jobId: number): Accepted {
    return this.answerControl(jobId, 'finalizing', 'completed', 'completed', {
      type: 'finalize_completed',
      jobId,
    });
  }

  /** Reports that shutdown finished; every job not yet terminal is failed locally. */
  shutdownCompleted(): Accepted {
    if (this.phaseNow !== 'shutting_down') return this.wrongPhase('shutdown_completed');
    const sent = this.send({ type: 'shutdown_completed' });
    if (!sent.ok) return sent;
    this.phaseNow = 'stopped';
    for (const [jobId, phase] of this.jobs) {
      if (phase !== 'completed' && phase !== 'failed') this.jobs.set(jobId, 'failed');
    }
    return ACCEPTED;
  }

  diagnostic(
    level: DiagnosticLevel,
    category: string,
    message: string,
    metadata?: string,
  ): Accepted {
    if (!REPORTING_PHASES.has(this.phaseNow)) return refused(this.notReporting());
    return this.send(
      metadata === undefined
        ? { type: 'diagnostic', level, category, message }
        : { type: 'diagnostic', level, category, message, metadata },
    );
  }

  /** Ships one statistics window of a job that has not ended (cancellation phases included). */
  statsWindow(jobId: number, windowSeq: number, payload: Uint8Array): Accepted {
    const job = this.reportableJob(jobId);
    if (!job.ok) return job;
    if (job.phase === 'completed' || job.phase === 'failed') {
      return refused({ kind: 'stats_window_for_terminal_job', jobId, state: job.phase });
    }
    return this.send({ type: 'stats_window', jobId, windowSeq, payload });
  }

  // ─── Inbound: main-thread envelopes ───────────────────────────────────────────────────────

  handleInbound(envelope: PoolEnvelope): EndpointInboundResult {
    const invalid = validateEnvelope(envelope);
    if (invalid !== null) return { ok: false, error: invalid };
    const { op } = envelope;
    if (isWorkerOp(op)) {
      return refused({ kind: 'unexpected_direction', op: op.type, receivedBy: 'worker' });
    }
    if (envelope.seqNo <= this.lastInboundSeq) {
      return refused({
        kind: 'inbound_sequence_not_fresh',
        lastSeen: this.lastInboundSeq,
        actual: envelope.seqNo,
      });
    }
    this.lastInboundSeq = envelope.seqNo;
    const applied = this.apply(op);
    return applied instanceof ChannelError
      ? { ok: false, error: applied }
      : { ok: true, commands: applied };
  }

  private apply(op: MainOp): readonly WorkerCommand[] | ChannelError {
    if (op.type === 'shutdown_worker') {
      if (this.phaseNow === 'shutting_down' || this.phaseNow === 'stopped') {
        return new ChannelError({ kind: 'shutdown_in_progress' });
      }
      this.phaseNow = 'shutting_down';
      return [{ type: 'shutdown', reason: op.reason }];
    }
    if (this.phaseNow === 'shutting_down' || this.phaseNow === 'stopped') {
      return new ChannelError({ kind: 'shutdown_in_progress' });
    }
    if (this.phaseNow !== 'ready') return new ChannelError({ kind: 'worker_not_ready' });
    switch (op.type) {
      case 'spawn_job': {
        if (this.jobs.has(op.jobId)) {
          return new ChannelError({ kind: 'duplicate_job_id', jobId: op.jobId });
        }
        if (!this.makeRoomForJob()) {
          return new ChannelError({
            kind: 'limit_exceeded',
            resource: 'tracked_jobs',
            limit: this.maxTrackedJobs,
          });
        }
        this.jobs.set(op.jobId, 'queued');
        const request: SpawnJobRequest = {
          jobId: op.jobId,
          regionId: op.regionId,
          taskId: op.taskId,
          obligationId: op.obligationId,
          payload: op.payload,
        };
        return [{ type: 'spawn', jobId: op.jobId, request }];
      }
      case 'poll_status': {
        const phase = this.jobs.get(op.jobId);
        if (phase === undefined) {
          return new ChannelError({ kind: 'unknown_job_id', jobId: op.jobId });
        }
        // Only a queued or running job has a state a snapshot may report.
        return phase === 'queued' || phase === 'running' ? [{ type: 'poll', jobId: op.jobId }] : [];
      }
      case 'cancel_job': {
        const phase = this.jobs.get(op.jobId);
        if (phase === undefined) {
          return new ChannelError({ kind: 'unknown_job_id', jobId: op.jobId });
        }
        if (phase === 'completed' || phase === 'failed') return []; // completion won the race
        if (phase !== 'queued' && phase !== 'running') {
          return new ChannelError({
            kind: 'invalid_transition',
            jobId: op.jobId,
            from: toJobState(phase),
            to: 'cancel_requested',
          });
        }
        this.jobs.set(op.jobId, 'cancel_requested');
        return [{ type: 'cancel', jobId: op.jobId, reason: op.reason }];
      }
      case 'drain_job':
        return this.followControl(op.jobId, 'cancel_acknowledged', 'draining', {
          type: 'drain',
          jobId: op.jobId,
        });
      case 'finalize_job':
        return this.followControl(op.jobId, 'drained', 'finalizing', {
          type: 'finalize',
          jobId: op.jobId,
        });
    }
  }

  /** drain_job is legal only after our cancel_acknowledged, finalize_job after drain_completed. */
  private followControl(
    jobId: number,
    expected: WorkerJobPhase,
    next: WorkerJobPhase,
    command: WorkerCommand,
  ): readonly WorkerCommand[] | ChannelError {
    const phase = this.jobs.get(jobId);
    if (phase === undefined) return new ChannelError({ kind: 'unknown_job_id', jobId });
    if (phase !== expected) {
      return new ChannelError({
        kind: 'invalid_transition',
        jobId,
        from: toJobState(phase),
        to: toJobState(next),
      });
    }
    this.jobs.set(jobId, next);
    return [command];
  }

  // ─── Internals ────────────────────────────────────────────────────────────────────────────

  private answerControl(
    jobId: number,
    expected: WorkerJobPhase,
    next: WorkerJobPhase,
    nextJobState: JobState,
    op: WorkerOp,
  ): Accepted {
    const job = this.reportableJob(jobId);
    if (!job.ok) return job;
    if (job.phase !== expected) {
      return refused({
        kind: 'invalid_transition',
        jobId,
        from: toJobState(job.phase),
        to: nextJobState,
      });
    }
    return this.sendAndMove(op, jobId, next);
  }

  private reportableJob(
    jobId: number,
  ):
    | { readonly ok: true; readonly phase: WorkerJobPhase }
    | { readonly ok: false; readonly error: ChannelError } {
    if (!REPORTING_PHASES.has(this.phaseNow)) return refused(this.notReporting());
    const phase = this.jobs.get(jobId);
    if (phase === undefined) return refused({ kind: 'unknown_job_id', jobId });
    return { ok: true, phase };
  }

  private wrongPhase(op: WorkerOp['type']): { readonly ok: false; readonly error: ChannelError } {
    return refused({ kind: 'invalid_endpoint_phase', op, phase: this.phaseNow });
  }

  private notReporting():
    { readonly kind: 'worker_not_ready' } | { readonly kind: 'shutdown_in_progress' } {
    return this.phaseNow === 'stopped'
      ? { kind: 'shutdown_in_progress' }
      : { kind: 'worker_not_ready' };
  }

  private sendAndMove(op: WorkerOp, jobId: number, next: WorkerJobPhase): Accepted {
    const sent = this.send(op);
    if (sent.ok) this.jobs.set(jobId, next);
    return sent;
  }

  private send(op: WorkerOp): Accepted {
    const invalid = validateOp(op);
    if (invalid !== null) return { ok: false, error: invalid };
    const full = this.outbox.full();
    if (full !== null) return full;
    this.outbox.push(op);
    return ACCEPTED;
  }

  /** Forgets the oldest terminal job if the table is full; false when every job is live. */
  private makeRoomForJob(): boolean {
    if (this.jobs.size < this.maxTrackedJobs) return true;
    for (const [jobId, phase] of this.jobs) {
      if (phase === 'completed' || phase === 'failed') {
        this.jobs.delete(jobId);
        return true;
      }
    }
    return false;
  }
}

/** The coordinator-visible state a worker-side phase corresponds to. */
function toJobState(phase: WorkerJobPhase): JobState {
  switch (phase) {
    case 'cancel_acknowledged':
      return 'cancel_requested';
    case 'drained':
      return 'draining';
    default:
      return phase;
  }
}
