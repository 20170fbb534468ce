// Sim tests of the gates (three real gates, one Raft ledger; fake DC managers) under conflicting
// or massed requests: a cancel that lands after one DC already completed still ends the job
// cancelled, that DC included (cancel beats completion), and a mass retry after a
// network hiccup — every client resending at once, to any gate — makes one job per key.

import assert from 'node:assert/strict';
import type { RpcReply } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from '../gate/support/gate-cluster.js';

simTest(
  'LT-41.25.1 a cancel that arrives after DC a completed its part but while DC b still runs ends the job cancelled on every gate, the completed DC included: cancel beats completion',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'complete', runMs: 500 },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a', 'b'], durationMs: 600_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    const a = cluster.manager('a-m1');
    assert.ok(
      await sim.runUntil(() => a.acks.some((m) => m.t === 'dc.workflow-done-ack'), {
        maxMs: 20_000,
      }),
      'DC a reported its part completed and the owner gate took it',
    );
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'running', 'DC b still runs');
    const ack = await client.ask('g2', { t: 'job.cancel', job, reason: 'stop' });
    assert.ok(ack.ok, JSON.stringify(ack));
    assert.ok(
      await sim.runUntil(
        () =>
          ['g1', 'g2', 'g3'].every((g) => cluster.gate(g).ledger.job(job)?.status === 'cancelled'),
        { maxMs: 20_000 },
      ),
      'the job ends cancelled on every gate',
    );
    // The DC that had completed is recorded cancelled too: the job's cancel wins.
    const v = cluster.gate('g3').ledger.job(job)!;
    assert.deepEqual(v.dcs, { a: 'cancelled', b: 'cancelled' });
  },
);

simTest(
  'LT-32.1.1 a network hiccup makes every client resend at once: 100 submissions (20 keys, 5 copies each, spread over the three gates) land together and make exactly 20 jobs, each dispatched once per DC, every copy answered with its key’s job',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const gates = ['g1', 'g2', 'g3'];
    const answers = new Map<string, RpcReply[]>();
    let n = 0;
    for (let copy = 0; copy < 5; copy++) {
      for (let k = 0; k < 20; k++) {
        const key = `burst-${k}`;
        const gate = gates[(k + copy) % 3]!;
        void client
          .start(gate, submission({ key, dcs: ['a', 'b'], durationMs: 600_000 }), 30_000)
          .then((r) => {
            answers.set(key, [...(answers.get(key) ?? []), r]);
            n++;
          });
      }
    }
    assert.ok(await sim.runUntil(() => n === 100, { maxMs: 60_000 }), `${n} of 100 answered`);
    const jobs = new Set<string>();
    for (const [key, rs] of answers) {
      const ids = new Set(
        rs.map((r) => {
          assert.ok(r.ok, `${key}: ${JSON.stringify(r)}`);
          return String(r.message['job']);
        }),
      );
      assert.equal(ids.size, 1, `${key}: every copy names one job`);
      jobs.add([...ids][0]!);
    }
    assert.equal(jobs.size, 20, 'one job per key');
    assert.ok(
      await sim.runUntil(() => cluster.allDispatches().length === 40, { maxMs: 30_000 }),
      'dispatched',
    );
    await sim.run(5_000);
    const perDc = new Map<string, number>();
    for (const d of cluster.allDispatches()) {
      const k = `${d.job}@${cluster.managers.get('a-m1')!.dispatches.includes(d) ? 'a' : 'b'}`;
      perDc.set(k, (perDc.get(k) ?? 0) + 1);
    }
    assert.equal(perDc.size, 40, 'every job reached both DCs');
    assert.ok(
      [...perDc.values()].every((v) => v === 1),
      'each exactly once',
    );
  },
);
