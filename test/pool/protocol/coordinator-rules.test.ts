// PoolCoordinator beyond the seed: stats windows, bounds, removeJob, and the guarantee that a
// rejected envelope changes nothing.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PoolCoordinator } from '../../../src/pool/protocol/coordinator.js';
import {
  decodeEnvelope,
  validateEnvelope,
  type PoolEnvelope,
} from '../../../src/pool/protocol/envelope.js';
import { MAX_PAYLOAD_BYTES, MAX_TRACKED_JOBS } from '../../../src/pool/protocol/limits.js';
import {
  SEED,
  WORKER_1,
  WORKER_2,
  bootstrapReadyEnvelope,
  drainExactly,
  expectError,
  expectEvents,
  expectOk,
  mainEnvelope,
  snapshotEnvelope,
  spawn,
  testWorkerEnvelope,
  workerEnvelope,
} from './helpers.js';

function readyCoordinator(
  options?: ConstructorParameters<typeof PoolCoordinator>[1],
): PoolCoordinator {
  const coord = new PoolCoordinator(SEED, options);
  expectEvents(coord.handleInbound(bootstrapReadyEnvelope(1)));
  return coord;
}

function statsEnvelope(seq: number, jobId: number, payload = Uint8Array.of(1, 2, 3)): PoolEnvelope {
  return testWorkerEnvelope(seq, seq, 0, {
    type: 'stats_window',
    jobId,
    windowSeq: seq * 10,
    payload,
  });
}

/** Everything observable about a coordinator, to compare before and after a rejection. */
function observe(coord: PoolCoordinator, jobIds: readonly number[]) {
  return {
    states: jobIds.map((id) => coord.jobState(id)),
    lastInboundSeqNo: coord.lastInboundSeqNo,
    ready: coord.isWorkerReady,
    shutdown: coord.isShutdownRequested,
    activeWorker: coord.activeWorker,
    pending: coord.pendingOutboundCount,
    inflight: coord.inflightCount,
  };
}

void describe('PoolCoordinator stats_window', () => {
  void test('is returned as an event, unread, for a job in any live phase', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    const payload = Uint8Array.of(5, 6);
    const queued = expectEvents(coord.handleInbound(statsEnvelope(2, 1, payload)));
    assert.deepEqual(queued, [
      { type: 'stats_window', workerId: WORKER_1, jobId: 1, windowSeq: 20, payload },
    ]);
    const event = queued[0];
    assert.ok(event?.type === 'stats_window');
    assert.equal(event.payload, payload, 'the payload is handed over, not copied');
    assert.equal(coord.jobState(1), 'queued', 'a stats window does not move the job');

    expectEvents(coord.handleInbound(snapshotEnvelope(3, 0, 1, 'running')));
    expectEvents(coord.handleInbound(statsEnvelope(4, 1)));
    expectOk(coord.cancelJob(1, 'stop'));
    expectEvents(coord.handleInbound(statsEnvelope(5, 1)));
    expectEvents(
      coord.handleInbound(testWorkerEnvelope(6, 6, 0, { type: 'cancel_acknowledged', jobId: 1 })),
    );
    expectEvents(coord.handleInbound(statsEnvelope(7, 1)));
    expectEvents(
      coord.handleInbound(testWorkerEnvelope(8, 8, 0, { type: 'drain_completed', jobId: 1 })),
    );
    assert.equal(coord.jobState(1), 'finalizing');
    expectEvents(coord.handleInbound(statsEnvelope(9, 1)));
  });

  void test('is rejected for a terminal or unknown job', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    expectOk(spawn(coord, 2));
    const outcome = { status: 'ok', payload: new Uint8Array() } as const;
    expectEvents(
      coord.handleInbound(
        testWorkerEnvelope(2, 2, 0, { type: 'job_completed', jobId: 1, outcome }),
      ),
    );
    const completed = expectError(
      coord.handleInbound(statsEnvelope(3, 1)),
      'stats_window_for_terminal_job',
    );
    assert.deepEqual(completed.detail, {
      kind: 'stats_window_for_terminal_job',
      jobId: 1,
      state: 'completed',
    });
    expectError(coord.handleInbound(statsEnvelope(4, 99)), 'unknown_job_id');

    // Job 2 fails when the worker is replaced; the replacement cannot report on it.
    expectEvents(coord.handleInbound(bootstrapReadyEnvelope(1, WORKER_2)));
    const failedJob = workerEnvelope(WORKER_2, 2, 2, 0, {
      type: 'stats_window',
      jobId: 2,
      windowSeq: 1,
      payload: new Uint8Array(),
    });
    const failed = expectError(coord.handleInbound(failedJob), 'stats_window_for_terminal_job');
    assert.deepEqual(failed.detail, {
      kind: 'stats_window_for_terminal_job',
      jobId: 2,
      state: 'failed',
    });
  });

  void test('needs the worker identity of the active session and a payload within the limit', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    const op = { type: 'stats_window', jobId: 1, windowSeq: 1, payload: new Uint8Array() } as const;
    expectError(coord.handleInbound(mainEnvelope(2, 2, 0, op)), 'missing_worker_session_identity');
    expectError(
      coord.handleInbound(workerEnvelope('intruder', 3, 3, 0, op)),
      'inbound_worker_session_mismatch',
    );
    const tooBig = statsEnvelope(4, 1, new Uint8Array(MAX_PAYLOAD_BYTES + 1));
    const error = expectError(coord.handleInbound(tooBig), 'payload_too_large');
    assert.deepEqual(error.detail, {
      kind: 'payload_too_large',
      field: 'op.payload',
      sizeBytes: MAX_PAYLOAD_BYTES + 1,
      maxBytes: MAX_PAYLOAD_BYTES,
    });
    assert.equal(coord.lastInboundSeqNo, 1);
  });
});

