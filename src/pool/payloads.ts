// What travels inside the pool protocol's opaque payloads: the spawn request (the workflow
// bundle by reference to the cache, never inline), the completion report, and statistics
// windows. JSON text as UTF-8 bytes; decoding validates shape, never trusts the peer.
import type { JobSpec, NetworkTotals, PublishedValue } from '../engine/job.js';
import type { StatsWindow } from '../stats/types.js';
import { SalvoError } from '../errors.js';
import { MAX_PAYLOAD_BYTES } from './protocol/limits.js';

/** A job's spec (its share of the workflow) plus what the worker needs to find and stop it. */
export interface SpawnPayload extends JobSpec {
  /** The cached bundle: path and content hash. The worker checks the hash before importing. */
  bundle: { path: string; hash: string; source: string };
  workflow: string;
  /** How long a cancelled job may wait for in-flight iterations during drain. */
  cancelGraceMs: number;
}

export interface CompletionPayload {
  published: Record<string, PublishedValue>;
  interrupted: number;
  notes: string[];
  /** Workflow output the worker dropped while running the job (see worker-output.ts). */
  droppedOutput?: { writes: number; bytes: number };
  /** HTTP requests written and bytes on the wire by the job's VUs. */
  network?: NetworkTotals;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class PayloadError extends SalvoError {
  constructor(message: string) {
    super('E_PROTOCOL', message);
  }
}

/** Encodes a value as JSON bytes, failing clearly when it cannot be sent or is too large. */
export function encodePayload(value: unknown, what: string): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new PayloadError(`${what} cannot be sent to worker threads: ${(error as Error).message}`);
  }
  if (text === undefined)
    throw new PayloadError(`${what} cannot be sent to worker threads (not JSON-serialisable)`);
  const bytes = encoder.encode(text);
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) {
    throw new PayloadError(
      `${what} is ${bytes.byteLength} bytes; at most ${MAX_PAYLOAD_BYTES} bytes can be sent to worker threads`,
    );
  }
  return bytes;
}

function parse(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new PayloadError(`${what}: not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadError(`${what}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function need(cond: boolean, what: string, field: string): void {
  if (!cond) throw new PayloadError(`${what}: field '${field}' is missing or has the wrong type`);
}

export function decodeSpawn(bytes: Uint8Array): SpawnPayload {
  const what = 'spawn payload';
  const v = parse(bytes, what);
  const bundle = v['bundle'] as Record<string, unknown> | undefined;
  need(typeof bundle === 'object' && bundle !== null, what, 'bundle');
  need(
    typeof bundle?.['path'] === 'string' && typeof bundle['hash'] === 'string',
    what,
    'bundle.path/hash',
  );
  need(typeof v['workflow'] === 'string', what, 'workflow');
  const share = v['share'] as Record<string, unknown> | undefined;
  need(
    typeof share === 'object' && share !== null && typeof share['config'] === 'object',
    what,
    'share',
  );
  need(Number.isInteger(v['thread']) && Number.isInteger(v['threads']), what, 'thread/threads');
  need(typeof v['windowMs'] === 'number' && v['windowMs'] > 0, what, 'windowMs');
  need(typeof v['cancelGraceMs'] === 'number', what, 'cancelGraceMs');
  need(typeof v['context'] === 'object' && v['context'] !== null, what, 'context');
  return v as unknown as SpawnPayload;
}

export function decodeCompletion(bytes: Uint8Array): CompletionPayload {
  const what = 'completion payload';
  const v = parse(bytes, what);
  need(typeof v['published'] === 'object' && v['published'] !== null, what, 'published');
  need(typeof v['interrupted'] === 'number', what, 'interrupted');
  need(Array.isArray(v['notes']), what, 'notes');
  return v as unknown as CompletionPayload;
}

export function decodeWindow(bytes: Uint8Array): StatsWindow {
  const what = 'stats window';
  const v = parse(bytes, what);
  need(typeof v['workflow'] === 'string', what, 'workflow');
  need(Number.isInteger(v['seq']), what, 'seq');
  need(typeof v['steps'] === 'object' && v['steps'] !== null, what, 'steps');
  need(typeof v['iterations'] === 'object' && v['iterations'] !== null, what, 'iterations');
  need(typeof v['metrics'] === 'object' && v['metrics'] !== null, what, 'metrics');
  need(typeof v['checks'] === 'object' && v['checks'] !== null, what, 'checks');
  return v as unknown as StatsWindow;
}
