// Catalog scenarios at the consensus level, on the simulator with the real node shell: quorum
// loss and check-quorum (GP-2.x), pending proposals across a leadership loss (GP-4.2), single-
// and two-node clusters (GP-5.x), a minority-side leader, torn-tail recovery, graceful transfer.
// The four safety invariants are checked after every event in every test.

import assert from 'node:assert/strict';
import type { KvResult } from '../../../src/nodes/consensus/kv-register.js';
import type { ProposalOutcome } from '../../../src/nodes/consensus/raft-node.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { SIM_RAFT_CONFIG, SimRaftCluster } from './support/sim-cluster.js';

/** One check-quorum period: electionTicks × tickMs. */
const PERIOD_MS = SIM_RAFT_CONFIG.electionTicks * SIM_RAFT_CONFIG.tickMs;
const SEEDS = seedsFrom(5);

async function settle<T>(sim: Simulation, p: Promise<T>, maxMs = 10_000): Promise<T> {
  let out: { v: T } | undefined;
  void p.then((v) => (out = { v }));
  await sim.runUntil(() => out !== undefined, { maxMs });
  if (out === undefined) throw new Error(`promise not settled within ${maxMs} ms`);
  return out.v;
}

simTest(
  'GP-2.1 gradual quorum loss: the leader steps down after 3 consecutive failed quorum checks; GP-2.3 followers never step down',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const c = new SimRaftCluster(sim, { ids });
    const leader = await c.waitForLeader();
    const followers = ids.filter((id) => id !== leader);
    const counts: number[] = [];
    let stepDownAt = -1;
    sim.afterEvent(() => {
      const n = c.node(leader);
      if (n === undefined || stepDownAt >= 0) return;
      const st = n.status();
      if (st.role !== 'leader') {
        stepDownAt = sim.nowMs;
        return;
      }
      if (counts[counts.length - 1] !== st.consecutiveQuorumFailures) {
        counts.push(st.consecutiveQuorumFailures);
      }
      for (const f of followers) {
        const fn = c.node(f);
        // GP-2.3: the quorum check is the leader's alone.
        assert.equal(fn?.status().consecutiveQuorumFailures ?? 0, 0, `${f} counts quorum failures`);
        assert.equal(fn?.core.stats.quorumStepDowns ?? 0, 0, `${f} stepped down`);
      }
    });
    // Followers fail one by one; quorum (3 of 5) holds until the third is gone.
    sim.crash(followers[0]!);
    await sim.run(2 * PERIOD_MS);
    sim.crash(followers[1]!);
    await sim.run(2 * PERIOD_MS);
    assert.equal(c.node(leader)?.status().role, 'leader', 'quorum 3/5 still held');
    assert.equal(c.node(leader)?.status().consecutiveQuorumFailures, 0);
    const lostAt = sim.nowMs;
    sim.crash(followers[2]!);
    await sim.runUntil(() => stepDownAt >= 0, { maxMs: 10 * PERIOD_MS });
    assert.ok(stepDownAt >= 0, 'the leader stepped down');
    assert.deepEqual(
      counts.filter((n) => n > 0),
      [1, 2],
      'consecutive failures were exposed as 1, 2, then the 3rd check stepped down',
    );
    const took = stepDownAt - lostAt;
    assert.ok(took >= 2 * PERIOD_MS && took <= 4 * PERIOD_MS, `stepped down after ${took} ms`);
    assert.equal(c.node(leader)?.core.stats.quorumStepDowns, 1);
    // Nobody leads without a quorum.
    await sim.run(10 * PERIOD_MS);
    assert.deepEqual(c.leaders(), []);
  },
);

