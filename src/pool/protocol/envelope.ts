// Owns the pool protocol's wire shape: the envelope, its operations, who may send which, how an
// envelope is sealed and validated, and the boundary decoder for values arriving over a port.
// Never touches a MessagePort, the clock or randomness, and never throws on what a peer sends.

import { ChannelError, type ChannelErrorDetail } from './errors.js';
import { isJobState, type JobState } from './job-state.js';
import {
  MAX_PAYLOAD_BYTES,
  MAX_TEXT_BYTES,
  MAX_WORKER_ID_BYTES,
  PROTOCOL_VERSION,
} from './limits.js';
import { computeReplayHash } from './replay-hash.js';

export { MAX_PAYLOAD_BYTES, PROTOCOL_VERSION } from './limits.js';

// ─── Operations ─────────────────────────────────────────────────────────────────────────────

/** What the main thread asks a worker to run. Ids are non-negative safe integers. */
export interface SpawnJobRequest {
  readonly jobId: number;
  readonly regionId: number;
  readonly taskId: number;
  readonly obligationId: number;
  /** The job's input, at most MAX_PAYLOAD_BYTES; structured-cloned across the port. */
  readonly payload: Uint8Array;
}

/** How a job ended, in the four-valued model: ok, application error, cancelled, panicked. */
export type JobOutcome =
  | { readonly status: 'ok'; readonly payload: Uint8Array }
  | { readonly status: 'err'; readonly code: string; readonly message: string }
  | { readonly status: 'cancelled'; readonly reason: string }
  | { readonly status: 'panicked'; readonly message: string };

export type DiagnosticLevel = 'info' | 'warn' | 'error';

export type PoolOp =
  // bootstrap (worker → main)
  | { readonly type: 'bootstrap_ready'; readonly workerId: string }
  | { readonly type: 'bootstrap_failed'; readonly workerId: string; readonly reason: string }
  // work dispatch
  | ({ readonly type: 'spawn_job' } & SpawnJobRequest)
  | { readonly type: 'poll_status'; readonly jobId: number }
  | {
      readonly type: 'status_snapshot';
      readonly jobId: number;
      /** Only `queued` or `running`; see allowedInStatusSnapshot. */
      readonly state: JobState;
      readonly detail?: string;
    }
  | { readonly type: 'job_completed'; readonly jobId: number; readonly outcome: JobOutcome }
  // cancellation: cancel → acknowledged → drain → drained → finalize → finalized
  | { readonly type: 'cancel_job'; readonly jobId: number; readonly reason: string }
  | { readonly type: 'cancel_acknowledged'; readonly jobId: number }
  | { readonly type: 'drain_job'; readonly jobId: number }
  | { readonly type: 'drain_completed'; readonly jobId: number }
  | { readonly type: 'finalize_job'; readonly jobId: number }
  | { readonly type: 'finalize_completed'; readonly jobId: number }
  // shutdown
  | { readonly type: 'shutdown_worker'; readonly reason: string }
  | { readonly type: 'shutdown_completed' }
  // diagnostics and statistics (worker → main)
  | {
      readonly type: 'diagnostic';
      readonly level: DiagnosticLevel;
      readonly category: string;
      readonly message: string;
      readonly metadata?: string;
    }
  | {
      readonly type: 'stats_window';
      readonly jobId: number;
      /** The worker's window counter for this job; the stats merger owns its meaning. */
      readonly windowSeq: number;
      readonly payload: Uint8Array;
    };

export type PoolOpType = PoolOp['type'];
export type PoolOpOf<T extends PoolOpType> = Extract<PoolOp, { type: T }>;

export const MAIN_OP_TYPES = [
  'spawn_job',
  'poll_status',
  'cancel_job',
  'drain_job',
  'finalize_job',
  'shutdown_worker',
] as const satisfies readonly PoolOpType[];

export const WORKER_OP_TYPES = [
  'bootstrap_ready',
  'bootstrap_failed',
  'status_snapshot',
  'job_completed',
  'cancel_acknowledged',
  'drain_completed',
  'finalize_completed',
  'shutdown_completed',
  'diagnostic',
  'stats_window',
] as const satisfies readonly PoolOpType[];

/** An operation only the main thread sends. */
export type MainOp = PoolOpOf<(typeof MAIN_OP_TYPES)[number]>;
/** An operation only a worker sends. */
export type WorkerOp = PoolOpOf<(typeof WORKER_OP_TYPES)[number]>;

const MAIN_OP_SET: ReadonlySet<PoolOpType> = new Set(MAIN_OP_TYPES);

export function isMainOp(op: PoolOp): op is MainOp {
  return MAIN_OP_SET.has(op.type);
}

