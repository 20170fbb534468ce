// Sim tests of a DC losing a worker mid-run: the manager leader re-dispatches the lost part to
// another worker for what is left of its share (new dispatch id and fence, within a budget),
// keeps the windows the lost worker delivered, discards its late ones, and fails the workflow
// with the reason when no worker can take the part or the budget is spent.

import assert from 'node:assert/strict';
import type { Part } from '../../../src/cluster/jobs/dc-dispatch.js';
import type { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { BUNDLE, DcCluster, type ClusterSpec } from './support/dc-cluster.js';

/** Workers whose synthetic executor runs each part for its share's planned length. */
function cluster(sim: Simulation, ids: string[], manager: ClusterSpec['manager'] = {}) {
  return new DcCluster(sim, {
    workers: ids.map((id) => ({ id, cores: 2, synthetic: { durationMs: undefined } })),
    manager,
  });
}

function liveParts(m: ManagerNode, job: string): Part[] {
  return m.ctx.leadership.dispatcher()?.partsOf(job) ?? [];
}

function notesOf(done: Record<string, unknown>): string {
  const parts = done['parts'] as { notes: string[] }[];
  return parts.flatMap((p) => p.notes).join('\n');
}

/** Dispatches a constant-vus share of `vus` VUs for `durationMs` to `leaderId`; it is taken. */
async function start(
  c: DcCluster,
  leaderId: string,
  job: string,
  vus: number,
  durationMs: number,
  workflow = 'wf',
): Promise<void> {
  const dispatch = c.dispatchMsg(job, workflow, vus, {
    share: {
      config: { type: 'constant-vus', vus, durationMs, gracefulStopMs: 0 },
      phase: 0,
    },
  });
  assert.ok((await c.call(leaderId, dispatch)).ok);
}

/** Requests produced by every executor except `lost`'s. */
function producedBy(c: DcCluster, except: string): number {
  let n = 0;
  for (const [id, e] of c.executors) if (id !== except) n += e.counters.requests;
  return n;
}

simTest(
  'MW-6.1.1 MW-6.1.4 LT-30.1.3 LT-41.2.1 LT-37.2.2 LT-47.3 a worker that dies mid-run is detected, its part runs on another worker for the time left, and its delivered statistics are kept',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-1', 2, 12_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-1');
    assert.ok(first, 'the workflow got a part');
    const victim = first.worker;
    await sim.run(3_000);
    sim.crash(victim);
    assert.ok(
      await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 15_000 }),
      'the lost part was re-dispatched',
    );
    const replacement = liveParts(leader, 'job-1').find((p) => p.firstThread === first.firstThread);
    assert.ok(replacement);
    assert.notEqual(replacement.worker, victim);
    assert.notEqual(replacement.dispatchId, first.dispatchId, 'a new dispatch id');
    assert.ok(replacement.fence > first.fence, 'a new, higher fence');
    const spec = c.executors
      .get(replacement.worker)!
      .specs.find((s) => s.dispatchId === replacement.dispatchId);
    assert.ok(spec, 'the replacement worker runs the part');
    assert.equal(spec.bundle.hash, BUNDLE.hash, 'with the original bundle');
    const original = c.executors.get(victim)!.specs.find((s) => s.dispatchId === first.dispatchId)!;
    assert.deepEqual(
      {
        threads: spec.threads,
        firstThread: spec.firstThread,
        windowMs: spec.windowMs,
        cancelGraceMs: spec.cancelGraceMs,
        context: spec.context,
        data: spec.data,
        vus: spec.shares.map((s) => (s.config as { vus: number }).vus),
      },
      {
        threads: original.threads,
        firstThread: original.firstThread,
        windowMs: original.windowMs,
        cancelGraceMs: original.cancelGraceMs,
        context: original.context,
        data: original.data,
        vus: original.shares.map((s) => (s.config as { vus: number }).vus),
      },
      'everything but the time left is the original dispatch',
    );
    const left = spec.shares.map((s) => (s.config as { durationMs: number }).durationMs);
    for (const ms of left) {
      assert.ok(ms > 0 && ms < 12_000 - 3_000, `only the time left is run again (${ms} ms)`);
    }
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    const done = c.gate.done[0]!;
    assert.equal(done['outcome'], 'completed');
    assert.match(
      notesOf(done),
      new RegExp(`worker '${victim}' was lost .*re-dispatched to '${replacement.worker}'`),
    );
    const merged = c.mergedRequests('job-1');
    const survivors = producedBy(c, victim);
    assert.ok(merged > survivors, 'the windows the lost worker delivered before it died count');
    assert.ok(
      merged <= survivors + c.executors.get(victim)!.counters.requests,
      'nothing is counted twice',
    );
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'MW-6.3.3 LT-41.2.2 LT-42.2.3 LT-45.8 LT-51.1 a worker restarted as a new incarnation loses its parts at once; they run elsewhere and the old incarnation is never counted twice',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-2', 2, 8_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-2');
    assert.ok(first);
    const victim = first.worker;
    const before = leader.ctx.registry.get(victim, leader.ctx.now())!.incarnation;
    await sim.run(2_000);
    sim.crash(victim);
    sim.restart(victim);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 10_000 }));
    const after = leader.ctx.registry.get(victim, leader.ctx.now());
    assert.ok(after && after.incarnation > before, 'the worker came back as a new incarnation');
    const replacement = liveParts(leader, 'job-2').find(
      (p) => p.firstThread === first.firstThread,
    )!;
    assert.notEqual(replacement.worker, victim, 'the failed worker is not chosen again');
    assert.equal(
      c.executors.get(victim)!.specs.filter((s) => s.job === 'job-2').length,
      0,
      'the new incarnation runs nothing of the old part',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'LT-41.8.2 LT-41.8.3 once the per-workflow retry budget is spent, the next lost part fails its workflow with the reason',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3', 'w4'], { recovery: { perWorkflow: 1 } });
    const leaderId = await c.ready(['w1', 'w2', 'w3', 'w4']);
    await start(c, leaderId, 'job-3', 1, 20_000);
    const leader = c.managers.get(leaderId)!;
    const firstWorker = liveParts(leader, 'job-3')[0]!.worker;
    await sim.run(1_000);
    sim.crash(firstWorker);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 10_000 }));
    const secondWorker = liveParts(leader, 'job-3')[0]!.worker;
    assert.notEqual(secondWorker, firstWorker);
    await sim.run(1_000);
    sim.crash(secondWorker);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 15_000 }));
    const done = c.gate.done[0]!;
    assert.equal(done['outcome'], 'failed');
    assert.equal(leader.recovery.counters.budgetSpent, 1);
    assert.match(notesOf(done), /retry budget \(1 per workflow/);
  },
);

