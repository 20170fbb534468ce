// WorkerEndpoint alone and wired to a PoolCoordinator through a simulated port (structured clone
// plus decodeEnvelope), driving whole job lifecycles end to end.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PoolCoordinator, type CoordinatorEvent } from '../../../src/pool/protocol/coordinator.js';
import { WorkerEndpoint, type WorkerCommand } from '../../../src/pool/protocol/endpoint.js';
import { decodeEnvelope, type PoolEnvelope } from '../../../src/pool/protocol/envelope.js';
import {
  SEED,
  drainExactly,
  expectError,
  expectOk,
  mainEnvelope,
  workerEnvelope,
} from './helpers.js';

/** What a MessagePort does to an envelope, followed by the receiving shell's boundary check. */
function crossPort(envelope: PoolEnvelope): PoolEnvelope {
  const decoded = decodeEnvelope(structuredClone(envelope));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
  return decoded.envelope;
}

/** One coordinator and one worker endpoint joined by a simulated port in each direction. */
class Link {
  readonly coord = new PoolCoordinator(SEED);
  worker: WorkerEndpoint;

  constructor(workerId = 'worker-A') {
    this.worker = new WorkerEndpoint(workerId, SEED);
  }

  /** Delivers everything the coordinator queued; returns the commands the worker shell gets. */
  toWorker(): WorkerCommand[] {
    const commands: WorkerCommand[] = [];
    for (const envelope of this.coord.drainOutbox()) {
      commands.push(...expectOk(this.worker.handleInbound(crossPort(envelope))).commands);
    }
    return commands;
  }

  /** Delivers everything the worker queued; returns the coordinator's events. */
  toMain(): CoordinatorEvent[] {
    const events: CoordinatorEvent[] = [];
    for (const envelope of this.worker.drainOutbox()) {
      events.push(...expectOk(this.coord.handleInbound(crossPort(envelope))).events);
    }
    return events;
  }

  /** bootstrap_ready crosses; the coordinator is ready. */
  start(): void {
    expectOk(this.worker.bootstrapReady());
    assert.deepEqual(this.toMain(), [{ type: 'worker_ready', workerId: this.worker.workerId }]);
    assert.equal(this.coord.isWorkerReady, true);
  }

  /** Spawns `jobId` and delivers it; the worker reports it running. */
  startJob(jobId: number): void {
    expectOk(
      this.coord.spawnJob({
        jobId,
        regionId: 1,
        taskId: jobId,
        obligationId: jobId,
        payload: Uint8Array.of(jobId),
      }),
    );
    assert.deepEqual(this.toWorker(), [
      {
        type: 'spawn',
        jobId,
        request: {
          jobId,
          regionId: 1,
          taskId: jobId,
          obligationId: jobId,
          payload: Uint8Array.of(jobId),
        },
      },
    ]);
    expectOk(this.worker.reportStatus(jobId, 'running', 'started'));
    assert.deepEqual(this.toMain(), [
      { type: 'job_status', jobId, state: 'running', detail: 'started', applied: true },
    ]);
  }
}

