// Sim tests of a gate's dispatch retries reaching one DC (real managers and workers, a fake
// gate): copies of a dispatch sent at once, and a dispatch resent after its answer was lost,
// each start the workflow once.

import assert from 'node:assert/strict';
import type { RpcReply } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

function partsRun(c: DcCluster, job: string): number {
  let n = 0;
  for (const e of c.executors.values()) n += e.specs.filter((s) => s.job === job).length;
  return n;
}

simTest(
  'LT-41.2.5 five copies of a dispatch sent at once to the leader and a follower start the workflow once: every copy the leader answers names the same dispatch',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const follower = c.managerIds.find((id) => id !== leader)!;
    const replies: RpcReply[] = [];
    const targets = [leader, leader, leader, follower, leader];
    for (const to of targets) {
      void c.ask(to, c.dispatchMsg('job-c', 'wf', 4)).then((r) => replies.push(r));
    }
    assert.ok(await sim.runUntil(() => replies.length === targets.length, { maxMs: 20_000 }));
    const accepted = replies.filter((r) => r.ok);
    // Copies that arrive while the first is being recorded share its answer: one dispatch, one
    // manager fence, the same workers.
    const answers = new Set(
      accepted.map((r) =>
        r.ok ? JSON.stringify([r.message.managerFence, r.message.workers, r.message.cores]) : '',
      ),
    );
    assert.equal(answers.size, 1, `one answer for every copy: ${[...answers].join(' | ')}`);
    const notLeader = replies.filter((r) => !r.ok);
    for (const r of notLeader) assert.ok(!r.ok && r.error.code === 'E_NOT_LEADER');
    assert.equal(accepted.length + notLeader.length, targets.length);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(partsRun(c, 'job-c'), 2, 'one part per worker: the workflow ran once');
    assert.equal(c.mergedRequests('job-c'), c.producedRequests());
  },
);

simTest(
  'LT-41.2.3 a dispatch whose acknowledgement was lost is resent: the DC answers it as a duplicate and the workflow runs once',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    let first: RpcReply | undefined;
    let firstError: unknown;
    // The link is up; then the answer cannot come back: the leader hears the gate, cannot answer.
    assert.ok((await c.call(leader, { t: 'dc.capacity' })).ok);
    sim.network.partition([leader], ['g1'], { oneWay: true });
    void c.ask(leader, c.dispatchMsg('job-r', 'wf', 4), 3_000).then(
      (r) => (first = r),
      (e: unknown) => (firstError = e),
    );
    assert.ok(
      await sim.runUntil(() => c.managers.get(leader)!.ctx.state.job('job-r') !== undefined, {
        maxMs: 10_000,
      }),
      'the leader took the dispatch',
    );
    assert.ok(
      await sim.runUntil(() => first !== undefined || firstError !== undefined, { maxMs: 15_000 }),
    );
    assert.ok(
      firstError !== undefined || (first !== undefined && !first.ok),
      'no answer reached the gate',
    );
    sim.network.heal();
    const again = await c.call(leader, c.dispatchMsg('job-r', 'wf', 4));
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(again.message.duplicate, true);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(partsRun(c, 'job-r'), 2, 'no part ran twice');
    assert.equal(c.mergedRequests('job-r'), c.producedRequests());
  },
);
