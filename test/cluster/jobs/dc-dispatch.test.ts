// Unit tests of the DC dispatcher: the waiting queue, batched splits with priorities and
// exclusivity, atomic reservations with fences, part lifecycles and workflow outcomes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DcDispatcher,
  type Decision,
  type DispatchRequest,
  type Part,
} from '../../../src/cluster/jobs/dc-dispatch.js';
import type { WorkerOffer } from '../../../src/cluster/jobs/split-plan.js';

function make(workers: Record<string, number>, maxWaitMs = 1_000, term = 3): DcDispatcher {
  const d = DcDispatcher.create({ term, maxWaitMs });
  assert.ok(d instanceof DcDispatcher);
  for (const [id, cores] of Object.entries(workers))
    assert.ok(d.reservations.setWorker(id, cores).ok);
  return d;
}

const req = (
  workflow: string,
  vus: number,
  over: Partial<DispatchRequest> = {},
): DispatchRequest => ({
  job: 'job-1',
  workflow,
  attempt: 1,
  vus,
  priority: null,
  exclusive: false,
  ...over,
});

function offers(d: DcDispatcher, health: Record<string, WorkerOffer['health']>): WorkerOffer[] {
  return Object.entries(health).map(([id, h]) => ({
    id,
    freeCores: d.reservations.freeCores(id),
    health: h,
  }));
}

function parts(decision: Decision | undefined): readonly Part[] {
  assert.ok(decision, 'a decision');
  assert.ok(decision.result.ok, JSON.stringify(decision.result));
  return decision.result.parts;
}

const coresOf = (ps: readonly Part[]): number => ps.reduce((n, p) => n + p.cores.length, 0);

test('MW-2.1.3 MW-2.1.4 MW-3.1.4 a served request holds its cores under its dispatch ids, with a fence above the term', () => {
  const d = make({ w1: 4, w2: 2 });
  assert.ok(d.submit(req('wf', 10), 0).ok);
  const ps = parts(d.pump(offers(d, { w1: 'healthy', w2: 'healthy' }), 0)[0]);
  assert.equal(coresOf(ps), 6);
  for (const p of ps) {
    const r = d.reservations.reservation(p.dispatchId)!;
    assert.deepEqual(r.cores, p.cores);
    assert.equal(r.worker, p.worker);
    assert.ok(p.fence > 3 * 2 ** 32 && p.fence < 4 * 2 ** 32);
  }
  assert.ok(ps[1]!.fence > ps[0]!.fence, 'fences increase');
  assert.equal(d.reservations.freeCores('w1'), 0);
  assert.equal(d.reservations.freeCores('w2'), 0);
  assert.deepEqual(
    ps.map((p) => [p.firstThread, p.threads]),
    [
      [0, 6],
      [4, 6],
    ],
  );
  assert.equal(
    ps.reduce((n, p) => n + p.vus, 0),
    10,
  );
});

test('MW-3.1.2 MW-3.2.7 healthy workers are used before busy ones, most free cores first', () => {
  const d = make({ a: 2, b: 4, c: 8 });
  d.submit(req('wf', 3), 0);
  const ps = parts(d.pump(offers(d, { a: 'healthy', b: 'healthy', c: 'busy' }), 0)[0]);
  assert.deepEqual(
    ps.map((p) => [p.worker, p.cores.length]),
    [['b', 3]],
  );
  d.submit(req('wf2', 4), 0);
  const ps2 = parts(d.pump(offers(d, { a: 'healthy', b: 'healthy', c: 'busy' }), 0)[0]);
  assert.deepEqual(
    ps2.map((p) => [p.worker, p.cores.length]),
    [
      ['a', 2],
      ['b', 1],
      ['c', 1],
    ],
  );
});

