// Owns the wire form of what a client and a gate say about jobs (`job.*`): the message
// definitions and their schemas, the error codes a gate answers with, and how those errors are
// built. Values typed `unknown` here (the plan, live statistics, the results document) are
// validated by the module that uses them.

import { MAX_JOB_TIMEOUT_MS, MIN_JOB_TIMEOUT_MS } from '../../cluster/jobs/job-timeouts.js';
import { MAX_FRAME_BYTES } from '../../protocol/framing.js';
import type { ErrorMessage } from '../../protocol/errors.js';
import { defineMessage, type MessageDef, type MessageOf } from '../../protocol/messages.js';
import { s } from '../../protocol/schema.js';
import { MAX_JOB_ID_CHARS, MAX_TEXT_CHARS } from './dc-wire.js';
import { MAX_JOB_REPORTERS } from '../../reporters/job-config.js';

/** Longest idempotency key or access token, in UTF-16 units. */
export const MAX_KEY_CHARS = 256;
/** Datacenters one submission may name. */
export const MAX_SUBMIT_DCS = 64;
/** Windows one `job.snapshot` carries at most (a new watcher's history: every DC's kept series). */
export const MAX_SNAPSHOT_WINDOWS = 20_000;
/** Jobs one `job.views` answer lists at most. */
export const MAX_LISTED_JOBS = 1000;

