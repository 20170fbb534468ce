// Sim test of per-job leadership among three real gates: the gate that accepts a job leads it
// (committed in the ledger with a fence, so every gate knows), every gate answers who leads it,
// a watch elsewhere is sent to the owner, and the DCs hear only the owner's fence.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GATE_IDS, GateCluster, SimClient, submission } from '../gate/support/gate-cluster.js';

simTest(
  'GM-13.1.1 GM-13.1.2 GM-13.1.4 the gate that accepts a job leads it: the ledger tells every gate its owner and fence, others send a watcher to it, and it alone dispatches with that fence',
  { seeds: seedsFrom(3) },
  async (sim, seed) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    const ledgerLeader = await cluster.waitForLeader();
    // Submit through a gate that does not lead the ledger: job leadership is per job.
    const owner = GATE_IDS.filter((id) => id !== ledgerLeader)[seed % 2]!;
    const accepted = await client.ask(owner, submission({ dcs: ['a', 'b'], durationMs: 5_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok(
      await sim.runUntil(
        () => GATE_IDS.every((id) => cluster.gate(id).ledger.job(job) !== undefined),
        {
          maxMs: 5_000,
        },
      ),
      'every gate learned the job',
    );
    const fence = cluster.gate(owner).ledger.job(job)!.fence;
    assert.ok(fence > 0);
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job)!;
      assert.equal(v.ownerGate, owner, `${id} knows who leads the job`);
      assert.equal(v.fence, fence, `${id} knows its fence`);
      assert.equal(
        cluster.gate(id).ownedJobs.has(job),
        id === owner,
        `${id} runs it only if owner`,
      );
      const status = await client.ask(id, { t: 'job.status', job });
      assert.ok(status.ok);
      const view = status.message.view as { ownerGate: string; fence: number };
      assert.deepEqual([view.ownerGate, view.fence], [owner, fence], `${id} answers the query`);
    }
    const other = GATE_IDS.find((id) => id !== owner)!;
    const watch = await client.ask(other, { t: 'job.watch', job });
    assert.ok(!watch.ok);
    assert.equal(watch.error.code, 'E_NOT_OWNER');
    const named = watch.error.details?.owner as { nodeId: string; address: { host: string } };
    assert.equal(named.nodeId, owner);
    assert.deepEqual(named.address, cluster.gateAddresses.get(owner));
    const watched = await client.ask(owner, { t: 'job.watch', job });
    assert.ok(watched.ok, 'the owner takes the watch');
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 10_000 }));
    for (const d of cluster.allDispatches()) {
      assert.equal(d.ownerGate, owner);
      assert.equal(d.fence, fence, 'each DC is sent the job’s fence');
      assert.deepEqual(d.ownerAddress, cluster.gateAddresses.get(owner));
    }
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result' && n.job === job), {
        maxMs: 20_000,
      }),
    );
  },
);
