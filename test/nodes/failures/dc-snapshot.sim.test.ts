// Sim test of a DC manager brought up to date by a Raft snapshot while workflows are in flight:
// a follower that was down while the leader compacted its log past everything the follower had
// receives the DC state as a snapshot and holds every running workflow exactly as the leader
// does; when the leader then dies, the two managers left (it among them) complete them all.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { SIM_RAFT_CONFIG } from '../../cluster/consensus/support/sim-cluster.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

simTest(
  'LT-52.1 a follower restored from a snapshot taken while dispatches are in flight holds every running workflow as the leader does; when the leader then dies, the two managers left (the restored one among them) complete them all',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: ['w1', 'w2'].map((id) => ({ id, cores: 8, synthetic: { durationMs: 15_000 } })),
      manager: {
        raftConfig: { ...SIM_RAFT_CONFIG, compactionRetainEntries: 0 },
        snapshotEveryEntries: 8,
        registry: { suspectAfterMs: 3_000, reapAfterMs: 60_000 },
      },
    });
    const leaderId = await c.ready();
    const leader = c.managers.get(leaderId)!;
    const follower = c.managerIds.find((m) => m !== leaderId)!;
    const before = c.managers.get(follower)!.raft!.core.status().lastIndex;
    sim.crash(follower);
    const jobs: string[] = [];
    for (let i = 1; i <= 12; i++) {
      jobs.push(`job-${i}`);
      assert.ok((await c.call(leaderId, c.dispatchMsg(`job-${i}`, 'wf', 1))).ok);
    }
    const status = leader.raft!.core.status();
    assert.ok(
      status.snapshotIndex > before && status.firstIndex > before + 1,
      `the leader compacted past the follower's log (${before} < ${status.firstIndex})`,
    );
    sim.restart(follower);
    const same = (): boolean => {
      const f = c.managers.get(follower);
      return (
        f !== undefined &&
        jobs.every(
          (j) => JSON.stringify(f.ctx.state.job(j)) === JSON.stringify(leader.ctx.state.job(j)),
        )
      );
    };
    assert.ok(await sim.runUntil(same, { maxMs: 30_000 }), 'the follower holds the same state');
    assert.ok(sim.node(follower).durableFile('raft.snap') !== null, 'from a snapshot');
    const running = jobs.filter((j) => {
      const wf = c.managers.get(follower)!.ctx.state.job(j)?.workflows['wf'];
      return wf !== undefined && wf.outcome === null;
    });
    assert.equal(running.length, 12, 'every workflow was still running in the snapshot');
    // The leader dies; the restored follower and a restarted third manager carry on.
    const third = c.managerIds.find((m) => m !== leaderId && m !== follower)!;
    sim.crash(third);
    sim.crash(leaderId);
    sim.restart(third);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== leaderId, {
        maxMs: 30_000,
      }),
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 12, { maxMs: 60_000 }));
    assert.ok(c.gate.done.every((d) => d['outcome'] === 'completed'));
    const merged = jobs.reduce((n, j) => n + c.mergedRequests(j), 0);
    assert.ok(merged <= c.producedRequests(), 'nothing counted twice');
  },
);
