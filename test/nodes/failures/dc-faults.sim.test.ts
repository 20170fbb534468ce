// Sim tests of one DC (real managers and workers, a fake gate) under faults the DC must ride out:
// a worker paused briefly (kept) or for long (its part moves), a dispatch racing its worker's
// death, the manager leader dying (workers notice and follow the next leader, whose fence is
// higher), and the whole DC cut off from its gate (it runs on; the gate gets everything once).

import assert from 'node:assert/strict';
import type { Part } from '../../../src/cluster/jobs/dc-dispatch.js';
import { fenceTerm } from '../../../src/cluster/jobs/work-leaders.js';
import type { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

/** Three 2-core workers running each part for its share's planned length. */
function cluster(sim: Simulation, lostAfterMs = 4_000): DcCluster {
  return new DcCluster(sim, {
    workers: ['w1', 'w2', 'w3'].map((id) => ({
      id,
      cores: 2,
      synthetic: { durationMs: undefined },
      worker: { orphanGraceMs: 60_000 },
    })),
    manager: {
      registry: { suspectAfterMs: 1_000, reapAfterMs: 120_000 },
      recovery: { lostAfterMs },
    },
  });
}

function liveParts(m: ManagerNode, job: string): Part[] {
  return m.ctx.leadership.dispatcher()?.partsOf(job) ?? [];
}

function share(c: DcCluster, job: string, vus: number, durationMs: number) {
  return c.dispatchMsg(job, 'wf', vus, {
    share: { config: { type: 'constant-vus', vus, durationMs, gracefulStopMs: 0 }, phase: 0 },
  });
}

/** Starts `job` (2 VUs for `durationMs`) on a ready DC; returns its leader and first part. */
async function runningPart(
  c: DcCluster,
  job: string,
  durationMs: number,
): Promise<{ leader: ManagerNode; part: Part }> {
  const leaderId = await c.ready(['w1', 'w2', 'w3']);
  assert.ok((await c.call(leaderId, share(c, job, 2, durationMs))).ok);
  const leader = c.managers.get(leaderId)!;
  const [part] = liveParts(leader, job);
  assert.ok(part);
  return { leader, part };
}

simTest(
  'LT-50.3 a worker frozen for less than the loss grace (a GC pause) keeps its part: nothing is re-dispatched and every request is counted once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = cluster(sim, 4_000);
    const { leader, part } = await runningPart(c, 'job-p', 10_000);
    await sim.run(2_000);
    sim.pause(part.worker, 2_000);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(leader.recovery.counters.replaced, 0, 'no part was moved');
    assert.equal(leader.relay.counters.windowsAbandoned, 0, 'none of its windows was discarded');
    assert.equal(c.mergedRequests('job-p'), c.producedRequests(), 'every request counted once');
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'MW-6.3.2 a worker frozen past the loss grace stops reporting: the leader detects the missing reports, moves its part, and discards what it sends on waking',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, 4_000);
    const { leader, part } = await runningPart(c, 'job-q', 16_000);
    await sim.run(2_000);
    const frozenAt = sim.nowMs;
    sim.pause(part.worker, 8_000);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 10_000 }));
    assert.ok(sim.nowMs - frozenAt < 8_000, 'detected while the worker was still frozen');
    const moved = liveParts(leader, 'job-q').find((p) => p.firstThread === part.firstThread)!;
    assert.notEqual(moved.worker, part.worker);
    assert.ok(moved.fence > part.fence);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 40_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.ok(
      leader.relay.counters.windowsAbandoned > 0,
      'the woken worker’s windows were discarded',
    );
    assert.equal(c.gate.duplicates, 0);
    assert.ok(c.mergedRequests('job-q') <= c.producedRequests(), 'nothing counted twice');
  },
);

simTest(
  'LT-28.1.2 a dispatch in flight when its worker dies: the share still runs, on live workers, and ends completed with nothing counted twice',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, 3_000);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    const leader = c.managers.get(leaderId)!;
    let answered = false;
    void c.ask(leaderId, share(c, 'job-race', 2, 4_000)).then((r) => {
      answered = true;
      assert.ok(r.ok, JSON.stringify(r));
    });
    // The moment the leader has planned a part, its work.dispatch is on the way: kill that worker.
    assert.ok(
      await sim.runUntil(() => liveParts(leader, 'job-race').length > 0, { maxMs: 10_000 }),
    );
    const [target] = liveParts(leader, 'job-race');
    assert.ok(target);
    const stateAtCrash = target.state;
    sim.crash(target.worker);
    assert.ok(
      stateAtCrash === 'pending' || stateAtCrash === 'dispatched',
      `the dispatch was still in flight (${stateAtCrash})`,
    );
    assert.ok(await sim.runUntil(() => answered, { maxMs: 20_000 }), 'the dispatch was answered');
    assert.ok(
      await sim.runUntil(() => c.gate.done.some((d) => d.job === 'job-race'), { maxMs: 40_000 }),
      'the workflow ended',
    );
    assert.equal(c.gate.done.find((d) => d.job === 'job-race')!['outcome'], 'completed');
    const ran = liveParts(leader, 'job-race').filter((p) => p.state === 'completed');
    assert.ok(
      ran.length > 0 && ran.every((p) => p.worker !== target.worker),
      'run on live workers',
    );
    assert.equal(c.gate.duplicates, 0);
    assert.equal(c.gate.conflictingDone, 0);
    assert.ok(c.mergedRequests('job-race') > 0);
    assert.ok(c.mergedRequests('job-race') <= c.producedRequests(), 'no request merged twice');
  },
);

