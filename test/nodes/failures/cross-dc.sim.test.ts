// Sim tests of jobs across datacenters on a whole cluster (three real gates over DCs a and b,
// three managers and two workers per DC, synthetic executors; a WAN link between the DCs):
// the ledger holds a job before any DC sees its dispatch, a job run only in the far DC reports
// to the gate it was submitted at, a cancel sent to the far gate stops the running workers,
// skewed clocks leave every gate with the same record, a dead DC leader is routed around, and a
// cut between the DCs during a burst of jobs leaves every job ended one way everywhere, and
// windows from both DCs at once merge exactly.

import assert from 'node:assert/strict';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import type { RunResults } from '../../../src/stats/types.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { submission } from '../gate/support/gate-cluster.js';
import { DCS, GATES, WholeCluster } from '../whole/support/whole-cluster.js';

const ENDED = new Set(['completed', 'failed', 'cancelled']);
/** One-way latency between the DCs (100 ms RTT). */
const WAN_MS = 50;

async function cluster(sim: Simulation, partMs = 3_000): Promise<WholeCluster> {
  sim.network.setDcLink('a', 'b', { latencyMs: { min: WAN_MS, max: WAN_MS } });
  const c = new WholeCluster(sim, { partMs });
  await c.ready(60_000);
  return c;
}

function body(key: string, dcs: readonly string[], durationMs = 3_000) {
  return { ...submission({ key, dcs: [...dcs], durationMs }), timeoutMs: 60_000 };
}

/** Submits at `gate`; returns the job id. */
async function submit(c: WholeCluster, gate: string, b: ReturnType<typeof body>): Promise<string> {
  const r = await c.client.ask(gate, b, 20_000);
  assert.ok(r.ok, JSON.stringify(r));
  return String(r.message['job']);
}

function statusOn(c: WholeCluster, job: string): string[] {
  return c.upGates().map(([, g]) => g.ledger.job(job)?.status ?? 'unknown');
}

async function endedEverywhere(c: WholeCluster, jobs: readonly string[], maxMs = 120_000) {
  return c.sim.runUntil(
    () =>
      c.upGates().length === Object.keys(GATES).length &&
      jobs.every((j) => statusOn(c, j).every((s) => ENDED.has(s))),
    { maxMs },
  );
}

function requestsIn(results: RunResults | null | undefined): number {
  return (results?.workflows ?? []).reduce((n, wf) => n + wf.totals.count, 0);
}

function ownerOf(c: WholeCluster, job: string): string {
  return c.upGates()[0]![1].ledger.job(job)?.ownerGate ?? 'g1';
}

function leaderOf(c: WholeCluster, dc: string): string | undefined {
  return (c.managerIds[dc] ?? []).find((id) => c.managers.get(id)?.isLeader() === true);
}

simTest(
  'LT-25.1.1 a job submitted in DC a and run in DC b: the job is in the replicated ledger (a majority of gates) before any DC-b manager holds its dispatch',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim);
    const key = 'k-prop';
    let job: string | null = null;
    const violations: string[] = [];
    let seenInDc = false;
    sim.afterEvent(() => {
      // The first moment a DC-b manager holds the job is the one that matters.
      if (seenInDc) return;
      for (const m of c.managerIds['b'] ?? []) {
        const node = c.managers.get(m);
        if (node === undefined || !sim.node(m).up) continue;
        for (const [id] of node.ctx.state.jobs()) {
          job ??= id;
          seenInDc = true;
          const inLedger = c.upGates().filter(([, g]) => g.ledger.job(id) !== undefined).length;
          if (inLedger < 2) violations.push(`DC b holds ${id} while ${inLedger} gate(s) know it`);
        }
      }
    });
    const reply = await c.client.ask('g1', body(key, ['b']), 20_000);
    assert.ok(reply.ok, JSON.stringify(reply));
    const submitted = String(reply.message['job']);
    assert.ok(await endedEverywhere(c, [submitted]));
    assert.equal(job, submitted, 'the job DC b held is the one submitted');
    assert.ok(seenInDc, 'DC b did receive the dispatch');
    assert.deepEqual(violations, []);
    assert.deepEqual(statusOn(c, submitted), ['completed', 'completed', 'completed']);
  },
);