simTest(
  'when no worker has free cores for the lost part within the wait, the workflow fails with the reason and the cores are freed',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2'], { recovery: { waitMs: 2_000 } });
    const leaderId = await c.ready(['w1', 'w2']);
    // Both workers' cores are taken: 4 VUs over 2 + 2 cores.
    await start(c, leaderId, 'job-4', 4, 20_000);
    const leader = c.managers.get(leaderId)!;
    await sim.run(1_000);
    sim.crash('w1');
    assert.ok(await sim.runUntil(() => leader.recovery.counters.noWorker === 1, { maxMs: 15_000 }));
    const d = leader.ctx.leadership.dispatcher()!;
    assert.equal(d.reservations.freeCores('w1'), 0, 'the lost worker holds no cores');
    // The surviving part still runs to its end; then the workflow ends failed with the reason.
    c.gate.done.length = 0;
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'failed');
    assert.match(notesOf(c.gate.done[0]!), /no worker had 2 free core\(s\) within 2000 ms/);
  },
);

simTest(
  'LT-50.2 a worker cut off by a partition loses its part to another worker; once healed, its late windows are discarded and counted, never merged',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-5', 2, 20_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-5');
    assert.ok(first);
    await sim.run(2_000);
    sim.network.isolate(first.worker);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 15_000 }));
    sim.network.heal();
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 40_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.ok(
      await sim.runUntil(() => leader.relay.counters.windowsAbandoned > 0, { maxMs: 10_000 }),
      'the windows of the cut-off worker reached the manager and were discarded',
    );
    assert.equal(c.gate.duplicates, 0);
    const merged = c.mergedRequests('job-5');
    assert.ok(
      merged < c.producedRequests(),
      'what the old part ran after it was replaced is not merged',
    );
  },
);