test('MW-3.2.5 no part is given more cores than its worker has', () => {
  const d = make({ a: 1, b: 3 });
  d.submit(req('wf', 100), 0);
  const ps = parts(d.pump(offers(d, { a: 'healthy', b: 'healthy' }), 0)[0]);
  for (const p of ps) assert.ok(p.cores.length <= d.reservations.totalCores(p.worker));
  assert.equal(coresOf(ps), 4);
});

test('MW-4.1.1 MW-4.2.1 an explicit priority is served first in a batch; MW-4.1.2 auto workflows of equal VUs split the rest equally', () => {
  const d = make({ w1: 8 });
  d.submit(req('auto-a', 10), 0);
  d.submit(req('auto-b', 10), 0);
  d.submit(req('high', 2, { priority: 5 }), 0);
  const ds = d.pump(offers(d, { w1: 'healthy' }), 0);
  const by = new Map(ds.map((x) => [x.request.workflow, coresOf(parts(x))]));
  assert.equal(by.get('high'), 2, 'the explicit priority takes what its VUs need, first');
  assert.equal(by.get('auto-a'), 3);
  assert.equal(by.get('auto-b'), 3);
});

test('MW-2.5.1 MW-2.5.2 dispatches compete first come first served; one that cannot get a core waits, then times out', () => {
  const d = make({ w1: 2 }, 1_000);
  d.submit(req('first', 2), 0);
  parts(d.pump(offers(d, { w1: 'healthy' }), 0)[0]);
  d.submit(req('second', 1), 10);
  assert.deepEqual(d.pump(offers(d, { w1: 'healthy' }), 500), [], 'no free core: it waits');
  assert.equal(d.waitingCount, 1);
  const late = d.pump(offers(d, { w1: 'healthy' }), 1_010);
  assert.equal(late.length, 1);
  assert.equal(!late[0]!.result.ok && late[0]!.result.code, 'E_INSUFFICIENT_CAPACITY');
  assert.equal(d.waitingCount, 0);
});

test('MW-2.3.3 MW-2.5.3 MW-10.1.3 freed cores serve the oldest waiting dispatch first; later small ones do not overtake it', () => {
  const d = make({ w1: 2 }, 60_000);
  d.submit(req('a', 1), 0);
  d.submit(req('b', 1), 0);
  const first = d.pump(offers(d, { w1: 'healthy' }), 0).map((x) => parts(x)[0]!);
  d.submit(req('big', 50), 1);
  d.submit(req('small', 1), 2);
  assert.deepEqual(d.pump(offers(d, { w1: 'healthy' }), 3), []);
  d.transition(first[0]!.dispatchId, 'dispatched');
  d.transition(first[0]!.dispatchId, 'completed');
  const next = d.pump(offers(d, { w1: 'healthy' }), 4);
  assert.deepEqual(
    next.map((x) => x.request.workflow),
    ['big'],
    'the head of the queue is served first',
  );
  assert.deepEqual(d.pump(offers(d, { w1: 'healthy' }), 5), []);
  d.transition(first[1]!.dispatchId, 'cancelled');
  assert.deepEqual(
    d.pump(offers(d, { w1: 'healthy' }), 6).map((x) => x.request.workflow),
    ['small'],
  );
});

test('MW-4.1.3 MW-4.4.1 MW-4.4.3 an exclusive workflow waits for an idle DC, runs alone, and frees the DC for the next one', () => {
  const d = make({ w1: 4 }, 60_000);
  d.submit(req('shared', 1), 0);
  const shared = parts(d.pump(offers(d, { w1: 'healthy' }), 0)[0]);
  d.submit(req('solo', 2, { exclusive: true }), 1);
  d.submit(req('after', 1), 2);
  assert.deepEqual(
    d.pump(offers(d, { w1: 'healthy' }), 3),
    [],
    'exclusive waits while other work holds cores',
  );
  d.transition(shared[0]!.dispatchId, 'dispatched');
  d.transition(shared[0]!.dispatchId, 'completed');
  const solo = d.pump(offers(d, { w1: 'healthy' }), 4);
  assert.deepEqual(
    solo.map((x) => x.request.workflow),
    ['solo'],
  );
  const soloParts = parts(solo[0]);
  assert.equal(d.reservations.freeCores('w1'), 2);
  assert.deepEqual(
    d.pump(offers(d, { w1: 'healthy' }), 5),
    [],
    'nothing starts beside an exclusive workflow',
  );
  d.transition(soloParts[0]!.dispatchId, 'dispatched');
  d.transition(soloParts[0]!.dispatchId, 'completed');
  assert.deepEqual(
    d.pump(offers(d, { w1: 'healthy' }), 6).map((x) => x.request.workflow),
    ['after'],
  );
});

