// Unit and property tests of what the window relay retains for a new owner gate: acknowledged
// windows kept per job within the per-job and total bounds, rewinding them (and those in flight)
// onto the queue in order, marking a job's retention incomplete, and letting idle jobs go.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { WindowRelay, type RelayedWindow } from '../../../src/cluster/jobs/window-relay.js';

const w = (seq: number, source = 'w1#1/0', workflow = 'wf'): RelayedWindow => ({
  source,
  workflow,
  seq,
  window: { seq },
});

function offerAll(r: WindowRelay, job: string, seqs: readonly number[], source?: string): void {
  for (const seq of seqs) {
    assert.deepEqual(r.offer(job, w(seq, source)), { ok: true, duplicate: false });
  }
}

/** Sends and acknowledges every batch `job` has now; returns the seqs in the order sent. */
function deliverAll(r: WindowRelay, job: string, now = 0): number[] {
  const seqs: number[] = [];
  for (let b = r.next(job, now); b !== null; b = r.next(job, now)) {
    seqs.push(...b.windows.map((x) => x.seq));
    assert.equal(r.acked(job, b.batchId), true);
  }
  return seqs;
}

test('acknowledged windows are retained oldest first; a rewind queues them all again in order, and the next owner is retained for too', () => {
  const r = new WindowRelay({ maxBatch: 2 });
  offerAll(r, 'j', [1, 2, 3, 4, 5]);
  assert.equal(r.retainedCount('j'), 0, 'queued is not retained');
  assert.deepEqual(deliverAll(r, 'j'), [1, 2, 3, 4, 5]);
  assert.equal(r.pending('j'), 0);
  assert.equal(r.retainedCount('j'), 5);
  assert.equal(r.retainedCount(), 5);
  assert.equal(r.retainedWhole('j'), true);
  assert.deepEqual(r.rewind('j'), { requeued: 5, complete: true });
  assert.equal(r.retainedCount('j'), 0);
  assert.equal(r.retainedCount(), 0);
  assert.equal(r.pending('j'), 5);
  assert.deepEqual(deliverAll(r, 'j'), [1, 2, 3, 4, 5], 'sent again, oldest first');
  assert.equal(r.retainedCount('j'), 5, 'kept again for a further owner');
  assert.deepEqual(
    r.offer('j', w(3)),
    { ok: true, duplicate: true },
    'a rewind does not forget what was counted',
  );
  r.dropJob('j');
  assert.equal(r.retainedCount('j'), 0);
  assert.equal(r.retainedCount(), 0);
  assert.equal(r.retainedWhole('j'), false, 'an unknown job is not whole');
});

test('rewind order: retained oldest first, then in-flight batches by batch id, then what was still queued', () => {
  const r = new WindowRelay({ maxBatch: 1, maxInFlight: 3, retryBaseMs: 0, retryMaxMs: 0 });
  offerAll(r, 'j', [1, 2, 3, 4, 5, 6, 7]);
  for (let i = 0; i < 2; i++) r.acked('j', r.next('j', 0)!.batchId); // 1, 2 retained
  const b3 = r.next('j', 0)!;
  const b4 = r.next('j', 0)!;
  const b5 = r.next('j', 0)!;
  assert.deepEqual(
    [b3, b4, b5].map((b) => b.windows.map((x) => x.seq)),
    [[3], [4], [5]],
  );
  // Window 3's batch fails and goes out again under a later batch id.
  assert.equal(r.failed('j', b3.batchId, 0), 0);
  const b6 = r.next('j', 0)!;
  assert.deepEqual(
    b6.windows.map((x) => x.seq),
    [3],
  );
  assert.ok(b6.batchId > b5.batchId);
  assert.equal(r.retainedCount('j'), 2);
  assert.deepEqual(r.rewind('j'), { requeued: 5, complete: true });
  assert.equal(r.pending('j'), 7);
  // Late answers about batches sent to the old owner change nothing.
  assert.equal(r.acked('j', b4.batchId), false);
  assert.equal(r.failed('j', b5.batchId, 0), null);
  assert.equal(r.pending('j'), 7);
  assert.equal(r.retainedCount('j'), 0);
  const order: number[] = [];
  for (let b = r.next('j', 0); b !== null; b = r.next('j', 0)) {
    order.push(...b.windows.map((x) => x.seq));
    r.acked('j', b.batchId);
  }
  assert.deepEqual(order, [1, 2, 4, 5, 3, 6, 7]);
  assert.equal(r.retainedCount('j'), 7);
});

