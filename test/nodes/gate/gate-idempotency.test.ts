// Sim tests of idempotent submission across gates: the same key gives the same job and the
// original answer (concurrently, at several gates, while the first is still pending), and a key
// whose job has been evicted after its retention makes a new job.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GATE_IDS, GateCluster, SimClient, submission } from './support/gate-cluster.js';

async function all(sim: GateCluster['sim'], replies: Promise<RpcReply>[]): Promise<RpcReply[]> {
  const out: (RpcReply | undefined)[] = replies.map(() => undefined);
  replies.forEach((p, i) => void p.then((r) => (out[i] = r)));
  const ok = await sim.runUntil(() => out.every((r) => r !== undefined), { maxMs: 30_000 });
  assert.ok(ok, 'every submission was answered');
  return out as RpcReply[];
}

simTest(
  'GM-1.5.3 LT-41.5.1 LT-32.2.1 LT-32.2.2 GM-15.3.1: the same key sent to three gates at once makes one job, dispatched once per DC; every answer names it',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const body = submission({ key: 'race', dcs: ['a', 'b'] });
    const replies = await all(
      sim,
      [...GATE_IDS, ...GATE_IDS].map((g) => client.start(g, body)),
    );
    const jobs = new Set<string>();
    for (const r of replies) {
      assert.ok(r.ok, JSON.stringify(r));
      jobs.add(r.message.job as string);
    }
    assert.equal(jobs.size, 1);
    assert.equal(replies.filter((r) => r.ok && r.message.duplicate === false).length, 1);
    const owners = new Set(replies.map((r) => (r.ok ? r.message.ownerGate : '')));
    assert.equal(owners.size, 1, 'one owner in every answer');
    await sim.runUntil(() => cluster.allDispatches().length >= 2, { maxMs: 10_000 });
    await sim.run(2_000);
    assert.deepEqual(
      cluster
        .allDispatches()
        .map((d) => `${d.job}/${d.workflow}`)
        .sort(),
      [...jobs].flatMap((j) => [`${j}/wf1`, `${j}/wf1`]),
    );
    for (const g of cluster.gates.values()) assert.equal(g.ledger.size, 1);
  },
);

simTest(
  "LT-41.5.2: a duplicate that arrives while the first submission is still pending waits and gets the first one's answer",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim);
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const body = submission({ key: 'pending', dcs: ['a'] });
    const first = client.start('g1', body);
    // The second leaves before the first is committed (one virtual millisecond later).
    await sim.run(1);
    assert.equal(cluster.gate('g1').ledger.size, 0, 'the first is still pending');
    const [a, b] = await all(sim, [first, client.start('g1', body)]);
    assert.ok(a?.ok && b?.ok);
    assert.equal(b.message.job, a.message.job);
    assert.equal(b.message.fence, a.message.fence);
    assert.equal(b.message.submittedAtMs, a.message.submittedAtMs);
    assert.equal(a.message.duplicate, false);
    assert.equal(b.message.duplicate, true);
  },
);

simTest(
  'GM-1.5.2 LT-41.5.3 LT-32.2.4 LT-32.1.4: a key resent after its job completed gets that job; once the job is past its retention, the same key makes a new job',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      gate: { ledger: { completedRetentionMs: 5_000, unsuccessfulRetentionMs: 5_000 } },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const body = submission({ key: 'ttl', dcs: ['a'] });
    const first = await client.ask('g2', body);
    assert.ok(first.ok);
    const job = first.message.job as string;
    await sim.runUntil(() => cluster.gate('g2').ledger.job(job)?.status === 'completed', {
      maxMs: 20_000,
    });
    // Within the retention: the original answer.
    const again = await client.ask('g3', body);
    assert.ok(again.ok);
    assert.equal(again.message.job, job);
    await sim.run(6_000);
    const later = await client.ask('g1', body);
    assert.ok(later.ok, JSON.stringify(later));
    assert.notEqual(later.message.job, job);
    assert.equal(later.message.duplicate, false);
    assert.equal(cluster.gate('g1').ledger.job(job), undefined, 'the old job was evicted');
  },
);
