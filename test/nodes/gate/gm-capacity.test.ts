// Sim tests of how the gate learns and trusts DC capacity (it asks `dc.capacity`; managers do not
// register): answers update its view, a report is trusted only while fresh, a DC whose managers
// are all silent is not chosen, and a dispatch nobody answers times out.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { GateCluster, SimClient, addr, submission } from './support/gate-cluster.js';

simTest(
  "GM-2.3.1 GM-2.3.2 GM-2.3.3: the gate records each DC's capacity answer; a fresh report is reused, a stale one is asked again and its change moves the choice",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang', workers: 4, cores: 4 },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang', workers: 2, cores: 4 },
      ],
      gate: { capacityMaxAgeMs: 10_000 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const g1 = cluster.gate('g1');
    const a = cluster.manager('a-m1');
    const first = await client.ask('g1', submission({ key: 'c1', durationMs: 600_000 }));
    assert.ok(first.ok, JSON.stringify(first));
    assert.deepEqual(first.message.targetDcs, ['a']);
    assert.equal(a.capacityAsks, 1);
    assert.deepEqual(g1.state.dcLinks.get('a')?.lastCapacity?.capacity, {
      workers: 4,
      healthyWorkers: 4,
      totalCores: 16,
      freeCores: 16,
    });
    assert.equal(g1.state.dcLinks.get('b')?.lastCapacity?.capacity.freeCores, 8);
    // a fills up, but its report is still fresh: the gate does not ask and still picks a.
    a.spec.freeCores = 0;
    await sim.run(3_000);
    const second = await client.ask('g1', submission({ key: 'c2', durationMs: 600_000 }));
    assert.ok(second.ok);
    assert.deepEqual(second.message.targetDcs, ['a']);
    assert.equal(a.capacityAsks, 1);
    // Past capacityMaxAgeMs the report is not trusted: the gate asks again and sees a full.
    await sim.run(10_000);
    const third = await client.ask('g1', submission({ key: 'c3', durationMs: 600_000 }));
    assert.ok(third.ok);
    assert.equal(a.capacityAsks, 2);
    assert.equal(g1.state.dcLinks.get('a')?.lastCapacity?.capacity.freeCores, 0);
    assert.deepEqual(third.message.targetDcs, ['b']);
  },
);

simTest(
  'GM-2.3.4 GM-1.3.2: every manager of the roomiest DC goes silent; the gate does not choose it and the job runs in the next DC',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, workers: 8 },
        { id: 'a-m2', dc: 'a', leader: false, workers: 8 },
        { id: 'b-m1', dc: 'b', leader: true, workers: 1 },
      ],
      gate: { dispatchTimeoutMs: 1_000, coreWaitMs: 0 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const before = await client.ask('g1', submission({ key: 'before' }));
    assert.ok(before.ok);
    assert.deepEqual(before.message.targetDcs, ['a']);
    sim.crash('a-m1');
    sim.crash('a-m2');
    await sim.run(3_000);
    const after = await client.ask('g1', submission({ key: 'after' }));
    assert.ok(after.ok, JSON.stringify(after));
    assert.deepEqual(after.message.targetDcs, ['b']);
    const job = after.message.job as string;
    assert.ok(
      await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'completed', {
        maxMs: 20_000,
      }),
    );
    assert.deepEqual(
      cluster.manager('b-m1').dispatches.map((d) => d.job),
      [job],
    );
    // Named explicitly, the silent DC is refused up front with a reason.
    const named = await client.ask('g1', submission({ key: 'named', dcs: ['a'] }));
    assert.ok(!named.ok);
    assert.equal(named.error.code, 'E_NO_WORKERS');
    assert.match(named.error.message, /no manager of datacenter 'a' answered/);
  },
);

simTest(
  "GM-1.3.3: no manager answers the dispatch within dispatchTimeoutMs; the DC's part fails naming the timeout and the job ends failed",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, silentDispatch: true },
        { id: 'a-m2', dc: 'a', leader: false, silentDispatch: true },
      ],
      gate: { dispatchTimeoutMs: 1_000, coreWaitMs: 0 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
    const at = sim.nowMs;
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 20_000 }),
    );
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.dcs, { a: 'failed' });
    assert.match(
      result.failure as string,
      /timeout: no reply to "dc.dispatch" from a-m\d within 1000 ms/,
    );
    // Both managers were tried, each for the whole timeout, before the part failed.
    assert.ok(sim.nowMs - at >= 2_000, `ended after ${sim.nowMs - at} ms`);
    assert.equal(cluster.allDispatches().length, 0);
  },
);

simTest(
  "GM-2.1.4: a DC's manager restarts; the gate drops its old link, asks again, takes the restarted manager's fresh capacity and dispatches to it",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, workers: 4, cores: 4 }],
      gate: { capacityMaxAgeMs: 1_000 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const g1 = cluster.gate('g1');
    const m = cluster.manager('a-m1');
    const first = await client.ask('g1', submission({ key: 'r1', dcs: ['a'] }));
    assert.ok(first.ok);
    const oldLink = await g1.state.links.connection(addr('a', 'a-m1'));
    assert.ok(!(oldLink instanceof Error));
    assert.equal(g1.state.dcLinks.get('a')?.lastCapacity?.capacity.freeCores, 16);
    sim.crash('a-m1');
    await sim.run(2_000);
    m.spec.freeCores = 5;
    sim.restart('a-m1');
    await sim.run(2_000);
    const second = await client.ask('g1', submission({ key: 'r2', dcs: ['a'] }));
    assert.ok(second.ok, JSON.stringify(second));
    const job = second.message.job as string;
    assert.equal(g1.state.dcLinks.get('a')?.lastCapacity?.capacity.freeCores, 5);
    assert.ok(
      await sim.runUntil(() => g1.ledger.job(job)?.status === 'completed', { maxMs: 20_000 }),
    );
    assert.ok(m.dispatches.some((d) => d.job === job));
    const newLink = await g1.state.links.connection(addr('a', 'a-m1'));
    assert.ok(!(newLink instanceof Error));
    assert.notEqual(newLink, oldLink, 'the link to the old incarnation was dropped');
    assert.equal(oldLink.isOpen, false);
  },
);

simTest(
  "GM-2.1.1: the gate learns a DC's leader and capacity from whichever configured manager answers first, and sends the dispatch straight to that leader",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: false, workers: 3 },
        { id: 'a-m2', dc: 'a', leader: true, workers: 3 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const link = cluster.gate('g1').state.dcLinks.get('a')!;
    const learned = (): typeof link.lastCapacity => link.lastCapacity;
    assert.equal(link.knownLeader, null);
    assert.equal(learned(), null);
    const accepted = await client.ask('g1', submission({ dcs: ['a'] }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    // The first configured manager (a follower) answered the capacity question, naming a-m2.
    assert.equal(cluster.manager('a-m1').capacityAsks, 1);
    assert.deepEqual(link.knownLeader, addr('a', 'a-m2'));
    assert.equal(learned()?.capacity.workers, 3);
    assert.ok(
      await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'completed', {
        maxMs: 20_000,
      }),
    );
    assert.deepEqual(
      cluster.manager('a-m2').dispatches.map((d) => d.job),
      [job],
    );
    // a-m1 only ever saw the capacity question: no dispatch went to it first.
    assert.equal(cluster.manager('a-m1').sessions.length, 1);
  },
);
