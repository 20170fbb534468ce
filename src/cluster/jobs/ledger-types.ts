// Owns the data of the gate job ledger: the commands Raft commits, the events and answers the
// ledger returns, its error codes, its bounds and their documented defaults. Pure data only.

import type { Rejection } from './errors.js';

/** How one datacenter's share of a job ended. */
export type DcOutcome = 'completed' | 'failed' | 'cancelled' | 'timed-out';
/** A datacenter's share of a job: not yet accepted, accepted by its manager leader, or ended. */
export type DcState = 'pending' | 'accepted' | DcOutcome;
/** Global job status; the last three are terminal. */
export type JobStatus =
  'submitted' | 'running' | 'cancelling' | 'completed' | 'failed' | 'cancelled';
export type EndedStatus = 'completed' | 'failed' | 'cancelled';

export const DC_OUTCOMES: readonly DcOutcome[] = ['completed', 'failed', 'cancelled', 'timed-out'];

/**
 * Every command carries `atMs`, stamped by the proposing gate before it enters the log, so that
 * each replica applying it computes the same state (the ledger never reads a clock).
 */
export type LedgerCommand =
  | (Pick<
      JobFields,
      'jobId' | 'client' | 'idempotencyKey' | 'payloadDigest' | 'ownerGate' | 'fence'
    > & {
      readonly type: 'submit';
      readonly atMs: number;
      readonly targetDcs: readonly string[];
      /**
       * When the job times out (absolute wall time, ms): after `atMs`, at most `maxJobTimeoutMs`
       * after it. Absent or null only in entries written before jobs had deadlines.
       */
      readonly deadlineMs?: number | null;
      /**
       * What another gate needs to run the job on when its owner is lost (the plan, the bundle
       * and the reporters, opaque here), at most `maxResumeChars` as JSON; absent or null when it
       * was too large to replicate (such a job cannot move: it ends when its owner is lost).
       */
      readonly resume?: unknown;
    })
  | {
      readonly type: 'dc-accepted';
      readonly atMs: number;
      readonly jobId: string;
      readonly dc: string;
      readonly fence: number;
    }
  | {
      readonly type: 'cancel-requested';
      readonly atMs: number;
      readonly jobId: string;
      readonly reason: string;
    }
  | {
      readonly type: 'dc-finished';
      readonly atMs: number;
      readonly jobId: string;
      readonly dc: string;
      readonly outcome: DcOutcome;
      readonly fence: number;
    }
  | {
      readonly type: 'complete';
      readonly atMs: number;
      readonly jobId: string;
      readonly fence: number;
      /** Why the job ended as it did (e.g. its deadline passed), kept as `endReason`. */
      readonly reason?: string;
    }
  | {
      readonly type: 'transfer-owner';
      readonly atMs: number;
      readonly jobId: string;
      readonly ownerGate: string;
      readonly fence: number;
    }
  | { readonly type: 'sweep'; readonly atMs: number };

export type LedgerCommandType = LedgerCommand['type'];

/** What a submission is answered with; a duplicate submission gets the very same answer. */
export interface SubmitAnswer {
  readonly jobId: string;
  readonly submittedAtMs: number;
  readonly ownerGate: string;
  readonly fence: number;
  readonly targetDcs: readonly string[];
}

export type LedgerEvent =
  | { readonly type: 'job-submitted'; readonly jobId: string }
  | { readonly type: 'dc-accepted'; readonly jobId: string; readonly dc: string }
  | {
      readonly type: 'status-changed';
      readonly jobId: string;
      readonly from: JobStatus;
      readonly to: JobStatus;
    }
  | { readonly type: 'cancel-requested'; readonly jobId: string; readonly reason: string }
  | {
      readonly type: 'dc-finished';
      readonly jobId: string;
      readonly dc: string;
      readonly outcome: DcOutcome;
    }
  | {
      readonly type: 'owner-changed';
      readonly jobId: string;
      readonly ownerGate: string;
      readonly fence: number;
    }
  | {
      readonly type: 'job-ended';
      readonly jobId: string;
      readonly status: EndedStatus;
      readonly dcs: Readonly<Record<string, DcOutcome>>;
    }
  | { readonly type: 'job-evicted'; readonly jobId: string; readonly cause: 'age' | 'count' };

