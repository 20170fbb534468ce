// Raft safety under random faults on the simulator: election safety, log matching, leader
// completeness and state-machine safety are checked after EVERY event while nodes crash (some
// with torn tails), restart, pause, get partitioned and lose frames; afterwards the cluster
// heals, converges, and every acknowledged write is in every state machine.

import assert from 'node:assert/strict';
import type { SimRng } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { SimRaftCluster } from './support/sim-cluster.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Virtual time of faults per seed. */
const CHAOS_MS = 60_000;
/** A fault every 0.5–2.5 s. */
const FAULT_MIN_MS = 500;
const FAULT_SPREAD_MS = 2_000;
/** A client write every 20–60 ms. */
const WRITE_MIN_MS = 20;
const WRITE_SPREAD_MS = 40;

function pick<T>(rng: SimRng, xs: readonly T[]): T {
  const x = xs[rng.int(xs.length)];
  if (x === undefined) throw new Error('pick from empty list');
  return x;
}

simTest(
  'raft sim: safety invariants after every event under crash/restart/torn-tail/partition/loss/pause',
  { seeds: seedsFrom(20), timeoutMs: 120_000, sim: { fsyncLatencyMs: 1 } },
  async (sim) => {
    const c = new SimRaftCluster(sim, { ids: IDS, snapshotEveryEntries: 50 });
    const rng = sim.netRng.fork('chaos');
    await c.waitForLeader();
    let key = 0;
    let stop = false;
    const down = new Set<string>();
    const write = (): void => {
      if (stop) return;
      const leader = c.leader();
      if (leader !== null) void c.propose(leader, `k${key++ % 200}`, `v${key}`);
      sim.at(WRITE_MIN_MS + rng.int(WRITE_SPREAD_MS), 'client-write', write);
    };
    const fault = (): void => {
      if (stop) return;
      const r = rng.int(100);
      const id = pick(rng, IDS);
      if (r < 20) {
        if (down.size < 2 && !down.has(id)) {
          sim.crash(id, { tornTail: rng.int(2) === 0 });
          down.add(id);
        }
      } else if (r < 40) {
        for (const d of [...down]) {
          if (rng.int(2) === 0) {
            sim.restart(d);
            down.delete(d);
          }
        }
      } else if (r < 55) {
        const shuffled = [...IDS].sort(() => rng.next() - 0.5);
        const cut = 1 + rng.int(IDS.length - 1);
        sim.network.partition(shuffled.slice(0, cut), shuffled.slice(cut), {
          oneWay: rng.int(4) === 0,
        });
      } else if (r < 65) {
        sim.network.isolate(id);
      } else if (r < 80) {
        sim.network.heal();
        sim.network.clearLinks();
      } else if (r < 90) {
        const other = pick(rng, IDS);
        if (other !== id)
          sim.network.setLink(id, other, { streamBreak: 0.02, latencyMs: { min: 1, max: 20 } });
      } else {
        sim.pause(id, 100 + rng.int(1_500));
      }
      sim.at(FAULT_MIN_MS + rng.int(FAULT_SPREAD_MS), 'chaos', fault);
    };
    sim.at(0, 'client-write', write);
    sim.at(FAULT_MIN_MS, 'chaos', fault);
    await sim.run(CHAOS_MS);
    stop = true;
    // Heal everything and bring everyone back: the cluster must converge.
    sim.network.heal();
    sim.network.clearLinks();
    for (const d of down) sim.restart(d);
    const leader = await c.waitForLeader(20_000);
    const last = c.propose(leader, 'final', 'write');
    let outcome: Awaited<typeof last> | undefined;
    void last.then((o) => (outcome = o));
    await sim.runUntil(() => outcome !== undefined, { maxMs: 10_000 });
    assert.ok(outcome?.ok, `final write: ${JSON.stringify(outcome)}`);
    assert.ok(await c.waitForApplied(outcome.index, 20_000), 'every node applies the final write');
    c.checkInvariants();
    c.assertConverged();
    // Durability: each acknowledged write is still there (or was overwritten by a later one).
    const m = c.machines.get(leader);
    assert.ok(m);
    for (const [k, ack] of c.acknowledged) {
      assert.ok(m.get(k) !== undefined, `acknowledged key ${k} (index ${ack.index}) lost`);
    }
    assert.ok(c.acknowledged.size > 50, `only ${c.acknowledged.size} writes acknowledged`);
    assert.ok(c.leaderOfTerm.size >= 2, 'faults caused re-elections');
  },
);
