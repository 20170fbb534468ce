// Sim tests of a job outliving its owner gate, on a whole cluster (three real gates, two DCs of
// three real managers and two real workers with synthetic executors that count what they
// produce): the owner crashes mid-run; the ledger leader, after the owner was silent for
// `ownerLossMs`, moves the job to itself with a higher fence, tells each DC (`dc.adopt`), and
// replays the job from the submission the ledger replicated; the DCs send everything again
// (windows the dead owner had merged, ends it had heard); the job ends completed, once, with
// every request the workers produced counted exactly once, and a watcher asking any gate gets
// the result. A gate that restarts takes its own jobs back the same way.

import assert from 'node:assert/strict';
import type { RunResults } from '../../../src/stats/types.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { submission } from '../gate/support/gate-cluster.js';
import { DCS, WholeCluster } from '../whole/support/whole-cluster.js';

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** Submits a two-workflow job (wf2 after wf1) for both DCs at `gate`; returns its id. */
async function submitAt(c: WholeCluster, gate: string): Promise<string> {
  const r = await c.client.ask(gate, {
    ...submission({ dcs: [...DCS], workflows: 2, durationMs: 4_000 }),
    timeoutMs: 120_000,
  });
  assert.ok(r.ok, JSON.stringify(r));
  return r.message['job'] as string;
}

/** Until the job's owner merged some requests of wf1 from both DCs. */
async function runningOnBoth(sim: Simulation, c: WholeCluster, owner: string, job: string) {
  assert.ok(
    await sim.runUntil(
      () => {
        const b = c.gates.get(owner)?.ownedJobs.get(job)?.placement.breakdown() ?? {};
        return DCS.every((dc) => (b[dc]?.requests ?? 0) > 0);
      },
      { maxMs: 20_000 },
    ),
    'the job runs on both DCs and its owner merged windows of each',
  );
}

/**
 * A whole cluster running a job submitted at a gate that does not lead the ledger, once its
 * owner merged windows of both DCs: the cluster, the ledger leader, the owner, the job and its
 * fence at submission.
 */
async function runningJob(sim: Simulation) {
  const c = new WholeCluster(sim, { partMs: 6_000 });
  await c.ready();
  const leader = c.upGates().find(([, g]) => g.isLeader)![0];
  const owner = ['g1', 'g2', 'g3'].find((g) => g !== leader)!;
  const job = await submitAt(c, owner);
  const fence = c.gates.get(leader)!.ledger.job(job)!.fence;
  await runningOnBoth(sim, c, owner, job);
  return { c, leader, owner, job, fence };
}

/** The result a watcher gets at `gate`: completed, with every produced request counted once. */
async function countedOnce(c: WholeCluster, gate: string, job: string): Promise<void> {
  const watch = await c.client.ask(gate, { t: 'job.watch', job });
  assert.ok(watch.ok && watch.message.t === 'job.result', JSON.stringify(watch));
  assert.equal(watch.message['status'], 'completed');
  const results = watch.message['results'] as RunResults;
  const counted = results.workflows.reduce((n, w) => n + w.totals.count, 0);
  assert.equal(counted, c.producedRequests(), 'every produced request counted exactly once');
  assert.deepEqual(
    results.workflows.map((w) => w.status),
    ['completed', 'completed'],
  );
}

/** Until the job ended on every up gate; returns the status (the same everywhere). */
async function endedEverywhere(sim: Simulation, c: WholeCluster, job: string): Promise<string> {
  const ended = (): boolean =>
    c.upGates().length === 3 &&
    c.upGates().every(([, g]) => ENDED.has(g.ledger.job(job)?.status ?? ''));
  assert.ok(await sim.runUntil(ended, { maxMs: 120_000 }), 'the job ends on every gate');
  const statuses = new Set(c.upGates().map(([, g]) => g.ledger.job(job)?.status));
  assert.equal(statuses.size, 1, `one end on every gate: ${[...statuses].join(', ')}`);
  return [...statuses][0]!;
}

simTest(
  'GM-13.2.1 GM-13.2.2 LT-30.1.2 LT-42.2.2 the owner gate dies mid-run: the ledger leader takes the job over with a higher fence, the DCs send it everything again, and the job completes with every request counted once',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const { c, leader, owner, job, fence } = await runningJob(sim);

    sim.crash(owner);
    assert.ok(
      await sim.runUntil(() => c.gates.get(leader)?.ownedJobs.has(job) === true, {
        maxMs: 30_000,
      }),
      'the ledger leader runs the job',
    );
    const moved = c.gates.get(leader)!.ledger.job(job)!;
    assert.equal(moved.ownerGate, leader);
    assert.ok(moved.fence > fence, 'with a higher fence');
    // Each DC leader moved the job's reports to the new owner and sent its windows again.
    const adopted = (): number[] =>
      DCS.map((dc) =>
        (c.managerIds[dc] ?? []).reduce(
          (n, id) => n + (c.managers.get(id)?.handover.counters.windowsReplayed ?? 0),
          0,
        ),
      );
    assert.ok(
      await sim.runUntil(() => adopted().every((n) => n > 0), { maxMs: 10_000 }),
      `each DC took the handover and sent its windows again (${adopted().join(', ')})`,
    );

    sim.restart(owner);
    assert.equal(await endedEverywhere(sim, c, job), 'completed');
    const v = c.gates.get(leader)!.ledger.job(job)!;
    assert.equal(v.ownerGate, leader, 'the restarted gate did not take the job back');
    assert.deepEqual(v.dcs, { a: 'completed', b: 'completed' });

    // A watcher asking the restarted (old) owner is sent on to the new one, which has the result.
    const ask = await c.client.ask(owner, { t: 'job.watch', job });
    assert.ok(!ask.ok && ask.error.code === 'E_NOT_OWNER', JSON.stringify(ask));
    await countedOnce(c, leader, job);
  },
);