simTest(
  'LT-25.1.3 a job submitted at a gate in DC a and run only in DC b (100 ms RTT away) completes, and its result reaches the client at that gate with every request DC b produced',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim);
    const job = await c.client.submitAndWatch(body('k-far', ['b']), 'g1');
    assert.ok(
      await sim.runUntil(
        () => c.client.notes.some((n) => n.t === 'job.result' && n['job'] === job),
        {
          maxMs: 60_000,
        },
      ),
      'the result reached the client at g1',
    );
    const result = c.client.notes.find((n) => n.t === 'job.result' && n['job'] === job)!;
    assert.equal(result['status'], 'completed');
    assert.deepEqual(result['dcs'], { b: 'completed' });
    for (const m of c.managerIds['a'] ?? []) {
      assert.equal(c.managers.get(m)?.ctx.state.job(job), undefined, `DC a (${m}) never ran it`);
    }
    const merged = requestsIn(result['results'] as RunResults | null);
    assert.ok(merged > 0, 'the result holds DC b’s requests');
    assert.equal(merged, c.producedRequests(), 'every request DC b produced, counted once');
  },
);

simTest(
  'LT-25.1.2 a job running in DC a is cancelled through the gate in DC b: the cancel reaches the running workers, which stop producing, and the job ends cancelled on every gate',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim, 60_000);
    const job = await submit(c, 'g1', body('k-cancel', ['a'], 60_000));
    assert.ok(
      await sim.runUntil(
        () => {
          const l = leaderOf(c, 'a');
          const parts =
            l === undefined
              ? []
              : (c.managers.get(l)!.ctx.leadership.dispatcher()?.partsOf(job) ?? []);
          return parts.length > 0 && parts.every((p) => p.state === 'running');
        },
        { maxMs: 30_000 },
      ),
      'DC a runs the job',
    );
    await sim.run(2_000);
    const cancel = await c.client.ask('g2', { t: 'job.cancel', job, reason: 'stop it' }, 20_000);
    assert.ok(cancel.ok, JSON.stringify(cancel));
    assert.ok(await endedEverywhere(c, [job], 30_000));
    assert.deepEqual(statusOn(c, job), ['cancelled', 'cancelled', 'cancelled']);
    await sim.run(2_000);
    const after = c.producedRequests();
    await sim.run(10_000);
    assert.equal(c.producedRequests(), after, 'the workers stopped producing');
    assert.ok(after > 0);
  },
);

simTest(
  'LT-24.2.1 gate and manager clocks skewed by ±100 ms across the DCs: a job on both DCs completes and every gate holds the same record of it, its times taken from the replicated log, not from each gate’s clock',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim);
    const skew: Record<string, number> = { g1: 100, g2: -100, g3: 40 };
    for (const [g, ms] of Object.entries(skew)) sim.skewClock(g, ms);
    for (const m of c.managerIds['a'] ?? []) sim.skewClock(m, 100);
    for (const m of c.managerIds['b'] ?? []) sim.skewClock(m, -100);
    const job = await submit(c, 'g2', body('k-skew', [...DCS]));
    assert.ok(await endedEverywhere(c, [job]));
    const records = c.upGates().map(([, g]) => {
      const v = g.ledger.job(job)!;
      return JSON.stringify({
        status: v.status,
        at: v.submittedAtMs,
        ended: v.endedAtMs,
        dcs: v.dcs,
      });
    });
    assert.equal(new Set(records).size, 1, `one record everywhere: ${records.join(' | ')}`);
    assert.equal(JSON.parse(records[0]!).status, 'completed');
  },
);