simTest(
  'a worker lost while its manager leader also dies: the new leader takes the part over from the DC state and re-dispatches it for the time left',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const firstLeader = await c.ready(['w1', 'w2', 'w3']);
    await start(c, firstLeader, 'job-6', 2, 15_000);
    const [first] = liveParts(c.managers.get(firstLeader)!, 'job-6');
    assert.ok(first);
    await sim.run(2_000);
    sim.crash(firstLeader);
    sim.crash(first.worker);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== firstLeader, {
        maxMs: 10_000,
      }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.recovery.counters.replaced === 1, { maxMs: 20_000 }),
      'the new leader re-dispatched the part of the lost worker',
    );
    const replacement = liveParts(next, 'job-6')[0]!;
    assert.notEqual(replacement.worker, first.worker);
    const spec = c.executors
      .get(replacement.worker)!
      .specs.find((s) => s.dispatchId === replacement.dispatchId)!;
    for (const s of spec.shares) {
      const ms = (s.config as { durationMs: number }).durationMs;
      assert.ok(ms > 0 && ms < 15_000 - 2_000, `only the time left is run again (${ms} ms)`);
    }
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'a worker restarted while its manager leader dies no longer knows its part: the new leader finds that at takeover and re-dispatches the part elsewhere',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const firstLeader = await c.ready(['w1', 'w2', 'w3']);
    await start(c, firstLeader, 'job-7', 2, 15_000);
    const [first] = liveParts(c.managers.get(firstLeader)!, 'job-7');
    assert.ok(first);
    await sim.run(2_000);
    sim.crash(firstLeader);
    sim.crash(first.worker);
    sim.restart(first.worker);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== firstLeader, {
        maxMs: 10_000,
      }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.recovery.counters.replaced === 1, { maxMs: 20_000 }),
      'the part the restarted worker lost was re-dispatched',
    );
    assert.notEqual(liveParts(next, 'job-7')[0]!.worker, first.worker);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.gate.duplicates, 0);
    assert.equal(
      c.executors.get(first.worker)!.specs.filter((s) => s.job === 'job-7').length,
      0,
      'the new incarnation runs nothing of the old part',
    );
  },
);

simTest(
  'MW-6.1.3 MW-6.1.4 a worker silent past the grace period loses its part long before it would be reaped; when it comes back its copy is stopped and what it sent is discarded',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: ['w1', 'w2', 'w3'].map((id) => ({
        id,
        cores: 2,
        synthetic: { durationMs: undefined },
        // The worker's own orphan grace is longer than the cut, so it keeps running its copy.
        worker: { orphanGraceMs: 60_000 },
      })),
      manager: {
        registry: { suspectAfterMs: 1_000, reapAfterMs: 120_000 },
        recovery: { lostAfterMs: 4_000 },
      },
    });
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-8', 2, 20_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-8');
    assert.ok(first);
    await sim.run(2_000);
    const cutAt = sim.nowMs;
    sim.network.isolate(first.worker);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 15_000 }));
    assert.ok(sim.nowMs - cutAt < 10_000, 'the part moved within the grace period and a sweep');
    assert.ok(
      leader.ctx.registry.get(first.worker, leader.ctx.now()) !== undefined,
      'the silent worker is not reaped yet',
    );
    sim.network.heal();
    assert.ok(
      await sim.runUntil(() => leader.relay.counters.zombiesStopped === 1, { maxMs: 10_000 }),
      'the worker was told to stop its copy',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 40_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.ok(leader.relay.counters.windowsAbandoned > 0);
    assert.equal(c.gate.duplicates, 0);
    assert.ok(c.executors.get(first.worker)!.counters.cancelled >= 1, 'its copy was cancelled');
  },
);

