// Tests of the manager's core reservations: which cores a dispatch gets, the typed refusals,
// release on completion, cancellation and worker loss, fence tokens, batches all or nothing,
// and (property) that no core is ever held by two dispatches, also when fed from planSplit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CoreReservations,
  MAX_FENCE_TERM,
  type ReservationRequest,
} from '../../../src/cluster/jobs/core-reservations.js';
import { planSplit, type WorkerOffer } from '../../../src/cluster/jobs/split-plan.js';

function table(term = 1, workers: Record<string, number> = { w1: 4 }): CoreReservations {
  const t = CoreReservations.create({ term });
  assert.ok(t instanceof CoreReservations);
  for (const [id, cores] of Object.entries(workers)) assert.ok(t.setWorker(id, cores).ok);
  return t;
}

const req = (
  dispatchId: string,
  cores: number,
  over: Partial<ReservationRequest> = {},
): ReservationRequest => ({
  dispatchId,
  job: 'job-1',
  workflow: dispatchId,
  worker: 'w1',
  cores,
  ...over,
});

function code(r: { ok: boolean } | { ok: false; code: string }): string | undefined {
  return 'code' in r ? r.code : undefined;
}

test('MW-2.1.1 a reservation gets the lowest free core indexes of its worker', () => {
  const t = table();
  const a = t.reserve(req('d1', 2));
  assert.ok(a.ok);
  assert.deepEqual(a.reservation.cores, [0, 1]);
  const b = t.reserve(req('d2', 1));
  assert.ok(b.ok);
  assert.deepEqual(b.reservation.cores, [2]);
  assert.equal(t.freeCores('w1'), 1);
  assert.ok(t.release('d1').ok);
  const c = t.reserve(req('d3', 3));
  assert.ok(c.ok);
  assert.deepEqual(c.reservation.cores, [0, 1, 3]);
});

test('MW-2.2.1 a request for more cores than the worker has in all is refused', () => {
  const t = table();
  assert.equal(code(t.reserve(req('d1', 5))), 'E_EXCEEDS_TOTAL');
  assert.equal(t.freeCores('w1'), 4);
});

test('MW-2.2.2 a request for more cores than are free is refused and changes nothing', () => {
  const t = table();
  assert.ok(t.reserve(req('d1', 3)).ok);
  const r = t.reserve(req('d2', 2));
  assert.equal(code(r), 'E_INSUFFICIENT_CORES');
  assert.match('message' in r ? r.message : '', /1 free core\(s\); 2 requested/);
  assert.equal(t.freeCores('w1'), 1);
  assert.equal(t.reservationCount, 1);
});

test('MW-2.2.3 zero, negative or fractional core counts are refused', () => {
  const t = table();
  for (const n of [0, -1, 1.5, Number.NaN])
    assert.equal(code(t.reserve(req('d', n))), 'E_INVALID_REQUEST');
  assert.equal(t.reservationCount, 0);
});

test('MW-2.2.4 a workflow that already holds cores on a worker is refused a second reservation', () => {
  const t = table();
  assert.ok(t.reserve(req('d1', 1, { workflow: 'wf' })).ok);
  assert.equal(code(t.reserve(req('d2', 1, { workflow: 'wf' }))), 'E_DUPLICATE_DISPATCH');
  assert.equal(code(t.reserve(req('d1', 1, { workflow: 'other' }))), 'E_DUPLICATE_DISPATCH');
  assert.equal(t.freeCores('w1'), 3);
});

test('MW-2.3.1 releasing a dispatch frees all of its cores', () => {
  const t = table();
  assert.ok(t.reserve(req('d1', 3)).ok);
  const r = t.release('d1');
  assert.ok(r.ok);
  assert.deepEqual(r.reservation.cores, [0, 1, 2]);
  assert.equal(t.freeCores('w1'), 4);
  assert.equal(code(t.release('d1')), 'E_UNKNOWN_DISPATCH');
  // And the workflow may hold cores on that worker again.
  assert.ok(t.reserve(req('d1b', 1, { workflow: 'd1' })).ok);
});

test('a cancelled job and a lost worker give their cores back', () => {
  const t = table(1, { w1: 4, w2: 4 });
  assert.ok(t.reserve(req('a1', 2, { job: 'A' })).ok);
  assert.ok(t.reserve(req('a2', 2, { job: 'A', worker: 'w2' })).ok);
  assert.ok(t.reserve(req('b1', 2, { job: 'B', worker: 'w2' })).ok);
  assert.deepEqual(
    t.releaseJob('A').map((r) => r.dispatchId),
    ['a1', 'a2'],
  );
  assert.equal(t.freeCores('w1'), 4);
  assert.equal(t.freeCores('w2'), 2);
  const lost = t.removeWorker('w2');
  assert.deepEqual(
    lost.map((r) => r.dispatchId),
    ['b1'],
  );
  assert.equal(t.reservationCount, 0);
  assert.equal(code(t.reserve(req('b2', 1, { worker: 'w2' }))), 'E_UNKNOWN_WORKER');
});

test('fence tokens increase with every dispatch, and a newer term outranks every older token', () => {
  const old = table(3);
  const fences: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = old.reserve(req(`d${i}`, 1));
    assert.ok(r.ok);
    fences.push(r.reservation.fence);
  }
  assert.deepEqual(
    fences,
    [1, 2, 3, 4].map((n) => 3 * 2 ** 32 + n),
  );
  const next = table(4).reserve(req('x', 1));
  assert.ok(next.ok);
  assert.ok(next.reservation.fence > fences[3]!);
  assert.equal(
    code(CoreReservations.create({ term: MAX_FENCE_TERM + 1 }) as { ok: false; code: string }),
    'E_INVALID_REQUEST',
  );
});

