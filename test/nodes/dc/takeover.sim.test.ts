// Sim tests of a DC surviving its leader: the new leader takes over the running workflows from
// the replicated DC state and transfers their parts to itself; a worker whose manager stays
// unreachable gives its parts up after the grace period, and keeps them if it comes back.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from './support/dc-cluster.js';

simTest(
  'MW-12.2.1 MW-12.2.3 MW-13.1.1 a new leader takes over a running workflow: its workers follow it, no window is lost or counted twice, and the end reaches the gate',
  { seeds: seedsFrom(10) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 6_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 6_000 } },
      ],
      manager: { registry: { suspectAfterMs: 3_000, reapAfterMs: 60_000 } },
    });
    const first = await c.ready();
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(1_500);
    sim.crash(first);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 10_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersAcked === 2, { maxMs: 10_000 }),
      'both workers accepted the transfer',
    );
    for (const [id, w] of c.workers) {
      assert.equal(w.leaders.counters.accepted, 1);
      for (const s of c.executors.get(id)!.specs) {
        assert.equal(
          w.leaders.leaderOf(s.dispatchId),
          next.ctx.id,
          'the part follows the new leader',
        );
      }
    }
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    assert.ok(
      next.relay.counters.windowsIn > 0,
      'the new leader relayed the windows that came after',
    );
    assert.equal(
      c.mergedRequests('job-1'),
      c.producedRequests(),
      'windows the old leader took but had not delivered were sent again to the new one; each counted once',
    );
    for (const w of c.workers.values()) assert.equal(w.counters.orphansGivenUp, 0);
  },
);

simTest(
  'MW-12.3.2 MW-12.3.3 a worker whose only manager stays unreachable gives its part up after the grace period and frees its cores',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      managers: 1,
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 60_000 }, worker: { orphanGraceMs: 2_000 } },
      ],
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    await sim.run(1_500);
    sim.crash(leader);
    const w = c.workers.get('w1')!;
    assert.ok(await sim.runUntil(() => w.counters.orphansGivenUp === 1, { maxMs: 10_000 }));
    assert.equal(w.slots.freeCores, 2);
    assert.equal(w.activeParts, 0);
    assert.ok(
      await sim.runUntil(() => c.executors.get('w1')!.counters.cancelled === 1, { maxMs: 1_000 }),
      'the part was stopped locally',
    );
    assert.ok(
      sim.logs.some((l) => l.includes('worker: leading manager unreachable; parts orphaned')),
    );
    assert.ok(sim.logs.some((l) => l.includes('worker: orphaned part given up')));
  },
);

simTest(
  'a worker cut off from its manager for less than the grace period keeps its part and delivers everything',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 5_000 }, worker: { orphanGraceMs: 10_000 } },
      ],
      manager: { registry: { suspectAfterMs: 10_000, reapAfterMs: 60_000 } },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    await sim.run(1_200);
    sim.network.partition(['w1'], [leader]);
    const w = c.workers.get('w1')!;
    assert.ok(
      await sim.runUntil(
        () =>
          [...c.executors.get('w1')!.specs].some((s) => {
            const r = w.leaders.record(s.dispatchId);
            return r !== undefined && r.orphanedAtMs !== null;
          }),
        { maxMs: 8_000 },
      ),
    );
    sim.network.heal();
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    assert.equal(w.counters.orphansGivenUp, 0);
    assert.ok(sim.logs.some((l) => l.includes('leading manager back; parts no longer orphaned')));
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);

simTest(
  'LT-40.2.3 LT-40.2.4 a manager leader asked to stop hands the DC to a peer first: the next leader takes over at once, the running workflow completes and every window is counted once',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 6_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 6_000 } },
      ],
    });
    const first = await c.ready();
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(1_500);
    const askedAt = sim.nowMs;
    let stopped = false;
    void c.managers
      .get(first)!
      .stop()
      .then(() => (stopped = true));
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 5_000 }),
    );
    assert.ok(
      sim.nowMs - askedAt < 250,
      `leadership was handed over, not lost to an election timeout (${Math.round(sim.nowMs - askedAt)} ms)`,
    );
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 5_000 }), 'the stop completes');
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersAcked === 2, { maxMs: 5_000 }),
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);

simTest(
  'a part that ended just before its leader died is not run again: the new leader learns its end from the worker',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 2_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 2_000 } },
      ],
    });
    const first = await c.ready();
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4))).ok);
    const old = c.managers.get(first)!;
    // The moment the leader has every part's end, before it may record the workflow's.
    assert.ok(await sim.runUntil(() => old.relay.counters.doneIn === 2, { maxMs: 10_000 }));
    sim.crash(first);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 10_000 }),
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    const next = c.managers.get(c.leaderId()!)!;
    assert.equal(next.recovery.counters.replaced, 0, 'nothing was re-dispatched');
    for (const e of c.executors.values()) {
      assert.ok(e.specs.filter((s) => s.job === 'job-1').length <= 1, 'no part ran twice');
    }
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);