void describe('PoolCoordinator bounds', () => {
  void test(`caps tracked jobs at ${MAX_TRACKED_JOBS} by default and rejects spawns beyond`, () => {
    const coord = readyCoordinator();
    for (let jobId = 1; jobId <= MAX_TRACKED_JOBS; jobId++) {
      expectOk(spawn(coord, jobId));
      if (jobId % 1000 === 0) coord.drainOutbox();
    }
    const error = expectError(spawn(coord, MAX_TRACKED_JOBS + 1), 'limit_exceeded');
    assert.deepEqual(error.detail, {
      kind: 'limit_exceeded',
      resource: 'tracked_jobs',
      limit: MAX_TRACKED_JOBS,
    });
    assert.equal(coord.trackedCount, MAX_TRACKED_JOBS);
  });

  void test('a removed terminal job frees its slot', () => {
    const coord = readyCoordinator({ maxTrackedJobs: 2 });
    expectOk(spawn(coord, 1));
    expectOk(spawn(coord, 2));
    expectError(spawn(coord, 3), 'limit_exceeded');
    const outcome = { status: 'err', code: 'E', message: 'm' } as const;
    expectEvents(
      coord.handleInbound(
        testWorkerEnvelope(2, 2, 0, { type: 'job_completed', jobId: 1, outcome }),
      ),
    );
    expectError(spawn(coord, 3), 'limit_exceeded');
    expectOk(coord.removeJob(1));
    expectOk(spawn(coord, 3));
    assert.equal(coord.trackedCount, 2);
  });

  void test('removeJob forgets only terminal jobs', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    const live = expectError(coord.removeJob(1), 'job_not_terminal');
    assert.deepEqual(live.detail, { kind: 'job_not_terminal', jobId: 1, state: 'queued' });
    expectError(coord.removeJob(2), 'unknown_job_id');
    assert.equal(coord.jobState(1), 'queued');
  });

  void test('caps the outbox when the shell stops draining, without changing the job', () => {
    const coord = readyCoordinator({ maxOutboxMessages: 2 });
    expectOk(spawn(coord, 1));
    expectOk(coord.pollStatus(1));
    expectError(coord.pollStatus(1), 'limit_exceeded');
    expectError(coord.cancelJob(1, 'r'), 'limit_exceeded');
    expectError(spawn(coord, 2), 'limit_exceeded');
    assert.equal(coord.jobState(1), 'queued');
    assert.equal(coord.jobState(2), undefined);
    // Shutdown replaces the queue, so it is never refused for room.
    expectOk(coord.requestShutdown('stop'));
    assert.equal(drainExactly(coord, 1)[0]?.op.type, 'shutdown_worker');
  });
});

