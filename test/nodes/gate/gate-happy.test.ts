// Sim tests of the gate's happy path: three real gates, fake managers speaking dc-wire. A job is
// committed before it is accepted, dispatched to each target DC's manager leader, streamed to
// its watcher and ended once with the status rules.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { RunResults } from '../../../src/stats/types.js';
import { schemaErrors } from '../../support/cli.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  'GM-1.1.2 GM-10.2.1 GM-9.2.4 GM-9.3.1: a job for two DCs is dispatched to each DC leader, streamed to its watcher and ends completed with one results document',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g2', submission({ dcs: ['a', 'b'], workflows: 2 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const a = accepted.message;
    assert.equal(a.t, 'job.accepted');
    assert.equal(a.ownerGate, 'g2');
    assert.deepEqual(a.targetDcs, ['a', 'b']);
    const job = a.job as string;
    // Committed before acknowledged: every gate's ledger knows it once it applies the entry.
    assert.ok(
      cluster.gate('g2').ledger.job(job) !== undefined ||
        (await sim.runUntil(() => cluster.gate('g2').ledger.job(job) !== undefined, {
          maxMs: 1000,
        })),
    );
    const watch = await client.ask('g2', { t: 'job.watch', job });
    assert.ok(watch.ok, JSON.stringify(watch));
    assert.equal(watch.message.t, 'job.snapshot');
    const ended = await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), {
      maxMs: 20_000,
    });
    assert.ok(ended, 'the watcher got the result');
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'completed');
    assert.equal(result.exitCode, 0);
    assert.deepEqual(result.dcs, { a: 'completed', b: 'completed' });
    // Each workflow went to each DC's leader once (a-m1 pointed at a-m2), in order.
    assert.equal(cluster.manager('a-m1').dispatches.length, 0);
    assert.deepEqual(
      cluster.manager('a-m2').dispatches.map((d) => d.workflow),
      ['wf1', 'wf2'],
    );
    assert.deepEqual(
      cluster.manager('b-m1').dispatches.map((d) => d.workflow),
      ['wf1', 'wf2'],
    );
    for (const d of cluster.allDispatches()) {
      assert.equal(d.job, job);
      assert.equal(d.fence, a.fence);
      assert.deepEqual(d.ownerAddress, cluster.gateAddresses.get('g2'));
    }
    // The run's results document: schema-valid, each window counted once
    // (2 DCs × 2 workflows × 2 windows × 10 requests), and a per-DC breakdown that agrees.
    const doc = result.results as RunResults;
    assert.deepEqual(schemaErrors(doc), []);
    assert.equal(doc.run.id, job);
    assert.equal(doc.run.exitCode, 0);
    assert.deepEqual(
      doc.workflows.map((w) => [w.name, w.status, w.totals.count]),
      [
        ['wf1', 'completed', 40],
        ['wf2', 'completed', 40],
      ],
    );
    const breakdown = result.breakdown as Record<string, { requests: number }>;
    assert.deepEqual(Object.keys(breakdown).sort(), ['a', 'b']);
    assert.equal((breakdown.a?.requests ?? 0) + (breakdown.b?.requests ?? 0), 80);
    // Every gate's ledger agrees on the end.
    await sim.runUntil(
      () => [...cluster.gates.values()].every((g) => g.ledger.job(job)?.status === 'completed'),
      { maxMs: 2_000 },
    );
    for (const g of cluster.gates.values()) assert.equal(g.ledger.job(job)?.status, 'completed');
    const status = await client.ask('g3', { t: 'job.status', job });
    assert.ok(status.ok);
    assert.equal((status.message.view as { status: string }).status, 'completed');
  },
);
