// Sim tests of job deadlines under failures, through three real gates and fake managers: the
// overdue check runs from a gate's start and ends with its stop; a deadline cancels every DC
// still running; deadlines falling due together, a cancel racing the deadline and a DC cut off
// at its deadline each end the job exactly once, the same on every gate.

import assert from 'node:assert/strict';
import type { AnyMessage } from '../../../src/protocol/index.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  GATE_IDS,
  GateCluster,
  SimClient,
  submission,
  type FakeManagerSpec,
  jobResults,
  countEnds,
} from '../gate/support/gate-cluster.js';

const BOTH_HANG: FakeManagerSpec[] = [
  { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
  { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
];

/** A job for DCs a and b that would run for 10 minutes, with `timeoutMs`; `n` makes it unique. */
function longJob(timeoutMs: number, n = 0): Record<string, unknown> & { t: string } {
  return {
    ...submission({ dcs: ['a', 'b'], durationMs: 600_000, source: `export default ${n};` }),
    timeoutMs,
  };
}

function endedEverywhere(cluster: GateCluster, job: string): boolean {
  return GATE_IDS.every((id) => cluster.gate(id).ledger.job(job)?.endedAtMs != null);
}

/** Three gates with `managers`, a client, a ledger leader, and the ends counted per gate. */
async function started(sim: Simulation, managers: FakeManagerSpec[] = BOTH_HANG) {
  const cluster = new GateCluster(sim, { managers });
  const client = new SimClient(sim, cluster);
  await cluster.waitForLeader();
  return { cluster, client, ends: countEnds(cluster, true) };
}

simTest(
  'GM-11.2.1 a job past its deadline is ended timed out and every DC still running it is told to cancel',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, ends } = await started(sim);
    const job = await client.submitAndWatch(longJob(4_000));
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 2, { maxMs: 5_000 }));
    const deadline = cluster.gate('g1').ledger.job(job)!.deadlineMs!;
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 30_000 }));
    await sim.run(2_000);
    const r = jobResults(client, job);
    assert.equal(r.length, 1, 'one job.result');
    assert.equal(r[0]!.status, 'failed');
    assert.deepEqual(r[0]!.dcs, { a: 'timed-out', b: 'timed-out' });
    assert.match(String(r[0]!.failure), /^timed out after 4s: a, b did not finish/);
    for (const m of ['a-m1', 'b-m1']) {
      const cancels = cluster.manager(m).cancels.filter((c) => c.job === job);
      assert.equal(cancels.length, 1, `${m} told to cancel once`);
      assert.match(String(cancels[0]!.reason), /^timed out after 4s/);
      assert.equal(cluster.manager(m).runningCount(), 0, `${m} stopped the share`);
    }
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job)!;
      assert.equal(v.status, 'failed', id);
      assert.ok((v.endedAtMs ?? 0) >= deadline, 'not before the deadline');
      assert.equal(ends.get(`${id}/${job}`), 1, `${id} applied one end`);
    }
  },
);

simTest(
  'LT-31.1.2 three jobs whose deadlines fall due in the same check each end once, timed out, each DC cancelled once per job',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, ends } = await started(sim);
    // Submitted together: their deadlines are within a few ms of each other.
    const replies = [1, 2, 3].map((n) => client.start('g1', longJob(3_000, n)));
    const jobs: string[] = [];
    for (const p of replies) {
      let job: string | null = null;
      void p.then((r) => (job = r.ok ? (r.message.job as string) : null));
      assert.ok(await sim.runUntil(() => job !== null, { maxMs: 10_000 }), 'accepted');
      jobs.push(job!);
    }
    const deadlines = jobs.map((j) => cluster.gate('g1').ledger.job(j)!.deadlineMs!);
    assert.ok(
      Math.max(...deadlines) - Math.min(...deadlines) < 500,
      'due in the same 500 ms check',
    );
    assert.ok(
      await sim.runUntil(() => jobs.every((j) => endedEverywhere(cluster, j)), { maxMs: 30_000 }),
    );
    await sim.run(2_000);
    for (const job of jobs) {
      for (const id of GATE_IDS) {
        const v = cluster.gate(id).ledger.job(job)!;
        assert.equal(v.status, 'failed');
        assert.deepEqual(v.dcs, { a: 'timed-out', b: 'timed-out' });
        assert.equal(ends.get(`${id}/${job}`), 1, `${id}: ${job} ended once`);
        assert.equal(cluster.gate(id).overdue.tracker.has(job), false);
      }
      for (const m of ['a-m1', 'b-m1']) {
        assert.equal(cluster.manager(m).cancels.filter((c) => c.job === job).length, 1);
      }
    }
  },
);