/** Every error a gate answers a job request with (besides the wire protocol's own codes). */
export const CLIENT_ERROR_CODES = [
  'E_UNAUTHENTICATED',
  'E_RATE_LIMITED',
  'E_BUNDLE_TOO_LARGE',
  'E_UNKNOWN_DC',
  'E_NO_WORKERS',
  'E_IDEMPOTENCY_CONFLICT',
  'E_JOB_UNKNOWN',
  'E_NOT_OWNER',
  'E_VERSION',
  /** The submission is malformed beyond its schema (bad plan, hash not matching the source). */
  'E_INVALID_SUBMISSION',
  /** The ledger has no quorum or leader right now, or it is full; retry later. */
  'E_UNAVAILABLE',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

const id = s.string({ minLength: 1, maxLength: MAX_JOB_ID_CHARS });
const text = s.string({ maxLength: MAX_TEXT_CHARS });
const token = s.optional(s.string({ minLength: 1, maxLength: MAX_KEY_CHARS }));
const address = s.object({
  host: s.string({ minLength: 1, maxLength: 255 }),
  port: s.uint({ max: 65_535 }),
});
const jobStatus = s.enum('submitted', 'running', 'cancelling', 'completed', 'failed', 'cancelled');
const dcState = s.enum('pending', 'accepted', 'completed', 'failed', 'cancelled', 'timed-out');
const dcStates = s.record(dcState, { maxKeys: MAX_SUBMIT_DCS });

/** How one reporter fared (the runner's ReporterOutcome). */
const reporterOutcome = s.object({
  name: s.string({ minLength: 1, maxLength: 200 }),
  state: s.enum('ok', 'degraded', 'failed'),
  delivered: s.uint(),
  dropped: s.uint(),
  retries: s.uint(),
  finalDelivered: s.boolean(),
  error: s.optional(text),
});

/** One job as `job.status` and `job.list` show it (from the replicated ledger). */
const jobView = s.object({
  job: id,
  client: id,
  status: jobStatus,
  ownerGate: id,
  fence: s.uint(),
  submittedAtMs: s.number({ min: 0 }),
  endedAtMs: s.nullable(s.number({ min: 0 })),
  cancelReason: s.nullable(text),
  targetDcs: s.array(id, { maxItems: MAX_SUBMIT_DCS }),
  dcs: dcStates,
  /** When the job times out (wall time, ms); null: no deadline (absent from older gates). */
  deadlineMs: s.optional(s.nullable(s.number({ min: 0 }))),
  /** Why the job ended, when its owner said (e.g. it timed out). */
  endReason: s.optional(s.nullable(text)),
});

// ─── client → gate ────────────────────────────────────────────────────────────────────────────

/**
 * A job: the bundled workflow file (its source travels once, with its SHA-256 as the content
 * address workers cache it by), the serialisable plan the client computed, and where to run it.
 */
export const JobSubmitDef = defineMessage('job.submit', {
  bundle: s.object({
    hash: s.string({ minLength: 64, maxLength: 64 }),
    sizeBytes: s.uint({ max: MAX_FRAME_BYTES }),
    file: s.string({ minLength: 1, maxLength: 1024 }),
  }),
  /** The bundled JavaScript (ESM); its UTF-8 SHA-256 must equal `bundle.hash`. */
  source: s.string({ maxLength: MAX_FRAME_BYTES - 64 * 1024 }),
  /** The PlanSpec; validated by the run module. */
  plan: s.unknown(),
  /** Target datacenters by name; absent: the gate picks by capacity. */
  dcs: s.optional(s.array(id, { maxItems: MAX_SUBMIT_DCS })),
  /** How many datacenters to pick when `dcs` is absent (default 1). */
  dcCount: s.optional(s.uint({ min: 1, max: MAX_SUBMIT_DCS })),
  idempotencyKey: s.optional(s.string({ minLength: 1, maxLength: MAX_KEY_CHARS })),
  /**
   * How long the job may run, from its acceptance, before its owner gate ends it as timed out
   * (1 s to 24 h; a gate may allow less). Absent: the plan's planned duration plus max(60 s,
   * 50 % of it), at most the gate's maximum. Not part of the payload an idempotency key guards.
   */
  timeoutMs: s.optional(s.uint({ min: MIN_JOB_TIMEOUT_MS, max: MAX_JOB_TIMEOUT_MS })),
  /**
   * Reporter configs the owner gate runs on the merged job (`{kind, …}` as `salvo run --report`
   * takes them; custom reporter objects are not serialisable and never sent). File paths are
   * relative to the gate's `<data dir>/reports/<job>/`. Validated by the reporters module.
   */
  // Decoding is bounded at 4× the limit so the gate can say how many were sent and what is allowed.
  reports: s.optional(s.array(s.unknown(), { maxItems: 4 * MAX_JOB_REPORTERS })),
  /** An access token the gates are configured with (clients without a certificate). */
  token,
});

/** The answer to a submission; a duplicate of an earlier one (same key) gets the same answer. */
export const JobAcceptedDef = defineMessage('job.accepted', {
  job: id,
  ownerGate: id,
  ownerAddress: address,
  fence: s.uint(),
  submittedAtMs: s.number({ min: 0 }),
  targetDcs: s.array(id, { maxItems: MAX_SUBMIT_DCS }),
  /** True when this answer repeats the one given to an earlier submission with the same key. */
  duplicate: s.boolean(),
});

export const JobStatusDef = defineMessage('job.status', { job: id, token });
export const JobViewDef = defineMessage('job.view', { view: jobView });

export const JobListDef = defineMessage('job.list', {
  token,
  /** Only jobs in one of these states. */
  status: s.optional(s.array(jobStatus, { maxItems: 6 })),
  limit: s.optional(s.uint({ min: 1, max: MAX_LISTED_JOBS })),
});
export const JobViewsDef = defineMessage('job.views', {
  jobs: s.array(jobView, { maxItems: MAX_LISTED_JOBS }),
  /** More jobs matched than were listed. */
  truncated: s.boolean(),
});

/** Asks the owner gate for the job's live stream: the reply is the first `job.snapshot`. */
export const JobWatchDef = defineMessage('job.watch', { job: id, token });
/** The job's state now (the reply to `job.watch`, then a notification at least once a second). */
export const JobSnapshotDef = defineMessage('job.snapshot', {
  job: id,
  status: jobStatus,
  /** Increases with every snapshot of this job. */
  seq: s.uint({ min: 1 }),
  elapsedMs: s.number({ min: 0 }),
  dcs: dcStates,
  /** The live statistics (the run's snapshot); shape owned by the run module. */
  stats: s.unknown(),
  /** Per datacenter so far: its merged totals and each worker's (as in `job.result`). */
  breakdown: s.optional(s.record(s.unknown(), { maxKeys: MAX_SUBMIT_DCS })),
  /**
   * The newest sampled windows of the whole job (label `dc` = `*`) and of each datacenter, as
   * the job's reporters get them; the first snapshot of a watch carries every kept window when
   * they fit. Shape owned by src/reporters (checked by the client that reads them).
   */
  windows: s.optional(s.array(s.unknown(), { maxItems: MAX_SNAPSHOT_WINDOWS })),
});
/** The job's end (a notification after the last snapshot, or the reply to a late `job.watch`). */
export const JobResultDef = defineMessage('job.result', {
  job: id,
  status: s.enum('completed', 'failed', 'cancelled'),
  exitCode: s.uint({ max: 255 }),
  /** Each target datacenter's outcome. */
  dcs: s.record(s.enum('completed', 'failed', 'cancelled', 'timed-out'), {
    maxKeys: MAX_SUBMIT_DCS,
  }),
  /** The `salvo.results/v1` document, null when none was built. */
  results: s.unknown(),
  /** Per datacenter: its merged totals and each worker's (windows, requests, ok, failed …). */
  breakdown: s.optional(s.record(s.unknown(), { maxKeys: MAX_SUBMIT_DCS })),
  /** Why the job failed, when it did. */
  failure: s.optional(text),
  /** How each of the job's reporters fared on the owner gate (a failed one fails no job). */
  reporters: s.optional(s.array(reporterOutcome, { maxItems: MAX_JOB_REPORTERS })),
  endedAtMs: s.number({ min: 0 }),
});

export const JobCancelDef = defineMessage('job.cancel', {
  job: id,
  reason: s.optional(text),
  token,
});
export const JobCancelAckDef = defineMessage('job.cancel-ack', {
  job: id,
  /** The job's status after the cancel was recorded. */
  status: jobStatus,
  /** Per target datacenter: workers that acknowledged, and those that did not answer in time. */
  dcs: s.record(
    s.object({
      acknowledged: s.array(id, { maxItems: 10_000 }),
      unanswered: s.array(id, { maxItems: 10_000 }),
      error: s.optional(text),
    }),
    { maxKeys: MAX_SUBMIT_DCS },
  ),
});

export const CLIENT_MESSAGES: readonly MessageDef[] = [
  JobSubmitDef,
  JobAcceptedDef,
  JobStatusDef,
  JobViewDef,
  JobListDef,
  JobViewsDef,
  JobWatchDef,
  JobSnapshotDef,
  JobResultDef,
  JobCancelDef,
  JobCancelAckDef,
];

export type JobSubmit = MessageOf<typeof JobSubmitDef>;
export type JobAccepted = MessageOf<typeof JobAcceptedDef>;
export type JobViewWire = MessageOf<typeof JobViewDef>['view'];
export type JobSnapshot = MessageOf<typeof JobSnapshotDef>;
export type JobResult = MessageOf<typeof JobResultDef>;
export type JobCancelAck = MessageOf<typeof JobCancelAckDef>;

/** Builds a gate's error answer; `details` carries e.g. `retryAfterMs` or the owner's address. */
export function clientError(
  code: ClientErrorCode,
  message: string,
  details?: Record<string, unknown>,
): ErrorMessage {
  return details === undefined
    ? { t: 'error', code, message }
    : { t: 'error', code, message, details };
}
