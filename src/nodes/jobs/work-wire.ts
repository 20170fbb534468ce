// Owns the wire form of what a datacenter's managers and its workers say to each other
// (`worker.*`, `work.*`): message definitions, their schemas, and the work-protocol version and
// capabilities a worker and a manager agree on. Values typed `unknown` (executor shares, setup
// data, windows) are validated by the node that uses them.

import { defineMessage, type MessageDef, type MessageOf } from '../../protocol/messages.js';
import { s } from '../../protocol/schema.js';
import { MAX_JOB_ID_CHARS, MAX_NOTES, MAX_TEXT_CHARS } from './dc-wire.js';

/** The manager↔worker work protocol this build speaks. A different major is refused. */
export const WORK_PROTOCOL = { major: 1, minor: 0 } as const;
/** Features of the work protocol; a session uses the ones both sides list. */
export const WORK_CAPABILITIES = ['windows.batched', 'work.cancel', 'work.hook'] as const;
/** Windows one `work.windows` message carries. */
export const MAX_WORK_WINDOWS = 256;
/** Threads (cores) one dispatch may use on one worker. */
export const MAX_WORK_THREADS = 4096;
/** Capabilities a node may list. */
export const MAX_WORK_CAPABILITIES = 64;

const id = s.string({ minLength: 1, maxLength: MAX_JOB_ID_CHARS });
const text = s.string({ maxLength: MAX_TEXT_CHARS });
const version = s.object({ major: s.uint({ max: 65_535 }), minor: s.uint({ max: 65_535 }) });
const capabilities = s.array(s.string({ minLength: 1, maxLength: 64 }), {
  maxItems: MAX_WORK_CAPABILITIES,
});
const health = s.enum('healthy', 'busy', 'degraded', 'overloaded');
const bundleRef = s.object({
  hash: s.string({ minLength: 64, maxLength: 64 }),
  sizeBytes: s.uint(),
  file: s.string({ minLength: 1, maxLength: 1024 }),
});
const network = s.object({ requests: s.uint(), bytesSent: s.uint(), bytesReceived: s.uint() });
const published = s.record(s.object({ value: s.unknown(), atMs: s.number() }), { maxKeys: 256 });

// ─── registration and liveness (worker → manager) ────────────────────────────────────────────

export const WorkerRegisterDef = defineMessage('worker.register', {
  worker: id,
  dc: id,
  /** Bumped on every start of the worker process (persisted): a restart is a new incarnation. */
  incarnation: s.uint({ min: 1 }),
  cores: s.uint({ min: 1, max: MAX_WORK_THREADS }),
  memoryBytes: s.uint(),
  version,
  capabilities,
  /** The worker's software version (for operators). */
  build: s.string({ maxLength: 64 }),
});
export const WorkerRegisteredDef = defineMessage('worker.registered', {
  worker: id,
  incarnation: s.uint({ min: 1 }),
  manager: id,
  /** Whether this manager leads the DC now (only the leader dispatches). */
  leader: s.boolean(),
  /** The common work-protocol version (same major, lower minor). */
  version,
  /** Capabilities both sides listed. */
  capabilities,
  heartbeatMs: s.uint({ min: 1 }),
});

/**
 * A part near its deadline asks for more time (sent to the manager leading the part, in the
 * heartbeat): why, and its progress — iterations completed so far, the total when the executor
 * has a fixed count, and the worker's estimate of the time it still needs.
 */
const extensionRequest = s.object({
  dispatchId: id,
  reason: s.string({ maxLength: 256 }),
  completed: s.uint(),
  total: s.optional(s.uint()),
  estimatedMs: s.optional(s.uint()),
});
/** The leader's answer to one request (granted or not, and why), with the part's deadline. */
const extensionDecision = s.object({
  dispatchId: id,
  granted: s.boolean(),
  extensionMs: s.uint(),
  /** Time left until the part's deadline, as the manager counts it (0 when unknown). */
  remainingMs: s.uint(),
  /** Extensions the part may still get. */
  left: s.uint(),
  /** Why not (a stable code and a message), when refused. */
  code: s.optional(s.string({ maxLength: 64 })),
  reason: s.optional(text),
});
/** A live part's deadline as the leader counts it: time left, and the length of its window. */
const partDeadline = s.object({ dispatchId: id, remainingMs: s.uint(), windowMs: s.uint() });