simTest(
  'LT-41.8.1 the per-job retry budget is shared by its workflows: once one workflow spent it, another lost part fails',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3', 'w4'], { recovery: { perJob: 1, perWorkflow: 3 } });
    const leaderId = await c.ready(['w1', 'w2', 'w3', 'w4']);
    await start(c, leaderId, 'job-9', 2, 20_000, 'a');
    await start(c, leaderId, 'job-9', 2, 20_000, 'b');
    const leader = c.managers.get(leaderId)!;
    const d = leader.ctx.leadership.dispatcher()!;
    const onA = d.partsOf('job-9', 'a')[0]!.worker;
    await sim.run(1_000);
    sim.crash(onA);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 10_000 }));
    const onB = d.partsOf('job-9', 'b')[0]!.worker;
    sim.crash(onB);
    assert.ok(
      await sim.runUntil(() => leader.recovery.counters.budgetSpent === 1, { maxMs: 10_000 }),
      'the second loss found the job budget spent',
    );
    assert.equal(leader.recovery.counters.replaced, 1, 'workflow b was not re-dispatched');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 2, { maxMs: 40_000 }));
    const b = c.gate.done.find((x) => x['workflow'] === 'b')!;
    assert.equal(b['outcome'], 'failed');
    assert.match(notesOf(b), /retry budget \(3 per workflow, 1 per job\) is spent/);
    assert.equal(c.gate.done.find((x) => x['workflow'] === 'a')!['outcome'], 'completed');
  },
);

simTest(
  'LT-30.2.2 a death spiral is bounded: when each worker that takes the lost part dies too, re-dispatch stops at the budget and the workflow fails',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const ids = ['w1', 'w2', 'w3', 'w4', 'w5'];
    const c = cluster(sim, ids, { recovery: { perWorkflow: 2 } });
    const leaderId = await c.ready(ids);
    await start(c, leaderId, 'job-10', 1, 30_000);
    const leader = c.managers.get(leaderId)!;
    const d = leader.ctx.leadership.dispatcher()!;
    const killed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const on = d.partsOf('job-10', 'wf')[0]?.worker;
      assert.ok(on !== undefined, `round ${round}: a worker runs the part`);
      await sim.run(500);
      sim.crash(on);
      killed.push(on);
      const want = round + 1;
      assert.ok(
        await sim.runUntil(
          () => leader.recovery.counters.replaced + leader.recovery.counters.budgetSpent === want,
          { maxMs: 10_000 },
        ),
      );
    }
    assert.equal(leader.recovery.counters.replaced, 2);
    assert.equal(leader.recovery.counters.budgetSpent, 1);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'failed');
    const survivors = ids.filter((id) => !killed.includes(id));
    for (const id of survivors) {
      assert.equal(
        c.executors.get(id)!.specs.filter((s) => s.job === 'job-10').length,
        0,
        `${id} never got the part: no rescheduling past the budget`,
      );
    }
  },
);

simTest(
  'LT-47.2 a worker that dies right after acknowledging its part, before it reported anything, has the whole part run elsewhere',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3']);
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-11', 2, 10_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-11');
    assert.ok(first);
    sim.crash(first.worker);
    assert.equal(c.mergedRequests('job-11'), 0, 'nothing was reported before the crash');
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 15_000 }));
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(
      c.mergedRequests('job-11'),
      producedBy(c, first.worker),
      'the result is what the replacement ran, counted once',
    );
    assert.ok(c.mergedRequests('job-11') > 0);
  },
);

