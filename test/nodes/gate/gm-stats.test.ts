// Sim tests of the statistics a job's DCs send up to its owner gate (`dc.windows`): each batch
// updates the owner's exact merge, DCs reporting different counts add up exactly, batches sent
// at once from many workers are each counted once, acknowledged windows survive their manager,
// and many jobs leave bounded state behind.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage, RpcReply } from '../../../src/protocol/index.js';
import { Histogram } from '../../../src/stats/histogram.js';
import type { RunResults, StatsWindow } from '../../../src/stats/types.js';
import type { LiveSnapshot } from '../../../src/ui/snapshot.js';
import { GateCluster, SimClient, statsWindow, submission } from './support/gate-cluster.js';

function resultOf(client: SimClient, job: string): AnyMessage | undefined {
  return client.notes.find((n) => n.t === 'job.result' && n.job === job);
}

async function submitted(
  client: SimClient,
  body: Record<string, unknown> & { t: string },
  watch = true,
): Promise<string> {
  const accepted = await client.ask('g1', body);
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  if (watch) assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
  return job;
}

simTest(
  "GM-8.1.1: a manager's dc.windows batch updates the owner gate's merged view of the job",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold', windows: 2 }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a'], durationMs: 60_000 }), false);
    const m = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => m.acks.some((a) => a.t === 'dc.windows-ack'), { maxMs: 10_000 }),
    );
    const owned = cluster.gate('g1').ownedJobs.get(job)!;
    assert.deepEqual(
      {
        windows: owned.placement.breakdown().a?.windows,
        requests: owned.placement.breakdown().a?.requests,
      },
      { windows: 2, requests: 20 },
    );
    // One more window (the next in the worker's sequence) moves the view by exactly its count.
    const fence = cluster.allDispatches()[0]!.fence;
    let reply: RpcReply | undefined;
    void m
      .sendRaw(cluster.gateAddresses.get('g1')!, {
        t: 'dc.windows',
        job,
        dc: 'a',
        fence,
        windows: [
          { source: 'a-w1#1/0', workflow: 'wf1', seq: 3, window: statsWindow('wf1', 3, 7) },
        ],
      })
      .then((r) => (reply = r));
    assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 5_000 }));
    assert.ok(reply?.ok, JSON.stringify(reply));
    assert.equal(reply.message.merged, 1);
    const a = owned.placement.breakdown().a;
    assert.deepEqual({ windows: a?.windows, requests: a?.requests }, { windows: 3, requests: 27 });
    assert.equal(a?.workers['a-w1#1/0']?.requests, 27);
  },
);

simTest(
  'GM-8.2.2 GM-8.2.4: two DCs report different counts; the result keeps each DC its own and the total is their exact sum',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, windows: 2 },
        { id: 'b-m1', dc: 'b', leader: true, windows: 5 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a', 'b'] }));
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    const result = resultOf(client, job)!;
    const breakdown = result.breakdown as Record<string, { requests: number; windows: number }>;
    assert.deepEqual({ a: breakdown.a?.requests, b: breakdown.b?.requests }, { a: 20, b: 50 });
    assert.deepEqual({ a: breakdown.a?.windows, b: breakdown.b?.windows }, { a: 2, b: 5 });
    const doc = result.results as RunResults;
    assert.equal(doc.workflows[0]?.totals.count, 70);
    assert.equal(result.status, 'completed');
  },
);

simTest(
  'GM-8.2.3 GM-8.3.4: batches from two DCs and six workers sent all at once, shuffled and some twice, are each merged once; the watcher sees the merged count',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(await sim.runUntil(() => a.acks.length > 0 && b.acks.length > 0, { maxMs: 10_000 }));
    const g1 = cluster.gateAddresses.get('g1')!;
    const fence = cluster.allDispatches()[0]!.fence;
    const sends: Array<() => Promise<RpcReply>> = [];
    for (const [m, dc] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      for (let w = 2; w <= 4; w++) {
        for (let seq = 1; seq <= 4; seq++) {
          const batch = {
            t: 'dc.windows',
            job,
            dc,
            fence,
            windows: [
              {
                source: `${dc}-w${w}#1/0`,
                workflow: 'wf1',
                seq,
                window: statsWindow('wf1', seq, 5),
              },
            ],
          };
          sends.push(() => m.sendRaw(g1, batch));
          if (seq % 2 === 0) sends.push(() => m.sendRaw(g1, batch));
        }
      }
    }
    // A fixed shuffle (seeded by the sim's own order of arrival after that).
    const order = sends.map((_, i) => i).sort((x, y) => ((x * 7919) % 31) - ((y * 7919) % 31));
    const replies: RpcReply[] = [];
    for (const i of order) void sends[i]!().then((r) => replies.push(r));
    assert.ok(await sim.runUntil(() => replies.length === sends.length, { maxMs: 10_000 }));
    assert.ok(
      replies.every((r) => r.ok),
      JSON.stringify(replies.find((r) => !r.ok)),
    );
    const view = cluster.gate('g1').ownedJobs.get(job)!.placement.breakdown();
    // 20 from each manager's own worker, then 3 workers × 4 windows × 5 requests, once each.
    assert.equal(view.a?.requests, 80);
    assert.equal(view.b?.requests, 80);
    assert.equal(Object.keys(view.a?.workers ?? {}).length, 4);
    await sim.run(2_000);
    const snap = client.notes.filter((n) => n.t === 'job.snapshot' && n.job === job).at(-1);
    assert.equal((snap?.stats as LiveSnapshot).workflows[0]?.count, 160);
    a.finish(job, 'wf1', 'completed');
    b.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    assert.equal((resultOf(client, job)?.results as RunResults).workflows[0]?.totals.count, 160);
  },
);