export type LedgerErrorCode =
  /** A field is missing, of the wrong type or beyond its bound. */
  | 'E_INVALID_COMMAND'
  | 'E_JOB_UNKNOWN'
  /** The job id is taken by a submission with another payload. */
  | 'E_JOB_EXISTS'
  /** The idempotency key was used for a submission with another payload. */
  | 'E_IDEMPOTENCY_CONFLICT'
  /** As many jobs as `maxActiveJobs` have not ended yet. */
  | 'E_LEDGER_FULL'
  /** The command's fence is older than the job's owner fence (a deposed owner). */
  | 'E_STALE_FENCE'
  /** The command's fence is newer than the job's, without an ownership transfer. */
  | 'E_FENCE_AHEAD'
  /** The datacenter is not one of the job's targets. */
  | 'E_UNKNOWN_DC'
  /** The command is not legal in the job's or the datacenter's current state. */
  | 'E_ILLEGAL_TRANSITION'
  /** The job has ended; nothing but reading it is legal. */
  | 'E_JOB_ENDED'
  /** The job cannot end while a target datacenter has not finished. */
  | 'E_DCS_PENDING';

/** A refused command; `events` holds the evictions its timestamp caused before it was refused. */
export type LedgerRejection = Rejection<LedgerErrorCode> & {
  readonly events: readonly LedgerEvent[];
};

export interface LedgerApplied {
  readonly ok: true;
  /** True when the command repeated one already applied: nothing changed and no event came out. */
  readonly duplicate: boolean;
  readonly events: readonly LedgerEvent[];
  /** For `submit` (and its duplicates): the original answer. */
  readonly answer?: SubmitAnswer;
}

export type LedgerResult = LedgerApplied | LedgerRejection;

/** What every view of a job holds, whether read by a caller or kept in a snapshot. */
export interface JobFields {
  readonly jobId: string;
  /** The authenticated submitter; idempotency keys are scoped to it. */
  readonly client: string;
  readonly idempotencyKey: string | null;
  /** Digest of the submission (bundle, options, targets): what "the same payload" means. */
  readonly payloadDigest: string;
  /** The gate that owns the job now, and its fence token. */
  readonly ownerGate: string;
  readonly fence: number;
  readonly status: JobStatus;
  readonly submittedAtMs: number;
  readonly endedAtMs: number | null;
  readonly cancelReason: string | null;
  /** When the job times out (absolute wall time, ms); null for a job without a deadline. */
  readonly deadlineMs: number | null;
  /** Why the job ended, when its owner said (e.g. "timed out after 5m: b did not finish"). */
  readonly endReason: string | null;
}

/** A read-only view of one job. */
export interface JobView extends JobFields {
  /** Each target datacenter's state. */
  readonly dcs: Readonly<Record<string, DcState>>;
  /** The target datacenters in the order the submission named them. */
  readonly targetDcs: readonly string[];
}

export interface LedgerConfig {
  /** Jobs not yet ended; a submission beyond it is refused with E_LEDGER_FULL. */
  readonly maxActiveJobs: number;
  /** Ended jobs kept for status queries and idempotent answers; the oldest go first. */
  readonly maxEndedJobs: number;
  /** How long a completed job is kept after it ended (REFERENCE §4.2 step 11: 300 s). */
  readonly completedRetentionMs: number;
  /** How long a failed or cancelled job is kept after it ended (REFERENCE: 3600 s). */
  readonly unsuccessfulRetentionMs: number;
  readonly maxTargetDcs: number;
  /** Longest job id, client, key, digest, gate or DC name, in UTF-16 units. */
  readonly maxIdChars: number;
  /** Cancel and end reasons are cut to this many characters. */
  readonly maxReasonChars: number;
  /** Longest job timeout: a submit's `deadlineMs` is at most this long after its `atMs`. */
  readonly maxJobTimeoutMs: number;
  /** Largest `resume` payload of a submit, in JSON characters (Raft entries are capped). */
  readonly maxResumeChars: number;
}

/**
 * Defaults: retention as in REFERENCE §4.2; 10 000 live and 10 000 ended jobs per gate cluster;
 * a job may run for at most 24 h.
 */
export const DEFAULT_LEDGER_CONFIG: LedgerConfig = {
  maxActiveJobs: 10_000,
  maxEndedJobs: 10_000,
  completedRetentionMs: 300_000,
  unsuccessfulRetentionMs: 3_600_000,
  maxTargetDcs: 64,
  maxIdChars: 256,
  maxReasonChars: 512,
  maxJobTimeoutMs: 86_400_000,
  // Raft proposals are capped at 256 KiB; the rest of a submit is small.
  maxResumeChars: 192 * 1024,
};
