// Tests of the VU/core split a manager leader plans: priorities, proportion to VUs, the one-core
// minimum, exclusive rounds, healthy workers first, and (property) conservation of VUs, no
// over-booked worker, and a typed "insufficient capacity" exactly when cores are too few.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  apportion,
  planSplit,
  type SplitResult,
  type SplitRound,
  type WorkerOffer,
  type WorkflowDemand,
} from '../../../src/cluster/jobs/split-plan.js';

const auto = (name: string, vus: number): WorkflowDemand => ({
  name,
  vus,
  priority: null,
  exclusive: false,
});
const explicit = (name: string, vus: number, priority: number): WorkflowDemand => ({
  name,
  vus,
  priority,
  exclusive: false,
});
const worker = (
  id: string,
  freeCores: number,
  health: WorkerOffer['health'] = 'healthy',
): WorkerOffer => ({
  id,
  freeCores,
  health,
});

function rounds(r: SplitResult): readonly SplitRound[] {
  if (!r.ok) assert.fail(`expected a plan, got ${r.code}: ${r.message}`);
  return r.rounds;
}

test('MW-4.3.1 auto workflows get cores in proportion to their VUs', () => {
  const [round] = rounds(planSplit([auto('small', 100), auto('big', 300)], [worker('w1', 8)]));
  assert.deepEqual(round?.cores, { big: 6, small: 2 });
  assert.deepEqual(round?.workflows, ['big', 'small']);
});

test('MW-4.3.2 every workflow gets at least one core, and never more cores than VUs', () => {
  const [round] = rounds(
    planSplit([auto('huge', 1000), auto('a', 1), auto('b', 1)], [worker('w1', 4)]),
  );
  assert.deepEqual(round?.cores, { huge: 2, a: 1, b: 1 });
  const [capped] = rounds(planSplit([auto('two', 2), auto('three', 3)], [worker('w1', 16)]));
  assert.deepEqual(capped?.cores, { two: 2, three: 3 }, 'spare cores stay free');
});

test('MW-4.2.1 explicit-priority workflows are served before auto ones', () => {
  const [round] = rounds(
    planSplit([auto('x', 10), explicit('p', 10, 1), auto('y', 10)], [worker('w1', 8)]),
  );
  assert.deepEqual(round?.workflows, ['p', 'x', 'y']);
  assert.deepEqual(round?.cores, { p: 6, x: 1, y: 1 });
});

test('MW-4.2.2 a higher priority value is served first', () => {
  const [round] = rounds(
    planSplit([explicit('low', 10, 1), explicit('high', 10, 5)], [worker('w1', 6)]),
  );
  assert.deepEqual(round?.workflows, ['high', 'low']);
  assert.deepEqual(round?.cores, { high: 5, low: 1 });
});

test('MW-4.2.3 with equal priority, the workflow with more VUs is served first', () => {
  const [round] = rounds(
    planSplit([explicit('fewer', 10, 3), explicit('more', 20, 3)], [worker('w1', 6)]),
  );
  assert.deepEqual(round?.workflows, ['more', 'fewer']);
  assert.deepEqual(round?.cores, { more: 5, fewer: 1 });
});

test('MW-4.3.3 the cores explicit workflows leave are split among the auto ones', () => {
  const [round] = rounds(
    planSplit([explicit('p', 2, 9), auto('a', 30), auto('b', 10)], [worker('w1', 10)]),
  );
  assert.deepEqual(round?.cores, { p: 2, a: 6, b: 2 });
});

