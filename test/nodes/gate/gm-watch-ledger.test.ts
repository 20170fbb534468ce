// Sim tests of who hears about a job and how its state is kept: watchers registered on the owner
// get snapshots at the gate's configured pace and the result, the job's end is replicated to
// every gate's ledger, and a ledger step under an older fence than the job's is refused.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  "GM-1.1.3: a client's watch registers its connection on the owned job once; it gets the job's snapshots and its result; another client cannot watch it",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const one = new SimClient(sim, cluster, 'one');
    const other = new SimClient(sim, cluster, 'other');
    await cluster.waitForLeader();
    const accepted = await one.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    const owned = cluster.gate('g1').ownedJobs.get(job)!;
    assert.equal(owned.watcherCount, 0);
    const first = await one.ask('g1', { t: 'job.watch', job });
    assert.ok(first.ok);
    assert.equal(first.message.t, 'job.snapshot');
    assert.equal(owned.watcherCount, 1);
    assert.ok((await one.ask('g1', { t: 'job.watch', job })).ok);
    assert.equal(owned.watcherCount, 1, 'a second watch on the same connection adds nothing');
    const refused = await other.ask('g1', { t: 'job.watch', job });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'E_JOB_UNKNOWN');
    assert.equal(owned.watcherCount, 1);
    await sim.run(2_000);
    assert.ok(one.notes.some((n) => n.t === 'job.snapshot' && n.job === job));
    cluster.manager('a-m1').finish(job, 'wf1', 'completed');
    assert.ok(
      await sim.runUntil(() => one.notes.some((n) => n.t === 'job.result' && n.job === job), {
        maxMs: 10_000,
      }),
    );
    await sim.run(2_000);
    assert.equal(one.notes.filter((n) => n.t === 'job.result').length, 1);
    assert.equal(other.notes.length, 0);
  },
);

simTest(
  'GM-8.3.2: the owner pushes snapshots to watchers at its configured interval',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
      gate: { snapshotEveryMs: 2_000 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
    await sim.run(20_000);
    const at = client.notes
      .filter((n) => n.t === 'job.snapshot' && n.job === job)
      .map((n) => n.elapsedMs as number);
    assert.ok(at.length >= 9 && at.length <= 11, `${at.length} snapshots in 20 s`);
    for (let i = 1; i < at.length; i++) {
      const gap = at[i]! - at[i - 1]!;
      // The gate's tick is 250 ms, so a push comes at most one tick after it is due.
      assert.ok(gap >= 2_000 && gap <= 2_250, `snapshot gap ${gap} ms`);
    }
  },
);

simTest(
  "GM-10.1.4: a job's completion is recorded in the ledger and every gate answers it completed",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g3', submission({ dcs: ['a', 'b'] }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    assert.ok(
      await sim.runUntil(
        () => [...cluster.gates.values()].every((g) => g.ledger.job(job)?.status === 'completed'),
        { maxMs: 20_000 },
      ),
    );
    for (const g of cluster.gates.values()) {
      assert.deepEqual(g.ledger.job(job)?.dcs, { a: 'completed', b: 'completed' });
    }
    for (const at of ['g1', 'g2']) {
      const status = await client.ask(at, { t: 'job.status', job });
      assert.ok(status.ok, JSON.stringify(status));
      assert.equal((status.message.view as { status: string }).status, 'completed');
    }
  },
);

simTest(
  "GM-16.1.4: a ledger step carrying an older fence than the job's is refused as stale and changes nothing",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
    assert.ok(accepted.ok);
    const job = accepted.message.job as string;
    const fence = accepted.message.fence as number;
    assert.ok(fence >= 1);
    assert.ok(
      await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.dcs.a === 'accepted', {
        maxMs: 10_000,
      }),
    );
    const outcomes: unknown[] = [];
    void cluster
      .gate('g2')
      .state.proposer.propose({
        type: 'dc-finished',
        atMs: sim.nowMs,
        jobId: job,
        dc: 'a',
        outcome: 'failed',
        fence: fence - 1,
      })
      .then((r) => outcomes.push(r));
    assert.ok(await sim.runUntil(() => outcomes.length === 1, { maxMs: 10_000 }));
    const out = outcomes[0] as { ok: boolean; result?: { ok: boolean; code?: string } };
    assert.ok(out.ok, JSON.stringify(out));
    assert.deepEqual(
      { ok: out.result?.ok, code: out.result?.code },
      { ok: false, code: 'E_STALE_FENCE' },
    );
    await sim.run(1_000);
    for (const g of cluster.gates.values()) {
      assert.equal(g.ledger.job(job)?.status, 'running');
      assert.equal(g.ledger.job(job)?.dcs.a, 'accepted');
    }
  },
);