simTest(
  'LT-49.1 the retry budget is not reset by a manager failover: the new leader counts the replacements the old one made',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2', 'w3', 'w4'], { recovery: { perWorkflow: 1 } });
    const firstLeader = await c.ready(['w1', 'w2', 'w3', 'w4']);
    await start(c, firstLeader, 'job-12', 1, 30_000);
    const old = c.managers.get(firstLeader)!;
    const lostFirst = liveParts(old, 'job-12')[0]!.worker;
    await sim.run(1_000);
    sim.crash(lostFirst);
    assert.ok(await sim.runUntil(() => old.recovery.counters.replaced === 1, { maxMs: 10_000 }));
    await sim.run(500);
    sim.crash(firstLeader);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== firstLeader, {
        maxMs: 10_000,
      }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(await sim.runUntil(() => next.takeover.counters.takeovers >= 1, { maxMs: 10_000 }));
    const second = liveParts(next, 'job-12')[0]!.worker;
    sim.crash(second);
    assert.ok(
      await sim.runUntil(() => next.recovery.counters.budgetSpent === 1, { maxMs: 15_000 }),
      'the second loss found the budget spent under the new leader',
    );
    assert.equal(next.recovery.counters.replaced, 0);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'failed');
  },
);

simTest(
  'LT-40.3.1 LT-40.3.2 LT-40.3.3 LT-44.4 a worker asked to stop mid-run delivers its windows, tells its managers it leaves, and its part runs on at once elsewhere; every request is counted once',
  { seeds: seedsFrom(4) },
  async (sim) => {
    // Silence would take 60 s to notice here: only the leaving message can move the part fast.
    const c = cluster(sim, ['w1', 'w2', 'w3'], {
      registry: { suspectAfterMs: 30_000, reapAfterMs: 60_000 },
      recovery: { lostAfterMs: 60_000 },
    });
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    await start(c, leaderId, 'job-13', 2, 10_000);
    const leader = c.managers.get(leaderId)!;
    const [first] = liveParts(leader, 'job-13');
    assert.ok(first);
    await sim.run(3_000);
    let stopped = false;
    const askedAt = sim.nowMs;
    void c.workers
      .get(first.worker)!
      .stop()
      .then(() => (stopped = true));
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 10_000 }), 'the stop completes');
    assert.ok(
      await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 5_000 }),
      'the part moved on without waiting for silence',
    );
    assert.ok(sim.nowMs - askedAt < 8_000);
    assert.equal(
      leader.ctx.registry.get(first.worker, leader.ctx.now()),
      undefined,
      'the worker is out of the registry, its cores with it',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.match(notesOf(c.gate.done[0]!), /it shut down/);
    assert.equal(
      c.mergedRequests('job-13'),
      c.producedRequests(),
      'what the leaving worker made before it stopped is counted, once, with the rest',
    );
    assert.equal(leader.relay.counters.windowsAbandoned, 0, 'nothing of it came late');
  },
);

simTest(
  'a lost part that comes back to a worker which ran those threads before is counted in full: each part is its own source of windows',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = cluster(sim, ['w1', 'w2']);
    const leaderId = await c.ready(['w1', 'w2']);
    await start(c, leaderId, 'job-14', 2, 30_000);
    const leader = c.managers.get(leaderId)!;
    const a = liveParts(leader, 'job-14')[0]!;
    const [first, other] = a.worker === 'w1' ? ['w1', 'w2'] : ['w2', 'w1'];
    await sim.run(3_000);
    sim.network.isolate(first);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 1, { maxMs: 15_000 }));
    sim.network.heal();
    assert.ok(
      await sim.runUntil(() => leader.ctx.registry.get(first, leader.ctx.now()) !== undefined, {
        maxMs: 10_000,
      }),
      'the first worker is back',
    );
    await sim.run(2_000);
    sim.crash(other);
    assert.ok(await sim.runUntil(() => leader.recovery.counters.replaced === 2, { maxMs: 15_000 }));
    const back = liveParts(leader, 'job-14')[0]!;
    assert.equal(back.worker, first, 'the part came back to the worker that ran it first');
    assert.equal(back.firstThread, a.firstThread);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 60_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.gate.duplicates, 0, 'no window of the returning part read as a repeat');
    assert.equal(leader.ctx.relay.counters.duplicates, 0);
    const merged = c.merger.view('job-14')!.dcs['a']!.workers;
    const ofBack = Object.entries(merged).filter(([k]) => k.endsWith(`/${back.dispatchId}`));
    assert.equal(ofBack.length, 2, 'both threads of the returning part are sources');
    for (const [, t] of ofBack) assert.ok(t.windows > 0);
  },
);
