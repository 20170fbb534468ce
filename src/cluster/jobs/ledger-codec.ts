// Owns the boundary of the job ledger: checks that a command or a snapshot that came out of the
// Raft log (or off the wire) is well formed, and turns both into and out of bytes. Never applies
// anything; a malformed value becomes a rejection naming the field, never an exception.

import { reject, type Rejection } from './errors.js';
import {
  DC_OUTCOMES,
  type DcOutcome,
  type DcState,
  type JobFields,
  type JobStatus,
  type LedgerCommand,
  type LedgerConfig,
} from './ledger-types.js';

type Invalid = Rejection<'E_INVALID_COMMAND'>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isFence(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks each listed field is a non-empty string of at most `maxChars`; names the first that is not. */
function badName(
  c: Record<string, unknown>,
  fields: readonly string[],
  maxChars: number,
): string | null {
  for (const f of fields) {
    const v = c[f];
    if (typeof v !== 'string' || v.length === 0 || v.length > maxChars) {
      return `${f} must be a non-empty string of at most ${maxChars} characters`;
    }
  }
  return null;
}

/** A submit's `resume` payload: absent, null, or an object of at most `maxChars` as JSON. */
function badResume(v: unknown, maxChars: number): string | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) return 'resume must be null or an object';
  const chars = JSON.stringify(v).length;
  return chars > maxChars
    ? `resume must be at most ${maxChars} characters as JSON, got ${chars}`
    : null;
}

function invalid(type: string, problem: string): Invalid {
  return reject('E_INVALID_COMMAND', `ledger command ${type}: ${problem}`);
}

/** Validates an untrusted value as a ledger command under `cfg`'s bounds. */
export function validateLedgerCommand(value: unknown, cfg: LedgerConfig): LedgerCommand | Invalid {
  if (!isRecord(value)) return invalid('?', 'must be an object');
  const type = typeof value.type === 'string' ? value.type : '?';
  if (!isTime(value.atMs)) return invalid(type, 'atMs must be a finite non-negative number');
  const names = (fields: readonly string[]): Invalid | null => {
    const problem = badName(value, fields, cfg.maxIdChars);
    return problem === null ? null : invalid(type, problem);
  };
  const fenced = (): Invalid | null =>
    isFence(value.fence) ? null : invalid(type, 'fence must be a non-negative safe integer');
  switch (value.type) {
    case 'submit': {
      const bad = names(['jobId', 'client', 'payloadDigest', 'ownerGate']) ?? fenced();
      if (bad) return bad;
      const key = value.idempotencyKey;
      if (
        key !== null &&
        (typeof key !== 'string' || key.length === 0 || key.length > cfg.maxIdChars)
      ) {
        return invalid(
          type,
          `idempotencyKey must be null or a non-empty string of at most ${cfg.maxIdChars} characters`,
        );
      }
      const dcs = value.targetDcs;
      if (!Array.isArray(dcs) || dcs.length === 0 || dcs.length > cfg.maxTargetDcs) {
        return invalid(type, `targetDcs must list 1 to ${cfg.maxTargetDcs} datacenters`);
      }
      const seen = new Set<string>();
      for (const dc of dcs) {
        if (typeof dc !== 'string' || dc.length === 0 || dc.length > cfg.maxIdChars) {
          return invalid(
            type,
            `each target datacenter must be a non-empty string of at most ${cfg.maxIdChars} characters`,
          );
        }
        if (seen.has(dc)) return invalid(type, `datacenter '${dc}' is listed twice`);
        seen.add(dc);
      }
      const deadline = value.deadlineMs;
      if (
        deadline !== undefined &&
        deadline !== null &&
        (!isTime(deadline) || deadline <= value.atMs || deadline - value.atMs > cfg.maxJobTimeoutMs)
      ) {
        return invalid(
          type,
          `deadlineMs must be null or a time after atMs and at most maxJobTimeoutMs (${cfg.maxJobTimeoutMs} ms) after it, got ${JSON.stringify(deadline)}`,
        );
      }
      const resumeProblem = badResume(value.resume, cfg.maxResumeChars);
      if (resumeProblem !== null) return invalid(type, resumeProblem);
      break;
    }
    case 'dc-accepted':
    case 'complete':
    case 'transfer-owner': {
      if (
        value.type === 'complete' &&
        value.reason !== undefined &&
        typeof value.reason !== 'string'
      )
        return invalid(type, 'reason must be a string when present');
      const fields =
        value.type === 'dc-accepted'
          ? ['jobId', 'dc']
          : value.type === 'transfer-owner'
            ? ['jobId', 'ownerGate']
            : ['jobId'];
      const bad = names(fields) ?? fenced();
      if (bad) return bad;
      break;
    }
    case 'dc-finished': {
      const bad = names(['jobId', 'dc']) ?? fenced();
      if (bad) return bad;
      if (!DC_OUTCOMES.includes(value.outcome as DcOutcome)) {
        return invalid(type, `outcome must be one of ${DC_OUTCOMES.join(', ')}`);
      }
      break;
    }
    case 'cancel-requested': {
      const bad = names(['jobId']);
      if (bad) return bad;
      if (typeof value.reason !== 'string') return invalid(type, 'reason must be a string');
      break;
    }
    case 'sweep':
      break;
    default:
      return invalid(
        type,
        `unknown command type; expected submit, dc-accepted, cancel-requested, dc-finished, complete, transfer-owner or sweep`,
      );
  }
  return value as unknown as LedgerCommand;
}

