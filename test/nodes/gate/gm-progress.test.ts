// Sim tests of a running job's progress as its owner gate streams it to watchers: DC acceptance
// and windows move the job's state, each workflow of the plan has its own progress row, and what
// a DC reported before its manager died stays in the view.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage } from '../../../src/protocol/index.js';
import type { LiveSnapshot } from '../../../src/ui/snapshot.js';
import { GateCluster, SimClient, statsWindow, submission } from './support/gate-cluster.js';

function snapshots(client: SimClient, job: string): AnyMessage[] {
  return client.notes.filter((n) => n.t === 'job.snapshot' && n.job === job);
}

function last(client: SimClient, job: string): LiveSnapshot {
  const s = snapshots(client, job).at(-1);
  assert.ok(s !== undefined, 'a snapshot arrived');
  return s.stats as LiveSnapshot;
}

const HOLD = [
  { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' as const, runMs: 3_000 },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' as const, runMs: 3_000 },
];

simTest(
  "GM-7.1.1 GM-7.1.4: windows and workflow ends from two DCs move the job's progress, per workflow, against the plan's duration",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HOLD });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(
      submission({ dcs: ['a', 'b'], workflows: 2, durationMs: 30_000 }),
    );
    await sim.run(1_500);
    // Both DCs took wf1; nothing counted yet; wf2 waits for it.
    assert.deepEqual(snapshots(client, job).at(-1)?.dcs, { a: 'accepted', b: 'accepted' });
    let view = last(client, job);
    assert.deepEqual(
      view.workflows.map((w) => [w.name, w.status, w.count]),
      [
        ['wf1', 'running', 0],
        ['wf2', 'waiting', 0],
      ],
    );
    // The plan's duration is the two chained workflows', not multiplied by the DCs sharing them.
    assert.equal(view.plannedMs, 60_000);
    assert.deepEqual(
      view.workflows.map((w) => w.plannedMs),
      [30_000, 30_000],
    );
    const early = view.workflows[0]!.elapsedMs;
    await sim.run(3_000);
    view = last(client, job);
    assert.deepEqual(
      view.workflows.map((w) => [w.name, w.status, w.count]),
      [
        ['wf1', 'running', 40],
        ['wf2', 'waiting', 0],
      ],
    );
    const later = view.workflows[0]!.elapsedMs;
    assert.ok(later - early >= 2_500, `wf1 progressed ${later - early} ms`);
    cluster.manager('a-m1').finish(job, 'wf1', 'completed');
    cluster.manager('b-m1').finish(job, 'wf1', 'completed');
    await sim.run(5_000);
    view = last(client, job);
    assert.deepEqual(
      view.workflows.map((w) => [w.name, w.status, w.count]),
      [
        ['wf1', 'completed', 40],
        ['wf2', 'running', 40],
      ],
    );
  },
);

simTest(
  'GM-7.2.5: a manager dies in the middle of its stream; what it reported stays in the live view while the job goes on',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HOLD });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    const a = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => a.acks.some((x) => x.t === 'dc.windows-ack'), { maxMs: 10_000 }),
    );
    sim.crash('a-m1');
    const seqBefore = snapshots(client, job).at(-1)?.seq as number;
    await sim.run(5_000);
    const s = snapshots(client, job).at(-1)!;
    assert.ok((s.seq as number) > seqBefore, 'snapshots go on');
    assert.equal(s.status, 'running');
    assert.equal(last(client, job).workflows[0]?.count, 40);
    assert.equal(cluster.gate('g1').ownedJobs.get(job)?.placement.breakdown().a?.requests, 20);
  },
);

simTest(
  "GM-7.1.2: past a workflow's planned end, a DC still sending windows is kept running while a silent one is ended as timed out",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    // Planned end: 1 s of load plus 1 s of graceful stop; a silent DC is ended 1.5 s after that.
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 1_000 }));
    const a = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => a.acks.some((x) => x.t === 'dc.windows-ack'), { maxMs: 10_000 }),
    );
    const started = sim.nowMs;
    const g1 = cluster.gateAddresses.get('g1')!;
    const fence = cluster.allDispatches()[0]!.fence;
    // a reports a window every 500 ms for 4.5 s, well past the point where silence is ended.
    for (let seq = 3; sim.nowMs - started < 4_500; seq++) {
      await sim.run(500);
      void a.sendRaw(g1, {
        t: 'dc.windows',
        job,
        dc: 'a',
        fence,
        windows: [{ source: 'a-w1#1/0', workflow: 'wf1', seq, window: statsWindow('wf1', seq, 1) }],
      });
    }
    const owned = cluster.gate('g1').ownedJobs.get(job);
    assert.ok(owned !== undefined, 'the job is still running while a reports');
    a.finish(job, 'wf1', 'completed');
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 10_000 }),
    );
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.deepEqual(result.dcs, { a: 'completed', b: 'timed-out' });
    assert.match(result.failure as string, /datacenter b /);
  },
);
