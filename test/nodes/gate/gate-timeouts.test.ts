// Sim tests of job deadlines through real gates: every gate tracks a submitted job's deadline
// from the ledger and forgets it when the job ends; at the deadline the owner times out the DCs
// that have not finished (cancelled there), keeps what finished DCs reported and ends the job
// failed once with a reason; a DC's end racing the deadline still ends the job once; the
// deadline outlives a leader change and the owner's restart; an overdue job nobody ends reaches
// onOverdueNotOwned; submissions with a timeout out of range get a structured error.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { JobView } from '../../../src/cluster/jobs/ledger-types.js';
import type { RunResults } from '../../../src/stats/types.js';
import {
  A_DONE_B_HANGS,
  GATE_IDS,
  GateCluster,
  SimClient,
  submission,
  jobResults,
  countEnds,
} from './support/gate-cluster.js';

simTest(
  "GM-11.1.4: a DC that never reports times out at the job's deadline, is told to cancel, and the job ends failed once with a reason naming it; the other DC's results are kept",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: A_DONE_B_HANGS });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const job = await client.submitAndWatch({
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 5_000,
    });
    const view = cluster.gate('g1').ledger.job(job);
    assert.equal(view?.deadlineMs, (view?.submittedAtMs ?? 0) + 5_000);
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 30_000 }));
    await sim.run(3_000);
    const all = jobResults(client, job);
    assert.equal(all.length, 1, 'one job.result');
    const r = all[0]!;
    assert.equal(r.status, 'failed');
    assert.equal(r.exitCode, 4);
    assert.deepEqual(r.dcs, { a: 'completed', b: 'timed-out' });
    assert.match(String(r.failure), /^timed out after 5s: b did not finish/);
    assert.ok((r.endedAtMs as number) >= (view?.deadlineMs ?? Infinity), 'not before the deadline');
    // What DC a reported stays in the result: its 2 windows of 10 requests.
    const breakdown = r.breakdown as Record<string, { requests: number; windows: number }>;
    assert.deepEqual(
      { requests: breakdown.a?.requests, windows: breakdown.a?.windows },
      {
        requests: 20,
        windows: 2,
      },
    );
    assert.equal((r.results as RunResults).workflows[0]?.totals.count, 20);
    // The hanging DC was told to cancel, with the reason; the finished one was not.
    const cancels = cluster.manager('b-m1').cancels;
    assert.equal(cancels.length, 1);
    assert.equal(cancels[0]?.job, job);
    assert.match(String(cancels[0]?.reason), /^timed out after 5s: b did not finish/);
    assert.equal(cluster.manager('b-m1').runningCount(), 0, 'its share stopped');
    assert.equal(cluster.manager('a-m1').cancels.length, 0);
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job);
      assert.equal(v?.status, 'failed', id);
      assert.deepEqual(v?.dcs, { a: 'completed', b: 'timed-out' });
      assert.match(v?.endReason ?? '', /^timed out after 5s: b did not finish/);
      assert.equal(ends.get(id), 1, `${id} applied one end`);
      assert.equal(cluster.gate(id).overdue.tracker.has(job), false, `${id} forgot the deadline`);
    }
    const status = await client.ask('g2', { t: 'job.status', job });
    assert.ok(status.ok);
    const wire = status.message.view as Record<string, unknown>;
    assert.equal(wire.deadlineMs, view?.deadlineMs);
    assert.match(String(wire.endReason), /^timed out after 5s/);
  },
);

simTest(
  "GM-11.2.2 LT-41.8.5: one workflow done and one stuck at the deadline: the job ends with the finished workflow's results only, the stuck one failed",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [{ id: 'a-m1', dc: 'a', leader: true, mode: 'hang' }],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const plan = submission({ durationMs: 600_000 }).plan as {
      workflows: { name: string; dependsOn: string[] }[];
    };
    const wf = plan.workflows[0]!;
    const twoIndependent = {
      ...plan,
      workflows: [wf, { ...wf, name: 'wf2', dependsOn: [] }],
    };
    const job = await client.submitAndWatch({
      ...submission({ dcs: ['a'], plan: twoIndependent }),
      timeoutMs: 6_000,
    });
    const m = cluster.manager('a-m1');
    assert.ok(await sim.runUntil(() => m.dispatches.length === 2, { maxMs: 5_000 }));
    m.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 30_000 }));
    const r = jobResults(client, job)[0]!;
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.dcs, { a: 'timed-out' });
    assert.match(String(r.failure), /^timed out after 6s: a did not finish/);
    const byName = Object.fromEntries(
      (r.results as RunResults).workflows.map((w) => [w.name, w.status]),
    );
    assert.deepEqual(byName, { wf1: 'completed', wf2: 'failed' });
    assert.deepEqual(
      m.cancels.map((c) => c.job),
      [job],
      'the DC was told to cancel what still ran',
    );
  },
);

