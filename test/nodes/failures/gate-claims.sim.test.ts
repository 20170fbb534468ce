// Sim test of two gates claiming one job at once (real gates, test managers): both propose the
// job's move to themselves with the same next fence; the ledger takes exactly one, refuses the
// other as stale, every gate agrees on the owner, and only that gate runs the job.

import assert from 'node:assert/strict';
import type { ProposeOutcome } from '../../../src/nodes/gate/ledger-proposer.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  A_DONE_B_HANGS,
  GATE_IDS,
  GateCluster,
  SimClient,
  submission,
} from '../gate/support/gate-cluster.js';

simTest(
  'LT-28.2.1 GM-14.2.4 two gates claim a job whose owner died with the same next fence: the ledger takes one, refuses the other as stale, and only the winner runs the job',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: A_DONE_B_HANGS });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const owner = GATE_IDS.find((g) => g !== leader)!;
    const accepted = await client.ask(owner, {
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 600_000,
    });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message['job'] as string;
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    const fence = cluster.gate(leader).ledger.job(job)!.fence;
    sim.crash(owner);
    const claimants = GATE_IDS.filter((g) => g !== owner);
    const outcomes = new Map<string, ProposeOutcome>();
    for (const g of claimants) {
      const s = cluster.gate(g).state;
      void s.proposer
        .propose({
          type: 'transfer-owner',
          atMs: s.runtime.clock.wallMs(),
          jobId: job,
          ownerGate: g,
          fence: fence + 1,
        })
        .then((o) => outcomes.set(g, o));
    }
    assert.ok(await sim.runUntil(() => outcomes.size === 2, { maxMs: 20_000 }));
    const taken = claimants.filter((g) => {
      const o = outcomes.get(g)!;
      return o.ok && o.result.ok;
    });
    assert.equal(taken.length, 1, `exactly one claim is taken: ${JSON.stringify([...outcomes])}`);
    const winner = taken[0]!;
    const loser = claimants.find((g) => g !== winner)!;
    const lost = outcomes.get(loser)!;
    assert.ok(lost.ok && !lost.result.ok && lost.result.code === 'E_STALE_FENCE');
    for (const g of claimants) {
      const v = cluster.gate(g).ledger.job(job)!;
      assert.equal(v.ownerGate, winner, `${g} agrees on the owner`);
      assert.ok(v.fence > fence);
    }
    // The winner (which owns the job now without having run it) takes it up; the loser never.
    assert.ok(
      await sim.runUntil(() => cluster.gate(winner).ownedJobs.has(job), { maxMs: 10_000 }),
      'the winner runs the job',
    );
    await sim.run(3_000);
    assert.equal(cluster.gate(loser).ownedJobs.has(job), false, 'the loser does not');
  },
);