export const WorkerHeartbeatDef = defineMessage('worker.heartbeat', {
  worker: id,
  incarnation: s.uint({ min: 1 }),
  health,
  freeCores: s.uint(),
  activeWork: s.uint(),
  /** Parts that need more time (one request per part; their count is the workflows asking). */
  extensions: s.optional(s.array(extensionRequest, { maxItems: MAX_WORK_THREADS })),
});
export const WorkerHeartbeatAckDef = defineMessage('worker.heartbeat-ack', {
  /** False when the manager does not know this worker incarnation (it should register again). */
  known: s.boolean(),
  /** The leader's decision on each extension request of the heartbeat. */
  extensions: s.optional(s.array(extensionDecision, { maxItems: MAX_WORK_THREADS })),
  /** The deadlines of this worker's live parts that the leader tracks. */
  deadlines: s.optional(s.array(partDeadline, { maxItems: MAX_WORK_THREADS })),
});
/**
 * A worker shutting down, after its parts' windows were delivered: the manager takes it out
 * at once (its parts run elsewhere for what is left of them) instead of waiting for silence.
 */
export const WorkerLeavingDef = defineMessage('worker.leaving', {
  worker: id,
  incarnation: s.uint({ min: 1 }),
  reason: s.string({ maxLength: 256 }),
});
export const WorkerLeavingAckDef = defineMessage('worker.leaving-ack', {
  /** The parts the leader will run elsewhere (empty on a follower). */
  parts: s.array(id, { maxItems: MAX_WORK_THREADS }),
});

// ─── work (manager → worker) ─────────────────────────────────────────────────────────────────

/** One workflow part for one worker: one executor share per thread it is to use. */
export const WorkDispatchDef = defineMessage('work.dispatch', {
  dispatchId: id,
  job: id,
  workflow: id,
  /** The manager leader's fence for this part; a worker refuses one not above the last it saw. */
  fence: s.uint(),
  /** The incarnation of the worker this part is for (a restarted worker refuses it). */
  incarnation: s.uint({ min: 1 }),
  bundle: bundleRef,
  /** One ExecutorShare per thread, validated by the worker. */
  shares: s.array(s.unknown(), { maxItems: MAX_WORK_THREADS }),
  /** Index of this part's first thread among all threads of the workflow, and their count. */
  firstThread: s.uint(),
  threads: s.uint({ min: 1 }),
  data: s.unknown(),
  context: s.record(s.unknown(), { maxKeys: 1000 }),
  baseUrl: s.optional(s.string({ maxLength: 2048 })),
  windowMs: s.uint({ min: 10, max: 60_000 }),
  cancelGraceMs: s.uint({ max: 3_600_000 }),
});
export const WorkAcceptedDef = defineMessage('work.accepted', {
  dispatchId: id,
  threads: s.uint({ min: 1 }),
  duplicate: s.boolean(),
});

/** Runs one hook once on this worker. */
export const WorkHookDef = defineMessage('work.hook', {
  job: id,
  workflow: id,
  hook: s.enum('setup', 'teardown'),
  timeoutMs: s.uint({ min: 1, max: 3_600_000 }),
  bundle: bundleRef,
  data: s.unknown(),
  context: s.record(s.unknown(), { maxKeys: 1000 }),
  baseUrl: s.optional(s.string({ maxLength: 2048 })),
});
export const WorkHookResultDef = defineMessage('work.hook-result', {
  ok: s.boolean(),
  value: s.unknown(),
  error: s.optional(text),
});

export const WorkCancelDef = defineMessage('work.cancel', {
  job: id,
  /** One workflow's parts, or every part of the job on this worker. */
  workflow: s.optional(id),
  fence: s.uint(),
  reason: text,
});
export const WorkCancelAckDef = defineMessage('work.cancel-ack', {
  job: id,
  /** Dispatch ids now cancelling (or already ended) on this worker. */
  cancelling: s.array(id, { maxItems: MAX_WORK_THREADS }),
});

/**
 * A new job leader (a manager that took over the DC's leadership) tells a worker to send the
 * job's parts' windows and ends to it from now on. `fence` is the new leader's (its term's);
 * a worker refuses one from an older term than any it saw for the job.
 */
export const WorkTransferDef = defineMessage('work.transfer', {
  job: id,
  manager: id,
  fence: s.uint(),
  dispatchIds: s.array(id, { maxItems: MAX_WORK_THREADS }),
});
export const WorkTransferAckDef = defineMessage('work.transfer-ack', {
  job: id,
  /** Parts re-pointed now. */
  accepted: s.array(id, { maxItems: MAX_WORK_THREADS }),
  /** Parts not known yet: the transfer is kept and applied when their dispatch arrives. */
  pending: s.array(id, { maxItems: MAX_WORK_THREADS }),
  /** Parts that already ended here and whose end a manager acknowledged, with their outcome. */
  ended: s.optional(
    s.array(s.object({ dispatchId: id, outcome: s.enum('completed', 'failed', 'cancelled') }), {
      maxItems: MAX_WORK_THREADS,
    }),
  ),
});