simTest(
  'GM-11.3.3 GM-11.3.4: every gate tracks a submitted job with its deadline and forgets it when the job completes or is cancelled; a job completed before its deadline never times out',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const done = await client.submitAndWatch({
      ...submission({ dcs: ['a'], durationMs: 600_000 }),
      timeoutMs: 20_000,
    });
    const cancelled = await client.submitAndWatch({
      ...submission({ dcs: ['b'], durationMs: 600_000, source: 'export default { b: 1 };' }),
      timeoutMs: 20_000,
    });
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    for (const id of GATE_IDS) {
      const t = cluster.gate(id).overdue.tracker;
      for (const job of [done, cancelled]) {
        const v = cluster.gate(id).ledger.job(job);
        assert.equal(t.deadlineOf(job), (v?.submittedAtMs ?? 0) + 20_000, `${id} tracks ${job}`);
      }
    }
    cluster.manager('a-m1').finish(done, 'wf1', 'completed');
    const ack = await client.ask('g1', { t: 'job.cancel', job: cancelled, reason: 'enough' });
    assert.ok(ack.ok);
    assert.ok(
      await sim.runUntil(
        () => jobResults(client, done).length === 1 && jobResults(client, cancelled).length === 1,
        { maxMs: 10_000 },
      ),
    );
    await sim.run(1_000);
    for (const id of GATE_IDS) {
      assert.equal(cluster.gate(id).overdue.tracker.size, 0, `${id} tracks no ended job`);
    }
    // Well past both deadlines nothing changes: no timeout, no second end, no more cancels.
    await sim.run(30_000);
    assert.equal(jobResults(client, done).length, 1);
    assert.equal(jobResults(client, done)[0]?.status, 'completed');
    assert.equal(jobResults(client, cancelled)[0]?.status, 'cancelled');
    assert.equal(cluster.manager('a-m1').cancels.length, 0);
    assert.equal(cluster.manager('b-m1').cancels.length, 1);
    for (const id of GATE_IDS) {
      assert.equal(cluster.gate(id).ledger.job(done)?.status, 'completed');
      assert.equal(cluster.gate(id).ledger.job(done)?.endReason, null);
      assert.equal(cluster.gate(id).ledger.job(cancelled)?.status, 'cancelled');
    }
  },
);

simTest(
  "LT-31.1.3: a DC's success arriving just after the deadline fired is not taken: the job ends once, timed out",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { managers: A_DONE_B_HANGS });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const job = await client.submitAndWatch({
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 4_000,
    });
    const owned = cluster.gate('g1').ownedJobs.get(job)!;
    assert.ok(await sim.runUntil(() => owned.timeoutReason !== null, { maxMs: 10_000 }));
    const b = cluster.manager('b-m1');
    b.finish(job, 'wf1', 'completed');
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 20_000 }));
    await sim.run(3_000);
    assert.equal(jobResults(client, job).length, 1);
    assert.equal(jobResults(client, job)[0]?.status, 'failed');
    assert.deepEqual(jobResults(client, job)[0]?.dcs, { a: 'completed', b: 'timed-out' });
    // The late end was answered (so the manager stops resending) and changed nothing.
    assert.ok(b.acks.some((m) => m.t === 'dc.workflow-done-ack'));
    for (const id of GATE_IDS) {
      assert.equal(ends.get(id), 1, `${id} applied one end`);
      assert.equal(cluster.gate(id).ledger.job(job)?.dcs.b, 'timed-out');
    }
  },
);

/** When b's end reaches the owner, relative to the deadline (ms): well before, near, well after. */
const RACE_OFFSETS = [-2_000, -300, -100, 0, 100, 300, 2_000];