test('a batch is reserved all or nothing', () => {
  const t = table(1, { w1: 2, w2: 2 });
  const bad = t.reserveAll([
    req('a', 2),
    req('b', 1, { worker: 'w2' }),
    req('c', 1, { worker: 'w1' }),
  ]);
  assert.equal(code(bad), 'E_INSUFFICIENT_CORES');
  assert.equal(t.reservationCount, 0);
  assert.equal(
    code(t.reserveAll([req('a', 1), req('a', 1, { worker: 'w2' })])),
    'E_DUPLICATE_DISPATCH',
  );
  const good = t.reserveAll([req('a', 2), req('b', 2, { worker: 'w2' })]);
  assert.ok(good.ok);
  assert.equal(t.freeCores('w1') + t.freeCores('w2'), 0);
});

test('a worker cannot shrink below the cores it has reserved; it may grow', () => {
  const t = table();
  assert.ok(t.reserve(req('d1', 1)).ok);
  assert.ok(t.reserve(req('d2', 1)).ok);
  assert.ok(t.release('d1').ok);
  assert.equal(code(t.setWorker('w1', 1)), 'E_CORES_IN_USE');
  assert.ok(t.setWorker('w1', 2).ok);
  assert.equal(t.freeCores('w1'), 1);
  assert.ok(t.setWorker('w1', 6).ok);
  assert.equal(t.freeCores('w1'), 5);
  const r = t.reserve(req('d3', 5));
  assert.ok(r.ok);
  assert.deepEqual(r.reservation.cores, [0, 2, 3, 4, 5]);
});

// ─── Properties ───

type Op =
  | { kind: 'reserve'; worker: string; cores: number; job: string; workflow: string }
  | { kind: 'release'; pick: number }
  | { kind: 'release-job'; job: string }
  | { kind: 'lose'; worker: string }
  | { kind: 'join'; worker: string; cores: number };

const workerId = fc.constantFrom('w1', 'w2', 'w3');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      worker: workerId,
      cores: fc.integer({ min: 0, max: 5 }),
      job: fc.constantFrom('A', 'B'),
      workflow: fc.constantFrom('x', 'y', 'z'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('release-job' as const),
      job: fc.constantFrom('A', 'B'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose' as const), worker: workerId }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      worker: workerId,
      cores: fc.integer({ min: 1, max: 6 }),
    }),
  },
);

test('MW-2.1.2 property: no core is ever held by two dispatches, free counts add up, fences only grow', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const t = table(2, { w1: 4, w2: 2, w3: 3 });
      let lastFence = 0;
      let n = 0;
      for (const op of ops) {
        switch (op.kind) {
          case 'reserve': {
            const r = t.reserve({
              dispatchId: `d${n++}`,
              job: op.job,
              workflow: op.workflow,
              worker: op.worker,
              cores: op.cores,
            });
            if (r.ok) {
              assert.ok(r.reservation.fence > lastFence);
              lastFence = r.reservation.fence;
            }
            break;
          }
          case 'release': {
            const live = [...t.reservations()];
            if (live.length > 0) assert.ok(t.release(live[op.pick % live.length]!.dispatchId).ok);
            break;
          }
          case 'release-job':
            for (const r of t.releaseJob(op.job)) assert.equal(r.job, op.job);
            break;
          case 'lose':
            t.removeWorker(op.worker);
            break;
          case 'join':
            t.setWorker(op.worker, op.cores);
            break;
        }
        const held = new Map<string, string>();
        const used = new Map<string, number>();
        for (const r of t.reservations()) {
          assert.ok(r.cores.length >= 1);
          for (const c of r.cores) {
            const key = `${r.worker}#${c}`;
            assert.equal(held.get(key), undefined, `core ${key} double-booked`);
            held.set(key, r.dispatchId);
            assert.ok(c < t.totalCores(r.worker));
          }
          used.set(r.worker, (used.get(r.worker) ?? 0) + r.cores.length);
        }
        for (const w of ['w1', 'w2', 'w3']) {
          assert.equal(t.freeCores(w) + (used.get(w) ?? 0), t.totalCores(w));
        }
      }
    }),
    { numRuns: 200, seed: 23 },
  );
});

test('property: every round of a split plan reserves in one batch against the same free cores', () => {
  const offers = fc.uniqueArray(
    fc.record({
      id: workerId,
      freeCores: fc.integer({ min: 1, max: 6 }),
      health: fc.constantFrom<WorkerOffer['health']>('healthy', 'busy', 'degraded'),
    }),
    { minLength: 1, maxLength: 3, selector: (w) => w.id },
  );
  const demands = fc.uniqueArray(
    fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      vus: fc.integer({ min: 1, max: 50 }),
      priority: fc.option(fc.nat(2), { nil: null }),
      exclusive: fc.constant(false),
    }),
    { minLength: 1, maxLength: 4, selector: (d) => d.name },
  );
  fc.assert(
    fc.property(offers, demands, (workers, wfs) => {
      const plan = planSplit(wfs, workers);
      if (!plan.ok) {
        assert.equal(plan.code, 'E_INSUFFICIENT_CAPACITY');
        return;
      }
      const t = CoreReservations.create({ term: 1 });
      assert.ok(t instanceof CoreReservations);
      for (const w of workers) t.setWorker(w.id, w.freeCores);
      for (const round of plan.rounds) {
        const r = t.reserveAll(
          round.placements.map((p) => ({
            dispatchId: `${p.workflow}@${p.worker}`,
            job: 'J',
            workflow: p.workflow,
            worker: p.worker,
            cores: p.cores,
          })),
        );
        assert.ok(r.ok, 'code' in r ? r.message : '');
        t.releaseJob('J');
      }
    }),
    { numRuns: 200, seed: 29 },
  );
});