simTest(
  'GM-8.4.1: a manager that dies after its windows were acknowledged loses none of them; the result counts them',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold', windows: 3 },
        { id: 'b-m1', dc: 'b', leader: true, windows: 2 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a', 'b'], durationMs: 1_000 }));
    const a = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => a.acks.some((x) => x.t === 'dc.windows-ack'), { maxMs: 10_000 }),
    );
    const ack = a.acks.find((x) => x.t === 'dc.windows-ack')!;
    assert.equal(ack.merged, 3);
    sim.crash('a-m1');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 30_000 }));
    const result = resultOf(client, job)!;
    const breakdown = result.breakdown as Record<string, { requests: number }>;
    assert.equal(breakdown.a?.requests, 30);
    assert.equal(breakdown.b?.requests, 20);
    assert.equal((result.results as RunResults).workflows[0]?.totals.count, 50);
  },
);

simTest(
  'GM-8.4.4: sixty jobs with their windows leave bounded state on the owner gate: no owned job, merger, bundle or pending entry, and at most the retained results',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, windows: 4 },
        { id: 'b-m1', dc: 'b', leader: true, windows: 4 },
      ],
      gate: { maxRetainedResults: 8, rateLimit: { burst: 1_000, perSecond: 1_000 } },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const g1 = cluster.gate('g1');
    const jobs: string[] = [];
    const placements = [];
    for (let round = 0; round < 3; round++) {
      const replies: RpcReply[] = [];
      for (let i = 0; i < 20; i++) {
        void client
          .start(
            'g1',
            submission({
              dcs: ['a', 'b'],
              key: `hv-${round}-${i}`,
              source: `export default { n: ${round * 100 + i} };`,
            }),
          )
          .then((r) => replies.push(r));
      }
      assert.ok(await sim.runUntil(() => replies.length === 20, { maxMs: 20_000 }));
      for (const r of replies) {
        assert.ok(r.ok, JSON.stringify(r));
        jobs.push(r.message.job as string);
      }
      for (const j of jobs.slice(-20)) {
        const o = g1.ownedJobs.get(j);
        if (o !== undefined) placements.push(o.placement);
      }
      assert.ok(
        await sim.runUntil(() => jobs.every((j) => g1.ledger.job(j)?.status === 'completed'), {
          maxMs: 60_000,
        }),
      );
    }
    await sim.run(1_000);
    assert.equal(new Set(jobs).size, 60);
    assert.ok(placements.length > 0);
    assert.equal(g1.ownedJobs.size, 0);
    assert.equal(g1.state.bundles.size, 0);
    assert.equal(g1.state.pending.size, 0);
    assert.ok(g1.state.results.size <= 8, `${g1.state.results.size} results kept`);
    for (const p of placements)
      assert.deepEqual(p.held, { workflows: 0, mergedJobs: 0, reports: 0, workflowNames: 0 });
    // The managers were answered for every window: 60 jobs × 1 batch each per DC.
    assert.equal(cluster.manager('a-m1').acks.filter((x) => x.t === 'dc.windows-ack').length, 60);
  },
);

/** One window of `requests` requests, each of `latencyUs`. */
function windowOf(seq: number, requests: number, latencyUs: number): StatsWindow {
  const w = statsWindow('wf1', seq, 0);
  const h = new Histogram();
  h.recordCount(latencyUs, requests);
  return {
    ...w,
    iterations: { started: requests, completed: requests, failed: 0, dropped: 0 },
    steps: {
      get: {
        count: requests,
        ok: requests,
        failed: 0,
        errors: {},
        errorSamples: {},
        statuses: { '200': requests },
        latency: h.toSparse(),
      },
    },
  };
}