simTest(
  'LT-25.2.3 the DC a manager leader dies: the gate in DC b routes the next job to DC a’s new leader and it completes on both DCs',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim);
    const old = leaderOf(c, 'a');
    assert.ok(old !== undefined);
    sim.crash(old);
    assert.ok(
      await sim.runUntil(() => leaderOf(c, 'a') !== undefined && leaderOf(c, 'a') !== old, {
        maxMs: 30_000,
      }),
    );
    const next = leaderOf(c, 'a')!;
    const job = await submit(c, 'g2', body('k-route', [...DCS]));
    assert.ok(await endedEverywhere(c, [job]));
    assert.deepEqual(statusOn(c, job), ['completed', 'completed', 'completed']);
    assert.ok(c.managers.get(next)!.ctx.state.job(job) !== undefined, 'the new leader ran it');
    const view = c.upGates()[0]![1].ledger.job(job)!;
    assert.deepEqual(Object.keys(view.dcs).sort(), ['a', 'b']);
  },
);

simTest(
  'LT-30.1.4 the DCs are cut from each other in the middle of a burst of jobs: every job of the burst ends, the same on every gate; jobs submitted after the heal complete; no request is counted twice',
  { seeds: seedsFrom(1), timeoutMs: 180_000 },
  async (sim) => {
    const c = await cluster(sim);
    const gates = Object.keys(GATES);
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++)
      jobs.push(await submit(c, gates[i % 3]!, body(`k-b${i}`, [...DCS])));
    sim.network.partitionDcs('a', 'b');
    const during = c.client.start('g1', body('k-b-cut', ['a']));
    await sim.run(6_000);
    sim.network.heal();
    let reply: Awaited<typeof during> | undefined;
    void during.then((r) => (reply = r));
    assert.ok(await sim.runUntil(() => reply !== undefined, { maxMs: 30_000 }));
    if (reply?.ok === true) jobs.push(String(reply.message['job']));
    const later: string[] = [];
    for (let i = 3; i < 4; i++)
      later.push(await submit(c, gates[i % 3]!, body(`k-b${i}`, [...DCS])));
    jobs.push(...later);
    assert.ok(
      await endedEverywhere(c, jobs, 150_000),
      JSON.stringify(jobs.map((j) => statusOn(c, j))),
    );
    // A DC cut from a job's owner gate may be timed out (its outcome is then the same everywhere).
    for (const j of jobs) assert.equal(new Set(statusOn(c, j)).size, 1, `${j} ended one way`);
    for (const j of later) {
      const v = c.upGates()[0]![1].ledger.job(j);
      assert.deepEqual(statusOn(c, j), ['completed', 'completed', 'completed'], JSON.stringify(v));
    }
    let merged = 0;
    for (const j of jobs) {
      const r = await c.client.ask(ownerOf(c, j), { t: 'job.watch', job: j }, 10_000);
      assert.ok(r.ok);
      merged += requestsIn(r.message['results'] as RunResults | null);
    }
    assert.ok(
      merged <= c.producedRequests(),
      `nothing counted twice (${merged} ≤ ${c.producedRequests()})`,
    );
    assert.ok(merged > 0);
  },
);

simTest(
  'LT-28.3.2 both DCs stream their windows to the owner gate at the same time: the merged result holds exactly the requests both DCs produced, nothing lost or counted twice',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = await cluster(sim);
    const job = await c.client.submitAndWatch(body('k-both', [...DCS], 4_000), 'g2');
    assert.ok(
      await sim.runUntil(
        () => c.client.notes.some((n) => n.t === 'job.result' && n['job'] === job),
        { maxMs: 60_000 },
      ),
    );
    const result = c.client.notes.find((n) => n.t === 'job.result' && n['job'] === job)!;
    assert.equal(result['status'], 'completed');
    assert.deepEqual(result['dcs'], { a: 'completed', b: 'completed' });
    for (const dc of DCS) {
      assert.ok(
        (c.managerIds[dc] ?? []).some((m) => c.managers.get(m)?.ctx.state.job(job) !== undefined),
        `DC ${dc} ran it`,
      );
    }
    assert.equal(requestsIn(result['results'] as RunResults | null), c.producedRequests());
  },
);
