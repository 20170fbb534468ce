// Sim tests of where a job goes and how it ends: DC choice by capacity, a manager that dies
// before acknowledging a dispatch, the status rules with a failing DC, the hand-off of ledger
// proposals with its loop and hop refusals, a restarted gate catching up from the leader, and
// the cleanup of an ended job.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { MAX_FORWARD_HOPS } from '../../../src/nodes/gate/gate-wire.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  'GM-1.1.1: a job without named DCs goes to the DC with the most capacity, whose leader accepts it',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, workers: 1 },
        { id: 'b-m1', dc: 'b', leader: true, workers: 3 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission());
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.deepEqual(accepted.message.targetDcs, ['b']);
    const job = accepted.message.job as string;
    await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'completed', {
      maxMs: 20_000,
    });
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'completed');
    assert.equal(cluster.manager('a-m1').dispatches.length, 0);
    assert.equal(cluster.manager('b-m1').dispatches.length, 1);
    // The manager's acknowledgement was recorded: the DC went pending → accepted → completed.
    assert.deepEqual(cluster.gate('g1').ledger.job(job)?.dcs, { b: 'completed' });
  },
);

simTest(
  "GM-1.3.1: the DC leader never acknowledges the dispatch; the gate retries at the DC's other manager",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true },
        { id: 'a-m2', dc: 'a', leader: true },
      ],
      gate: { dispatchTimeoutMs: 1_000, coreWaitMs: 0 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    // Capacity answers name a-m2 as leader; then it stops answering dispatches (dies before ACK).
    const dead = cluster.manager('a-m2');
    cluster.manager('a-m1').spec.leader = false;
    const accepted = await client.ask('g2', submission({ dcs: ['a'] }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    dead.spec.silentDispatch = true;
    cluster.manager('a-m1').spec.leader = true;
    dead.spec.leader = false;
    const job = accepted.message.job as string;
    await sim.runUntil(() => cluster.gate('g2').ledger.job(job)?.status === 'completed', {
      maxMs: 20_000,
    });
    assert.equal(cluster.gate('g2').ledger.job(job)?.status, 'completed');
    assert.equal(dead.dispatches.length, 0);
    assert.deepEqual(
      cluster.manager('a-m1').dispatches.map((d) => d.job),
      [job],
    );
  },
);

simTest(
  "GM-10.2.3: one DC fails: the job ends failed, its result names the DC's failure, the other DC stays completed",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'fail' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g3', submission({ dcs: ['a', 'b'] }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    const watch = await client.ask('g3', { t: 'job.watch', job });
    assert.ok(watch.ok);
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 20_000 }),
    );
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.dcs, { a: 'completed', b: 'failed' });
    assert.equal(result.exitCode, 4);
    assert.match(result.failure as string, /b\/b-w1: the target refused every request/);
    const doc = result.results as { workflows: { status: string }[] };
    assert.equal(doc.workflows[0]?.status, 'failed');
    assert.ok(
      await sim.runUntil(
        () => [...cluster.gates.values()].every((g) => g.ledger.job(job)?.status === 'failed'),
        { maxMs: 5_000 },
      ),
      'every gate records the job failed',
    );
  },
);

simTest(
  'GM-1.4.4 GM-1.4.3: a ledger proposal that comes back to a gate, or has passed too many gates, is refused',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    await cluster.waitForLeader();
    const g1 = cluster.gate('g1').state.proposer;
    const sweep = { type: 'sweep', atMs: 1 };
    const results: unknown[] = [];
    void g1.propose(sweep, ['g2', 'g1']).then((r) => results.push(r));
    void g1
      .propose(
        sweep,
        Array.from({ length: MAX_FORWARD_HOPS + 1 }, (_, i) => `x${i}`),
      )
      .then((r) => results.push(r));
    void g1.propose(sweep, []).then((r) => results.push(r));
    assert.ok(await sim.runUntil(() => results.length === 3, { maxMs: 10_000 }));
    const codes = results.map((r) =>
      (r as { ok: boolean }).ok ? 'ok' : (r as { code: string }).code,
    );
    assert.deepEqual(codes.slice(0, 2), ['E_FORWARD_LOOP', 'E_FORWARD_LOOP']);
    assert.equal(
      codes[2],
      'ok',
      'a fresh proposal still goes through (forwarded if g1 does not lead)',
    );
    assert.equal(g1.stats.loops, 2);
  },
);