simTest(
  "LT-31.1.1 GM-15.3.2: a DC's end arriving around the moment the deadline fires is handled once: the job ends exactly once, completed or timed out, and every gate agrees",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: A_DONE_B_HANGS,
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const statuses = new Set<string>();
    for (const [i, offset] of RACE_OFFSETS.entries()) {
      const job = await client.submitAndWatch({
        ...submission({ dcs: ['a', 'b'], durationMs: 600_000, source: `export default ${i};` }),
        timeoutMs: 3_000,
      });
      const deadline = cluster.gate('g1').ledger.job(job)!.deadlineMs!;
      const b = cluster.manager('b-m1');
      assert.ok(
        await sim.runUntil(() => b.dispatches.some((d) => d.job === job), { maxMs: 10_000 }),
      );
      const rt = client.runtime!;
      const waitMs = Math.max(0, deadline + offset - rt.clock.wallMs());
      rt.timers.after(waitMs, () => b.finish(job, 'wf1', 'completed'));
      assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 20_000 }));
      await sim.run(2_000);
      const all = jobResults(client, job);
      assert.equal(all.length, 1, `offset ${offset}: one job.result`);
      const r = all[0]!;
      statuses.add(String(r.status));
      for (const id of GATE_IDS) {
        const v = cluster.gate(id).ledger.job(job);
        assert.equal(v?.status, r.status, `offset ${offset}: ${id} agrees`);
        assert.deepEqual(v?.dcs, r.dcs);
      }
      if (r.status === 'completed') assert.deepEqual(r.dcs, { a: 'completed', b: 'completed' });
      else assert.deepEqual(r.dcs, { a: 'completed', b: 'timed-out' });
    }
    for (const id of GATE_IDS)
      assert.equal(ends.get(id), RACE_OFFSETS.length, `${id}: one end each`);
    assert.deepEqual([...statuses].sort(), ['completed', 'failed'], 'both sides of the race seen');
  },
);

simTest(
  "a job's deadline outlives a ledger leader change and its owner's restart: the restarted owner takes its job back (a higher fence), resumes it, and ends it timed out at the deadline",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
      gate: { snapshotEveryEntries: 2 },
    });
    const client = new SimClient(sim, cluster);
    const owner = await cluster.waitForLeader();
    const accepted = await client.ask(owner, {
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 10_000,
    });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    const deadline = cluster.gate(owner).ledger.job(job)!.deadlineMs!;
    sim.crash(owner);
    assert.ok(
      await sim.runUntil(
        () => {
          const l = cluster.leader();
          return l !== null && l !== owner;
        },
        { maxMs: 20_000 },
      ),
      'another gate leads',
    );
    await sim.run(2_000);
    sim.restart(owner);
    assert.ok(
      await sim.runUntil(
        () => sim.node(owner).up && cluster.gates.get(owner)?.overdue.tracker.has(job) === true,
        { maxMs: 10_000 },
      ),
      'the restarted owner knows the deadline again',
    );
    const restarted = cluster.gate(owner);
    assert.equal(restarted.overdue.tracker.deadlineOf(job), deadline);
    const fence = cluster.gate(owner).ledger.job(job)!.fence;
    assert.ok(
      await sim.runUntil(() => restarted.ownedJobs.has(job), { maxMs: 10_000 }),
      'the restarted owner runs the job again',
    );
    const v = restarted.ledger.job(job)!;
    assert.equal(v.ownerGate, owner);
    assert.ok(v.fence > fence, 'with a higher fence');
    assert.ok(
      await sim.runUntil(
        () =>
          ['a-m1', 'b-m1'].every((m) =>
            cluster.manager(m).adopts.some((a) => a.job === job && a.fence === v.fence),
          ),
        { maxMs: 5_000 },
      ),
      'each DC was told the job moved',
    );
    assert.ok(
      await sim.runUntil(
        () => GATE_IDS.every((id) => cluster.gate(id).ledger.job(job)?.endedAtMs != null),
        { maxMs: 30_000 },
      ),
    );
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job)!;
      assert.equal(v.status, 'failed');
      assert.deepEqual(v.dcs, { a: 'timed-out', b: 'timed-out' });
      assert.match(v.endReason ?? '', /^timed out after 10s: a, b did not finish$/);
      assert.ok((v.endedAtMs ?? 0) >= deadline);
    }
    for (const m of ['a-m1', 'b-m1']) {
      assert.ok(
        cluster.manager(m).cancels.some((c) => c.job === job),
        `${m} was told to cancel`,
      );
    }
    const watch = await client.ask(owner, { t: 'job.watch', job });
    assert.ok(watch.ok);
    assert.equal(watch.message.t, 'job.result');
    assert.match(String(watch.message.failure), /^timed out after 10s/);
  },
);