// ─── results (worker → manager) ───────────────────────────────────────────────────────────────

/** Windows of one part, numbered per thread 1, 2, 3… without gaps; acknowledged. */
export const WorkWindowsDef = defineMessage('work.windows', {
  dispatchId: id,
  job: id,
  workflow: id,
  incarnation: s.uint({ min: 1 }),
  windows: s.array(s.object({ thread: s.uint(), seq: s.uint({ min: 1 }), window: s.unknown() }), {
    maxItems: MAX_WORK_WINDOWS,
  }),
  /**
   * Per thread, the seq up to which the worker knows every window reached the gate (it keeps
   * none of them); a new job leader starts its marks there.
   */
  floor: s.optional(s.array(s.uint(), { maxItems: MAX_WORK_THREADS })),
});
export const WorkWindowsAckDef = defineMessage('work.windows-ack', {
  dispatchId: id,
  accepted: s.uint(),
  duplicates: s.uint(),
  /**
   * Per thread of the part, how far its windows reached the gate without a gap. A worker keeps
   * a window until it is delivered (and sends it again to a new job leader), not merely accepted.
   */
  delivered: s.optional(s.array(s.uint(), { maxItems: MAX_WORK_THREADS })),
  /**
   * How hard the worker should hold back its windows: none; throttle (pause between sends);
   * batch (send every few periods); reject (send none, only ask again later). Nothing is
   * dropped at any level: held windows wait in the worker's bounded buffer.
   */
  backpressure: s.optional(s.enum('none', 'throttle', 'batch', 'reject')),
});

/** A part ended; acknowledged, resent until then. `lastSeq[i]` is thread i's last window. */
export const WorkDoneDef = defineMessage('work.done', {
  dispatchId: id,
  job: id,
  workflow: id,
  incarnation: s.uint({ min: 1 }),
  outcome: s.enum('completed', 'failed', 'cancelled'),
  failure: s.optional(text),
  published,
  network,
  interrupted: s.uint(),
  notes: s.array(text, { maxItems: MAX_NOTES }),
  lastSeq: s.array(s.uint(), { maxItems: MAX_WORK_THREADS }),
});
export const WorkDoneAckDef = defineMessage('work.done-ack', { dispatchId: id });

export const WORK_MESSAGES: readonly MessageDef[] = [
  WorkerRegisterDef,
  WorkerRegisteredDef,
  WorkerHeartbeatDef,
  WorkerHeartbeatAckDef,
  WorkerLeavingDef,
  WorkerLeavingAckDef,
  WorkDispatchDef,
  WorkAcceptedDef,
  WorkHookDef,
  WorkHookResultDef,
  WorkCancelDef,
  WorkCancelAckDef,
  WorkTransferDef,
  WorkTransferAckDef,
  WorkWindowsDef,
  WorkWindowsAckDef,
  WorkDoneDef,
  WorkDoneAckDef,
];

export type WorkerRegister = MessageOf<typeof WorkerRegisterDef>;
export type WorkerHeartbeat = MessageOf<typeof WorkerHeartbeatDef>;
export type WorkerHeartbeatAck = MessageOf<typeof WorkerHeartbeatAckDef>;
export type WorkDispatch = MessageOf<typeof WorkDispatchDef>;
export type WorkHook = MessageOf<typeof WorkHookDef>;
export type WorkCancel = MessageOf<typeof WorkCancelDef>;
export type WorkTransfer = MessageOf<typeof WorkTransferDef>;
export type WorkWindows = MessageOf<typeof WorkWindowsDef>;
export type WorkDone = MessageOf<typeof WorkDoneDef>;

export interface WorkVersion {
  readonly major: number;
  readonly minor: number;
}

/**
 * What a manager of `local` version agrees with a worker of `remote` version listing
 * `remoteCaps`: the common version and capabilities, or why the worker is refused.
 */
export function negotiateWork(
  local: WorkVersion,
  localCaps: readonly string[],
  remote: WorkVersion,
  remoteCaps: readonly string[],
): { ok: true; version: WorkVersion; capabilities: string[] } | { ok: false; message: string } {
  if (remote.major !== local.major) {
    return {
      ok: false,
      message: `work protocol ${remote.major}.${remote.minor} is not supported: this manager speaks major version ${local.major} (${local.major}.${local.minor})`,
    };
  }
  const mine = new Set(localCaps);
  return {
    ok: true,
    version: { major: local.major, minor: Math.min(local.minor, remote.minor) },
    capabilities: [...new Set(remoteCaps)].filter((c) => mine.has(c)).sort(),
  };
}
