// Sim test of what an ended job leaves on its owner gate: nothing of it stays in the gate's own
// maps (owned job, watchers, pending submission, bundle) or in its placement (workflows, their
// reports and names, the window merger's state), and late traffic for it brings none of it back.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GateCluster, SimClient, statsWindow, submission } from './support/gate-cluster.js';

simTest(
  'GM-10.3.2 GM-10.3.3 GM-10.3.4 GM-10.3.5 GM-10.3.8: when a job ends its owner releases the workflow results and names, the watchers, the ownership and the merged stats',
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
    const g1 = cluster.gate('g1');
    const accepted = await client.ask('g1', submission({ dcs: ['a', 'b'], durationMs: 60_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
    const a = cluster.manager('a-m1');
    const b = cluster.manager('b-m1');
    assert.ok(await sim.runUntil(() => a.acks.length > 0 && b.acks.length > 0, { maxMs: 10_000 }));
    // While it runs, the owner holds all of it.
    const owned = g1.ownedJobs.get(job)!;
    assert.equal(owned.watcherCount, 1);
    assert.deepEqual(owned.placement.held, {
      workflows: 1,
      mergedJobs: 1,
      reports: 0,
      workflowNames: 1,
    });
    assert.equal(g1.state.bundles.size, 1);
    assert.equal(g1.state.pending.has(job), false, 'the pending submission became the owned job');
    a.finish(job, 'wf1', 'completed');
    b.finish(job, 'wf1', 'completed');
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result' && n.job === job), {
        maxMs: 10_000,
      }),
    );
    await sim.run(500);
    assert.equal(g1.ownedJobs.has(job), false, 'the gate no longer owns the job');
    assert.equal(owned.ended, true);
    assert.equal(owned.watcherCount, 0);
    assert.deepEqual(owned.placement.held, {
      workflows: 0,
      mergedJobs: 0,
      reports: 0,
      workflowNames: 0,
    });
    assert.deepEqual(owned.placement.breakdown(), {});
    assert.equal(g1.state.bundles.size, 0);
    assert.equal(g1.state.pending.size, 0);
    // A late window is acknowledged as rejected and revives nothing; the watcher hears no more.
    const notesAtEnd = client.notes.length;
    let late: RpcReply | undefined;
    void a
      .sendRaw(cluster.gateAddresses.get('g1')!, {
        t: 'dc.windows',
        job,
        dc: 'a',
        fence: cluster.allDispatches()[0]!.fence,
        windows: [
          { source: 'a-w1#1/0', workflow: 'wf1', seq: 3, window: statsWindow('wf1', 3, 5) },
        ],
      })
      .then((r) => (late = r));
    assert.ok(await sim.runUntil(() => late !== undefined, { maxMs: 5_000 }));
    assert.ok(late?.ok);
    assert.equal(late.message.rejected, 1);
    await sim.run(3_000);
    assert.equal(owned.placement.held.mergedJobs, 0);
    assert.equal(g1.ownedJobs.size, 0);
    assert.equal(client.notes.length, notesAtEnd);
  },
);