/** When the client's cancel reaches the owner, relative to the deadline (ms). */
const CANCEL_OFFSETS = [-400, -50, 0, 50, 400];

simTest(
  'LT-41.19.5 a client cancel arriving as the deadline fires: the job ends once, cancelled or timed out, the same on every gate, and nothing is left running',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, ends } = await started(sim);
    const statuses = new Set<string>();
    for (const [i, offset] of CANCEL_OFFSETS.entries()) {
      const job = await client.submitAndWatch(longJob(3_000, i));
      assert.ok(
        await sim.runUntil(
          () => cluster.allDispatches().filter((d) => d.job === job).length === 2,
          { maxMs: 5_000 },
        ),
      );
      const deadline = cluster.gate('g1').ledger.job(job)!.deadlineMs!;
      const rt = client.runtime!;
      let ack: AnyMessage | null = null;
      rt.timers.after(Math.max(0, deadline + offset - rt.clock.wallMs()), () => {
        void client
          .start('g1', { t: 'job.cancel', job, reason: 'stop it' })
          .then((r) => (ack = r.ok ? r.message : { t: 'error', code: r.error.code }));
      });
      assert.ok(
        await sim.runUntil(() => ack !== null && endedEverywhere(cluster, job), { maxMs: 30_000 }),
      );
      await sim.run(2_000);
      assert.equal(jobResults(client, job).length, 1, `offset ${offset}: one job.result`);
      const v = cluster.gate('g1').ledger.job(job)!;
      statuses.add(v.status);
      assert.ok(['cancelled', 'failed'].includes(v.status), `offset ${offset}: ${v.status}`);
      for (const id of GATE_IDS) {
        assert.equal(cluster.gate(id).ledger.job(job)?.status, v.status, `${id} agrees`);
        assert.equal(ends.get(`${id}/${job}`), 1, `offset ${offset}: ${id} applied one end`);
      }
      for (const m of ['a-m1', 'b-m1']) assert.equal(cluster.manager(m).runningCount(), 0);
      assert.equal(cluster.gate('g1').ownedJobs.has(job), false, 'the owner let the job go');
    }
    assert.deepEqual([...statuses].sort(), ['cancelled', 'failed'], 'both sides of the race seen');
  },
);

simTest(
  'LT-31.2.4 a DC cut off from every gate when the deadline passes ends timed out; the job ends failed once on every gate, and its late end after the heal changes nothing',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, ends } = await started(sim, [
      { id: 'a-m1', dc: 'a', leader: true },
      { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
    ]);
    const job = await client.submitAndWatch(longJob(5_000));
    const b = cluster.manager('b-m1');
    assert.ok(await sim.runUntil(() => b.dispatches.some((d) => d.job === job), { maxMs: 5_000 }));
    sim.network.partition(['b-m1'], [...GATE_IDS]);
    assert.ok(await sim.runUntil(() => endedEverywhere(cluster, job), { maxMs: 40_000 }));
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job)!;
      assert.equal(v.status, 'failed');
      assert.deepEqual(v.dcs, { a: 'completed', b: 'timed-out' });
      assert.match(v.endReason ?? '', /^timed out after 5s: b did not finish/);
    }
    assert.equal(b.cancels.length, 0, 'the cut-off DC never heard the cancel');
    sim.network.heal();
    b.finish(job, 'wf1', 'completed');
    await sim.run(5_000);
    for (const id of GATE_IDS) {
      assert.equal(cluster.gate(id).ledger.job(job)?.dcs.b, 'timed-out', `${id}: unchanged`);
      assert.equal(ends.get(`${id}/${job}`), 1, `${id} applied one end`);
    }
    assert.equal(jobResults(client, job).length, 1);
  },
);