void describe('WorkerEndpoint end to end with PoolCoordinator', () => {
  void test('bootstrap, spawn, run, stats window, complete and remove', () => {
    const link = new Link();
    link.start();
    link.startJob(1);
    assert.equal(link.coord.jobState(1), 'running');
    assert.equal(link.worker.jobPhase(1), 'running');

    expectOk(link.worker.statsWindow(1, 0, Uint8Array.of(9, 9)));
    assert.deepEqual(link.toMain(), [
      {
        type: 'stats_window',
        workerId: 'worker-A',
        jobId: 1,
        windowSeq: 0,
        payload: Uint8Array.of(9, 9),
      },
    ]);

    const outcome = { status: 'ok', payload: Uint8Array.of(4, 2) } as const;
    expectOk(link.worker.completeJob(1, outcome));
    assert.deepEqual(link.toMain(), [{ type: 'job_completed', jobId: 1, outcome }]);
    assert.equal(link.coord.jobState(1), 'completed');
    assert.equal(link.worker.jobPhase(1), 'completed');
    expectOk(link.coord.removeJob(1));
    assert.equal(link.coord.jobState(1), undefined);
    assert.equal(link.coord.trackedCount, 0);
  });

  void test('cancel → acknowledged → drain → drained → finalize → finalized', () => {
    const link = new Link();
    link.start();
    link.startJob(7);

    expectOk(link.coord.cancelJob(7, 'user pressed ctrl-c'));
    assert.deepEqual(link.toWorker(), [
      { type: 'cancel', jobId: 7, reason: 'user pressed ctrl-c' },
    ]);
    assert.equal(link.worker.jobPhase(7), 'cancel_requested');

    expectOk(link.worker.acknowledgeCancel(7));
    assert.deepEqual(link.toMain(), [
      { type: 'cancel_acknowledged', jobId: 7, supersededByShutdown: false },
    ]);
    assert.equal(link.coord.jobState(7), 'draining');
    assert.deepEqual(link.toWorker(), [{ type: 'drain', jobId: 7 }]);
    assert.equal(link.worker.jobPhase(7), 'draining');

    // Statistics keep flowing while the job drains.
    expectOk(link.worker.statsWindow(7, 3, Uint8Array.of(1)));
    expectOk(link.worker.drainCompleted(7));
    assert.deepEqual(link.toMain(), [
      {
        type: 'stats_window',
        workerId: 'worker-A',
        jobId: 7,
        windowSeq: 3,
        payload: Uint8Array.of(1),
      },
      { type: 'drained', jobId: 7, supersededByShutdown: false },
    ]);
    assert.equal(link.coord.jobState(7), 'finalizing');
    assert.deepEqual(link.toWorker(), [{ type: 'finalize', jobId: 7 }]);

    expectOk(link.worker.finalizeCompleted(7));
    assert.deepEqual(link.toMain(), [{ type: 'finalized', jobId: 7 }]);
    assert.equal(link.coord.jobState(7), 'completed');
    assert.equal(link.worker.jobPhase(7), 'completed');
    assert.equal(link.coord.inflightCount, 0);
  });

  void test('shutdown with a job in flight fails it on both sides', () => {
    const link = new Link();
    link.start();
    link.startJob(1);
    link.startJob(2);
    expectOk(link.coord.requestShutdown('run finished'));
    assert.deepEqual(link.toWorker(), [{ type: 'shutdown', reason: 'run finished' }]);
    assert.equal(link.worker.phase, 'shutting_down');

    // The worker may still finish work and report while it shuts down.
    expectOk(link.worker.completeJob(2, { status: 'cancelled', reason: 'shutdown' }));
    expectOk(link.worker.diagnostic('info', 'lifecycle', 'stopping', '{"jobs":1}'));
    expectOk(link.worker.shutdownCompleted());
    assert.equal(link.worker.phase, 'stopped');
    assert.equal(link.worker.jobPhase(1), 'failed');
    assert.deepEqual(link.toMain(), [
      { type: 'job_completed', jobId: 2, outcome: { status: 'cancelled', reason: 'shutdown' } },
      {
        type: 'diagnostic',
        workerId: 'worker-A',
        level: 'info',
        category: 'lifecycle',
        message: 'stopping',
        metadata: '{"jobs":1}',
      },
      { type: 'jobs_failed', jobIds: [1], cause: 'shutdown_completed' },
      { type: 'shutdown_completed' },
    ]);
    assert.equal(link.coord.jobState(1), 'failed');
    assert.equal(link.coord.jobState(2), 'completed');
    assert.equal(link.coord.isWorkerReady, false);

    // A stopped endpoint sends nothing more.
    expectError(link.worker.diagnostic('info', 'late', 'too late'), 'shutdown_in_progress');
    expectError(link.worker.shutdownCompleted(), 'invalid_endpoint_phase');
    drainExactly(link.worker, 0);
  });

  void test('a cancel that loses the race to completion yields no command', () => {
    const link = new Link();
    link.start();
    link.startJob(1);
    expectOk(link.coord.cancelJob(1, 'too slow'));
    // The job finishes before the cancel reaches the worker.
    expectOk(link.worker.completeJob(1, { status: 'ok', payload: new Uint8Array() }));
    assert.deepEqual(link.toWorker(), []);
    assert.equal(link.worker.jobPhase(1), 'completed');
    const events = link.toMain();
    assert.equal(events[0]?.type, 'job_completed');
    assert.equal(link.coord.jobState(1), 'completed');
    assert.equal(link.coord.pendingOutboundCount, 0);
  });

  void test('completion that races the cancel after it arrived is still accepted', () => {
    const link = new Link();
    link.start();
    link.startJob(1);
    expectOk(link.coord.cancelJob(1, 'stop'));
    assert.equal(link.toWorker().length, 1);
    expectOk(link.worker.completeJob(1, { status: 'panicked', message: 'boom' }));
    assert.deepEqual(link.toMain(), [
      { type: 'job_completed', jobId: 1, outcome: { status: 'panicked', message: 'boom' } },
    ]);
    assert.equal(link.coord.jobState(1), 'completed');
  });

  void test('a failed bootstrap reaches the coordinator and a replacement worker can start', () => {
    const link = new Link('worker-A');
    expectOk(link.worker.bootstrapFailed('cannot load bundle'));
    assert.equal(link.worker.phase, 'bootstrap_failed');
    const [event] = link.toMain();
    assert.ok(event?.type === 'bootstrap_failed');
    assert.equal(event.reason, 'cannot load bundle');
    assert.equal(event.error.kind, 'bootstrap_failed');
    assert.equal(link.coord.isWorkerReady, false);
    expectError(link.worker.diagnostic('error', 'boot', 'still here'), 'worker_not_ready');

    link.worker = new WorkerEndpoint('worker-B', SEED);
    link.start();
    link.startJob(1);
    assert.equal(link.coord.activeWorker, 'worker-B');
  });

  void test('a poll reaches the shell and its status report answers it', () => {
    const link = new Link();
    link.start();
    expectOk(
      link.coord.spawnJob({
        jobId: 3,
        regionId: 1,
        taskId: 1,
        obligationId: 1,
        payload: new Uint8Array(),
      }),
    );
    link.toWorker();
    expectOk(link.coord.pollStatus(3));
    assert.deepEqual(link.toWorker(), [{ type: 'poll', jobId: 3 }]);
    expectOk(link.worker.reportStatus(3, 'queued'));
    assert.deepEqual(link.toMain(), [
      { type: 'job_status', jobId: 3, state: 'queued', applied: true },
    ]);
    assert.equal(link.coord.jobState(3), 'queued');
  });
});

