// Sim tests of cancellation through the gates: the owner records the cancel in the ledger, fans
// it out to every target DC, answers with each DC's acknowledgements, and ends the job cancelled
// once; a cancel sent to another gate is forwarded to the owner.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { AnyMessage } from '../../../src/protocol/index.js';
import { GateCluster, SimClient, submission } from './support/gate-cluster.js';

const HANGING = [
  { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' as const },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' as const },
];

async function runningJob(
  cluster: GateCluster,
  client: SimClient,
  at: string,
): Promise<{ job: string; fence: number }> {
  const accepted = await client.ask(at, submission({ dcs: ['a', 'b'], durationMs: 600_000 }));
  assert.ok(accepted.ok, JSON.stringify(accepted));
  const job = accepted.message.job as string;
  const running = await cluster.sim.runUntil(
    () =>
      cluster.gate(at).ledger.job(job)?.status === 'running' &&
      cluster.allDispatches().length === 2,
    { maxMs: 10_000 },
  );
  assert.ok(running, 'the job runs on both DCs');
  return { job, fence: accepted.message.fence as number };
}

simTest(
  "GM-18.1.1 GM-18.1.2 GM-18.1.3 GM-18.1.4 GM-9.4.3: a client cancel reaches every DC, is acknowledged per DC, each DC's cancelled workflow report is taken, and the job ends cancelled once",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HANGING });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const { job, fence } = await runningJob(cluster, client, 'g2');
    const watch = await client.ask('g2', { t: 'job.watch', job });
    assert.ok(watch.ok);
    const ack = await client.ask('g2', { t: 'job.cancel', job, reason: 'enough' });
    assert.ok(ack.ok, JSON.stringify(ack));
    assert.equal(ack.message.t, 'job.cancel-ack');
    assert.deepEqual(ack.message.dcs, {
      a: { acknowledged: ['a-w1'], unanswered: [] },
      b: { acknowledged: ['b-w1'], unanswered: [] },
    });
    for (const m of ['a-m1', 'b-m1']) {
      const cancels = cluster.manager(m).cancels;
      assert.equal(cancels.length, 1, `${m} got one dc.cancel`);
      assert.equal(cancels[0]?.job, job);
      assert.equal(cancels[0]?.fence, fence);
      assert.equal(cancels[0]?.reason, 'enough');
    }
    const ended = await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), {
      maxMs: 20_000,
    });
    assert.ok(ended);
    const results = client.notes.filter((n) => n.t === 'job.result');
    assert.equal(results.length, 1);
    const result = results[0] as AnyMessage;
    assert.equal(result.status, 'cancelled');
    assert.equal(result.exitCode, 130);
    assert.deepEqual(result.dcs, { a: 'cancelled', b: 'cancelled' });
    // Each DC's report of its cancelled workflow was taken (acknowledged, so not resent).
    for (const m of ['a-m1', 'b-m1']) {
      const acks = cluster.manager(m).acks.filter((x) => x.t === 'dc.workflow-done-ack');
      assert.deepEqual(
        acks.map((x) => [x.job, x.workflow]),
        [[job, 'wf1']],
      );
    }
    await sim.runUntil(
      () => [...cluster.gates.values()].every((g) => g.ledger.job(job)?.status === 'cancelled'),
      { maxMs: 2_000 },
    );
    for (const g of cluster.gates.values()) {
      const v = g.ledger.job(job);
      assert.equal(v?.status, 'cancelled');
      assert.equal(v?.cancelReason, 'enough');
    }
    // A second cancel is answered with the ended status and changes nothing.
    const again = await client.ask('g2', { t: 'job.cancel', job });
    assert.ok(again.ok);
    assert.equal(again.message.status, 'cancelled');
    assert.equal(cluster.manager('a-m1').cancels.length, 1);
  },
);

simTest(
  'GM-1.4.1: a cancel sent to a gate that does not own the job is forwarded to the owner, which answers it',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HANGING });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const { job } = await runningJob(cluster, client, 'g3');
    const ack = await client.ask('g1', { t: 'job.cancel', job, reason: 'via g1' });
    assert.ok(ack.ok, JSON.stringify(ack));
    assert.equal(ack.message.t, 'job.cancel-ack');
    assert.deepEqual(Object.keys(ack.message.dcs as object).sort(), ['a', 'b']);
    // The owner (g3) fanned it out; g1 never talked to a manager about it.
    assert.equal(cluster.manager('a-m1').cancels.length, 1);
    assert.equal(cluster.gate('g1').ownedJobs.size, 0);
    await sim.runUntil(() => cluster.gate('g1').ledger.job(job)?.status === 'cancelled', {
      maxMs: 10_000,
    });
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'cancelled');
  },
);

simTest(
  'GM-1.4.2: when the owner does not answer a forwarded cancel in time, the client is told the owner and its address',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: HANGING, gate: { proposeTimeoutMs: 3_000 } });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const { job } = await runningJob(cluster, client, 'g3');
    await sim.runUntil(() => cluster.gate('g1').ledger.job(job) !== undefined, { maxMs: 5_000 });
    sim.network.partition(['g1'], ['g3']);
    const reply = await client.ask('g1', { t: 'job.cancel', job });
    assert.ok(!reply.ok);
    assert.equal(reply.error.code, 'E_NOT_OWNER');
    assert.deepEqual(reply.error.details?.owner, {
      nodeId: 'g3',
      address: cluster.gateAddresses.get('g3'),
    });
    assert.equal(cluster.manager('a-m1').cancels.length, 0, 'nothing was cancelled');
  },
);

simTest(
  'GM-18.3.2: a DC whose managers cannot be reached during a cancel is named with its error in the acknowledgement; the job still ends cancelled',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: HANGING,
      gate: { dispatchTimeoutMs: 1_000, coreWaitMs: 0, cancelTimeoutMs: 1_000 },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const { job } = await runningJob(cluster, client, 'g1');
    const watch = await client.ask('g1', { t: 'job.watch', job });
    assert.ok(watch.ok);
    sim.network.partition(['g1'], ['b-m1']);
    const ack = await client.ask('g1', { t: 'job.cancel', job, reason: 'stop' });
    assert.ok(ack.ok, JSON.stringify(ack));
    const dcs = ack.message.dcs as Record<string, { acknowledged: string[]; error?: string }>;
    assert.deepEqual(dcs.a, { acknowledged: ['a-w1'], unanswered: [] });
    assert.deepEqual(dcs.b?.acknowledged, []);
    assert.match(dcs.b?.error ?? '', /connection_closed|timeout/);
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 30_000 }),
    );
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(result.dcs, { a: 'cancelled', b: 'cancelled' });
  },
);