simTest(
  'GP-2.2 quorum regained before the threshold: the consecutive failure count resets to 0 and the leader stays',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3'];
    const c = new SimRaftCluster(sim, { ids });
    const leader = await c.waitForLeader();
    const term = c.node(leader)!.status().term;
    const others = ids.filter((id) => id !== leader);
    // The leader's heartbeats still arrive (followers do not elect), but no answer comes back.
    sim.network.partition(others, [leader], { oneWay: true });
    const reached = await sim.runUntil(
      () => (c.node(leader)?.status().consecutiveQuorumFailures ?? 0) >= 2,
      { maxMs: 5 * PERIOD_MS },
    );
    assert.ok(reached, 'two failed checks');
    sim.network.heal();
    await sim.run(2 * PERIOD_MS);
    const st = c.node(leader)!.status();
    assert.equal(st.role, 'leader');
    assert.equal(st.term, term);
    assert.equal(st.consecutiveQuorumFailures, 0);
    assert.equal(c.node(leader)!.core.stats.quorumStepDowns, 0);
  },
);

simTest(
  'GP-2.4 split brain with less than a quorum on each side: both sides end up leaderless until healed',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3', 'n4'];
    const c = new SimRaftCluster(sim, { ids });
    const leader = await c.waitForLeader();
    const side = [leader, ids.find((id) => id !== leader)!];
    const rest = ids.filter((id) => !side.includes(id));
    sim.network.partition(side, rest);
    await sim.run(5 * PERIOD_MS);
    assert.deepEqual(c.leaders(), [], 'the old leader stepped down');
    let someoneLed = false;
    sim.afterEvent(() => {
      if (c.leaders().length > 0) someoneLed = true;
    });
    await sim.run(30 * PERIOD_MS);
    assert.equal(someoneLed, false, 'neither side (2 of 4) elects a leader');
    sim.network.heal();
    await c.waitForLeader(20 * PERIOD_MS);
    assert.equal(c.leaders().length, 1);
  },
);

simTest(
  'GP-2.4 three-way split of five (2|2|1): no side keeps or elects a leader',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const c = new SimRaftCluster(sim, { ids });
    await c.waitForLeader();
    const groups = [['n1', 'n2'], ['n3', 'n4'], ['n5']];
    for (const a of groups) for (const b of groups) if (a !== b) sim.network.partition(a, b);
    await sim.run(5 * PERIOD_MS);
    assert.deepEqual(c.leaders(), []);
    await sim.run(20 * PERIOD_MS);
    assert.deepEqual(c.leaders(), []);
    sim.network.heal();
    await c.waitForLeader(20 * PERIOD_MS);
  },
);

simTest(
  'GP-4.2 a leader losing quorum with pending proposals: they fail with not-leader, are never lost or applied twice',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const c = new SimRaftCluster(sim, { ids, proposalTimeoutMs: 60_000 });
    const leader = await c.waitForLeader();
    const buddy = ids.find((id) => id !== leader)!;
    const majority = ids.filter((id) => id !== leader && id !== buddy);
    const COMMANDS = 20;
    const first: Promise<ProposalOutcome<KvResult>>[] = [];
    for (let i = 0; i < COMMANDS; i++)
      first.push(c.propose(leader, `job${i}`, 'v', `client${i}`, 1));
    // Cut the leader off almost at once: some proposals may already be on a majority.
    await sim.run(sim.netRng.int(4));
    sim.network.partition([leader, buddy], majority);
    const outcomes = await settle(sim, Promise.all(first), 20 * PERIOD_MS);
    const failed: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.ok) return;
      assert.equal(o.code, 'not-leader', `proposal ${i}: ${JSON.stringify(o)}`);
      assert.match(o.detail, /leadership of term \d+ lost|replaced by a newer leader/);
      failed.push(i);
    });
    // The majority elects a new leader; the client retries the failed ones with the same ids.
    const next = await c.waitForLeader(20 * PERIOD_MS, majority);
    const retried = await settle(
      sim,
      Promise.all(failed.map((i) => c.propose(next, `job${i}`, 'v', `client${i}`, 1))),
    );
    for (const o of retried) assert.ok(o.ok && o.result.ok, JSON.stringify(o));
    // The old leader, back in the cluster, redirects to the new one.
    sim.network.heal();
    await sim.runUntil(() => c.node(leader)?.status().leader === next, { maxMs: 20 * PERIOD_MS });
    const redirected = await settle(sim, c.propose(leader, 'late', 'v', 'late', 1));
    assert.ok(!redirected.ok && redirected.code === 'not-leader');
    assert.equal(redirected.ok ? null : redirected.leaderHint, next, 'leader hint when known');
    const marker = await settle(sim, c.propose(next, 'marker', 'v', 'marker', 1));
    assert.ok(marker.ok);
    assert.ok(await c.waitForApplied(marker.index, 20 * PERIOD_MS));
    for (const id of ids) {
      const m = c.machines.get(id)!;
      for (let i = 0; i < COMMANDS; i++) assert.equal(m.get(`job${i}`), 'v', `${id} lost job${i}`);
      assert.equal(m.appliedCommands, COMMANDS + 1, `${id}: every command applied exactly once`);
    }
  },
);

