// Owns the wire form of what a gate and a datacenter's managers say about jobs (`dc.*`,
// `bundle.*`): message definitions and their schemas only. Values typed `unknown` here (executor
// shares, setup data, context, windows) are validated by the node that uses them.

import { MAX_FRAME_BYTES } from '../../protocol/framing.js';
import { defineMessage, type MessageDef, type MessageOf } from '../../protocol/messages.js';
import { s } from '../../protocol/schema.js';

/** Longest job, workflow, DC, node or worker id on the job path, in UTF-16 units. */
export const MAX_JOB_ID_CHARS = 256;
/** Windows in one `dc.windows` batch. */
export const MAX_WINDOWS_PER_BATCH = 512;
/** Workers one DC may report about in one message. */
export const MAX_WORKERS_PER_MESSAGE = 10_000;
/** Longest failure, note or reason text. */
export const MAX_TEXT_CHARS = 4096;
/** Notes per workflow part. */
export const MAX_NOTES = 50;

const id = s.string({ minLength: 1, maxLength: MAX_JOB_ID_CHARS });
const text = s.string({ maxLength: MAX_TEXT_CHARS });
const address = s.object({
  host: s.string({ minLength: 1, maxLength: 255 }),
  port: s.uint({ max: 65_535 }),
});
/** A content-addressed bundle: its SHA-256 (hex) and size; the source is fetched by hash. */
const bundleRef = s.object({
  hash: s.string({ minLength: 64, maxLength: 64 }),
  sizeBytes: s.uint({ max: MAX_FRAME_BYTES }),
  /** The file name the user submitted (for messages only). */
  file: s.string({ minLength: 1, maxLength: 1024 }),
});
const network = s.object({ requests: s.uint(), bytesSent: s.uint(), bytesReceived: s.uint() });
const published = s.record(s.object({ value: s.unknown(), atMs: s.number() }), { maxKeys: 256 });

// ─── gate → manager ───────────────────────────────────────────────────────────────────────────

/** What the DC can take now; any manager answers, naming the leader it knows. */
export const DcCapacityDef = defineMessage('dc.capacity', {});
export const DcCapacityInfoDef = defineMessage('dc.capacity-info', {
  dc: id,
  leader: s.nullable(s.object({ nodeId: id, address })),
  workers: s.uint(),
  healthyWorkers: s.uint(),
  totalCores: s.uint(),
  freeCores: s.uint(),
});

/** One workflow's share for this DC; the manager leader splits it over its workers. */
export const DcDispatchDef = defineMessage('dc.dispatch', {
  job: id,
  /** The owner gate's fence for this job (ledger); older fences are refused. */
  fence: s.uint(),
  ownerGate: id,
  /** Where windows and results go (the owner gate's address). */
  ownerAddress: address,
  workflow: id,
  /** Attempt number of this dispatch; a retry with the same attempt is a duplicate. */
  attempt: s.uint({ min: 1 }),
  bundle: bundleRef,
  /** The DC's share of the workflow's executor (an ExecutorShare), validated by the manager. */
  share: s.unknown(),
  data: s.unknown(),
  context: s.record(s.unknown(), { maxKeys: 1000 }),
  baseUrl: s.optional(s.string({ maxLength: 2048 })),
  windowMs: s.uint({ min: 10, max: 60_000 }),
  cancelGraceMs: s.uint({ max: 3_600_000 }),
  /** The workflow's explicit priority (higher is served first), or absent/null for "auto". */
  priority: s.optional(s.nullable(s.number())),
  /** The workflow runs alone on the DC (nothing else starts beside it). */
  exclusive: s.optional(s.boolean()),
});
export const DcAcceptedDef = defineMessage('dc.accepted', {
  job: id,
  dc: id,
  workflow: id,
  /** The manager leader's fence for this dispatch (its Raft term and sequence). */
  managerFence: s.uint(),
  workers: s.array(id, { maxItems: MAX_WORKERS_PER_MESSAGE }),
  cores: s.uint(),
  duplicate: s.boolean(),
});

/** Runs one hook once on one worker of this DC. */
export const DcHookDef = defineMessage('dc.hook', {
  job: id,
  fence: s.uint(),
  workflow: id,
  hook: s.enum('setup', 'teardown'),
  timeoutMs: s.uint({ min: 1, max: 3_600_000 }),
  /** The owner gate's address, where the DC fetches the bundle (`bundle.get`). */
  ownerAddress: s.optional(address),
  bundle: bundleRef,
  data: s.unknown(),
  context: s.record(s.unknown(), { maxKeys: 1000 }),
  baseUrl: s.optional(s.string({ maxLength: 2048 })),
});
export const DcHookResultDef = defineMessage('dc.hook-result', {
  job: id,
  workflow: id,
  hook: s.enum('setup', 'teardown'),
  ok: s.boolean(),
  value: s.unknown(),
  error: s.optional(text),
  /** The worker the hook ran on. */
  worker: s.optional(id),
});

