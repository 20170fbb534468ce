// Sim tests of workflow ends (`dc.workflow-done`) reaching a job's owner gate: each DC's end is
// recorded per workflow, the job waits for every DC and builds its result from all of them, ends
// arriving in any order settle the same way, and an end for a job the gate does not know is
// refused without touching anything.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage, RpcReply } from '../../../src/protocol/index.js';
import type { RunResults } from '../../../src/stats/types.js';
import {
  GateCluster,
  SimClient,
  submission,
  type FakeManagerSpec,
} from './support/gate-cluster.js';

function resultOf(client: SimClient, job: string): AnyMessage | undefined {
  return client.notes.find((n) => n.t === 'job.result' && n.job === job);
}

const HOLD: FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
];

simTest(
  "GM-9.1.1 GM-9.1.2: each DC's end of each workflow is recorded under that workflow and DC; the job tracks which workflows are still expected",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HOLD });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(
      submission({ dcs: ['a', 'b'], workflows: 2, durationMs: 60_000 }),
    );
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(
      await sim.runUntil(() => a.dispatches.length === 1 && b.dispatches.length === 1, {
        maxMs: 10_000,
      }),
    );
    const placement = cluster.gate('g1').ownedJobs.get(job)!.placement;
    assert.deepEqual(placement.held.workflows, 1, 'wf1 runs');
    a.finish(job, 'wf1', 'completed');
    await sim.run(1_000);
    // a's end is in, b's is not: wf1 is still expected and nothing is reported for it yet.
    assert.equal(placement.reports.length, 0);
    assert.equal(placement.held.workflows, 1);
    assert.equal(b.dispatches.length, 1, 'wf2 waits for wf1');
    b.finish(job, 'wf1', 'failed');
    assert.ok(await sim.runUntil(() => placement.reports.length === 1, { maxMs: 5_000 }));
    assert.deepEqual(
      placement.reports.map((r) => ({
        workflow: r.workflow,
        parts: r.parts.map((p) => [p.dc, p.outcome]),
      })),
      [
        {
          workflow: 'wf1',
          parts: [
            ['a', 'completed'],
            ['b', 'failed'],
          ],
        },
      ],
    );
    const bPart = placement.reports[0]!.parts.find((p) => p.dc === 'b')!;
    assert.equal(bPart.workers[0]?.worker, 'b-w1');
    assert.match(bPart.failure ?? '', /the target refused every request/);
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    assert.equal(resultOf(client, job)?.status, 'failed');
    assert.deepEqual(resultOf(client, job)?.dcs, { a: 'completed', b: 'failed' });
    assert.deepEqual(cluster.gate('g1').ledger.job(job)?.dcs, { a: 'completed', b: 'failed' });
  },
);

simTest(
  'GM-9.2.1: the result is built once every DC reported its end, from all of them',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, runMs: 200, windows: 2 },
        { id: 'b-m1', dc: 'b', leader: true, runMs: 4_000, windows: 3 },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    assert.ok(
      await sim.runUntil(
        () => cluster.manager('a-m1').acks.some((x) => x.t === 'dc.workflow-done-ack'),
        { maxMs: 10_000 },
      ),
    );
    assert.equal(resultOf(client, job), undefined, 'a alone does not end the job');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 20_000 }));
    const result = resultOf(client, job)!;
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.dcs, { a: 'completed', b: 'completed' });
    assert.equal((result.results as RunResults).workflows[0]?.totals.count, 50);
    assert.equal(client.notes.filter((n) => n.t === 'job.result').length, 1);
  },
);

simTest(
  'GM-9.4.2: workflow ends arriving in the other order than dispatched (b, then a) settle the job the same way',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HOLD });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(await sim.runUntil(() => a.acks.length > 0 && b.acks.length > 0, { maxMs: 10_000 }));
    b.finish(job, 'wf1', 'completed');
    assert.ok(
      await sim.runUntil(() => b.acks.some((x) => x.t === 'dc.workflow-done-ack'), {
        maxMs: 5_000,
      }),
    );
    await sim.run(1_000);
    assert.equal(resultOf(client, job), undefined);
    a.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    const result = resultOf(client, job)!;
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.dcs, { a: 'completed', b: 'completed' });
    assert.equal((result.results as RunResults).workflows[0]?.totals.count, 40);
  },
);

simTest(
  'GM-9.1.3: a workflow end for a job the gate does not know is refused with E_JOB_UNKNOWN; the running job is untouched',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a'], durationMs: 60_000 }));
    const m = cluster.manager('a-m1');
    assert.ok(await sim.runUntil(() => m.acks.length > 0, { maxMs: 10_000 }));
    const fence = cluster.allDispatches()[0]!.fence;
    let reply: RpcReply | undefined;
    void m
      .sendRaw(cluster.gateAddresses.get('g1')!, {
        t: 'dc.workflow-done',
        job: 'job-0123456789abcdef',
        dc: 'a',
        fence,
        workflow: 'wf1',
        outcome: 'completed',
        parts: [],
      })
      .then((r) => (reply = r));
    assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 5_000 }));
    assert.equal(reply?.ok, false);
    assert.equal(reply.ok ? '' : reply.error.code, 'E_JOB_UNKNOWN');
    await sim.run(1_000);
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'running');
    assert.equal(cluster.gate('g1').ownedJobs.get(job)?.placement.held.workflows, 1);
    m.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    assert.equal(resultOf(client, job)?.status, 'completed');
  },
);

simTest(
  'GM-9.1.4: the owner logs each workflow end it gets with the job, workflow, DC, outcome and its answer',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hold' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a'], durationMs: 60_000 }));
    const m = cluster.manager('a-m1');
    assert.ok(await sim.runUntil(() => m.acks.length > 0, { maxMs: 10_000 }));
    let unknown: RpcReply | undefined;
    void m
      .sendRaw(cluster.gateAddresses.get('g1')!, {
        t: 'dc.workflow-done',
        job: 'job-00000000000000aa',
        dc: 'a',
        fence: 1,
        workflow: 'wf9',
        outcome: 'failed',
        parts: [],
      })
      .then((r) => (unknown = r));
    assert.ok(await sim.runUntil(() => unknown !== undefined, { maxMs: 5_000 }));
    m.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => resultOf(client, job) !== undefined, { maxMs: 10_000 }));
    const lines = sim.logs.filter((l) => l.includes(' g1 debug workflow end from a datacenter'));
    const fields = lines.map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>);
    assert.deepEqual(
      fields.map((f) => [f.job, f.workflow, f.dc, f.outcome, f.manager, f.answer]),
      [
        ['job-00000000000000aa', 'wf9', 'a', 'failed', 'a-m1', 'E_JOB_UNKNOWN'],
        [job, 'wf1', 'a', 'completed', 'a-m1', 'acknowledged'],
      ],
    );
  },
);
