// Sim tests of a DC's dispatch path: real managers (Raft) and workers (synthetic executor), and
// a fake gate speaking dc-wire. Each seed replays exactly (SALVO_SIM_SEED=n).

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, errorCode } from './support/dc-cluster.js';

simTest(
  'happy path: a workflow dispatched over two workers, every window reaches the gate once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 8));
    assert.equal(errorCode(r), null, JSON.stringify(r));
    assert.ok(r.ok);
    assert.deepEqual([...(r.message.workers as string[])].sort(), ['w1', 'w2']);
    assert.equal(r.message.cores, 4);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
    assert.ok(c.producedRequests() > 0);
  },
);