test('no worker at all is E_NO_WORKERS at once; a duplicate of a live workflow is refused', () => {
  const d = make({});
  d.submit(req('wf', 1), 0);
  const r = d.pump([], 0);
  assert.equal(!r[0]!.result.ok && r[0]!.result.code, 'E_NO_WORKERS');
  const d2 = make({ w1: 1 });
  d2.submit(req('wf', 1), 0);
  const dup = d2.submit(req('wf', 1, { attempt: 2 }), 0);
  assert.equal(!dup.ok && dup.code, 'E_DUPLICATE_DISPATCH');
});

test('MW-7.1.1 MW-7.1.2 MW-7.1.3 a part goes pending → dispatched → running → completed and the workflow ends completed', () => {
  const d = make({ w1: 1, w2: 1 });
  d.submit(req('wf', 2), 0);
  const ps = parts(d.pump(offers(d, { w1: 'healthy', w2: 'healthy' }), 0)[0]);
  assert.equal(ps[0]!.state, 'pending');
  for (const p of ps) {
    assert.deepEqual(d.transition(p.dispatchId, 'dispatched'), {
      ok: true,
      from: 'pending',
      workflowEnded: null,
    });
    assert.equal(d.transition(p.dispatchId, 'running').ok, true);
  }
  assert.deepEqual(d.transition(ps[0]!.dispatchId, 'completed'), {
    ok: true,
    from: 'running',
    workflowEnded: null,
  });
  assert.deepEqual(d.transition(ps[1]!.dispatchId, 'completed'), {
    ok: true,
    from: 'running',
    workflowEnded: 'completed',
  });
});

test('MW-7.1.4 MW-7.1.5 a failed part fails its workflow; a cancelled one (from any live state) cancels it', () => {
  const d = make({ w1: 1, w2: 1 });
  d.submit(req('wf', 2), 0);
  const ps = parts(d.pump(offers(d, { w1: 'healthy', w2: 'healthy' }), 0)[0]);
  d.transition(ps[0]!.dispatchId, 'dispatched');
  d.transition(ps[0]!.dispatchId, 'running');
  d.transition(ps[0]!.dispatchId, 'failed');
  const r = d.transition(ps[1]!.dispatchId, 'cancelled');
  assert.deepEqual(r, { ok: true, from: 'pending', workflowEnded: 'failed' });
  const d2 = make({ w1: 1 });
  d2.submit(req('wf', 1), 0);
  const p2 = parts(d2.pump(offers(d2, { w1: 'healthy' }), 0)[0]);
  d2.transition(p2[0]!.dispatchId, 'dispatched');
  assert.deepEqual(d2.transition(p2[0]!.dispatchId, 'cancelled'), {
    ok: true,
    from: 'dispatched',
    workflowEnded: 'cancelled',
  });
});

test('MW-7.2.1 MW-7.2.2 MW-7.2.3 terminal part states have no way out', () => {
  for (const end of ['completed', 'failed', 'cancelled'] as const) {
    const d = make({ w1: 1 });
    d.submit(req('wf', 1), 0);
    const p = parts(d.pump(offers(d, { w1: 'healthy' }), 0)[0])[0]!;
    d.transition(p.dispatchId, 'dispatched');
    d.transition(p.dispatchId, end);
    for (const to of [
      'pending',
      'dispatched',
      'running',
      'completed',
      'failed',
      'cancelled',
    ] as const) {
      const r = d.transition(p.dispatchId, to);
      assert.equal(!r.ok && r.code, 'E_ILLEGAL_TRANSITION', `${end} → ${to}`);
    }
    assert.equal(p.state, end);
    assert.equal(d.reservations.freeCores('w1'), 1, 'cores were given back once');
  }
});

