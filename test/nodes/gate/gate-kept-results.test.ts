// Sim test of the results a gate keeps for late watchers: written to the gate's storage when the
// job ends, so a gate that crashes after a job ended (before its watcher asked) answers with the
// whole result once it is back; a result that leaves the retention is removed from disk too.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

simTest(
  "a gate killed after its job ended answers a late watcher with the job's whole result once it is back, read from its storage",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { maxRetainedResults: 2 } });
    const client = new SimClient(sim, cluster);
    const owner = await cluster.waitForLeader();
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await client.ask(owner, submission({ dcs: ['a'] }));
      assert.ok(r.ok, JSON.stringify(r));
      const job = r.message['job'] as string;
      jobs.push(job);
      assert.ok(
        await sim.runUntil(() => cluster.gate(owner).ledger.job(job)?.status === 'completed', {
          maxMs: 20_000,
        }),
        `${job} completes`,
      );
    }
    await sim.run(500); // the results are written
    const files = async (): Promise<string[]> =>
      (await sim.node(owner).runtime!.storage.list()).filter((f) => f.startsWith('result-'));
    // Two kept (the bound): the first job's result left memory and disk.
    assert.deepEqual(
      (await files()).sort(),
      jobs
        .slice(1)
        .map((j) => `result-${j}.json`)
        .sort(),
    );
    sim.crash(owner);
    sim.restart(owner);
    assert.ok(
      await sim.runUntil(() => cluster.gates.get(owner) !== undefined && sim.node(owner).up, {
        maxMs: 10_000,
      }),
    );
    await sim.run(3_000);
    const last = jobs[2]!;
    const watch = await client.ask(owner, { t: 'job.watch', job: last });
    assert.ok(watch.ok && watch.message.t === 'job.result', JSON.stringify(watch));
    assert.equal(watch.message['status'], 'completed');
    assert.ok(watch.message['results'] !== null, 'the whole result, not a summary');
    const first = await client.ask(owner, { t: 'job.watch', job: jobs[0]! });
    assert.ok(first.ok && first.message['results'] === null, 'the evicted one has no detail');
  },
);