simTest(
  "GM-11.3.1 GM-11.3.2 a gate's overdue check runs from its start and stops with its stop; the remaining gates still end the job at its deadline",
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client } = await started(sim);
    const checks = new Map<string, number>();
    for (const id of GATE_IDS) {
      const overdue = cluster.gate(id).overdue;
      const check = overdue.check.bind(overdue);
      overdue.check = () => {
        checks.set(id, (checks.get(id) ?? 0) + 1);
        check();
      };
    }
    await sim.run(2_000);
    for (const id of GATE_IDS) assert.ok((checks.get(id) ?? 0) >= 2, `${id} checks from its start`);
    const job = await client.submitAndWatch(longJob(6_000), 'g1');
    const stopped = GATE_IDS.find((id) => id !== 'g1' && id !== cluster.leader())!;
    assert.equal(cluster.gate(stopped).overdue.tracker.has(job), true, 'tracked before the stop');
    let done = false;
    void cluster
      .gate(stopped)
      .stop()
      .then(() => (done = true));
    assert.ok(await sim.runUntil(() => done, { maxMs: 10_000 }), 'the gate stopped');
    const atStop = checks.get(stopped) ?? 0;
    assert.ok(
      await sim.runUntil(
        () =>
          GATE_IDS.filter((id) => id !== stopped).every(
            (id) => cluster.gate(id).ledger.job(job)?.endedAtMs != null,
          ),
        { maxMs: 30_000 },
      ),
      'the job still ends at its deadline',
    );
    await sim.run(3_000);
    assert.equal(checks.get(stopped) ?? 0, atStop, 'no check ran on the stopped gate');
    assert.ok((checks.get('g1') ?? 0) > atStop, 'the others kept checking');
    assert.equal(cluster.gate('g1').ledger.job(job)?.status, 'failed');
  },
);

simTest(
  'GM-11.1.1 GM-11.1.3 every DC of a job stops making progress: past the planned end each silent DC is ended timed out long before the job deadline, and the job ends failed once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const { cluster, client, ends } = await started(sim, [
      { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
      { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
    ]);
    // Planned: 1 s of load and 1 s of graceful stop; both DCs send their windows, then nothing.
    const job = await client.submitAndWatch(submission({ dcs: ['a', 'b'], durationMs: 1_000 }));
    const deadline = cluster.gate('g1').ledger.job(job)!.deadlineMs!;
    assert.ok(await sim.runUntil(() => jobResults(client, job).length > 0, { maxMs: 30_000 }));
    await sim.run(2_000);
    const r = jobResults(client, job);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 'failed');
    assert.deepEqual(r[0]!.dcs, { a: 'timed-out', b: 'timed-out' });
    assert.match(String(r[0]!.failure), /stopped responding/);
    assert.ok(
      (r[0]!.endedAtMs as number) < deadline - 30_000,
      'found by lack of progress, not the deadline',
    );
    for (const m of ['a-m1', 'b-m1']) {
      const cancels = cluster.manager(m).cancels.filter((c) => c.job === job);
      assert.equal(cancels.length, 1, `${m}: the silent DC is told to cancel`);
      assert.equal(cancels[0]!.workflow, 'wf1');
      assert.match(String(cancels[0]!.reason), /stopped responding/);
      assert.equal(cluster.manager(m).runningCount(), 0, `${m}: its share stopped`);
    }
    for (const id of GATE_IDS) {
      assert.equal(cluster.gate(id).ledger.job(job)?.status, 'failed');
      assert.equal(ends.get(`${id}/${job}`), 1);
    }
  },
);
