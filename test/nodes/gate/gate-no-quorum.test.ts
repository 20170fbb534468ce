// Sim test of a gate without a ledger quorum: a submission it cannot commit is refused with a
// retryable E_UNAVAILABLE (and a retry-after), nothing is acknowledged, and once the quorum is
// back the same submission is accepted as one job.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  'GM-15.1.2 LT-41.21.5 a gate that cannot reach a quorum of gates refuses a submission with a retryable E_UNAVAILABLE, acknowledges nothing, and takes it once the quorum is back',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { proposeTimeoutMs: 3_000 } });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    sim.network.partition(['g1'], ['g2', 'g3']);
    const refused = await client.ask('g1', submission({ key: 'k-quorum' }));
    assert.ok(!refused.ok, 'nothing is acknowledged without a quorum');
    assert.equal(refused.error.code, 'E_UNAVAILABLE');
    assert.equal(typeof refused.error.details?.retryAfterMs, 'number', 'it says when to retry');
    for (const id of ['g1', 'g2', 'g3']) {
      assert.equal(
        [...cluster.gate(id).state.machine.ledger.views()].length,
        0,
        `${id}'s ledger holds no job`,
      );
    }
    assert.equal(cluster.gate('g1').isLeader, false, 'the minority side does not lead');
    sim.network.heal();
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ key: 'k-quorum' }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const again = await client.ask('g2', submission({ key: 'k-quorum' }));
    assert.ok(again.ok && again.message['job'] === accepted.message['job'], 'one job per key');
  },
);