// ─── Snapshots ───

/** One job as a snapshot stores it. */
export interface JobSnapshot extends JobFields {
  /** The fence the job was submitted with (its original answer names it). */
  readonly submitFence: number;
  /** The owner at submission (its original answer names it). */
  readonly submitOwnerGate: string;
  /** Target datacenters in submission order with their states. */
  readonly dcs: ReadonlyArray<readonly [string, DcState]>;
  /** The submit's `resume` payload while the job runs (absent once it ended, or when none). */
  readonly resume?: unknown;
}

/**
 * The ledger's whole state: jobs in submission order, and the ended ones in the order they
 * will be evicted (each retention class its own queue).
 */
export interface LedgerSnapshot {
  readonly version: 1;
  readonly jobs: readonly JobSnapshot[];
  readonly endedCompleted: readonly string[];
  readonly endedUnsuccessful: readonly string[];
}

const JOB_STATUSES: readonly JobStatus[] = [
  'submitted',
  'running',
  'cancelling',
  'completed',
  'failed',
  'cancelled',
];
const DC_STATES: readonly DcState[] = ['pending', 'accepted', ...DC_OUTCOMES];

type BadSnapshot = Rejection<'E_INVALID_SNAPSHOT'>;

function badSnapshot(problem: string): BadSnapshot {
  return reject('E_INVALID_SNAPSHOT', `ledger snapshot: ${problem}`);
}

function validateJobSnapshot(j: unknown, i: number): string | null {
  if (!isRecord(j)) return `jobs[${i}] must be an object`;
  for (const f of ['jobId', 'client', 'payloadDigest', 'ownerGate', 'submitOwnerGate'] as const) {
    if (typeof j[f] !== 'string' || j[f] === '')
      return `jobs[${i}].${f} must be a non-empty string`;
  }
  if (j.idempotencyKey !== null && typeof j.idempotencyKey !== 'string')
    return `jobs[${i}].idempotencyKey must be a string or null`;
  if (!isFence(j.fence) || !isFence(j.submitFence))
    return `jobs[${i}] fences must be non-negative safe integers`;
  if (!JOB_STATUSES.includes(j.status as JobStatus)) return `jobs[${i}].status is not a job status`;
  if (!isTime(j.submittedAtMs)) return `jobs[${i}].submittedAtMs must be a time`;
  if (j.endedAtMs !== null && !isTime(j.endedAtMs))
    return `jobs[${i}].endedAtMs must be a time or null`;
  if (j.cancelReason !== null && typeof j.cancelReason !== 'string')
    return `jobs[${i}].cancelReason must be a string or null`;
  // Absent in snapshots written before jobs had deadlines: read as null.
  if (j.deadlineMs !== undefined && j.deadlineMs !== null && !isTime(j.deadlineMs))
    return `jobs[${i}].deadlineMs must be a time or null`;
  if (j.endReason !== undefined && j.endReason !== null && typeof j.endReason !== 'string')
    return `jobs[${i}].endReason must be a string or null`;
  if (j.resume !== undefined && j.resume !== null && !isRecord(j.resume))
    return `jobs[${i}].resume must be an object when present`;
  if (!Array.isArray(j.dcs) || j.dcs.length === 0) return `jobs[${i}].dcs must be a non-empty list`;
  for (const pair of j.dcs as unknown[]) {
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== 'string' ||
      !DC_STATES.includes(pair[1] as DcState)
    ) {
      return `jobs[${i}].dcs must hold [datacenter, state] pairs`;
    }
  }
  return null;
}

/** Validates an untrusted value as a ledger snapshot (structure only; the ledger checks the rest). */
export function validateLedgerSnapshot(value: unknown): LedgerSnapshot | BadSnapshot {
  if (!isRecord(value)) return badSnapshot('must be an object');
  if (value.version !== 1)
    return badSnapshot(`unsupported version ${JSON.stringify(value.version)}; expected 1`);
  if (!Array.isArray(value.jobs)) return badSnapshot('jobs must be a list');
  for (const [i, j] of value.jobs.entries()) {
    const problem = validateJobSnapshot(j, i);
    if (problem) return badSnapshot(problem);
  }
  for (const f of ['endedCompleted', 'endedUnsuccessful'] as const) {
    const q = value[f];
    if (!Array.isArray(q) || q.some((id) => typeof id !== 'string'))
      return badSnapshot(`${f} must be a list of job ids`);
  }
  return value as unknown as LedgerSnapshot;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes of a command for a Raft entry. */
export function encodeLedgerCommand(command: LedgerCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Bytes of a snapshot for `Snapshot.data`. */
export function encodeLedgerSnapshot(snapshot: LedgerSnapshot): Uint8Array {
  return encoder.encode(JSON.stringify(snapshot));
}

/** Parses bytes into an untrusted value (then validated), or a rejection saying why not. */
export function parseLedgerBytes<Code extends string>(
  bytes: Uint8Array,
  code: Code,
): { ok: true; value: unknown } | Rejection<Code> {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(bytes)) as unknown };
  } catch (error) {
    return reject(
      code,
      `ledger bytes are not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
