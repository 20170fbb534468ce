// Sim tests of what an owner gate does with traffic that races a job's end, through three real
// gates and fake managers: ends and windows sent twice count once; ends and windows arriving
// while the ended job is being released are acknowledged and change nothing; and its overdue
// check keeps running after it throws.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  GATE_IDS,
  GateCluster,
  SimClient,
  statsWindow,
  submission,
  jobResults,
  countEnds,
} from '../gate/support/gate-cluster.js';

simTest(
  'LT-28.3.3 two DCs that each send their windows and their workflow end twice at once: the job ends completed once and every request is counted once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, repeat: true },
        { id: 'b-m1', dc: 'b', leader: true, repeat: true },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'] }));
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 20_000 }));
    await sim.run(3_000);
    assert.equal(jobResults(client, job).length, 1);
    const r = jobResults(client, job)[0]!;
    assert.equal(r.status, 'completed');
    const breakdown = r.breakdown as Record<string, { requests: number; windows: number }>;
    // Each DC sent 2 windows of 10 requests, each twice: 20 requests per DC, counted once.
    assert.equal(breakdown.a?.requests, 20);
    assert.equal(breakdown.b?.requests, 20);
    for (const m of ['a-m1', 'b-m1']) {
      const doneAcks = cluster.manager(m).acks.filter((a) => a.t === 'dc.workflow-done-ack');
      assert.equal(doneAcks.length, 2, `${m}: both copies of the end acknowledged`);
    }
    for (const id of GATE_IDS) assert.equal(ends.get(id), 1, `${id} applied one end`);
  },
);

simTest(
  'LT-28.3.4 late windows and a contradicting workflow end arriving while the owner releases the ended job are acknowledged as rejected and recreate nothing',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const job = await client.submitAndWatch(submission({ dcs: ['a'] }), 'g1');
    const m = cluster.manager('a-m1');
    const d = await (async () => {
      assert.ok(await sim.runUntil(() => m.dispatches.length === 1, { maxMs: 10_000 }));
      return m.dispatches[0]!;
    })();
    // Fire late traffic at several moments around the end: while the end is being committed,
    // as the result goes out, and after the owner let the job go.
    const answers: { t: string; code?: string; rejected?: number }[] = [];
    const late = (): void => {
      void m
        .sendRaw(d.ownerAddress, {
          t: 'dc.windows',
          job,
          dc: 'a',
          fence: d.fence,
          windows: [
            { source: 'a-w9#1/0', workflow: 'wf1', seq: 1, window: statsWindow('wf1', 1, 7) },
          ],
        })
        .then((r) =>
          answers.push(
            r.ok
              ? { t: r.message.t, rejected: r.message.rejected as number }
              : { t: 'error', code: r.error.code },
          ),
        );
      void m
        .sendRaw(d.ownerAddress, {
          t: 'dc.workflow-done',
          job,
          dc: 'a',
          fence: d.fence,
          workflow: 'wf1',
          outcome: 'failed',
          parts: [],
        })
        .then((r) => answers.push(r.ok ? { t: r.message.t } : { t: 'error', code: r.error.code }));
    };
    assert.ok(
      await sim.runUntil(() => m.acks.some((a) => a.t === 'dc.workflow-done-ack'), {
        maxMs: 10_000,
      }),
    );
    late();
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 10_000 }));
    late();
    assert.ok(await sim.runUntil(() => !cluster.gate('g1').ownedJobs.has(job), { maxMs: 10_000 }));
    late();
    await sim.run(3_000);
    assert.equal(answers.length, 6, 'every late message was answered');
    for (const a of answers) {
      assert.notEqual(a.t, 'error', `answered without an error (${a.code ?? ''})`);
      if (a.t === 'dc.windows-ack') assert.equal(a.rejected, 1, 'the late window was not merged');
    }
    const r = jobResults(client, job);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 'completed');
    assert.equal((r[0]!.breakdown as Record<string, { requests: number }>).a?.requests, 20);
    assert.equal(cluster.gate('g1').ownedJobs.has(job), false, 'the job was not recreated');
    for (const id of GATE_IDS) {
      assert.equal(cluster.gate(id).ledger.job(job)?.status, 'completed', `${id}: unchanged`);
      assert.equal(ends.get(id), 1);
    }
  },
);

simTest(
  "GM-20.1.2 a gate's overdue check that throws is logged and restarted by its supervisor, and the job still times out at its deadline",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hang' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const overdue = cluster.gate('g1').overdue;
    const check = overdue.check.bind(overdue);
    let failures = 0;
    overdue.check = () => {
      if (failures < 3) {
        failures++;
        throw new Error(`injected failure ${failures} of the overdue check`);
      }
      check();
    };
    const job = await client.submitAndWatch(
      { ...submission({ dcs: ['a'], durationMs: 600_000 }), timeoutMs: 4_000 },
      'g1',
    );
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 30_000 }));
    assert.equal(failures, 3);
    const logged = sim.logs.filter(
      (l) =>
        l.includes(' g1 error supervised loop failed; restarting') && l.includes('overdue-jobs'),
    );
    assert.equal(logged.length, 3, 'each failure logged with the loop name');
    const r = jobResults(client, job)[0]!;
    assert.equal(r.status, 'failed');
    assert.match(String(r.failure), /^timed out after 4s/);
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'failed');
  },
);
