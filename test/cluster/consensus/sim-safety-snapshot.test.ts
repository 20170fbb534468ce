// A snapshot installed while the node shell awaits the fsync of an earlier Ready: the stale
// Ready's committed entries lie below the snapshot. They must not be applied over it, and the
// shell must never ask the core to compact backwards (which is fatal). Small snapshots, no
// retained entries, several appends in flight, slow fsync and followers paused at random make
// the interleaving frequent; the safety invariants are checked after every event.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedsFrom, simTest } from '../../support/sim.js';
import { SimRaftCluster } from './support/sim-cluster.js';

const IDS = ['n1', 'n2', 'n3'];
/** Virtual time of writes and pauses per seed. */
const RUN_MS = 3_000;
/** Client proposals kept in flight at once. */
const IN_FLIGHT = 4;
/** Per finished seed: committed entries of a stale Ready skipped (all nodes together). */
const staleSkipped: number[] = [];
let seedsRun = 0;

simTest(
  'raft sim: a snapshot installed while a Ready is being persisted never makes a follower fatal',
  { seeds: seedsFrom(30), timeoutMs: 60_000, sim: { fsyncLatencyMs: 10 } },
  async (sim) => {
    const c = new SimRaftCluster(sim, {
      ids: IDS,
      snapshotEveryEntries: 5,
      config: { compactionRetainEntries: 0, maxInflightAppends: 4 },
    });
    const rng = sim.netRng.fork('pauses');
    await c.waitForLeader();
    let key = 0;
    let inFlight = 0;
    let stop = false;
    const write = (): void => {
      while (!stop && inFlight < IN_FLIGHT) {
        const leader = c.leader();
        if (leader === null) break;
        inFlight++;
        void c.propose(leader, `k${key++ % 50}`, `v${key}`).then(() => {
          inFlight--;
          write();
        });
      }
      if (!stop && inFlight < IN_FLIGHT) sim.at(20, 'client-retry', write);
    };
    const pause = (): void => {
      if (stop) return;
      const leader = c.leader();
      const followers = IDS.filter((id) => id !== leader);
      const id = followers[rng.int(followers.length)];
      if (id !== undefined) sim.pause(id, 50 + rng.int(400));
      sim.at(100 + rng.int(400), 'pause', pause);
    };
    sim.at(0, 'client-write', write);
    sim.at(100, 'pause', pause);
    await sim.run(RUN_MS);
    stop = true;
    const leader = await c.waitForLeader(10_000);
    const last = c.propose(leader, 'final', 'write');
    let outcome: Awaited<typeof last> | undefined;
    void last.then((o) => (outcome = o));
    await sim.runUntil(() => outcome !== undefined, { maxMs: 10_000 });
    assert.ok(outcome?.ok, `final write: ${JSON.stringify(outcome)}`);
    assert.ok(await c.waitForApplied(outcome.index, 10_000), 'every node applies the final write');
    for (const [id, node] of c.liveNodes()) {
      assert.equal(node.fatalError, null, `${id} went fatal`);
    }
    c.checkInvariants();
    c.assertConverged();
    let skipped = 0;
    for (const node of c.nodes.values()) skipped += node.status().staleEntriesSkipped;
    staleSkipped.push(skipped);
    assert.ok(c.snapshotsInstalled > 0, 'followers installed snapshots from the leader');
    seedsRun++;
  },
);

test('raft sim: the snapshot-during-persist interleaving was hit in most seeds', () => {
  if (seedsRun < 10) return; // one seed replayed by name: nothing to count
  const hits = staleSkipped.filter((n) => n > 0).length;
  assert.ok(
    hits * 2 >= seedsRun,
    `stale Ready entries were skipped in only ${hits} of ${seedsRun} seeds`,
  );
});