simTest(
  'MW-12.1.1 LT-41.3.3 LT-41.10.2 the manager leader dies mid-run: its workers notice and orphan their parts, the next leader takes the committed dispatch over with a higher fence, and the workflow completes',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim);
    const first = await c.ready(['w1', 'w2', 'w3']);
    assert.ok((await c.call(first, share(c, 'job-l', 4, 8_000))).ok);
    const oldParts = liveParts(c.managers.get(first)!, 'job-l');
    assert.equal(oldParts.length, 2);
    await sim.run(1_500);
    sim.crash(first);
    const orphanedBy = new Set<string>();
    assert.ok(
      await sim.runUntil(
        () => {
          for (const p of oldParts) {
            if (c.workers.get(p.worker)?.leaders.record(p.dispatchId)?.orphanedAtMs != null)
              orphanedBy.add(p.worker);
          }
          return orphanedBy.size === oldParts.length;
        },
        { maxMs: 15_000 },
      ),
      'every worker running a part noticed its leader was gone',
    );
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 15_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersAcked === oldParts.length, {
        maxMs: 15_000,
      }),
    );
    const adopted = liveParts(next, 'job-l');
    assert.deepEqual(
      adopted.map((p) => p.dispatchId).sort(),
      oldParts.map((p) => p.dispatchId).sort(),
      "the new leader adopted the parts from the DC's Raft state",
    );
    for (const p of oldParts) {
      const rec = c.workers.get(p.worker)!.leaders.record(p.dispatchId)!;
      assert.equal(rec.manager, next.ctx.id, 'the worker follows the new leader');
      assert.equal(rec.orphanedAtMs, null, 'and no longer counts its part orphaned');
    }
    const oldTerm = Math.max(...oldParts.map((p) => fenceTerm(p.fence)));
    assert.ok(next.ctx.leadership.term > oldTerm, "the new leader's fence term is higher");
    for (const w of new Set(oldParts.map((p) => p.worker))) {
      assert.ok(c.workers.get(w)!.leaders.counters.accepted >= 1, `${w} accepted the transfer`);
    }
    sim.restart(first);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.mergedRequests('job-l'), c.producedRequests());
    for (const w of c.workers.values()) assert.equal(w.counters.orphansGivenUp, 0);
  },
);

simTest(
  'LT-33.3.1 LT-33.3.2 LT-33.3.4 a DC cut off from its gate keeps running its job; once reconnected, every window and the end reach the gate exactly once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    assert.ok((await c.call(leaderId, share(c, 'job-i', 4, 6_000))).ok);
    await sim.run(500);
    const before = c.gate.windows;
    sim.network.partition(['g1'], [...c.managerIds, 'w1', 'w2', 'w3']);
    const producedAtCut = c.producedRequests();
    await sim.run(9_000);
    assert.ok(c.producedRequests() > producedAtCut, 'the workers kept running while cut off');
    assert.ok(c.gate.windows - before <= 2, 'the gate heard (almost) nothing meanwhile');
    assert.equal(c.gate.done.length, 0);
    sim.network.heal();
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 60_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.ok(
      await sim.runUntil(() => c.mergedRequests('job-i') === c.producedRequests(), {
        maxMs: 20_000,
      }),
      'every request reached the gate',
    );
    await sim.run(3_000);
    assert.equal(c.mergedRequests('job-i'), c.producedRequests(), 'and none twice');
    assert.equal(c.gate.conflictingDone, 0);
  },
);

simTest(
  'LT-24.2.2 wall clocks of the leader and a worker jumping by half a second mid-run make no message be refused: the workflow completes and every request is counted once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = cluster(sim);
    const { leader, part } = await runningPart(c, 'job-clock', 6_000);
    await sim.run(1_500);
    sim.jumpClock(leader.ctx.id, 500);
    sim.jumpClock(part.worker, -500);
    await sim.run(1_000);
    sim.jumpClock(leader.ctx.id, -500);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(leader.recovery.counters.lost, 0, 'no worker counted lost');
    assert.equal(leader.relay.counters.windowsInvalid, 0, 'no window refused');
    assert.equal(c.gate.refusedBatches, 0);
    assert.equal(c.mergedRequests('job-clock'), c.producedRequests());
  },
);