test('MW-2.3.2 MW-2.4.1 MW-2.4.2 MW-2.4.3 MW-6.4.3 a workflow gives its cores back part by part; once all ended, forget drops it', () => {
  const d = make({ w1: 2, w2: 2 });
  d.submit(req('wf', 4), 0);
  const ps = parts(d.pump(offers(d, { w1: 'healthy', w2: 'healthy' }), 0)[0]);
  assert.equal(d.reservations.reservationCount, 2);
  for (const p of ps) d.transition(p.dispatchId, 'dispatched');
  d.transition(ps[0]!.dispatchId, 'completed');
  assert.equal(d.reservations.reservationCount, 1, 'the ended part released its cores');
  assert.equal(d.reservations.freeCores(ps[0]!.worker), 2);
  assert.equal(d.reservations.freeCores(ps[1]!.worker), 0);
  d.forget('job-1', 'wf');
  assert.equal(d.partsOf('job-1').length, 2, 'not forgotten while a part runs');
  d.transition(ps[1]!.dispatchId, 'failed');
  d.forget('job-1', 'wf');
  assert.equal(d.partsOf('job-1').length, 0);
  assert.equal(d.has('job-1', 'wf'), false);
  assert.equal(d.reservations.reservationCount, 0);
});

test('a lost worker fails its live parts, frees its cores, and ends the workflows it ran alone', () => {
  const d = make({ w1: 1, w2: 1 });
  d.submit(req('wf', 2), 0);
  const ps = parts(d.pump(offers(d, { w1: 'healthy', w2: 'healthy' }), 0)[0]);
  d.transition(ps[1]!.dispatchId, 'dispatched');
  d.transition(ps[1]!.dispatchId, 'completed');
  const lost = d.workerLost(ps[0]!.worker);
  assert.deepEqual(
    lost.parts.map((p) => p.dispatchId),
    [ps[0]!.dispatchId],
  );
  assert.deepEqual(lost.ended, [{ job: 'job-1', workflow: 'wf', outcome: 'failed' }]);
  assert.equal(d.reservations.totalCores(ps[0]!.worker), 0);
});

test("dropWaiting removes a cancelled job's queued requests", () => {
  const d = make({ w1: 1 });
  d.submit(req('a', 1), 0);
  d.pump(offers(d, { w1: 'healthy' }), 0);
  d.submit(req('b', 1), 0);
  d.submit(req('c', 1, { job: 'job-2' }), 0);
  assert.deepEqual(
    d.dropWaiting('job-1').map((r) => r.workflow),
    ['b'],
  );
  assert.equal(d.waitingCount, 1);
});

test('MW-5.1.1 MW-5.1.2 MW-5.1.3 MW-5.1.4 healthy workers first, then busy, then degraded; overloaded never', () => {
  const d = make({ h: 1, b: 1, g: 1, o: 8 });
  const health = { h: 'healthy', b: 'busy', g: 'degraded', o: 'overloaded' } as const;
  const order: string[] = [];
  for (const wf of ['a', 'b', 'c']) {
    d.submit(req(wf, 1), 0);
    order.push(...parts(d.pump(offers(d, health), 0)[0]).map((p) => p.worker));
  }
  assert.deepEqual(order, ['h', 'b', 'g']);
  d.submit(req('d', 1), 0);
  assert.deepEqual(d.pump(offers(d, health), 0), [], 'the overloaded worker is not used');
  assert.equal(d.reservations.freeCores('o'), 8);
});