test('MW-4.4.2 an exclusive workflow runs alone, in a round of its own with all usable cores', () => {
  const plan = rounds(
    planSplit(
      [auto('a', 8), { name: 'solo', vus: 100, priority: null, exclusive: true }, auto('b', 8)],
      [worker('w1', 4), worker('w2', 4)],
    ),
  );
  assert.equal(plan.length, 2);
  assert.deepEqual(plan[0]?.workflows, ['a', 'b']);
  assert.equal(plan[0]?.exclusive, false);
  assert.deepEqual(plan[1]?.workflows, ['solo']);
  assert.equal(plan[1]?.exclusive, true);
  assert.deepEqual(plan[1]?.cores, { solo: 8 });
  assert.deepEqual(
    plan[1]?.placements.map((p) => [p.worker, p.cores, p.vus]),
    [
      ['w1', 4, 50],
      ['w2', 4, 50],
    ],
  );
});

test('MW-3.2.1 healthy workers are used first, busy and degraded only for what is left', () => {
  const [round] = rounds(
    planSplit(
      [auto('a', 3)],
      [worker('deg', 8, 'degraded'), worker('busy', 8, 'busy'), worker('ok', 2)],
    ),
  );
  assert.deepEqual(
    round?.placements.map((p) => [p.worker, p.cores]),
    [
      ['ok', 2],
      ['busy', 1],
    ],
  );
});

test('MW-3.2.2 with no healthy worker, busy workers are used before degraded ones', () => {
  const [round] = rounds(
    planSplit([auto('a', 2)], [worker('deg', 8, 'degraded'), worker('busy', 2, 'busy')]),
  );
  assert.deepEqual(
    round?.placements.map((p) => [p.worker, p.cores]),
    [['busy', 2]],
  );
});

test('MW-3.2.3 with neither healthy nor busy workers, degraded workers are used', () => {
  const [round] = rounds(
    planSplit([auto('a', 2)], [worker('hot', 8, 'overloaded'), worker('deg', 4, 'degraded')]),
  );
  assert.deepEqual(
    round?.placements.map((p) => [p.worker, p.cores]),
    [['deg', 2]],
  );
});

test('MW-3.2.4 overloaded workers are never used; their cores do not count as capacity', () => {
  const r = planSplit(
    [auto('a', 5), auto('b', 5)],
    [worker('hot', 64, 'overloaded'), worker('ok', 1)],
  );
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 'E_INSUFFICIENT_CAPACITY');
  assert.match(
    !r.ok ? r.message : '',
    /2 workflow\(s\) \(a, b\) need at least one core each; 1 usable core/,
  );
  const ok = rounds(
    planSplit([auto('a', 5)], [worker('hot', 64, 'overloaded'), worker('ok', 1, 'degraded')]),
  );
  assert.deepEqual(
    ok[0]?.placements.map((p) => p.worker),
    ['ok'],
  );
});

test('a workflow spread over workers gets its VUs in proportion to the cores on each', () => {
  const [round] = rounds(planSplit([auto('a', 10)], [worker('w1', 3), worker('w2', 2)]));
  assert.deepEqual(
    round?.placements.map((p) => [p.worker, p.cores, p.vus]),
    [
      ['w1', 3, 6],
      ['w2', 2, 4],
    ],
  );
  assert.deepEqual(apportion(10, [1, 1, 1]), [4, 3, 3]);
  assert.deepEqual(apportion(7, [5, 2]), [5, 2]);
});

test('bad demands and workers are refused naming the field', () => {
  const cases: Array<[SplitResult, string, RegExp]> = [
    [planSplit([], [worker('w', 1)]), 'E_INVALID_DEMAND', /at least one workflow/],
    [planSplit([auto('a', 0)], [worker('w', 1)]), 'E_INVALID_DEMAND', /vus must be an integer/],
    [planSplit([auto('a', 1), auto('a', 2)], [worker('w', 1)]), 'E_INVALID_DEMAND', /listed twice/],
    [planSplit([explicit('a', 1, Number.NaN)], [worker('w', 1)]), 'E_INVALID_DEMAND', /priority/],
    [planSplit([auto('a', 1)], [worker('w', -1)]), 'E_INVALID_WORKER', /freeCores/],
    [
      planSplit(
        [auto('a', 1)],
        [{ id: 'w', freeCores: 1, health: 'sick' } as unknown as WorkerOffer],
      ),
      'E_INVALID_WORKER',
      /health must be one of/,
    ],
    [planSplit([auto('a', 1)], []), 'E_INSUFFICIENT_CAPACITY', /0 usable core/],
  ];
  for (const [r, code, message] of cases) {
    assert.equal(!r.ok && r.code, code);
    assert.match(!r.ok ? r.message : '', message);
  }
});