test('a rewind clears the backoff of a failing job, so the new owner is sent to at once', () => {
  const r = new WindowRelay({ retryBaseMs: 1_000 });
  offerAll(r, 'j', [1]);
  const b = r.next('j', 0)!;
  assert.equal(r.failed('j', b.batchId, 0), 1_000);
  assert.equal(r.next('j', 10), null, 'backing off');
  assert.deepEqual(r.rewind('j'), { requeued: 0, complete: true });
  assert.deepEqual(
    r.next('j', 10)?.windows.map((x) => x.seq),
    [1],
  );
  assert.equal(r.counters.retries, 0, 'a send to the new owner is no retry');
});

test('rewind of an unknown job queues nothing, says it is not complete, and makes no record', () => {
  const r = new WindowRelay();
  assert.deepEqual(r.rewind('nope'), { requeued: 0, complete: false });
  assert.equal(r.jobCount, 0);
  assert.equal(r.pending('nope'), 0);
});

test('past maxRetainedPerJob the job retention is incomplete and its retained windows are let go', () => {
  const r = new WindowRelay({ maxBatch: 2, maxRetainedPerJob: 3 });
  offerAll(r, 'j', [1, 2, 3, 4]);
  const first = r.next('j', 0)!;
  r.acked('j', first.batchId);
  assert.equal(r.retainedCount('j'), 2);
  const second = r.next('j', 0)!;
  r.acked('j', second.batchId); // 4 > 3
  assert.equal(r.retainedWhole('j'), false);
  assert.equal(r.retainedCount('j'), 0, 'memory let go');
  assert.equal(r.retainedCount(), 0);
  assert.equal(r.counters.retentionDropped, 1);
  offerAll(r, 'j', [5]);
  deliverAll(r, 'j');
  assert.equal(r.retainedCount('j'), 0, 'nothing is kept once incomplete');
  assert.equal(r.counters.retentionDropped, 1, 'counted once per job');
  assert.deepEqual(r.rewind('j'), { requeued: 0, complete: false });
  // Exactly at the bound is still whole.
  const at = new WindowRelay({ maxBatch: 2, maxRetainedPerJob: 4 });
  offerAll(at, 'j', [1, 2, 3, 4]);
  deliverAll(at, 'j');
  assert.equal(at.retainedCount('j'), 4);
  assert.equal(at.retainedWhole('j'), true);
  // A bound of 0 keeps nothing and says so.
  const none = new WindowRelay({ maxRetainedPerJob: 0 });
  offerAll(none, 'j', [1]);
  deliverAll(none, 'j');
  assert.equal(none.retainedWhole('j'), false);
  assert.equal(none.retainedCount(), 0);
});

test('maxRetainedTotal holds across jobs: the job that would pass it loses its retention, the others keep theirs', () => {
  const r = new WindowRelay({ maxRetainedTotal: 5 });
  offerAll(r, 'a', [1, 2, 3]);
  deliverAll(r, 'a');
  offerAll(r, 'b', [1, 2, 3]);
  deliverAll(r, 'b'); // 3 + 3 > 5
  assert.equal(r.retainedCount('a'), 3);
  assert.equal(r.retainedWhole('a'), true);
  assert.equal(r.retainedCount('b'), 0);
  assert.equal(r.retainedWhole('b'), false);
  assert.equal(r.retainedCount(), 3);
  offerAll(r, 'c', [1, 2]);
  deliverAll(r, 'c'); // 3 + 2 = 5
  assert.equal(r.retainedCount('c'), 2);
  assert.equal(r.retainedCount(), 5);
  // Letting a job go (dropped, or rewound to a new owner) makes room for others.
  r.dropJob('a');
  assert.equal(r.retainedCount(), 2);
  assert.deepEqual(r.rewind('c'), { requeued: 2, complete: true });
  assert.equal(r.retainedCount(), 0);
  offerAll(r, 'd', [1, 2, 3, 4, 5]);
  deliverAll(r, 'd');
  assert.equal(r.retainedCount('d'), 5);
  assert.equal(r.retainedWhole('d'), true);
  assert.equal(r.counters.retentionDropped, 1);
});

test('markIncomplete lets go of a known job retention; on an unknown job it records that rewinds are incomplete', () => {
  const r = new WindowRelay({ maxJobs: 2 });
  offerAll(r, 'j', [1, 2]);
  deliverAll(r, 'j');
  assert.equal(r.retainedCount(), 2);
  r.markIncomplete('j');
  assert.equal(r.retainedCount('j'), 0);
  assert.equal(r.retainedCount(), 0);
  assert.equal(r.retainedWhole('j'), false);
  assert.equal(r.counters.retentionDropped, 0, 'not a bound passed');
  r.markIncomplete('met-late');
  assert.equal(r.jobCount, 2);
  assert.equal(r.retainedWhole('met-late'), false);
  offerAll(r, 'met-late', [7]);
  deliverAll(r, 'met-late');
  assert.equal(r.retainedCount('met-late'), 0);
  assert.deepEqual(r.rewind('met-late'), { requeued: 0, complete: false });
  // With the job table full an unknown job makes no record.
  r.markIncomplete('third');
  assert.equal(r.jobCount, 2);
});