void describe('WorkerEndpoint refuses out-of-protocol reports', () => {
  function runningEndpoint(): WorkerEndpoint {
    const worker = new WorkerEndpoint('w', SEED);
    expectOk(worker.bootstrapReady());
    const spawnJob = mainEnvelope(1, 1, 0, {
      type: 'spawn_job',
      jobId: 1,
      regionId: 1,
      taskId: 1,
      obligationId: 1,
      payload: new Uint8Array(),
    });
    expectOk(worker.handleInbound(spawnJob));
    expectOk(worker.reportStatus(1, 'running'));
    worker.drainOutbox();
    return worker;
  }

  void test('before bootstrap nothing but bootstrap may be sent', () => {
    const worker = new WorkerEndpoint('w', SEED);
    expectError(worker.reportStatus(1, 'running'), 'worker_not_ready');
    expectError(worker.diagnostic('info', 'c', 'm'), 'worker_not_ready');
    expectError(worker.statsWindow(1, 1, new Uint8Array()), 'worker_not_ready');
    expectError(worker.shutdownCompleted(), 'invalid_endpoint_phase');
    drainExactly(worker, 0);
    expectOk(worker.bootstrapReady());
    expectError(worker.bootstrapReady(), 'invalid_endpoint_phase');
    expectError(worker.bootstrapFailed('late'), 'invalid_endpoint_phase');
    assert.equal(drainExactly(worker, 1)[0]?.op.type, 'bootstrap_ready');
  });

  void test('cancellation answers only in their phase', () => {
    const worker = runningEndpoint();
    const neverCancelled = expectError(worker.drainCompleted(1), 'invalid_transition');
    assert.deepEqual(neverCancelled.detail, {
      kind: 'invalid_transition',
      jobId: 1,
      from: 'running',
      to: 'finalizing',
    });
    expectError(worker.acknowledgeCancel(1), 'invalid_transition');
    expectError(worker.finalizeCompleted(1), 'invalid_transition');

    expectOk(
      worker.handleInbound(mainEnvelope(2, 2, 0, { type: 'cancel_job', jobId: 1, reason: 'r' })),
    );
    expectOk(worker.acknowledgeCancel(1));
    expectError(worker.acknowledgeCancel(1), 'invalid_transition');
    // After the acknowledgement the job must end through drain and finalize.
    expectError(
      worker.completeJob(1, { status: 'cancelled', reason: 'r' }),
      'unexpected_completion_phase',
    );
    expectError(worker.drainCompleted(1), 'invalid_transition'); // drain_job has not arrived
    expectError(worker.reportStatus(1, 'running'), 'invalid_transition');
    assert.equal(drainExactly(worker, 1)[0]?.op.type, 'cancel_acknowledged');
  });

  void test('status reports only for queued or running, never backwards', () => {
    const worker = runningEndpoint();
    expectError(worker.reportStatus(1, 'draining'), 'invalid_status_snapshot_state');
    expectError(worker.reportStatus(1, 'completed'), 'invalid_status_snapshot_state');
    expectError(worker.reportStatus(1, 'queued'), 'invalid_transition');
    expectError(worker.reportStatus(2, 'running'), 'unknown_job_id');
    expectOk(worker.reportStatus(1, 'running', 'still going'));
  });

  void test('nothing about a job after it ended', () => {
    const worker = runningEndpoint();
    expectOk(worker.completeJob(1, { status: 'err', code: 'E_HTTP', message: 'refused' }));
    expectError(
      worker.completeJob(1, { status: 'ok', payload: new Uint8Array() }),
      'unexpected_completion_phase',
    );
    expectError(worker.statsWindow(1, 5, new Uint8Array()), 'stats_window_for_terminal_job');
    expectError(worker.reportStatus(1, 'running'), 'invalid_transition');
  });

  void test('oversized reports are refused before they are queued', () => {
    const worker = runningEndpoint();
    expectError(worker.statsWindow(1, 1, new Uint8Array(262_145)), 'payload_too_large');
    expectError(
      worker.completeJob(1, { status: 'ok', payload: new Uint8Array(262_145) }),
      'payload_too_large',
    );
    expectError(worker.diagnostic('info', 'c', 'x'.repeat(20_000)), 'payload_too_large');
    assert.equal(worker.jobPhase(1), 'running');
    drainExactly(worker, 0);
  });

  void test('a refused report consumes no sequence number', () => {
    const worker = runningEndpoint(); // sent bootstrap_ready (1) and status (2)
    expectError(worker.drainCompleted(1), 'invalid_transition');
    expectError(worker.statsWindow(1, 1, new Uint8Array(262_145)), 'payload_too_large');
    expectOk(worker.diagnostic('warn', 'c', 'm'));
    const [envelope] = drainExactly(worker, 1);
    assert.equal(envelope?.seqNo, 3);
    assert.equal(envelope?.messageId, 3);
    assert.equal(envelope?.workerId, 'w');
  });
});