// ─── Properties ───

const demandsArb = fc
  .uniqueArray(
    fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
      vus: fc.integer({ min: 1, max: 200 }),
      priority: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
      exclusive: fc.boolean(),
    }),
    { minLength: 1, maxLength: 7, selector: (w) => w.name },
  )
  .map((ws) => ws.map((w) => ({ ...w, exclusive: w.exclusive && w.vus % 3 === 0 })));
const workersArb = fc.uniqueArray(
  fc.record({
    id: fc.constantFrom('w1', 'w2', 'w3', 'w4', 'w5'),
    freeCores: fc.integer({ min: 0, max: 6 }),
    health: fc.constantFrom<WorkerOffer['health']>('healthy', 'busy', 'degraded', 'overloaded'),
  }),
  { maxLength: 5, selector: (w) => w.id },
);

test('property: VUs are conserved, no worker is over-booked, every workflow gets ≥ 1 core — or capacity is short', () => {
  fc.assert(
    fc.property(demandsArb, workersArb, (demands, workers) => {
      const usable = workers.filter((w) => w.health !== 'overloaded');
      const capacity = usable.reduce((n, w) => n + w.freeCores, 0);
      const sharedCount = demands.filter((d) => !d.exclusive).length;
      const r = planSplit(demands, workers);
      if (sharedCount > capacity || capacity === 0) {
        assert.equal(!r.ok && r.code, 'E_INSUFFICIENT_CAPACITY');
        return;
      }
      const plan = rounds(r);
      const seen = new Set<string>();
      for (const round of plan) {
        const booked = new Map<string, number>();
        for (const name of round.workflows) {
          assert.ok(!seen.has(name), `${name} planned twice`);
          seen.add(name);
          const d = demands.find((x) => x.name === name)!;
          const mine = round.placements.filter((p) => p.workflow === name);
          const cores = mine.reduce((n, p) => n + p.cores, 0);
          assert.equal(cores, round.cores[name]);
          assert.ok(cores >= 1 && cores <= d.vus, `${name}: ${cores} cores for ${d.vus} VUs`);
          assert.equal(
            mine.reduce((n, p) => n + p.vus, 0),
            d.vus,
            `${name}: VUs conserved`,
          );
          for (const p of mine) assert.ok(p.vus >= 1 && p.cores >= 1);
        }
        if (round.exclusive) assert.equal(round.workflows.length, 1);
        for (const p of round.placements)
          booked.set(p.worker, (booked.get(p.worker) ?? 0) + p.cores);
        for (const [id, n] of booked) {
          const w = workers.find((x) => x.id === id)!;
          assert.notEqual(w.health, 'overloaded');
          assert.ok(n <= w.freeCores, `worker ${id} booked ${n} of ${w.freeCores}`);
        }
        // Healthy first: a less healthy worker is used only once every healthier one is full.
        const rank = { healthy: 0, busy: 1, degraded: 2, overloaded: 3 } as const;
        for (const id of booked.keys()) {
          const w = workers.find((x) => x.id === id)!;
          for (const better of usable) {
            if (rank[better.health] < rank[w.health]) {
              assert.equal(
                booked.get(better.id) ?? 0,
                better.freeCores,
                `${better.id} full before ${id}`,
              );
            }
          }
        }
      }
      assert.equal(seen.size, demands.length, 'every workflow planned');
    }),
    { numRuns: 300, seed: 17 },
  );
});