simTest(
  'GM-16.2.1 GM-16.2.2: a gate that was down while jobs were submitted catches up with the ledger from the leader',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { snapshotEveryEntries: 4 } });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const leader = cluster.leader()!;
    const down = ['g1', 'g2', 'g3'].find((g) => g !== leader)!;
    const up = ['g1', 'g2', 'g3'].find((g) => g !== leader && g !== down)!;
    sim.crash(down);
    const jobs: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.ask(up, submission({ key: `k${i}`, dcs: ['a'] }));
      assert.ok(r.ok, JSON.stringify(r));
      jobs.push(r.message.job as string);
    }
    await sim.run(3_000);
    sim.restart(down);
    const caught = await sim.runUntil(
      () =>
        sim.node(down).up &&
        jobs.every((j) => cluster.gates.get(down)?.ledger.job(j) !== undefined),
      { maxMs: 20_000 },
    );
    assert.ok(caught, `${down} has every job after its restart`);
    const restarted = cluster.gate(down);
    for (const j of jobs) {
      assert.deepEqual(restarted.ledger.job(j), cluster.gate(leader).ledger.job(j));
    }
    // It answers clients from the caught-up ledger.
    const status = await client.ask(down, { t: 'job.status', job: jobs[0]! });
    assert.ok(status.ok);
  },
);

simTest(
  'GM-10.3.1: an ended job leaves the owner at once and every ledger after its retention; the key is free again',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      gate: { ledger: { completedRetentionMs: 10_000, unsuccessfulRetentionMs: 10_000 } },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const r = await client.ask('g1', submission({ dcs: ['a'], key: 'clean' }));
    assert.ok(r.ok);
    const job = r.message.job as string;
    assert.ok(
      await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'completed', {
        maxMs: 20_000,
      }),
    );
    await sim.run(100);
    assert.equal(cluster.gate('g1').ownedJobs.size, 0, 'the owner dropped the job');
    assert.equal(cluster.gate('g1').state.bundles.size, 0, 'and its bundle');
    // The leader's periodic sweep evicts it everywhere after the retention, with no new traffic.
    assert.ok(
      await sim.runUntil(() => [...cluster.gates.values()].every((g) => g.ledger.size === 0), {
        maxMs: 90_000,
      }),
      'every ledger dropped the job',
    );
    for (const g of cluster.gates.values()) assert.equal(g.ledger.keyCount, 0);
    const status = await client.ask('g2', { t: 'job.status', job });
    assert.ok(!status.ok);
    assert.equal(status.error.code, 'E_JOB_UNKNOWN');
  },
);

simTest(
  'LT-42.4.3: a storm of 100 jobs without named DCs goes each to the DC with the most free cores; every DC gets exactly its capacity',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang', workers: 16, cores: 4 },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang', workers: 9, cores: 4 },
      ],
      gate: { capacityMaxAgeMs: 600_000, rateLimit: { burst: 1_000, perSecond: 1_000 } },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    // One job learns the capacities (a: 64 free cores, b: 36); then 99 arrive at once.
    const first = await client.ask('g1', submission({ durationMs: 3_600_000 }));
    assert.ok(first.ok);
    const replies: (string | undefined)[] = [];
    for (let i = 0; i < 99; i++) {
      void client
        .start('g1', submission({ durationMs: 3_600_000, key: `burst-${i}` }))
        .then((r) => {
          replies.push(r.ok ? (r.message.targetDcs as string[]).join(',') : r.error.code);
        });
    }
    assert.ok(await sim.runUntil(() => replies.length === 99, { maxMs: 20_000 }));
    const targets = [(first.message.targetDcs as string[]).join(','), ...replies];
    const count = (dc: string): number => targets.filter((t) => t === dc).length;
    assert.equal(count('a'), 64, targets.join(' '));
    assert.equal(count('b'), 36, targets.join(' '));
  },
);
