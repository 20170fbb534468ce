// Test fixtures for the pool protocol: envelope builders in the seed's shape, result assertions,
// and a seeded PRNG. Never used by production code.

import assert from 'node:assert/strict';
import type {
  CoordinatorEvent,
  InboundResult,
  PoolCoordinator,
} from '../../../src/pool/protocol/coordinator.js';
import {
  sealEnvelope,
  type PoolEnvelope,
  type PoolOp,
} from '../../../src/pool/protocol/envelope.js';
import { ChannelError, type ChannelErrorKind } from '../../../src/pool/protocol/errors.js';
import type { JobState } from '../../../src/pool/protocol/job-state.js';

export const SEED = 42;
export const WORKER_1 = 'test-worker-1';
export const WORKER_2 = 'test-worker-2';

/** A worker-originated envelope; decision sequence equals the sequence number, as in the seed. */
export function workerEnvelope(
  workerId: string,
  messageId: number,
  seqNo: number,
  turn: number,
  op: PoolOp,
): PoolEnvelope {
  return sealEnvelope({ messageId, seqNo, decisionSeq: seqNo, seed: SEED, turn }, op, workerId);
}

/** A main-originated envelope (no worker id). */
export function mainEnvelope(
  messageId: number,
  seqNo: number,
  turn: number,
  op: PoolOp,
): PoolEnvelope {
  return sealEnvelope({ messageId, seqNo, decisionSeq: seqNo, seed: SEED, turn }, op);
}

export function testWorkerEnvelope(
  messageId: number,
  seqNo: number,
  turn: number,
  op: PoolOp,
): PoolEnvelope {
  return workerEnvelope(WORKER_1, messageId, seqNo, turn, op);
}

export function bootstrapReadyEnvelope(seq: number, workerId = WORKER_1): PoolEnvelope {
  return workerEnvelope(workerId, seq, seq, 0, { type: 'bootstrap_ready', workerId });
}

export function bootstrapFailedEnvelope(
  seq: number,
  workerId: string,
  reason: string,
): PoolEnvelope {
  return workerEnvelope(workerId, seq, seq, 0, { type: 'bootstrap_failed', workerId, reason });
}

export function snapshotEnvelope(
  seq: number,
  turn: number,
  jobId: number,
  state: JobState,
  detail?: string,
): PoolEnvelope {
  const op: PoolOp =
    detail === undefined
      ? { type: 'status_snapshot', jobId, state }
      : { type: 'status_snapshot', jobId, state, detail };
  return testWorkerEnvelope(seq, seq, turn, op);
}

export function spawn(coord: PoolCoordinator, jobId: number, payload: readonly number[] = []) {
  return coord.spawnJob({
    jobId,
    regionId: 100,
    taskId: 200 + jobId - 1,
    obligationId: 300 + jobId - 1,
    payload: Uint8Array.from(payload),
  });
}

type Result = { readonly ok: true } | { readonly ok: false; readonly error: ChannelError };

/** Asserts success and returns the events (or nothing, for commands). */
export function expectOk<R extends Result>(result: R): Extract<R, { ok: true }> {
  if (!result.ok)
    assert.fail(`expected success, got ${result.error.kind}: ${result.error.message}`);
  return result as Extract<R, { ok: true }>;
}

export function expectEvents(result: InboundResult): readonly CoordinatorEvent[] {
  return expectOk(result).events;
}

/** Asserts a refusal of `kind` and returns the error. */
export function expectError(result: Result, kind: ChannelErrorKind): ChannelError {
  if (result.ok) assert.fail(`expected a ${kind} error, got success`);
  assert.ok(result.error instanceof ChannelError, 'errors are ChannelErrors');
  assert.equal(result.error.code, 'E_PROTOCOL');
  assert.equal(result.error.kind, kind, result.error.message);
  return result.error;
}

/** Takes the coordinator's outbox and asserts how many envelopes it held. */
export function drainExactly(
  coord: { drainOutbox(): PoolEnvelope[] },
  count: number,
): PoolEnvelope[] {
  const drained = coord.drainOutbox();
  assert.equal(
    drained.length,
    count,
    `expected ${count} queued envelope(s), got ${drained.map((e) => e.op.type).join(', ')}`,
  );
  return drained;
}

/** The single queued envelope's operation. */
export function drainOne(coord: { drainOutbox(): PoolEnvelope[] }): PoolOp {
  const [only] = drainExactly(coord, 1);
  assert.ok(only !== undefined);
  return only.op;
}

export { seededRandom } from '../../support/random.js';

export function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[randomInt(random, items.length)];
  assert.ok(item !== undefined || items.length > 0);
  return item as T;
}