void describe('WorkerEndpoint validates main-thread envelopes', () => {
  function readyEndpoint(): WorkerEndpoint {
    const worker = new WorkerEndpoint('w', SEED);
    expectOk(worker.bootstrapReady());
    return worker;
  }
  const spawnOp = (jobId: number) =>
    ({
      type: 'spawn_job',
      jobId,
      regionId: 1,
      taskId: 1,
      obligationId: 1,
      payload: new Uint8Array(),
    }) as const;

  void test('rejects worker-originated operations, tampered digests and stamped identities', () => {
    const worker = readyEndpoint();
    const fromWorker = workerEnvelope('w', 1, 1, 0, { type: 'shutdown_completed' });
    const direction = expectError(worker.handleInbound(fromWorker), 'unexpected_direction');
    assert.deepEqual(direction.detail, {
      kind: 'unexpected_direction',
      op: 'shutdown_completed',
      receivedBy: 'worker',
    });
    const tampered = { ...mainEnvelope(1, 1, 0, spawnOp(1)), seqNo: 2 };
    expectError(worker.handleInbound(tampered), 'replay_hash_mismatch');
    const stamped = workerEnvelope('w', 1, 1, 0, spawnOp(1));
    expectError(worker.handleInbound(stamped), 'unexpected_worker_session_identity');
    assert.equal(worker.lastInboundSeqNo, 0);
    assert.equal(worker.jobPhase(1), undefined);
  });

  void test('rejects replayed and out-of-order sequence numbers', () => {
    const worker = readyEndpoint();
    expectOk(worker.handleInbound(mainEnvelope(1, 5, 0, spawnOp(1))));
    const replay = expectError(
      worker.handleInbound(mainEnvelope(2, 5, 0, spawnOp(2))),
      'inbound_sequence_not_fresh',
    );
    assert.deepEqual(replay.detail, { kind: 'inbound_sequence_not_fresh', lastSeen: 5, actual: 5 });
    expectError(
      worker.handleInbound(mainEnvelope(3, 4, 0, spawnOp(3))),
      'inbound_sequence_not_fresh',
    );
    assert.equal(worker.jobPhase(2), undefined);
    assert.equal(worker.lastInboundSeqNo, 5);
  });

  void test('rejects job messages before bootstrap and after shutdown', () => {
    const worker = new WorkerEndpoint('w', SEED);
    expectError(worker.handleInbound(mainEnvelope(1, 1, 0, spawnOp(1))), 'worker_not_ready');
    expectOk(worker.bootstrapReady());
    expectOk(worker.handleInbound(mainEnvelope(2, 2, 0, { type: 'shutdown_worker', reason: 'r' })));
    expectError(worker.handleInbound(mainEnvelope(3, 3, 0, spawnOp(1))), 'shutdown_in_progress');
    expectError(
      worker.handleInbound(mainEnvelope(4, 4, 0, { type: 'shutdown_worker', reason: 'r' })),
      'shutdown_in_progress',
    );
  });

  void test('rejects control messages out of phase', () => {
    const worker = readyEndpoint();
    expectOk(worker.handleInbound(mainEnvelope(1, 1, 0, spawnOp(1))));
    expectError(worker.handleInbound(mainEnvelope(2, 2, 0, spawnOp(1))), 'duplicate_job_id');
    expectError(
      worker.handleInbound(mainEnvelope(3, 3, 0, { type: 'drain_job', jobId: 1 })),
      'invalid_transition',
    );
    expectError(
      worker.handleInbound(mainEnvelope(4, 4, 0, { type: 'finalize_job', jobId: 1 })),
      'invalid_transition',
    );
    expectError(
      worker.handleInbound(mainEnvelope(5, 5, 0, { type: 'poll_status', jobId: 9 })),
      'unknown_job_id',
    );
    expectOk(
      worker.handleInbound(mainEnvelope(6, 6, 0, { type: 'cancel_job', jobId: 1, reason: 'r' })),
    );
    expectError(
      worker.handleInbound(mainEnvelope(7, 7, 0, { type: 'cancel_job', jobId: 1, reason: 'r' })),
      'invalid_transition',
    );
    expectError(
      worker.handleInbound(mainEnvelope(8, 8, 0, { type: 'drain_job', jobId: 1 })),
      'invalid_transition',
    ); // not acknowledged yet
    assert.equal(worker.jobPhase(1), 'cancel_requested');
  });

  void test('bounds its tracked jobs, forgetting the oldest terminal job first', () => {
    const worker = new WorkerEndpoint('w', SEED, { maxTrackedJobs: 2 });
    expectOk(worker.bootstrapReady());
    expectOk(worker.handleInbound(mainEnvelope(1, 1, 0, spawnOp(1))));
    expectOk(worker.handleInbound(mainEnvelope(2, 2, 0, spawnOp(2))));
    const full = expectError(
      worker.handleInbound(mainEnvelope(3, 3, 0, spawnOp(3))),
      'limit_exceeded',
    );
    assert.deepEqual(full.detail, { kind: 'limit_exceeded', resource: 'tracked_jobs', limit: 2 });
    expectOk(worker.completeJob(2, { status: 'ok', payload: new Uint8Array() }));
    expectOk(worker.handleInbound(mainEnvelope(4, 4, 0, spawnOp(3))));
    assert.equal(worker.trackedCount, 2);
    assert.equal(worker.jobPhase(2), undefined);
    assert.equal(worker.jobPhase(1), 'queued');
  });

  void test('bounds its outbox', () => {
    const worker = new WorkerEndpoint('w', SEED, { maxOutboxMessages: 2 });
    expectOk(worker.bootstrapReady());
    expectOk(worker.diagnostic('info', 'c', '1'));
    const full = expectError(worker.diagnostic('info', 'c', '2'), 'limit_exceeded');
    assert.deepEqual(full.detail, {
      kind: 'limit_exceeded',
      resource: 'outbox_messages',
      limit: 2,
    });
    drainExactly(worker, 2);
    expectOk(worker.diagnostic('info', 'c', '3'));
  });
});