void describe('PoolCoordinator rejections', () => {
  /** Job 1 running, job 2 queued, a poll queued; inbound high-water mark 2. */
  function busyCoordinator(): PoolCoordinator {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    expectOk(spawn(coord, 2));
    expectEvents(coord.handleInbound(snapshotEnvelope(2, 0, 1, 'running')));
    coord.drainOutbox();
    expectOk(coord.pollStatus(2));
    return coord;
  }

  void test('an envelope rejected before its operation is applied changes nothing', () => {
    const good = snapshotEnvelope(3, 0, 2, 'running');
    const rejected: [string, PoolEnvelope][] = [
      ['tampered digest', { ...good, turn: 9 }],
      ['other version', { ...good, version: 2 }],
      ['wrong direction', mainEnvelope(3, 3, 0, { type: 'finalize_job', jobId: 1 })],
      ['stale session', workerEnvelope(WORKER_2, 3, 3, 0, { type: 'drain_completed', jobId: 1 })],
      ['replayed sequence', snapshotEnvelope(2, 0, 2, 'running')],
      [
        'new worker at sequence 0',
        workerEnvelope(WORKER_2, 0, 0, 0, { type: 'bootstrap_ready', workerId: WORKER_2 }),
      ],
      [
        'identity mismatch',
        workerEnvelope(WORKER_1, 3, 3, 0, { type: 'bootstrap_ready', workerId: WORKER_2 }),
      ],
    ];
    for (const [name, envelope] of rejected) {
      const coord = busyCoordinator();
      const before = observe(coord, [1, 2]);
      const result = coord.handleInbound(envelope);
      assert.equal(result.ok, false, name);
      assert.deepEqual(observe(coord, [1, 2]), before, name);
      // The good envelope is still fresh afterwards.
      expectEvents(coord.handleInbound(good));
      assert.equal(coord.jobState(2), 'running', name);
    }
  });

  void test('a refused operation changes no job but consumes its sequence number (as in the seed)', () => {
    const coord = busyCoordinator();
    const neverCancelled = testWorkerEnvelope(3, 3, 0, { type: 'cancel_acknowledged', jobId: 1 });
    const error = expectError(coord.handleInbound(neverCancelled), 'invalid_transition');
    assert.deepEqual(error.detail, {
      kind: 'invalid_transition',
      jobId: 1,
      from: 'running',
      to: 'draining',
    });
    assert.equal(coord.jobState(1), 'running');
    assert.equal(coord.pendingOutboundCount, 1, 'no drain_job was queued');
    assert.equal(coord.lastInboundSeqNo, 3);
    expectError(coord.handleInbound(neverCancelled), 'inbound_sequence_not_fresh');
  });

  void test('finalize_completed ends only a job in the finalize phase (stricter than the seed)', () => {
    const coord = busyCoordinator();
    for (const [seq, jobId, state] of [
      [3, 1, 'running'],
      [4, 2, 'queued'],
    ] as const) {
      const early = testWorkerEnvelope(seq, seq, 0, { type: 'finalize_completed', jobId });
      const error = expectError(coord.handleInbound(early), 'unexpected_completion_phase');
      assert.deepEqual(error.detail, { kind: 'unexpected_completion_phase', jobId, state });
      assert.equal(coord.jobState(jobId), state);
    }
    const drainedTooEarly = testWorkerEnvelope(5, 5, 0, { type: 'drain_completed', jobId: 1 });
    expectError(coord.handleInbound(drainedTooEarly), 'invalid_transition');
    assert.equal(coord.jobState(1), 'running');
  });

  void test('a stale running snapshot after a cancel is reported as not applied', () => {
    const coord = busyCoordinator();
    expectOk(coord.cancelJob(1, 'stop'));
    const events = expectEvents(coord.handleInbound(snapshotEnvelope(3, 0, 1, 'running', 'late')));
    assert.deepEqual(events, [
      { type: 'job_status', jobId: 1, state: 'running', detail: 'late', applied: false },
    ]);
    assert.equal(coord.jobState(1), 'cancel_requested');
    // A job never goes back from running to queued.
    expectEvents(coord.handleInbound(snapshotEnvelope(4, 0, 2, 'running')));
    const backwards = expectError(
      coord.handleInbound(snapshotEnvelope(5, 0, 2, 'queued')),
      'invalid_transition',
    );
    assert.deepEqual(backwards.detail, {
      kind: 'invalid_transition',
      jobId: 2,
      from: 'running',
      to: 'queued',
    });
  });

  void test('every envelope it sends passes the worker side boundary checks', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1, [1, 2, 3]));
    expectOk(coord.pollStatus(1));
    expectOk(coord.cancelJob(1, 'ünïcödé reason 😀'));
    expectEvents(
      coord.handleInbound(testWorkerEnvelope(2, 2, 0, { type: 'cancel_acknowledged', jobId: 1 })),
    );
    expectEvents(
      coord.handleInbound(testWorkerEnvelope(3, 3, 0, { type: 'drain_completed', jobId: 1 })),
    );
    const sent = drainExactly(coord, 5);
    coord.advanceTurn();
    expectOk(coord.requestShutdown('done'));
    sent.push(...drainExactly(coord, 1));
    assert.deepEqual(
      sent.map((e) => [e.op.type, e.seqNo, e.turn]),
      [
        ['spawn_job', 1, 0],
        ['poll_status', 2, 0],
        ['cancel_job', 3, 0],
        ['drain_job', 4, 0],
        ['finalize_job', 5, 0],
        ['shutdown_worker', 6, 1],
      ],
    );
    for (const envelope of sent) {
      const decoded = decodeEnvelope(structuredClone(envelope));
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
      assert.equal(validateEnvelope(decoded.envelope), null);
      assert.equal(decoded.envelope.workerId, undefined);
    }
  });

  void test('bootstrap_ready after shutdown was requested clears the request (seed behaviour)', () => {
    const coord = readyCoordinator();
    expectOk(coord.requestShutdown('stop'));
    expectEvents(coord.handleInbound(bootstrapReadyEnvelope(2)));
    assert.equal(coord.isShutdownRequested, false);
    assert.equal(coord.isWorkerReady, true);
  });

  void test('rejects a bad seed at construction', () => {
    assert.throws(() => new PoolCoordinator(-1), { code: 'E_INTERNAL' });
    assert.throws(() => new PoolCoordinator(1.5), { code: 'E_INTERNAL' });
  });
});