simTest(
  'GP-5.1 single-node cluster: quorum 1/1, commits alone, keeps its data across a crash',
  { seeds: SEEDS },
  async (sim) => {
    const c = new SimRaftCluster(sim, { ids: ['solo'] });
    const leader = await c.waitForLeader();
    assert.equal(leader, 'solo');
    assert.equal(c.node('solo')!.status().quorum, 1);
    for (let i = 0; i < 10; i++) {
      const o = await settle(sim, c.propose('solo', `k${i}`, `v${i}`));
      assert.ok(o.ok);
    }
    await sim.run(20 * PERIOD_MS);
    assert.equal(c.node('solo')!.status().role, 'leader', 'quorum 1/1 never fails');
    assert.equal(c.node('solo')!.status().consecutiveQuorumFailures, 0);
    sim.crash('solo', { tornTail: true });
    sim.restart('solo');
    await c.waitForLeader();
    const o = await settle(sim, c.propose('solo', 'after', 'restart'));
    assert.ok(o.ok);
    await c.waitForApplied(o.index);
    for (let i = 0; i < 10; i++) assert.equal(c.machines.get('solo')!.get(`k${i}`), `v${i}`);
  },
);

simTest(
  'GP-5.2 two-node cluster: quorum 2, so losing either node is losing the quorum',
  { seeds: SEEDS },
  async (sim) => {
    const c = new SimRaftCluster(sim, { ids: ['a', 'b'] });
    const leader = await c.waitForLeader();
    const other = leader === 'a' ? 'b' : 'a';
    assert.equal(c.node(leader)!.status().quorum, 2);
    assert.ok((await settle(sim, c.propose(leader, 'k', 'both'))).ok);
    sim.crash(other);
    const pending = c.propose(leader, 'k2', 'alone');
    await sim.run(5 * PERIOD_MS);
    assert.deepEqual(c.leaders(), [], 'the leader stepped down');
    const o = await settle(sim, pending);
    assert.ok(!o.ok && o.code === 'not-leader', JSON.stringify(o));
    await sim.run(20 * PERIOD_MS);
    assert.deepEqual(c.leaders(), [], 'one of two cannot elect itself');
    sim.restart(other);
    const l2 = await c.waitForLeader(20 * PERIOD_MS);
    const again = await settle(sim, c.propose(l2, 'k3', 'together'));
    assert.ok(again.ok);
    assert.ok(await c.waitForApplied(again.index));
    c.assertConverged();
  },
);

