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
  { seeds: seedsFrom(3) },
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
  { seeds: seedsFrom(3) },
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

simTest(
  'LT-45.5 a worker whose acceptance comes after the dispatch timed out: the share already runs elsewhere, the late copy is stopped and its windows are not counted',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 4, synthetic: { durationMs: undefined } },
        { id: 'w2', cores: 2, synthetic: { durationMs: undefined } },
        { id: 'w3', cores: 2, synthetic: { durationMs: undefined } },
      ],
    });
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    const leader = c.managers.get(leaderId)!;
    let answer: RpcReply | undefined;
    const share = {
      share: {
        config: { type: 'constant-vus', vus: 2, durationMs: 6_000, gracefulStopMs: 0 },
        phase: 0,
      },
    };
    void c
      .ask(leaderId, c.dispatchMsg('job-late', 'wf', 2, share), 30_000)
      .then((r) => (answer = r));
    assert.ok(
      await sim.runUntil(
        () => (leader.ctx.leadership.dispatcher()?.partsOf('job-late') ?? []).length > 0,
        {
          maxMs: 10_000,
        },
      ),
    );
    const [first] = leader.ctx.leadership.dispatcher()!.partsOf('job-late');
    assert.equal(first?.worker, 'w1', 'the roomiest worker is chosen first');
    // w1 freezes before it can answer; the dispatch times out and the share goes elsewhere.
    sim.pause('w1', 2_500);
    assert.ok(await sim.runUntil(() => answer !== undefined, { maxMs: 20_000 }));
    assert.ok(answer?.ok, JSON.stringify(answer));
    assert.ok(!(answer.message.workers as string[]).includes('w1'), 'the share runs on others');
    assert.ok(
      sim.logs.some(
        (l) => l.includes('worker did not take a part') && l.includes('"code":"timeout"'),
      ),
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    await sim.run(3_000);
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    const w1 = c.executors.get('w1')!;
    assert.ok(
      w1.specs.some((s) => s.job === 'job-late'),
      'w1 took the part late and started it',
    );
    assert.ok(w1.counters.cancelled >= 1, 'then was told to stop it');
    assert.equal(c.workers.get('w1')!.activeParts, 0, 'the late copy on w1 does not run on');
    const byOthers =
      c.executors.get('w2')!.counters.requests + c.executors.get('w3')!.counters.requests;
    assert.equal(c.mergedRequests('job-late'), byOthers, 'only the live share was counted');
    assert.equal(c.gate.duplicates, 0);
  },
);
