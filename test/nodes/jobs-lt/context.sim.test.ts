// LT-41.11 / LT-41.28 sim tests: the context of published values handed from a workflow to its
// dependents across DCs. Three real gates run the job's Run over a ClusterPlacement; the fake
// managers of DCs a and b report what their parts published with each workflow's end, and record
// the `dc.dispatch` each dependent got, so a test reads the context that reached each DC.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import type { DcDispatch } from '../../../src/nodes/jobs/dc-wire.js';
import {
  GateCluster,
  SimClient,
  submission,
  type FakeManagerSpec,
} from '../gate/support/gate-cluster.js';

type Published = Record<string, { value: unknown; atMs: number }>;

/** wf1 publishes `publishes`; wf2 depends on wf1. */
function chainPlan(publishes: string[]): unknown {
  const wf = (name: string, dependsOn: string[], pub: string[]): unknown => ({
    name,
    dependsOn,
    executor: { type: 'constant-vus', vus: 2, durationMs: 10_000, gracefulStopMs: 500 },
    steps: ['get'],
    publishes: pub,
    thresholds: [],
    setup: null,
    teardown: null,
  });
  return { version: 1, workflows: [wf('wf1', [], publishes), wf('wf2', ['wf1'], [])] };
}

/** DC a (leader a-m1) and DC b (leader b-m1); each publishes what `pubA`/`pubB` give for wf1. */
function managers(
  a: { pub?: Published; runMs?: number },
  b: { pub?: Published; runMs?: number },
): FakeManagerSpec[] {
  const only =
    (pub: Published | undefined) =>
    (d: DcDispatch): Published =>
      d.workflow === 'wf1' ? (pub ?? {}) : {};
  return [
    { id: 'a-m1', dc: 'a', leader: true, runMs: a.runMs ?? 200, publish: only(a.pub) },
    { id: 'b-m1', dc: 'b', leader: true, runMs: b.runMs ?? 200, publish: only(b.pub) },
  ];
}

async function runChain(
  sim: Parameters<Parameters<typeof simTest>[2]>[0],
  cluster: GateCluster,
  publishes: string[],
): Promise<{ job: string; result: Record<string, unknown> }> {
  const client = new SimClient(sim, cluster);
  await cluster.waitForLeader();
  const accepted = await client.ask(
    'g1',
    submission({ dcs: ['a', 'b'], plan: chainPlan(publishes) }),
  );
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  const watch = await client.ask('g1', { t: 'job.watch', job });
  assert.ok(watch.ok, JSON.stringify(watch));
  assert.ok(
    await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result' && n.job === job), {
      maxMs: 30_000,
    }),
    'the job ended',
  );
  const result = client.notes.find((n) => n.t === 'job.result' && n.job === job)!;
  return { job, result };
}

function wf2Dispatches(cluster: GateCluster): DcDispatch[] {
  return cluster.allDispatches().filter((d) => d.workflow === 'wf2');
}

simTest(
  'LT-41.11.1 a value wf1 published on DC a reaches its dependent wf2 on DC b (and on a) in the dispatched context',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: managers({ pub: { token: { value: 'tok-from-a', atMs: 1_000 } } }, {}),
    });
    const { result } = await runChain(sim, cluster, ['token']);
    assert.equal(result.status, 'completed');
    const wf2 = wf2Dispatches(cluster);
    assert.equal(cluster.manager('b-m1').dispatches.filter((d) => d.workflow === 'wf2').length, 1);
    assert.equal(cluster.manager('a-m1').dispatches.filter((d) => d.workflow === 'wf2').length, 1);
    for (const d of wf2) assert.deepEqual(d.context, { wf1: { token: 'tok-from-a' } });
    // wf1 itself depended on nothing.
    for (const d of cluster.allDispatches().filter((x) => x.workflow === 'wf1'))
      assert.deepEqual(d.context, {});
  },
);

simTest(
  'LT-41.11.3 a context value that arrives late (DC b ends wf1 long after DC a) holds the dependent back until it is in',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: managers(
        { runMs: 200 },
        { runMs: 6_000, pub: { token: { value: 'late-from-b', atMs: 7_000 } } },
      ),
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask(
      'g1',
      submission({ dcs: ['a', 'b'], plan: chainPlan(['token']) }),
    );
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    // DC a reports wf1's end (with nothing published) well before DC b does.
    assert.ok(
      await sim.runUntil(
        () =>
          cluster
            .manager('a-m1')
            .acks.some((m) => m.t === 'dc.workflow-done-ack' && m.workflow === 'wf1'),
        { maxMs: 10_000 },
      ),
    );
    await sim.run(2_000);
    assert.equal(wf2Dispatches(cluster).length, 0, 'wf2 waits for the value from DC b');
    assert.ok(
      await sim.runUntil(() => wf2Dispatches(cluster).length === 2, { maxMs: 20_000 }),
      'wf2 is dispatched once the late value is in',
    );
    for (const d of wf2Dispatches(cluster)) {
      assert.equal(d.job, job);
      assert.deepEqual(d.context, { wf1: { token: 'late-from-b' } });
    }
  },
);

simTest(
  'LT-41.11.5 a dependency that published nothing gives an empty context, and the dependent is still dispatched and completes',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: managers({}, {}) });
    const { result } = await runChain(sim, cluster, []);
    assert.equal(result.status, 'completed');
    const wf2 = wf2Dispatches(cluster);
    assert.equal(wf2.length, 2);
    for (const d of wf2) assert.deepEqual(d.context, { wf1: {} });
    const doc = result.results as { workflows: { name: string; status: string }[] };
    assert.deepEqual(
      doc.workflows.map((w) => [w.name, w.status]),
      [
        ['wf1', 'completed'],
        ['wf2', 'completed'],
      ],
    );
  },
);

simTest(
  'LT-41.28.1 on completion the job context takes each DC report; a later report with a newer version replaces the value (last writer wins)',
  { seeds: seedsFrom(3) },
  async (sim) => {
    // DC a ends first with an older value; DC b ends later with a newer one.
    const cluster = new GateCluster(sim, {
      managers: managers(
        { runMs: 200, pub: { token: { value: 'old-from-a', atMs: 1_000 } } },
        { runMs: 2_000, pub: { token: { value: 'new-from-b', atMs: 2_500 } } },
      ),
    });
    const { result } = await runChain(sim, cluster, ['token']);
    assert.equal(result.status, 'completed');
    const wf2 = wf2Dispatches(cluster);
    assert.equal(wf2.length, 2);
    for (const d of wf2) assert.deepEqual(d.context, { wf1: { token: 'new-from-b' } });
  },
);

simTest(
  'LT-41.28.2 two DCs publish the same key: the newer version wins even when it is reported first',
  { seeds: seedsFrom(3) },
  async (sim) => {
    // DC a reports first but with the newer value; DC b's late report carries an older one.
    const cluster = new GateCluster(sim, {
      managers: managers(
        { runMs: 200, pub: { token: { value: 'newer-from-a', atMs: 9_000 } } },
        { runMs: 2_000, pub: { token: { value: 'older-from-b', atMs: 4_000 } } },
      ),
    });
    const { result } = await runChain(sim, cluster, ['token']);
    assert.equal(result.status, 'completed');
    const wf2 = wf2Dispatches(cluster);
    assert.equal(wf2.length, 2);
    for (const d of wf2) assert.deepEqual(d.context, { wf1: { token: 'newer-from-a' } });
  },
);
