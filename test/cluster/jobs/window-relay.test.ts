// Unit tests of the manager's window relay: deduplication, batching, acknowledgement, retry
// with backoff, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backpressureLevel, WindowRelay, weigh } from '../../../src/cluster/jobs/window-relay.js';
import { checkDecodeLimits, encodeValue } from '../../../src/protocol/codec.js';
import { MAX_FRAME_BYTES } from '../../../src/protocol/framing.js';
import { Histogram } from '../../../src/stats/histogram.js';

const w = (seq: number, source = 'w1#1/0', workflow = 'wf') => ({
  source,
  workflow,
  seq,
  window: { seq },
});

test('a window resent by its worker is counted once; batches go one at a time per job and leave on acknowledgement', () => {
  const r = new WindowRelay({ maxBatch: 2, maxInFlight: 1 });
  assert.deepEqual(r.offer('j', w(1)), { ok: true, duplicate: false });
  assert.deepEqual(r.offer('j', w(1)), { ok: true, duplicate: true });
  r.offer('j', w(2));
  r.offer('j', w(3));
  r.offer('j', w(1, 'w2#1/0'));
  assert.equal(r.counters.duplicates, 1);
  const b1 = r.next('j', 0)!;
  assert.deepEqual(
    b1.windows.map((x) => x.seq),
    [1, 2],
  );
  assert.equal(r.next('j', 0), null, 'maxInFlight batches in flight per job');
  assert.equal(r.acked('j', b1.batchId), true);
  assert.equal(r.pending('j'), 2);
  const b2 = r.next('j', 0)!;
  assert.deepEqual(
    b2.windows.map((x) => [x.source, x.seq]),
    [
      ['w1#1/0', 3],
      ['w2#1/0', 1],
    ],
  );
  r.acked('j', b2.batchId);
  assert.equal(r.pending('j'), 0);
  assert.deepEqual(
    r.offer('j', w(2)),
    { ok: true, duplicate: true },
    'still a duplicate after it left',
  );
});

test('MW-9.2.1 an unacknowledged batch stays queued and is resent after a growing backoff', () => {
  const r = new WindowRelay({ retryBaseMs: 100, retryMaxMs: 250 });
  r.offer('j', w(1));
  const b = r.next('j', 0)!;
  assert.equal(r.failed('j', b.batchId, 1_000), 100);
  assert.equal(r.next('j', 1_050), null);
  assert.deepEqual(r.due(1_050), []);
  assert.deepEqual(r.due(1_100), ['j']);
  const again = r.next('j', 1_100)!;
  assert.deepEqual(
    again.windows.map((x) => x.seq),
    [1],
  );
  assert.equal(r.failed('j', again.batchId, 1_100), 200);
  const third = r.next('j', 1_300)!;
  assert.equal(r.failed('j', third.batchId, 1_300), 250, 'capped');
  assert.equal(r.counters.retries, 2);
  assert.equal(r.pending('j', 'wf'), 1);
  assert.equal(r.pending('j', 'other'), 0);
});

test('bounds: queue per job, jobs, windows too far ahead; bad seqs are refused as values', () => {
  const r = new WindowRelay({ maxQueuedPerJob: 2, maxJobs: 1, maxAheadPerSource: 10 });
  r.offer('j', w(1));
  r.offer('j', w(2));
  const full = r.offer('j', w(3));
  assert.equal(!full.ok && full.code, 'E_QUEUE_FULL');
  const jobs = r.offer('k', w(1));
  assert.equal(!jobs.ok && jobs.code, 'E_TOO_MANY_JOBS');
  const r2 = new WindowRelay({ maxAheadPerSource: 10 });
  const ahead = r2.offer('j', w(12));
  assert.equal(!ahead.ok && ahead.code, 'E_WINDOW_BOUND');
  const bad = r2.offer('j', w(0));
  assert.equal(!bad.ok && bad.code, 'E_INVALID');
  r2.dropJob('j');
  assert.equal(r2.jobCount, 0);
});

test("delivered marks follow the gate's acknowledgements; a new relay starts its marks at the sender's floor", () => {
  const r = new WindowRelay();
  r.offer('j', w(1));
  r.offer('j', w(2));
  assert.equal(r.delivered('j', 'w1#1/0', 'wf'), 0, 'taken is not delivered');
  const b = r.next('j', 0)!;
  r.acked('j', b.batchId);
  assert.equal(r.delivered('j', 'w1#1/0', 'wf'), 2);
  const fresh = new WindowRelay();
  fresh.advance('j', 'w1#1/0', 'wf', 2);
  assert.deepEqual(
    fresh.offer('j', w(2)),
    { ok: true, duplicate: true },
    'at or below the floor is a duplicate',
  );
  fresh.offer('j', w(3));
  const b2 = fresh.next('j', 0)!;
  fresh.acked('j', b2.batchId);
  assert.equal(fresh.delivered('j', 'w1#1/0', 'wf'), 3, 'contiguous from the floor');
});