simTest(
  'raft sim: a minority-side leader steps down; the majority elects a new leader and the minority catches up',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const c = new SimRaftCluster(sim, { ids });
    const old = await c.waitForLeader();
    const oldTerm = c.node(old)!.status().term;
    const minority = [old, ids.find((id) => id !== old)!];
    const majority = ids.filter((id) => !minority.includes(id));
    sim.network.partition(minority, majority);
    const orphan = c.propose(old, 'orphan', 'never');
    const next = await c.waitForLeader(20 * PERIOD_MS, majority);
    assert.ok(c.node(next)!.status().term > oldTerm);
    await sim.runUntil(() => c.node(old)!.status().role !== 'leader', { maxMs: 5 * PERIOD_MS });
    assert.notEqual(c.node(old)!.status().role, 'leader', 'minority leader stepped down');
    const o = await settle(sim, orphan);
    assert.ok(!o.ok);
    const w = await settle(sim, c.propose(next, 'k', 'majority'));
    assert.ok(w.ok);
    sim.network.heal();
    assert.ok(await c.waitForApplied(w.index, 20 * PERIOD_MS));
    c.assertConverged();
    assert.equal(c.machines.get(old)!.get('orphan'), undefined);
  },
);

simTest(
  'raft sim: durable-log recovery with torn tails — repeated crashes lose no committed entry',
  { seeds: SEEDS, sim: { fsyncLatencyMs: 2 } },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3'];
    const c = new SimRaftCluster(sim, { ids, snapshotEveryEntries: 40 });
    await c.waitForLeader();
    let truncations = 0;
    const rng = sim.netRng.fork('torn');
    let stop = false;
    let key = 0;
    const write = (): void => {
      if (stop) return;
      const l = c.leader();
      if (l !== null) void c.propose(l, `k${key}`, `v${key++}`);
      sim.at(5 + rng.int(10), 'write', write);
    };
    sim.at(0, 'write', write);
    for (let round = 0; round < 15; round++) {
      await sim.run(300 + rng.int(400));
      const victim = ids[rng.int(ids.length)]!;
      const before = c.nodes.get(victim);
      sim.crash(victim, { tornTail: true });
      await sim.run(50 + rng.int(200));
      sim.restart(victim);
      await sim.runUntil(() => c.nodes.get(victim) !== before && c.nodes.has(victim), {
        maxMs: 1_000,
      });
    }
    stop = true;
    const l = await c.waitForLeader(20 * PERIOD_MS);
    const last = await settle(sim, c.propose(l, 'last', 'x'));
    assert.ok(last.ok);
    assert.ok(await c.waitForApplied(last.index, 20 * PERIOD_MS));
    c.assertConverged();
    for (const [k] of c.acknowledged) {
      for (const id of ids) assert.ok(c.machines.get(id)!.get(k) !== undefined, `${id} lost ${k}`);
    }
    truncations = sim.logs.filter((line) =>
      line.includes('truncating torn or corrupt tail'),
    ).length;
    assert.ok(c.acknowledged.size > 100, `${c.acknowledged.size} writes acknowledged`);
    // Not every crash tears a record (only an unsynced one can); across 15 crashes under
    // constant load some do — that path is what this test is about.
    assert.ok(truncations >= 1, `torn tails truncated: ${truncations}`);
  },
);

simTest(
  'raft sim: graceful stop hands leadership over (TimeoutNow) faster than an election timeout',
  { seeds: SEEDS },
  async (sim) => {
    const ids = ['n1', 'n2', 'n3'];
    const c = new SimRaftCluster(sim, { ids });
    const old = await c.waitForLeader();
    const oldTerm = c.node(old)!.status().term;
    const t0 = sim.nowMs;
    const stopped = c.node(old)!.stop({ transfer: true, waitMs: 2 * PERIOD_MS });
    await settle(sim, stopped);
    const next = c.leaders().find((l) => l.id !== old);
    assert.ok(next, 'a new leader already leads when stop() returns');
    assert.equal(next.term, oldTerm + 1);
    assert.ok(sim.nowMs - t0 < PERIOD_MS, `hand-over took ${sim.nowMs - t0} ms`);
  },
);