/** Cancels the job's work on this DC (all workflows, or one). */
export const DcCancelDef = defineMessage('dc.cancel', {
  job: id,
  fence: s.uint(),
  workflow: s.optional(id),
  reason: text,
  /** How long the manager waits for its workers' acknowledgements. */
  timeoutMs: s.uint({ min: 1, max: 600_000 }),
});
export const DcCancelAckDef = defineMessage('dc.cancel-ack', {
  job: id,
  dc: id,
  acknowledged: s.array(id, { maxItems: MAX_WORKERS_PER_MESSAGE }),
  /** Workers that did not acknowledge within the timeout. */
  unanswered: s.array(id, { maxItems: MAX_WORKERS_PER_MESSAGE }),
});

/**
 * The job moved to this gate (a higher fence, committed in the ledger): the DC sends its windows
 * and workflow ends here from now on, and everything it already sent to the old owner again.
 */
export const DcAdoptDef = defineMessage('dc.adopt', {
  job: id,
  fence: s.uint(),
  ownerGate: id,
  ownerAddress: address,
  /** The job's bundle (the DC fetches it from the new owner when it has not cached it). */
  bundleHash: s.optional(s.string({ minLength: 64, maxLength: 64 })),
});
export const DcAdoptedDef = defineMessage('dc.adopted', {
  job: id,
  dc: id,
  /** Each workflow the DC accepted, with its end so far (null: still running). */
  workflows: s.record(s.nullable(s.enum('completed', 'failed', 'cancelled')), {
    maxKeys: 1000,
  }),
  /** Windows queued again for the new owner. */
  requeued: s.uint(),
  /**
   * False when the DC cannot send again every window it sent before (its leader changed during
   * the job, or a retention bound was passed): the job's statistics miss some of this DC's.
   */
  complete: s.boolean(),
});

/** The job ended: the DC lets go of what it kept for a new owner (windows, ends, hook results). */
export const DcReleaseDef = defineMessage('dc.release', { job: id, fence: s.uint() });
export const DcReleasedDef = defineMessage('dc.released', { job: id, dc: id });

// ─── manager → gate ───────────────────────────────────────────────────────────────────────────

/** A batch of statistics windows; the gate acknowledges it, the manager retries until then. */
export const DcWindowsDef = defineMessage('dc.windows', {
  job: id,
  dc: id,
  fence: s.uint(),
  windows: s.array(
    s.object({
      /** The window's source: `worker#incarnation/thread`, numbered 1, 2, 3… without gaps. */
      source: id,
      workflow: id,
      seq: s.uint({ min: 1 }),
      window: s.unknown(),
    }),
    { maxItems: MAX_WINDOWS_PER_BATCH },
  ),
});
export const DcWindowsAckDef = defineMessage('dc.windows-ack', {
  job: id,
  merged: s.uint(),
  duplicates: s.uint(),
  rejected: s.uint(),
});

/** One workflow's end on this DC: each worker part's outcome. Acknowledged; retried until then. */
export const DcWorkflowDoneDef = defineMessage('dc.workflow-done', {
  job: id,
  dc: id,
  fence: s.uint(),
  workflow: id,
  outcome: s.enum('completed', 'failed', 'cancelled'),
  parts: s.array(
    s.object({
      worker: id,
      failure: s.optional(text),
      published,
      network,
      interrupted: s.uint(),
      notes: s.array(text, { maxItems: MAX_NOTES }),
    }),
    { maxItems: MAX_WORKERS_PER_MESSAGE },
  ),
});
export const DcWorkflowDoneAckDef = defineMessage('dc.workflow-done-ack', {
  job: id,
  workflow: id,
});

// ─── bundles ──────────────────────────────────────────────────────────────────────────────────

/** Fetches a bundle by hash from a node that has it (the owner gate, or a manager). */
export const BundleGetDef = defineMessage('bundle.get', {
  hash: s.string({ minLength: 64, maxLength: 64 }),
});
export const BundleDataDef = defineMessage('bundle.data', {
  hash: s.string({ minLength: 64, maxLength: 64 }),
  /** The bundled JavaScript (ESM) of the workflow file. */
  source: s.string({ maxLength: MAX_FRAME_BYTES - 4096 }),
});

export const DC_MESSAGES: readonly MessageDef[] = [
  DcCapacityDef,
  DcCapacityInfoDef,
  DcDispatchDef,
  DcAcceptedDef,
  DcHookDef,
  DcHookResultDef,
  DcCancelDef,
  DcCancelAckDef,
  DcWindowsDef,
  DcWindowsAckDef,
  DcWorkflowDoneDef,
  DcWorkflowDoneAckDef,
  BundleGetDef,
  BundleDataDef,
  DcAdoptDef,
  DcAdoptedDef,
  DcReleaseDef,
  DcReleasedDef,
];

export type DcDispatch = MessageOf<typeof DcDispatchDef>;
export type DcWindows = MessageOf<typeof DcWindowsDef>;
export type DcWorkflowDone = MessageOf<typeof DcWorkflowDoneDef>;
export type DcHook = MessageOf<typeof DcHookDef>;
export type DcCancel = MessageOf<typeof DcCancelDef>;
export type DcAdopted = MessageOf<typeof DcAdoptedDef>;