test('backpressure levels follow how full the queue is', () => {
  assert.deepEqual(
    [0, 49, 50, 74, 75, 89, 90, 100].map((n) => backpressureLevel(n, 100)),
    ['none', 'none', 'throttle', 'throttle', 'batch', 'batch', 'reject', 'reject'],
  );
  const r = new WindowRelay({ maxQueuedPerJob: 4 });
  assert.equal(r.backpressure('j'), 'none');
  for (const s of [1, 2, 3]) r.offer('j', w(s));
  assert.equal(r.backpressure('j'), 'batch');
  r.offer('j', w(4));
  assert.equal(r.backpressure('j'), 'reject');
});

/** A window with `steps` steps, each with a latency histogram of `buckets` distinct buckets. */
function heavyWindow(seq: number, steps: number, buckets: number): Record<string, unknown> {
  const stepMap: Record<string, unknown> = {};
  for (let s = 0; s < steps; s++) {
    const h = new Histogram();
    for (let i = 0; i < buckets; i++) h.record(1_000 + i * 1_000);
    stepMap[`step-${s}`] = {
      count: buckets,
      ok: buckets,
      failed: 0,
      errors: {},
      errorSamples: {},
      statuses: { '200': buckets },
      latency: h.toSparse(),
    };
  }
  return { workflow: 'wf', seq, steps: stepMap, note: 'é→✓' };
}

test('weigh counts MessagePack values exactly as the decoder does, and bounds the bytes', () => {
  for (const v of [heavyWindow(1, 3, 40), { a: [1, 'x', null, true, { b: 2.5 }], c: undefined }]) {
    const acc = { values: 0, bytes: 0 };
    weigh(v, acc);
    const bytes = encodeValue(v);
    const limits = { depth: 32, mapKeys: 256, distinctKeys: 256 };
    assert.equal(checkDecodeLimits(bytes, { ...limits, values: acc.values }), null);
    assert.notEqual(checkDecodeLimits(bytes, { ...limits, values: acc.values - 1 }), null);
    assert.ok(bytes.byteLength <= acc.bytes, `${bytes.byteLength} ≤ ${acc.bytes}`);
  }
});

test('batches of windows with many histogram buckets stay inside the frame limits of the gate', () => {
  const r = new WindowRelay();
  const total = 512;
  for (let seq = 1; seq <= total; seq++) {
    assert.deepEqual(
      r.offer('j', { source: 'w1#1/0', workflow: 'wf', seq, window: heavyWindow(seq, 4, 60) }),
      { ok: true, duplicate: false },
    );
  }
  const seqs: number[] = [];
  let batches = 0;
  for (let b = r.next('j', 0); b !== null; b = r.next('j', 0)) {
    batches++;
    const bytes = encodeValue({
      t: 'dc.windows',
      id: 1,
      job: 'j',
      dc: 'a',
      fence: 1,
      windows: b.windows,
    });
    assert.equal(checkDecodeLimits(bytes), null, `batch ${batches} of ${b.windows.length} windows`);
    assert.ok(bytes.byteLength <= MAX_FRAME_BYTES);
    seqs.push(...b.windows.map((x) => x.seq));
    r.acked('j', b.batchId);
  }
  assert.ok(batches > 1, 'split by weight, not only by count');
  assert.deepEqual(
    seqs,
    Array.from({ length: total }, (_, i) => i + 1),
    'all, once, in order',
  );
});

test('a window heavier than a whole batch still leaves, alone', () => {
  const r = new WindowRelay({ maxBatchValues: 10 });
  r.offer('j', w(1));
  r.offer('j', w(2));
  assert.deepEqual(
    r.next('j', 0)?.windows.map((x) => x.seq),
    [1],
  );
});

test('up to maxInFlight batches go out before any acknowledgement; a failed one goes back first', () => {
  const r = new WindowRelay({ maxBatch: 2, maxInFlight: 3, retryBaseMs: 100 });
  for (let seq = 1; seq <= 10; seq++) r.offer('j', w(seq));
  const sent = [r.next('j', 0)!, r.next('j', 0)!, r.next('j', 0)!];
  assert.deepEqual(
    sent.map((b) => b.windows.map((x) => x.seq)),
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  );
  assert.equal(r.next('j', 0), null, 'three in flight');
  assert.deepEqual(r.due(0), []);
  assert.equal(r.pending('j'), 10, 'in flight counts as pending');
  assert.equal(r.acked('j', sent[1]!.batchId), true, 'acknowledged out of order');
  assert.equal(r.pending('j', 'wf'), 8);
  assert.equal(r.failed('j', sent[0]!.batchId, 0), 100);
  assert.equal(r.next('j', 50), null, 'backoff');
  assert.deepEqual(
    r.next('j', 100)?.windows.map((x) => x.seq),
    [1, 2],
    'the failed batch is first again',
  );
  assert.equal(r.acked('j', sent[0]!.batchId), false, 'a failed batch cannot be acknowledged');
  const full = new WindowRelay({ maxBatch: 1, maxQueuedPerJob: 2 });
  full.offer('j', w(1));
  full.offer('j', w(2));
  full.next('j', 0);
  const refused = full.offer('j', w(3));
  assert.equal(!refused.ok && refused.code, 'E_QUEUE_FULL', 'in-flight windows count in the bound');
});
