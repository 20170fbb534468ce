// Sim test of a gate's graceful stop: the ledger leader hands the ledger to a peer before it
// goes, so submissions keep being taken without waiting for an election timeout.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  'LT-40.1.2 a ledger leader asked to stop hands the ledger to a peer first; the others go on taking jobs at once',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const askedAt = sim.nowMs;
    let stopped = false;
    void cluster
      .gate(leader)
      .stop({ transfer: true })
      .then(() => (stopped = true));
    assert.ok(
      await sim.runUntil(() => cluster.leader() !== null && cluster.leader() !== leader, {
        maxMs: 5_000,
      }),
    );
    assert.ok(
      sim.nowMs - askedAt < 250,
      `handed over, not lost to an election timeout (${Math.round(sim.nowMs - askedAt)} ms)`,
    );
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 5_000 }), 'the stop completes');
    const other = ['g1', 'g2', 'g3'].find((g) => g !== leader)!;
    const r = await client.ask(other, submission());
    assert.ok(r.ok, JSON.stringify(r));
  },
);