export function isWorkerOp(op: PoolOp): op is WorkerOp {
  return !MAIN_OP_SET.has(op.type);
}

// ─── Envelope ───────────────────────────────────────────────────────────────────────────────

/** The sequencing metadata every envelope carries; all non-negative safe integers. */
export interface EnvelopeMeta {
  /** Unique per sender within a session. */
  readonly messageId: number;
  /** Strictly increasing per sender; receivers reject anything not above what they accepted. */
  readonly seqNo: number;
  /** The sender's deterministic decision counter, for replay parity. */
  readonly decisionSeq: number;
  /** The run's deterministic seed. */
  readonly seed: number;
  /** The sender's host turn when the message was made. */
  readonly turn: number;
}

export interface PoolEnvelope extends EnvelopeMeta {
  readonly version: number;
  /** Set on every worker-originated message (its session id), never on main-originated ones. */
  readonly workerId?: string;
  /** Decimal string of the 64-bit replay digest (see replay-hash.ts). */
  readonly replayHash: string;
  readonly op: PoolOp;
}

/** Builds an envelope for `op` with the current protocol version and its replay digest. */
export function sealEnvelope(meta: EnvelopeMeta, op: PoolOp, workerId?: string): PoolEnvelope {
  const base = {
    version: PROTOCOL_VERSION,
    messageId: meta.messageId,
    seqNo: meta.seqNo,
    decisionSeq: meta.decisionSeq,
    seed: meta.seed,
    turn: meta.turn,
  };
  const replayHash = computeReplayHash(meta, workerId, op);
  return workerId === undefined
    ? { ...base, replayHash, op }
    : { ...base, workerId, replayHash, op };
}

/**
 * Checks an envelope against the protocol: its shape and sizes, its version, its replay digest,
 * and the identity rules (worker-originated operations carry a worker id, main-originated ones
 * do not, and a bootstrap operation's worker id equals the envelope's). Null when it conforms.
 */
export function validateEnvelope(envelope: PoolEnvelope): ChannelError | null {
  const shape = checkEnvelope(envelope);
  if (!shape.ok) return new ChannelError(shape.detail);
  const expected = computeReplayHash(envelope, envelope.workerId, envelope.op);
  if (expected !== envelope.replayHash) {
    return new ChannelError({
      kind: 'replay_hash_mismatch',
      expected,
      actual: envelope.replayHash,
    });
  }
  const identity = identityViolation(envelope);
  return identity === null ? null : new ChannelError(identity);
}

/** Checks an operation's shape and sizes before a sender commits to sending it. */
export function validateOp(op: PoolOp): ChannelError | null {
  const result = decodeOp(op, 'op');
  return result.ok ? null : new ChannelError(result.detail);
}

function identityViolation(envelope: PoolEnvelope): ChannelErrorDetail | null {
  const { op, workerId } = envelope;
  if (isMainOp(op)) {
    return workerId === undefined
      ? null
      : { kind: 'unexpected_worker_session_identity', op: op.type, workerId };
  }
  if (workerId === undefined) return { kind: 'missing_worker_session_identity', op: op.type };
  if (
    (op.type === 'bootstrap_ready' || op.type === 'bootstrap_failed') &&
    op.workerId !== workerId
  ) {
    return { kind: 'worker_identity_mismatch', expected: op.workerId, actual: workerId };
  }
  return null;
}

// ─── Boundary decoder ───────────────────────────────────────────────────────────────────────

export type DecodeResult =
  | { readonly ok: true; readonly envelope: PoolEnvelope }
  | { readonly ok: false; readonly error: ChannelError };

/**
 * Turns anything that arrived over a MessagePort into a typed envelope, or says what is wrong
 * with it: not an object, another protocol version, an unknown field or operation, a field of the
 * wrong type, an id that is not a non-negative safe integer, an oversized payload or text. The
 * result is a fresh object holding only the known fields. It checks shape only: the replay digest
 * and identity rules are checked by validateEnvelope, which every handleInbound runs.
 * Never throws.
 */
export function decodeEnvelope(value: unknown): DecodeResult {
  let result: Decoded<PoolEnvelope>;
  try {
    result = checkEnvelope(value);
  } catch (error) {
    // Structured clone cannot produce getters or proxies, but an in-process caller can; a value
    // whose inspection throws is garbage like any other.
    result = malformed('', `inspecting it threw: ${describeThrown(error)}`);
  }
  return result.ok
    ? { ok: true, envelope: result.value }
    : { ok: false, error: new ChannelError(result.detail) };
}

