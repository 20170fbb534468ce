// Sim test of randomized election timeouts (five real Raft nodes): when the leader dies, the
// followers' timeouts fire spread out instead of together, so one of them campaigns first and
// wins — failover after failover takes about one election, not a stampede of split votes.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { SimRaftCluster } from '../../cluster/consensus/support/sim-cluster.js';

const IDS = ['r1', 'r2', 'r3', 'r4', 'r5'];
const FAILOVERS = 8;

simTest(
  'LT-31.3.4 election timeouts are jittered: over eight leader crashes in a five-node group the four followers do not all time out together, each failover takes about one election (split votes are rare) and the term rises by about one',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new SimRaftCluster(sim, { ids: IDS });
    let leader = await c.waitForLeader();
    let elections = 0;
    let termSteps = 0;
    for (let i = 0; i < FAILOVERS; i++) {
      const before = c.liveNodes().reduce((n, [, r]) => n + r.core.stats.elections, 0);
      const term = c.node(leader)!.status().term;
      sim.crash(leader);
      const next = await c.waitForLeader(
        20_000,
        IDS.filter((x) => x !== leader),
      );
      const after = c.liveNodes().reduce((n, [, r]) => n + r.core.stats.elections, 0);
      elections += after - before;
      termSteps += c.node(next)!.status().term - term;
      sim.restart(leader);
      await sim.run(2_000);
      leader = next;
    }
    assert.ok(
      elections <= FAILOVERS * 1.5,
      `${elections} elections for ${FAILOVERS} failovers (all four followers at once would be ${4 * FAILOVERS})`,
    );
    assert.ok(termSteps <= FAILOVERS * 1.5, `terms rose by ${termSteps}`);
  },
);