simTest(
  'GM-13.4.2 an overdue job whose owner is down reaches onOverdueNotOwned on the ledger leader once, after the grace',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const heard: { gate: string; job: JobView; overdueMs: number }[] = [];
    const cluster = new GateCluster(sim, {
      managers: A_DONE_B_HANGS,
      gate: {
        overdueGraceMs: 2_000,
        onOverdueNotOwned: (job, overdueMs) => {
          const gate = cluster.leader() ?? '?';
          heard.push({ gate, job, overdueMs });
        },
      },
    });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const owner = GATE_IDS.find((g) => g !== leader)!;
    const accepted = await client.ask(owner, {
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 3_000,
    });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    const deadline = cluster.gate(leader).ledger.job(job)!.deadlineMs!;
    sim.crash(owner);
    assert.ok(await sim.runUntil(() => heard.length > 0, { maxMs: 20_000 }));
    await sim.run(15_000);
    assert.equal(heard.length, 1, 'told once');
    assert.equal(heard[0]?.job.jobId, job);
    assert.equal(heard[0]?.job.ownerGate, owner);
    assert.ok((heard[0]?.overdueMs ?? 0) >= 2_000);
    assert.ok(client.runtime!.clock.wallMs() >= deadline + 2_000);
    const v = cluster.gate(leader).ledger.job(job);
    assert.equal(v?.endedAtMs, null, 'nobody else ended it');
  },
);

simTest(
  'a submission with timeoutMs out of range gets a structured error naming the field and range; an absent one gets the planned length plus 60 s',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { ledger: { maxJobTimeoutMs: 100_000 } } });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const tooShort = await client.ask('g1', { ...submission({ dcs: ['a'] }), timeoutMs: 500 });
    assert.ok(!tooShort.ok);
    assert.equal(tooShort.error.code, 'schema');
    assert.deepEqual(
      { field: tooShort.error.details?.field, expected: tooShort.error.details?.expected },
      { field: 'timeoutMs', expected: 'integer(1000..86400000)' },
    );
    const tooLong = await client.ask('g1', { ...submission({ dcs: ['a'] }), timeoutMs: 150_000 });
    assert.ok(!tooLong.ok);
    assert.equal(tooLong.error.code, 'E_INVALID_SUBMISSION');
    assert.deepEqual(tooLong.error.details, { field: 'timeoutMs', min: 1_000, max: 100_000 });
    assert.match(tooLong.error.message, /timeoutMs must be .* from 1000 to 100000, got 150000/);
    for (const id of GATE_IDS) assert.equal(cluster.gate(id).ledger.size, 0, 'nothing submitted');
    // Absent: 1 s of load + 1 s graceful stop planned, plus 60 s.
    const ok = await client.ask('g1', { ...submission({ dcs: ['a'] }) });
    assert.ok(ok.ok, JSON.stringify(ok));
    const v = cluster.gate('g1').ledger.job(ok.message.job as string);
    assert.equal((v?.deadlineMs ?? 0) - (v?.submittedAtMs ?? 0), 62_000);
  },
);

simTest(
  'GM-13.4.1 GM-13.4.4 an overdue job whose owner gate died moves to the ledger leader after the grace (higher fence) and ends failed, timed out, once on every gate',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: A_DONE_B_HANGS,
      gate: { overdueGraceMs: 2_000 },
    });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const ends = countEnds(cluster);
    const owner = GATE_IDS.find((g) => g !== leader)!;
    const accepted = await client.ask(owner, {
      ...submission({ dcs: ['a', 'b'], durationMs: 600_000 }),
      timeoutMs: 3_000,
    });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    const fence = accepted.message.fence as number;
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    sim.crash(owner);
    const ended = (): boolean => cluster.gate(leader).ledger.job(job)?.endedAtMs != null;
    assert.ok(await sim.runUntil(ended, { maxMs: 30_000 }), 'the job ended without its owner');
    await sim.run(5_000);
    const v = cluster.gate(leader).ledger.job(job)!;
    assert.equal(v.status, 'failed');
    assert.equal(v.ownerGate, leader, 'the ledger leader took the job over');
    assert.ok(v.fence > fence, 'with a higher fence');
    assert.match(v.endReason ?? '', /timed out after/);
    for (const id of GATE_IDS.filter((g) => g !== owner)) {
      assert.equal(ends.get(id), 1, `${id} saw the job end once`);
    }
  },
);