type FieldKind =
  | 'id'
  | 'text'
  | 'optional_text'
  | 'worker_id'
  | 'optional_worker_id'
  | 'bytes'
  | 'job_state'
  | 'level'
  | 'outcome'
  | 'replay_hash';

type FieldsOf<T> = { readonly [K in Exclude<keyof T, 'type' | 'status'>]-?: FieldKind };

const ENVELOPE_FIELDS: FieldsOf<Omit<PoolEnvelope, 'version' | 'op'>> = {
  messageId: 'id',
  seqNo: 'id',
  decisionSeq: 'id',
  seed: 'id',
  turn: 'id',
  workerId: 'optional_worker_id',
  replayHash: 'replay_hash',
};

const OP_FIELDS: { readonly [T in PoolOpType]: FieldsOf<PoolOpOf<T>> } = {
  bootstrap_ready: { workerId: 'worker_id' },
  bootstrap_failed: { workerId: 'worker_id', reason: 'text' },
  spawn_job: { jobId: 'id', regionId: 'id', taskId: 'id', obligationId: 'id', payload: 'bytes' },
  poll_status: { jobId: 'id' },
  status_snapshot: { jobId: 'id', state: 'job_state', detail: 'optional_text' },
  job_completed: { jobId: 'id', outcome: 'outcome' },
  cancel_job: { jobId: 'id', reason: 'text' },
  cancel_acknowledged: { jobId: 'id' },
  drain_job: { jobId: 'id' },
  drain_completed: { jobId: 'id' },
  finalize_job: { jobId: 'id' },
  finalize_completed: { jobId: 'id' },
  shutdown_worker: { reason: 'text' },
  shutdown_completed: {},
  diagnostic: { level: 'level', category: 'text', message: 'text', metadata: 'optional_text' },
  stats_window: { jobId: 'id', windowSeq: 'id', payload: 'bytes' },
};

type OutcomeStatus = JobOutcome['status'];
const OUTCOME_FIELDS: {
  readonly [S in OutcomeStatus]: FieldsOf<Extract<JobOutcome, { status: S }>>;
} = {
  ok: { payload: 'bytes' },
  err: { code: 'text', message: 'text' },
  cancelled: { reason: 'text' },
  panicked: { message: 'text' },
};

const DIAGNOSTIC_LEVELS: ReadonlySet<string> = new Set<DiagnosticLevel>(['info', 'warn', 'error']);
/** An unsigned 64-bit integer in decimal has at most 20 digits. */
const REPLAY_HASH_PATTERN = /^(0|[1-9][0-9]{0,19})$/;

type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly detail: ChannelErrorDetail };
type PlainRecord = Record<string, unknown>;

function decoded<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

function malformed(
  path: string,
  problem: string,
): { readonly ok: false; readonly detail: ChannelErrorDetail } {
  return { ok: false, detail: { kind: 'malformed_envelope', path, problem } };
}

function isRecord(value: unknown): value is PlainRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value)
  );
}