test('expireIdle drops jobs quiet for idleMs with nothing queued or in flight, and their retention with them', () => {
  const r = new WindowRelay();
  offerAll(r, 'queued', [1]); // never sent
  offerAll(r, 'flying', [1]);
  r.next('flying', 0); // never acknowledged
  offerAll(r, 'idle', [1, 2]);
  deliverAll(r, 'idle', 0);
  offerAll(r, 'recent', [1]);
  deliverAll(r, 'recent', 500);
  assert.equal(r.retainedCount(), 3);
  assert.deepEqual(r.expireIdle(999, 1_000), []);
  assert.deepEqual(r.expireIdle(1_000, 1_000), ['idle']);
  assert.deepEqual(r.jobIds().sort(), ['flying', 'queued', 'recent']);
  assert.equal(r.retainedCount(), 1);
  assert.deepEqual(r.expireIdle(1_000_000, 1_000).sort(), ['recent']);
  assert.deepEqual(
    r.jobIds().sort(),
    ['flying', 'queued'],
    'queued and in-flight windows are kept',
  );
  assert.equal(r.retainedCount(), 0);
});

test('retention accounting holds over any sequence of offers, sends, answers, rewinds and drops', () => {
  const MAX_JOB = 6;
  const MAX_TOTAL = 9;
  type Op =
    | { op: 'offer'; job: string; seq: number }
    | { op: 'next'; job: string }
    | { op: 'ack' | 'fail'; pick: number }
    | { op: 'rewind' | 'mark' | 'drop'; job: string };
  const job = fc.constantFrom('a', 'b');
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('offer' as const),
        job,
        seq: fc.integer({ min: 1, max: 12 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('next' as const), job }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('fail' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rewind' as const), job }) },
    fc.record({ op: fc.constant('mark' as const), job }),
    fc.record({ op: fc.constant('drop' as const), job }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const r = new WindowRelay({
        maxBatch: 2,
        maxInFlight: 2,
        retryBaseMs: 0,
        retryMaxMs: 0,
        maxRetainedPerJob: MAX_JOB,
        maxRetainedTotal: MAX_TOTAL,
      });
      // Distinct windows accepted per job since it was (re)created.
      const accepted = new Map<string, number>();
      const sent: Array<{ job: string; batchId: number }> = [];
      for (const o of ops) {
        switch (o.op) {
          case 'offer': {
            const out = r.offer(o.job, w(o.seq));
            if (out.ok && !out.duplicate) accepted.set(o.job, (accepted.get(o.job) ?? 0) + 1);
            break;
          }
          case 'next': {
            const b = r.next(o.job, 0);
            if (b !== null) sent.push({ job: o.job, batchId: b.batchId });
            break;
          }
          case 'ack':
          case 'fail': {
            if (sent.length === 0) break;
            const [s] = sent.splice(o.pick % sent.length, 1);
            if (o.op === 'ack') r.acked(s!.job, s!.batchId);
            else r.failed(s!.job, s!.batchId, 0);
            break;
          }
          case 'rewind': {
            const known = r.jobIds().includes(o.job);
            const out = r.rewind(o.job);
            if (out.complete) {
              assert.equal(
                r.pending(o.job),
                accepted.get(o.job) ?? 0,
                'a whole rewind queues every window the job had here',
              );
            } else if (!known) assert.equal(out.requeued, 0);
            break;
          }
          case 'mark':
            r.markIncomplete(o.job);
            break;
          case 'drop':
            r.dropJob(o.job);
            accepted.delete(o.job);
            break;
        }
        let sum = 0;
        for (const j of r.jobIds()) {
          const kept = r.retainedCount(j);
          sum += kept;
          assert.ok(kept <= MAX_JOB);
          if (!r.retainedWhole(j)) assert.equal(kept, 0, 'an incomplete job keeps nothing');
          assert.ok(r.pending(j) + kept <= (accepted.get(j) ?? 0), 'no window is made up');
          if (r.retainedWhole(j)) {
            assert.equal(r.pending(j) + kept, accepted.get(j) ?? 0, 'a whole job loses none');
          }
        }
        assert.equal(r.retainedCount(), sum, 'the total is the sum over jobs');
        assert.ok(sum <= MAX_TOTAL);
      }
    }),
    { numRuns: 400, seed: 23 },
  );
});