describe('releaseJob: the shell is done with a job, whatever its state', () => {
  void test('a job released mid-cancellation is forgotten when its worker ends it; its messages are absorbed', () => {
    const coord = readyCoordinator({ maxTrackedJobs: 2 });
    expectOk(spawn(coord, 1));
    expectOk(coord.cancelJob(1, 'stop'));
    drainExactly(coord, 2);
    // The shell's finalize deadline ran out: it releases the job before the worker answers.
    expectOk(coord.releaseJob(1));
    assert.equal(coord.releasedCount, 1);
    // A released job does not count against the bound for new jobs.
    expectOk(spawn(coord, 2));
    expectOk(spawn(coord, 3));
    drainExactly(coord, 2);
    const late = (seq: number, op: Parameters<typeof testWorkerEnvelope>[3]): unknown[] => [
      ...expectEvents(coord.handleInbound(testWorkerEnvelope(seq, seq, 0, op))),
    ];
    assert.deepEqual(late(2, { type: 'cancel_acknowledged', jobId: 1 }), []);
    assert.equal(coord.jobState(1), 'draining', 'the worker is still walked through the cancel');
    drainExactly(coord, 1);
    assert.deepEqual(late(3, { type: 'drain_completed', jobId: 1 }), []);
    drainExactly(coord, 1);
    assert.deepEqual(late(4, { type: 'finalize_completed', jobId: 1 }), []);
    assert.equal(coord.jobState(1), undefined, 'forgotten once ended');
    assert.equal(coord.releasedCount, 0);
    assert.equal(coord.releasedMessagesAbsorbed, 3);
    // Terminal jobs are forgotten at once; a session end forgets released ones too.
    expectOk(coord.cancelJob(2, 'stop'));
    expectOk(coord.releaseJob(2));
    const failed = expectEvents(coord.handleInbound(bootstrapReadyEnvelope(5, WORKER_2)));
    assert.deepEqual(
      failed.filter((e) => e.type === 'jobs_failed'),
      [{ type: 'jobs_failed', jobIds: [3], cause: 'worker_replaced' }],
    );
    expectOk(coord.releaseJob(3));
    assert.equal(coord.trackedCount, 0);
  });

  void test('released jobs a worker never ends are bounded: the oldest are forgotten', () => {
    const coord = readyCoordinator({ maxReleasedJobs: 3 });
    for (let id = 1; id <= 10; id++) {
      expectOk(spawn(coord, id));
      expectOk(coord.releaseJob(id));
    }
    assert.equal(coord.releasedCount, 3);
    assert.equal(coord.trackedCount, 3);
    assert.equal(coord.releasedEvicted, 7);
    assert.deepEqual(
      [8, 9, 10].map((id) => coord.jobState(id)),
      ['queued', 'queued', 'queued'],
    );
    expectError(coord.releaseJob(1), 'unknown_job_id');
  });

  void test('a terminated worker ends its session: released jobs are forgotten, running ones fail', () => {
    const coord = readyCoordinator();
    expectOk(spawn(coord, 1));
    expectOk(spawn(coord, 2));
    drainExactly(coord, 2);
    expectOk(coord.cancelJob(1, 'stop'));
    expectOk(coord.releaseJob(1)); // its cancel timed out; the shell terminates the worker
    const events = coord.workerTerminated();
    assert.deepEqual(events, [{ type: 'jobs_failed', jobIds: [2], cause: 'worker_replaced' }]);
    assert.equal(coord.releasedCount, 0);
    assert.equal(coord.jobState(1), undefined, 'no worker will end it: forgotten now');
    assert.equal(coord.jobState(2), 'failed');
    assert.equal(coord.activeWorker, null);
    expectOk(coord.releaseJob(2));
    assert.equal(coord.trackedCount, 0);
  });
});