simTest(
  'GM-13.4.3 LT-30.3.3 an owner gate restarted before anyone took its job over takes it back itself (a higher fence) and completes it with every request counted once',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const { c, owner, job, fence } = await runningJob(sim);

    sim.crash(owner);
    await sim.run(2_000);
    sim.restart(owner);
    assert.ok(
      await sim.runUntil(() => c.gates.get(owner)?.ownedJobs.has(job) === true, {
        maxMs: 30_000,
      }),
      'the restarted owner runs its job again',
    );
    const back = c.gates.get(owner)!.ledger.job(job)!;
    assert.equal(back.ownerGate, owner);
    assert.ok(back.fence > fence, 'with a higher fence');
    assert.equal(await endedEverywhere(sim, c, job), 'completed');
    await countedOnce(c, owner, job);
  },
);

simTest(
  'LT-33.1.2 LT-33.1.4 GM-13.1.3 an owner gate cut off from the other gates (still reaching its DCs) loses the job to the ledger leader: the higher fence wins at the DCs, the job completes once on the majority side, and after the heal the old owner learns of the move and stands down',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const { c, leader, owner, job, fence } = await runningJob(sim);
    sim.network.partition(
      [owner],
      ['g1', 'g2', 'g3'].filter((id) => id !== owner),
    );
    assert.ok(
      await sim.runUntil(() => c.gates.get(leader)?.ownedJobs.has(job) === true, {
        maxMs: 30_000,
      }),
      'the ledger leader took the job over',
    );
    // Both gates think they own the job now; the DCs follow the higher fence only.
    assert.ok(c.gates.get(owner)?.ownedJobs.has(job), 'the cut-off owner still runs its copy');
    const moved = c.gates.get(leader)!.ledger.job(job)!;
    assert.ok(moved.fence > fence);
    assert.ok(
      await sim.runUntil(
        () =>
          DCS.every((dc) =>
            (c.managerIds[dc] ?? []).some((id) => {
              const m = c.managers.get(id);
              return m?.isLeader() === true && m.ctx.state.job(job)?.fence === moved.fence;
            }),
          ),
        { maxMs: 10_000 },
      ),
      "each DC's state names the new owner's fence",
    );
    assert.ok(
      await sim.runUntil(() => c.gates.get(leader)!.ledger.job(job)?.status === 'completed', {
        maxMs: 60_000,
      }),
      'the job completes on the majority side',
    );
    sim.network.heal();
    assert.equal(await endedEverywhere(sim, c, job), 'completed');
    assert.ok(
      await sim.runUntil(() => c.gates.get(owner)?.ownedJobs.has(job) !== true, {
        maxMs: 30_000,
      }),
      'the old owner stands down',
    );
    await countedOnce(c, leader, job);
  },
);

simTest(
  'LT-28.2.3 a cancel the ledger took while the owner was lost reaches the new owner with the takeover: it cancels the job on its DCs and the job ends cancelled once',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const { c, leader, owner, job } = await runningJob(sim);
    sim.crash(owner);
    // Recorded by the leader before anyone runs the job again (as a gate records a cancel of a
    // job it owns but does not run).
    let cancelled = false;
    void c.gates
      .get(leader)!
      .state.proposer.propose({
        type: 'cancel-requested',
        atMs: c.gates.get(leader)!.state.runtime.clock.wallMs(),
        jobId: job,
        reason: 'stopped by the operator',
      })
      .then((out) => (cancelled = out.ok && out.result.ok));
    assert.ok(await sim.runUntil(() => cancelled, { maxMs: 10_000 }), 'the ledger took the cancel');
    assert.ok(
      await sim.runUntil(() => c.gates.get(leader)?.ownedJobs.has(job) === true, {
        maxMs: 30_000,
      }),
      'the ledger leader took the job over',
    );
    sim.restart(owner);
    assert.equal(await endedEverywhere(sim, c, job), 'cancelled');
    const v = c.gates.get(leader)!.ledger.job(job)!;
    assert.deepEqual(v.dcs, { a: 'cancelled', b: 'cancelled' });
    assert.equal(v.cancelReason, 'stopped by the operator');
    // Every DC was told to stop: no part of the job still runs anywhere.
    assert.ok(
      await sim.runUntil(
        () =>
          DCS.every((dc) =>
            (c.managerIds[dc] ?? []).every((id) => {
              const m = c.managers.get(id);
              if (m === undefined || !m.isLeader()) return true;
              return (m.ctx.leadership.dispatcher()?.partsOf(job).length ?? 0) === 0;
            }),
          ),
        { maxMs: 30_000 },
      ),
      'no part of the job runs on',
    );
  },
);

simTest(
  'LT-40.1.1 a gate asked to stop with a job running hands it to a peer first: the peer claims it at once, the stopped gate stands down, and the job completes with every request counted once',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const { c, leader, owner, job, fence } = await runningJob(sim);
    let stopped = false;
    void c.gates
      .get(owner)!
      .stop({ transfer: true })
      .then(() => (stopped = true));
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 10_000 }), 'the stop completes');
    // Moved before the stop completed, well before the owner would count as lost.
    const v = c.gates.get(leader)!.ledger.job(job)!;
    assert.notEqual(v.ownerGate, owner, 'the job moved before the gate stopped');
    assert.ok(v.fence > fence);
    sim.crash(owner);
    sim.restart(owner);
    assert.equal(await endedEverywhere(sim, c, job), 'completed');
    await countedOnce(c, v.ownerGate, job);
  },
);
