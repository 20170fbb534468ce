// Owns the typed failure values of the pool coordination protocol (ChannelError and its kinds).
// Never performs I/O or formats anything but its own message; callers decide what to do with it.

import { SalvoError } from '../../errors.js';
import type { JobState } from './job-state.js';

/** A resource of the protocol that has a hard bound (see limits.ts). */
export type BoundedResource = 'tracked_jobs' | 'outbox_messages';

/** Everything a protocol failure can say, discriminated on `kind`. */
export type ChannelErrorDetail =
  | { readonly kind: 'version_mismatch'; readonly expected: number; readonly actual: number }
  /** Replay digests are decimal strings of unsigned 64-bit integers. */
  | { readonly kind: 'replay_hash_mismatch'; readonly expected: string; readonly actual: string }
  | {
      readonly kind: 'inbound_sequence_not_fresh';
      readonly lastSeen: number;
      readonly actual: number;
    }
  | { readonly kind: 'missing_worker_session_identity'; readonly op: string }
  | {
      readonly kind: 'unexpected_worker_session_identity';
      readonly op: string;
      readonly workerId: string;
    }
  | {
      readonly kind: 'worker_identity_mismatch';
      readonly expected: string;
      readonly actual: string;
    }
  | {
      readonly kind: 'inbound_worker_session_mismatch';
      /** The active worker session, or null when none is active. */
      readonly expected: string | null;
      readonly actual: string;
    }
  | {
      readonly kind: 'payload_too_large';
      /** Which field was too large, e.g. `op.payload` or `op.reason`. */
      readonly field: string;
      readonly sizeBytes: number;
      readonly maxBytes: number;
    }
  | {
      readonly kind: 'invalid_transition';
      readonly jobId: number;
      readonly from: JobState;
      readonly to: JobState;
    }
  | { readonly kind: 'terminal_status_snapshot'; readonly jobId: number; readonly state: JobState }
  | {
      readonly kind: 'invalid_status_snapshot_state';
      readonly jobId: number;
      readonly state: JobState;
    }
  | {
      readonly kind: 'unexpected_completion_phase';
      readonly jobId: number;
      readonly state: JobState;
    }
  | {
      readonly kind: 'stats_window_for_terminal_job';
      readonly jobId: number;
      readonly state: JobState;
    }
  | { readonly kind: 'job_not_terminal'; readonly jobId: number; readonly state: JobState }
  | { readonly kind: 'worker_not_ready' }
  | {
      readonly kind: 'invalid_endpoint_phase';
      /** What the worker shell tried, e.g. `bootstrap_ready`. */
      readonly op: string;
      readonly phase: string;
    }
  | { readonly kind: 'shutdown_in_progress' }
  | { readonly kind: 'duplicate_job_id'; readonly jobId: number }
  | { readonly kind: 'unknown_job_id'; readonly jobId: number }
  | { readonly kind: 'limit_exceeded'; readonly resource: BoundedResource; readonly limit: number }
  | { readonly kind: 'bootstrap_failed'; readonly workerId: string; readonly reason: string }
  | {
      readonly kind: 'unexpected_direction';
      readonly op: string;
      /** Which side received the operation that only it may send. */
      readonly receivedBy: 'main' | 'worker';
    }
  | {
      readonly kind: 'malformed_envelope';
      /** Dotted path of the offending field, e.g. `op.outcome.status`; `` for the whole value. */
      readonly path: string;
      readonly problem: string;
    };

export type ChannelErrorKind = ChannelErrorDetail['kind'];

/** The detail of one kind, for callers that narrow on `error.detail.kind`. */
export type ChannelErrorDetailOf<K extends ChannelErrorKind> = Extract<
  ChannelErrorDetail,
  { kind: K }
>;

/** A coordination-protocol failure: a rejected message, a refused command, a broken rule. */
export class ChannelError extends SalvoError {
  readonly detail: ChannelErrorDetail;

  constructor(detail: ChannelErrorDetail) {
    super('E_PROTOCOL', describeChannelError(detail));
    this.detail = detail;
  }

  get kind(): ChannelErrorKind {
    return this.detail.kind;
  }
}

/** The result of a command that either happened or was refused. */
export type Accepted = { readonly ok: true } | { readonly ok: false; readonly error: ChannelError };

export const ACCEPTED: Accepted = Object.freeze({ ok: true });

export function refused(detail: ChannelErrorDetail): {
  readonly ok: false;
  readonly error: ChannelError;
} {
  return { ok: false, error: new ChannelError(detail) };
}

function describeChannelError(detail: ChannelErrorDetail): string {
  switch (detail.kind) {
    case 'version_mismatch':
      return `protocol version mismatch: this side speaks ${detail.expected}, the message says ${detail.actual}`;
    case 'replay_hash_mismatch':
      return `replay hash mismatch: metadata and operation digest to ${detail.expected}, the message carries ${detail.actual}`;
    case 'inbound_sequence_not_fresh':
      return `inbound sequence number ${detail.actual} is not fresh: already accepted up to ${detail.lastSeen}`;
    case 'missing_worker_session_identity':
      return `worker-originated '${detail.op}' message carries no worker id`;
    case 'unexpected_worker_session_identity':
      return `main-thread '${detail.op}' message must not carry a worker id, but carries '${detail.workerId}'`;
    case 'worker_identity_mismatch':
      return `envelope worker id '${detail.actual}' differs from the operation's worker id '${detail.expected}'`;
    case 'inbound_worker_session_mismatch':
      return detail.expected === null
        ? `message from worker '${detail.actual}' arrived while no worker session is active`
        : `message from worker '${detail.actual}' does not belong to the active session of '${detail.expected}'`;
    case 'payload_too_large':
      return `${detail.field} is ${detail.sizeBytes} bytes, above the ${detail.maxBytes}-byte limit`;
    case 'invalid_transition':
      return `job ${detail.jobId} cannot move from ${detail.from} to ${detail.to}`;
    case 'terminal_status_snapshot':
      return `job ${detail.jobId}: a status snapshot cannot report the terminal state ${detail.state}; use job_completed or finalize_completed`;
    case 'invalid_status_snapshot_state':
      return `job ${detail.jobId}: a status snapshot cannot report ${detail.state}, a phase the main thread drives`;
    case 'unexpected_completion_phase':
      return `job ${detail.jobId} reported completion while in ${detail.state}`;
    case 'stats_window_for_terminal_job':
      return `job ${detail.jobId} sent a statistics window after reaching ${detail.state}`;
    case 'job_not_terminal':
      return `job ${detail.jobId} is still ${detail.state}; only terminal jobs can be forgotten`;
    case 'worker_not_ready':
      return 'the worker has not reported bootstrap readiness';
    case 'invalid_endpoint_phase':
      return `the worker endpoint cannot send '${detail.op}' while ${detail.phase}`;
    case 'shutdown_in_progress':
      return 'the worker is shutting down';
    case 'duplicate_job_id':
      return `job id ${detail.jobId} is already in use`;
    case 'unknown_job_id':
      return `no job with id ${detail.jobId} is tracked`;
    case 'limit_exceeded':
      return `${detail.resource.replace('_', ' ')} limit of ${detail.limit} reached`;
    case 'bootstrap_failed':
      return `worker '${detail.workerId}' failed to start: ${detail.reason}`;
    case 'unexpected_direction':
      return `the ${detail.receivedBy} side received '${detail.op}', an operation only it may send`;
    case 'malformed_envelope':
      return detail.path === ''
        ? `malformed envelope: ${detail.problem}`
        : `malformed envelope at ${detail.path}: ${detail.problem}`;
  }
}
