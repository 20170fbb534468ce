// Sim tests of what the owner gate accepts from a DC's manager: the largest windows batch and a
// workflow end with many worker parts are taken whole; a batch over the limit or a malformed end
// is refused with a structured error and changes nothing.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage, RpcReply } from '../../../src/protocol/index.js';
import type { RunResults } from '../../../src/stats/types.js';
import { MAX_WINDOWS_PER_BATCH } from '../../../src/nodes/jobs/dc-wire.js';
import {
  GateCluster,
  SimClient,
  statsWindow,
  submission,
  type FakeManager,
} from './support/gate-cluster.js';

async function send(
  sim: GateCluster['sim'],
  cluster: GateCluster,
  m: FakeManager,
  message: Record<string, unknown> & { t: string },
): Promise<RpcReply> {
  let reply: RpcReply | undefined;
  void m.sendRaw(cluster.gateAddresses.get('g1')!, message).then((r) => (reply = r));
  assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 10_000 }));
  return reply!;
}

function resultOf(client: SimClient, job: string): AnyMessage | undefined {
  return client.notes.find((n) => n.t === 'job.result' && n.job === job);
}

async function heldJob(sim: GateCluster['sim']): Promise<{
  cluster: GateCluster;
  client: SimClient;
  job: string;
  m: FakeManager;
  fence: number;
}> {
  const cluster = new GateCluster(sim, {
    managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
  });
  const client = new SimClient(sim, cluster);
  await cluster.waitForLeader();
  const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
  const m = cluster.manager('a-m1');
  assert.ok(await sim.runUntil(() => m.acks.length > 0, { maxMs: 10_000 }));
  return { cluster, client, job, m, fence: cluster.allDispatches()[0]!.fence };
}

simTest(
  'GM-9.4.4: the largest windows batch and a workflow end with a thousand worker parts are taken whole; a batch over the limit is refused',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, job, m, fence } = await heldJob(sim);
    const windows = Array.from({ length: MAX_WINDOWS_PER_BATCH }, (_, i) => {
      const seq = Math.floor(i / 16) + 1;
      return {
        source: `a-w${100 + (i % 16)}#1/0`,
        workflow: 'wf1',
        seq,
        window: statsWindow('wf1', seq, 2),
      };
    });
    const big = await send(sim, cluster, m, { t: 'dc.windows', job, dc: 'a', fence, windows });
    assert.ok(big.ok, JSON.stringify(big));
    assert.equal(big.message.merged, MAX_WINDOWS_PER_BATCH);
    const over = await send(sim, cluster, m, {
      t: 'dc.windows',
      job,
      dc: 'a',
      fence,
      windows: [
        ...windows,
        { source: 'a-w999#1/0', workflow: 'wf1', seq: 1, window: statsWindow('wf1', 1, 2) },
      ],
    });
    assert.equal(over.ok, false);
    const breakdown = cluster.gate('g1').ownedJobs.get(job)!.placement.breakdown();
    assert.equal(
      breakdown.a?.requests,
      20 + 2 * MAX_WINDOWS_PER_BATCH,
      'the refused batch added nothing',
    );
    const parts = Array.from({ length: 1_000 }, (_, i) => ({
      worker: `a-w${i}`,
      published: {},
      network: { requests: 1, bytesSent: 100, bytesReceived: 200 },
      interrupted: 0,
      notes: Array.from({ length: 3 }, (_, k) => `worker ${i} note ${k}: ${'x'.repeat(40)}`),
    }));
    const done = await send(sim, cluster, m, {
      t: 'dc.workflow-done',
      job,
      dc: 'a',
      fence,
      workflow: 'wf1',
      outcome: 'completed',
      parts,
    });
    assert.ok(done.ok, JSON.stringify(done));
    assert.equal(done.message.t, 'dc.workflow-done-ack');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    const result = resultOf(client, job)!;
    assert.equal(result.status, 'completed');
    assert.equal(
      (result.results as RunResults).workflows[0]?.totals.count,
      20 + 2 * MAX_WINDOWS_PER_BATCH,
    );
  },
);

simTest(
  "GM-10.1.1: a manager's workflow end is decoded and checked: a malformed one is refused with a structured error and changes nothing; the well-formed one ends the job",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, job, m, fence } = await heldJob(sim);
    const base = { t: 'dc.workflow-done', job, dc: 'a', fence, workflow: 'wf1', parts: [] };
    for (const bad of [
      { ...base, outcome: 'exploded' },
      { ...base, outcome: 'completed', parts: [{ worker: 'a-w1' }] },
      { ...base, outcome: 'completed', fence: -1 },
    ]) {
      const r = await send(sim, cluster, m, bad);
      assert.equal(r.ok, false, JSON.stringify(bad));
      assert.ok(!r.ok && r.error.code.length > 0 && r.error.message.length > 0);
    }
    await sim.run(1_000);
    assert.equal(resultOf(client, job), undefined);
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'running');
    const good = await send(sim, cluster, m, { ...base, outcome: 'completed' });
    assert.ok(good.ok, JSON.stringify(good));
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    assert.equal(resultOf(client, job)?.status, 'completed');
  },
);

simTest(
  'GM-2.1.3: a manager reporting for a datacenter that is not its own, or not in the cluster, is refused with E_UNKNOWN_DC and changes nothing',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(await sim.runUntil(() => a.acks.length > 0 && b.acks.length > 0, { maxMs: 10_000 }));
    const fence = cluster.allDispatches()[0]!.fence;
    const windows = (dc: string): Record<string, unknown> & { t: string } => ({
      t: 'dc.windows',
      job,
      dc,
      fence,
      windows: [
        { source: `${dc}-w7#1/0`, workflow: 'wf1', seq: 1, window: statsWindow('wf1', 1, 9) },
      ],
    });
    const done = (dc: string): Record<string, unknown> & { t: string } => ({
      t: 'dc.workflow-done',
      job,
      dc,
      fence,
      workflow: 'wf1',
      outcome: 'failed',
      parts: [],
    });
    const refusals = [
      await send(sim, cluster, b, windows('a')),
      await send(sim, cluster, a, windows('zz')),
      await send(sim, cluster, b, done('a')),
    ];
    for (const r of refusals) {
      assert.equal(r.ok, false);
      assert.equal(r.ok ? '' : r.error.code, 'E_UNKNOWN_DC');
    }
    assert.match(refusals[0]!.ok ? '' : refusals[0]!.error.message, /b-m1 is in datacenter 'b'/);
    const view = cluster.gate('g1').ownedJobs.get(job)!.placement;
    assert.equal(view.breakdown().a?.requests, 20);
    assert.equal(view.breakdown().zz, undefined);
    assert.equal(view.held.workflows, 1, "a's part is still running");
    a.finish(job, 'wf1', 'completed');
    b.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    assert.deepEqual(resultOf(client, job)?.dcs, { a: 'completed', b: 'completed' });
  },
);