simTest(
  "GM-8.1.2: the same window from two DCs with different latencies merges into the workflow's exact counts and latency histogram",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold', windows: 0 },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hold', windows: 0 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(
      await sim.runUntil(() => a.dispatches.length === 1 && b.dispatches.length === 1, {
        maxMs: 10_000,
      }),
    );
    const g1 = cluster.gateAddresses.get('g1')!;
    const fence = cluster.allDispatches()[0]!.fence;
    const replies: RpcReply[] = [];
    for (const [m, dc, requests, us] of [
      [a, 'a', 90, 1_000],
      [b, 'b', 10, 100_000],
    ] as const) {
      void m
        .sendRaw(g1, {
          t: 'dc.windows',
          job,
          dc,
          fence,
          windows: [
            { source: `${dc}-w1#1/0`, workflow: 'wf1', seq: 1, window: windowOf(1, requests, us) },
          ],
        })
        .then((r) => replies.push(r));
    }
    assert.ok(await sim.runUntil(() => replies.length === 2, { maxMs: 5_000 }));
    assert.ok(
      replies.every((r) => r.ok && r.message.merged === 1),
      JSON.stringify(replies),
    );
    a.finish(job, 'wf1', 'completed');
    b.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    const step = (resultOf(client, job)?.results as RunResults).workflows[0]?.steps.find(
      (s) => s.name === 'get',
    );
    const expected = new Histogram();
    expected.recordCount(1_000, 90);
    expected.recordCount(100_000, 10);
    assert.equal(step?.count, 100);
    assert.deepEqual(step?.statuses, { '200': 100 });
    assert.deepEqual(step?.histogram, expected.toSparse());
    assert.ok((step?.latencyMs.p50 ?? 0) < 2, `p50 ${step?.latencyMs.p50}`);
    assert.ok((step?.latencyMs.p99 ?? 0) > 90, `p99 ${step?.latencyMs.p99}`);
  },
);

simTest(
  "a window too far ahead of its source's sequence is refused and counted nowhere; one within the allowance, and a duplicate, are acknowledged as such",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold', windows: 2 }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a'], durationMs: 60_000 }));
    const m = cluster.manager('a-m1');
    assert.ok(await sim.runUntil(() => m.acks.length > 0, { maxMs: 10_000 }));
    const fence = cluster.allDispatches()[0]!.fence;
    const at = (seq: number, requests: number) => ({
      source: 'a-w1#1/0',
      workflow: 'wf1',
      seq,
      window: statsWindow('wf1', seq, requests),
    });
    let reply: RpcReply | undefined;
    void m
      .sendRaw(cluster.gateAddresses.get('g1')!, {
        t: 'dc.windows',
        job,
        dc: 'a',
        fence,
        // seq 2 again (a duplicate), seq 100 (ahead, within the allowance), seq 5000 (too far).
        windows: [at(2, 10), at(100, 7), at(5_000, 1_000)],
      })
      .then((r) => (reply = r));
    assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 5_000 }));
    assert.ok(reply?.ok, JSON.stringify(reply));
    assert.deepEqual(
      {
        merged: reply.message.merged,
        duplicates: reply.message.duplicates,
        rejected: reply.message.rejected,
      },
      { merged: 1, duplicates: 1, rejected: 1 },
    );
    m.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    const result = resultOf(client, job)!;
    assert.equal((result.results as RunResults).workflows[0]?.totals.count, 27);
    assert.equal((result.breakdown as Record<string, { requests: number }>).a?.requests, 27);
  },
);

simTest(
  "GM-8.2.1: a job's first window creates its merged statistics on the owner, for that DC only",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold', runMs: 3_000 },
        { id: 'b-m1', dc: 'b', leader: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await submitted(client, submission({ dcs: ['a'], durationMs: 60_000 }));
    const m = cluster.manager('a-m1');
    assert.ok(await sim.runUntil(() => m.dispatches.length === 1, { maxMs: 10_000 }));
    const placement = cluster.gate('g1').ownedJobs.get(job)!.placement;
    assert.equal(placement.held.mergedJobs, 0, 'nothing merged before the first window');
    assert.deepEqual(placement.breakdown(), {});
    assert.ok(await sim.runUntil(() => m.acks.length > 0, { maxMs: 10_000 }));
    assert.equal(placement.held.mergedJobs, 1);
    assert.deepEqual(Object.keys(placement.breakdown()), ['a']);
    assert.equal(placement.breakdown().a?.requests, 20);
    assert.equal(cluster.manager('b-m1').dispatches.length, 0);
  },
);