/** An own property only: nothing a prototype supplies counts as sent. */
function own(record: PlainRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

const DESCRIBED_STRING_CHARS = 40;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.slice(0, DESCRIBED_STRING_CHARS))}`;
  return `a ${typeof value}`;
}

function checkEnvelope(value: unknown): Decoded<PoolEnvelope> {
  if (!isRecord(value)) return malformed('', `expected an object, got ${describeValue(value)}`);
  // The version comes first: another version may have another shape.
  const version = own(value, 'version');
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
    return malformed('version', `expected an integer, got ${describeValue(version)}`);
  }
  if (version !== PROTOCOL_VERSION) {
    return {
      ok: false,
      detail: { kind: 'version_mismatch', expected: PROTOCOL_VERSION, actual: version },
    };
  }
  const fields = checkFields(value, ENVELOPE_FIELDS, '', ['version', 'op']);
  if (!fields.ok) return fields;
  const op = decodeOp(own(value, 'op'), 'op');
  if (!op.ok) return op;
  return decoded({ version, ...fields.value, op: op.value } as PoolEnvelope);
}

function decodeOp(value: unknown, path: string): Decoded<PoolOp> {
  if (!isRecord(value)) return malformed(path, `expected an object, got ${describeValue(value)}`);
  const type = own(value, 'type');
  if (typeof type !== 'string' || !Object.hasOwn(OP_FIELDS, type)) {
    return malformed(`${path}.type`, `unknown operation: ${describeValue(type)}`);
  }
  const spec: Readonly<Record<string, FieldKind>> = OP_FIELDS[type as PoolOpType];
  const fields = checkFields(value, spec, path, ['type']);
  if (!fields.ok) return fields;
  return decoded({ type, ...fields.value } as PoolOp);
}

function decodeOutcome(value: unknown, path: string): Decoded<JobOutcome> {
  if (!isRecord(value)) return malformed(path, `expected an object, got ${describeValue(value)}`);
  const status = own(value, 'status');
  if (typeof status !== 'string' || !Object.hasOwn(OUTCOME_FIELDS, status)) {
    return malformed(`${path}.status`, `unknown outcome: ${describeValue(status)}`);
  }
  const spec: Readonly<Record<string, FieldKind>> = OUTCOME_FIELDS[status as OutcomeStatus];
  const fields = checkFields(value, spec, path, ['status']);
  if (!fields.ok) return fields;
  return decoded({ status, ...fields.value } as JobOutcome);
}

/**
 * Checks `value` has exactly the fields of `spec` (plus the already-checked `handled` ones) and
 * returns a fresh record of the spec's fields that are present. An optional field may be absent
 * or `undefined` (structured clone keeps `undefined` properties; JSON drops them).
 */
function checkFields(
  value: PlainRecord,
  spec: Readonly<Record<string, FieldKind>>,
  path: string,
  handled: readonly string[],
): Decoded<PlainRecord> {
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(spec, key) && !handled.includes(key)) {
      return malformed(at(key), 'unknown field');
    }
  }
  const out: PlainRecord = {};
  for (const [key, kind] of Object.entries(spec)) {
    const checked = checkField(own(value, key), kind, at(key));
    if (!checked.ok) return checked;
    if (checked.value !== undefined) out[key] = checked.value;
  }
  return decoded(out);
}

/** The checked value of one field (undefined for an absent optional one), or what is wrong. */
function checkField(value: unknown, kind: FieldKind, path: string): Decoded<unknown> {
  switch (kind) {
    case 'id':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
        ? decoded(value)
        : malformed(path, `expected a non-negative safe integer, got ${describeValue(value)}`);
    case 'optional_text':
      return value === undefined ? decoded(undefined) : checkText(value, path, MAX_TEXT_BYTES);
    case 'text':
      return checkText(value, path, MAX_TEXT_BYTES);
    case 'optional_worker_id':
      return value === undefined ? decoded(undefined) : checkWorkerId(value, path);
    case 'worker_id':
      return checkWorkerId(value, path);
    case 'bytes':
      if (!(value instanceof Uint8Array)) {
        return malformed(path, `expected a Uint8Array, got ${describeValue(value)}`);
      }
      return value.byteLength > MAX_PAYLOAD_BYTES
        ? tooLarge(path, value.byteLength, MAX_PAYLOAD_BYTES)
        : decoded(value);
    case 'job_state':
      return isJobState(value)
        ? decoded(value)
        : malformed(path, `unknown job state: ${describeValue(value)}`);
    case 'level':
      return typeof value === 'string' && DIAGNOSTIC_LEVELS.has(value)
        ? decoded(value)
        : malformed(path, `unknown diagnostic level: ${describeValue(value)}`);
    case 'outcome':
      return decodeOutcome(value, path);
    case 'replay_hash':
      return typeof value === 'string' && REPLAY_HASH_PATTERN.test(value)
        ? decoded(value)
        : malformed(
            path,
            `expected an unsigned 64-bit decimal string, got ${describeValue(value)}`,
          );
  }
}

function checkWorkerId(value: unknown, path: string): Decoded<unknown> {
  if (value === '') return malformed(path, 'a worker id cannot be empty');
  return checkText(value, path, MAX_WORKER_ID_BYTES);
}

function checkText(value: unknown, path: string, maxBytes: number): Decoded<unknown> {
  if (typeof value !== 'string') {
    return malformed(path, `expected a string, got ${describeValue(value)}`);
  }
  const size = utf8ByteLength(value);
  return size > maxBytes ? tooLarge(path, size, maxBytes) : decoded(value);
}

function tooLarge(
  field: string,
  sizeBytes: number,
  maxBytes: number,
): { readonly ok: false; readonly detail: ChannelErrorDetail } {
  return { ok: false, detail: { kind: 'payload_too_large', field, sizeBytes, maxBytes } };
}

function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch (stringifyError) {
    return `an unprintable ${typeof error} (${typeof stringifyError})`;
  }
}

/** UTF-8 size of a string as TextEncoder would encode it (a lone surrogate becomes U+FFFD). */
export function utf8ByteLength(text: string): number {
  let size = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) size += 1;
    else if (unit < 0x800) size += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        size += 4;
        i++;
      } else {
        size += 3;
      }
    } else size += 3;
  }
  return size;
}
