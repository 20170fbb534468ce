// Sim tests of a DC leader that refuses a dispatch for now (rate limited, or overloaded at its
// request cap) and names a retry-after: the owner gate waits that long and sends the same
// dispatch again, a bounded number of times, and the job runs once the leader takes it.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { MAX_DISPATCH_RETRIES } from '../../../src/nodes/gate/cluster-placement.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

async function runJob(
  sim: Parameters<Parameters<typeof simTest>[2]>[0],
  refuse: { code: string; retryAfterMs: number; times: number },
): Promise<{ cluster: GateCluster; job: string; client: SimClient }> {
  const cluster = new GateCluster(sim, {
    managers: [{ id: 'a-m1', dc: 'a', leader: true, refuse }],
  });
  const client = new SimClient(sim, cluster);
  await cluster.waitForLeader();
  const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
  assert.ok(
    await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 60_000 }),
  );
  return { cluster, job, client };
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

simTest(
  'GM-1.3.4: the DC leader refuses the dispatch as rate limited with a retry-after; the gate waits that long, sends it again and the job runs',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const { cluster, job, client } = await runJob(sim, {
      code: 'E_RATE_LIMITED',
      retryAfterMs: 1_500,
      times: 2,
    });
    const m = cluster.manager('a-m1');
    assert.equal(m.dispatchTimes.length, 3, 'two refusals, then the accepted one');
    for (const g of gaps(m.dispatchTimes)) assert.ok(g >= 1_500, `retried after ${g} ms`);
    assert.deepEqual(
      m.dispatches.map((d) => d.job),
      [job],
    );
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'completed');
  },
);

simTest(
  'GM-1.3.5: the DC leader is over capacity and says when to come back; the gate backs off for that long before the next dispatch',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const { cluster, client } = await runJob(sim, {
      code: 'over_capacity',
      retryAfterMs: 4_000,
      times: 1,
    });
    const m = cluster.manager('a-m1');
    assert.equal(m.dispatchTimes.length, 2);
    assert.ok(gaps(m.dispatchTimes)[0]! >= 4_000, `backed off ${gaps(m.dispatchTimes)[0]} ms`);
    assert.equal(client.notes.find((n) => n.t === 'job.result')?.status, 'completed');
  },
);

simTest(
  'a leader that keeps refusing is retried a bounded number of times; the part then fails naming the refusal',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client } = await runJob(sim, {
      code: 'E_UNAVAILABLE',
      retryAfterMs: 1_000,
      times: 1_000,
    });
    assert.equal(cluster.manager('a-m1').dispatchTimes.length, MAX_DISPATCH_RETRIES + 1);
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.dcs, { a: 'failed' });
    assert.match(result.failure as string, /E_UNAVAILABLE: a-m1 is busy/);
  },
);
