// Sim tests of part deadlines in one DC (real managers and workers, synthetic executors, a fake
// gate): a part running past its plan asks for more time in its worker's heartbeat and is granted
// by the logarithmic rule while its iterations rise; a blocked part is refused and ended timed
// out with the reason in the workflow's report while its worker lives on; the cap and the load
// of the relay refuse; a part that finishes after an extension releases it.

import assert from 'node:assert/strict';
import type { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import type { KeptDecision } from '../../../src/nodes/manager/part-deadline-watch.js';
import { originalKey } from '../../../src/nodes/manager/context.js';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import type { SyntheticExecutorOptions } from '../../../src/nodes/worker/synthetic-executor.js';
import type { AnyMessage } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, type ClusterSpec } from './support/dc-cluster.js';

/** Small deadlines so a test takes seconds of virtual time: base 4 s, grants 2, 1, 0.5, 0.25 s. */
const DEADLINES = { baseMs: 4_000, minGrantMs: 250, tickMs: 100 };
const PLANNED_MS = 2_000;

function cluster(
  sim: Simulation,
  synthetic: SyntheticExecutorOptions,
  manager: ClusterSpec['manager'] = {},
  extra: Partial<ClusterSpec> = {},
): DcCluster {
  return new DcCluster(sim, {
    managers: 3,
    workers: [{ id: 'w1', cores: 4, synthetic }],
    manager: { deadlines: DEADLINES, ...manager },
    ...extra,
  });
}

/** A shared-iterations share of 2 VUs planned for 2 s (no graceful stop), of `iterations`. */
function dispatch(c: DcCluster, job: string, workflow: string, iterations = 1_000_000) {
  return c.dispatchMsg(job, workflow, 2, {
    share: {
      config: {
        type: 'shared-iterations',
        vus: 2,
        iterations,
        maxDurationMs: PLANNED_MS,
        gracefulStopMs: 0,
      },
      phase: 0,
    },
    // Windows (the progress a manager sees) come four times a second.
    windowMs: 250,
  });
}

function doneOf(c: DcCluster, job: string, workflow: string): AnyMessage | undefined {
  return c.gate.done.find((d) => d.job === job && d.workflow === workflow);
}

function failures(done: AnyMessage): string[] {
  return (done['parts'] as { failure?: string }[]).flatMap((p) =>
    p.failure === undefined ? [] : [p.failure],
  );
}

/** The dispatch id of the (single) part of each workflow of `job`, by workflow. */
function partIds(m: ManagerNode, job: string): Map<string, string> {
  const parts = m.ctx.leadership.dispatcher()?.partsOf(job) ?? [];
  return new Map(parts.map((p) => [p.workflow, p.dispatchId]));
}

function decisionsFor(m: ManagerNode, ids: ReadonlyMap<string, string>): KeptDecision[] {
  const wanted = new Set(ids.values());
  return m.deadlines.decisions.filter((d) => wanted.has(d.dispatchId));
}

simTest(
  'LT-31.2.1 LT-31.2.2 LT-41.22.1 LT-49.2 MW-19.1.1 MW-19.1.2 MW-19.1.3 MW-19.2.2 MW-19.2.3 parts running past their plan ask for more time near their deadline, are granted by the logarithmic rule while their iterations rise, and finish early, releasing what was granted',
  { seeds: seedsFrom(3) },
  async (sim) => {
    // Runs 2 s + 4 s base + 2.5 s: it needs two extensions (2 s, then 1 s) and ends 0.5 s early.
    const c = cluster(sim, { durationMs: PLANNED_MS + 6_500 });
    const leaderId = await c.ready(['w1']);
    const leader = c.managers.get(leaderId)!;
    for (const wf of ['wf-a', 'wf-b']) {
      assert.ok((await c.call(leaderId, dispatch(c, 'job-1', wf))).ok, wf);
    }
    const ids = partIds(leader, 'job-1');
    const accepted = Math.min(
      ...['wf-a', 'wf-b'].map(
        (wf) => leader.ctx.originals.get(originalKey('job-1', wf))!.acceptedAtMs,
      ),
    );
    assert.ok(
      await sim.runUntil(() => c.gate.done.length === 2, { maxMs: 20_000 }),
      'both workflows ended',
    );
    for (const wf of ['wf-a', 'wf-b']) {
      const done = doneOf(c, 'job-1', wf)!;
      assert.equal(done['outcome'], 'completed', wf);
      assert.deepEqual(failures(done), []);
    }
    await sim.run(500);
    assert.equal(leader.deadlines.counters.timedOut, 0);
    assert.equal(leader.deadlines.core.size, 0, 'the ended parts released their deadlines');
    const all = decisionsFor(leader, ids);
    for (const wf of ['wf-a', 'wf-b']) {
      const asks = all.filter((d) => d.dispatchId === ids.get(wf));
      // Each granted twice (2 s, then 1 s), with rising progress, and no ask refused.
      assert.deepEqual(
        asks.map((d) => [d.granted, d.extensionMs]),
        [
          [true, 2_000],
          [true, 1_000],
        ],
        wf,
      );
      assert.ok(asks[1]!.completed > asks[0]!.completed, 'progress rose between the asks');
      for (const a of asks) {
        assert.equal(a.worker, 'w1');
        assert.match(a.reason, /^still running \d+ ms past its planned 2000 ms$/);
        assert.equal(a.total, 1_000_000, 'the total of the shared iterations');
        assert.ok(a.completed > 0 && a.completed < 1_000_000);
        assert.ok(a.estimatedMs !== null && a.estimatedMs > 0, 'an estimate of the time left');
      }
      // The first ask came once 90 % of the base window had gone (not before 80 %, with latency).
      assert.ok(asks[0]!.atMs >= accepted + PLANNED_MS + 0.8 * DEADLINES.baseMs);
      assert.ok(asks[0]!.atMs < accepted + PLANNED_MS + DEADLINES.baseMs);
    }
    // Each workflow needing more time asked for it, from the one worker running both.
    assert.deepEqual(new Set(all.map((d) => d.dispatchId)), new Set(ids.values()));
    const worker = c.workers.get('w1')!;
    assert.equal(worker.asks.counters.granted, 4);
    assert.equal(worker.asks.counters.denied, 0);
    assert.equal(worker.activeParts, 0);
    assert.equal(worker.slots.freeCores, 4);
  },
);

simTest(
  'LT-41.22.2 LT-44.1 GM-11.1.2 a part blocked in a long action is refused more time without progress and ended timed out at its deadline; the reason reaches the gate and its worker lives on',
  { seeds: seedsFrom(3) },
  async (sim) => {
    // Iterations stop after 1.5 s: the step blocks for the rest of ten minutes.
    const c = cluster(sim, { durationMs: 600_000, stallAfterMs: 1_500 });
    const leaderId = await c.ready(['w1']);
    const leader = c.managers.get(leaderId)!;
    assert.ok((await c.call(leaderId, dispatch(c, 'job-2', 'wf'))).ok);
    const ids = partIds(leader, 'job-2');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    const done = doneOf(c, 'job-2', 'wf')!;
    assert.equal(done['outcome'], 'failed');
    const [failure] = failures(done);
    // What it did before the block does not count: nothing rose in the window after its plan.
    assert.match(
      failure ?? '',
      /^timed out: the part ran past its deadline \(planned 2000 ms \+ base 4000 ms \+ no extension\); last extension refused: no progress: (\d+) iteration\(s\) finished, not above \1 when this deadline window began$/,
    );
    const asks = decisionsFor(leader, ids);
    assert.ok(asks.length >= 1, 'the worker asked');
    assert.ok(asks.every((a) => !a.granted && a.code === 'E_NO_PROGRESS'));
    assert.ok(asks[0]!.completed > 0, 'it had finished iterations before it blocked');
    assert.equal(leader.deadlines.counters.timedOut, 1);
    // The worker was told to stop the part, stays registered and takes work again.
    const worker = c.workers.get('w1')!;
    assert.ok(await sim.runUntil(() => worker.activeParts === 0, { maxMs: 10_000 }));
    assert.equal(c.executors.get('w1')!.counters.cancelled, 1);
    assert.equal(worker.slots.freeCores, 4);
    assert.equal(leader.recovery.counters.lost, 0, 'not a lost worker');
    assert.ok(leader.ctx.registry.get('w1', leader.ctx.now()) !== undefined);
  },
);

simTest(
  'LT-41.22.3 LT-41.22.4 once its extensions are spent a part is refused more and stops asking; it is timed out at its base deadline plus exactly what it was granted, not before',
  { seeds: seedsFrom(3) },
  async (sim) => {
    // Progress keeps rising for ten minutes, but only two extensions (2 s, then 1 s) exist.
    const c = cluster(
      sim,
      { durationMs: 600_000 },
      { deadlines: { ...DEADLINES, maxExtensions: 2 } },
    );
    const leaderId = await c.ready(['w1']);
    const leader = c.managers.get(leaderId)!;
    assert.ok((await c.call(leaderId, dispatch(c, 'job-3', 'wf'))).ok);
    const ids = partIds(leader, 'job-3');
    const accepted = leader.ctx.originals.get(originalKey('job-3', 'wf'))!.acceptedAtMs;
    const base = accepted + PLANNED_MS + DEADLINES.baseMs;
    // Past the base deadline the part still runs: its first extension holds it.
    assert.ok(await sim.runUntil(() => leader.ctx.now() >= base + 500, { maxMs: 20_000 }));
    assert.equal(c.gate.done.length, 0, 'not ended at its base deadline');
    assert.equal(leader.deadlines.counters.timedOut, 0);
    // Both extensions granted: a further request (as a worker that kept asking would send) is
    // refused and moves nothing.
    assert.ok(
      await sim.runUntil(() => leader.deadlines.core.deadlineOf(ids.get('wf')!)?.extensions === 2, {
        maxMs: 5_000,
      }),
    );
    const before = leader.deadlines.core.deadlineOf(ids.get('wf')!)!.deadlineMs;
    const further = leader.deadlines.onHeartbeat({
      t: 'worker.heartbeat',
      worker: 'w1',
      incarnation: c.workers.get('w1')!.incarnation,
      health: 'healthy',
      freeCores: 2,
      activeWork: 1,
      extensions: [{ dispatchId: ids.get('wf')!, reason: 'more', completed: 1_000_000 }],
    });
    assert.equal(further.extensions?.[0]?.granted, false);
    assert.equal(further.extensions?.[0]?.code, 'E_EXHAUSTED');
    assert.equal(leader.deadlines.core.deadlineOf(ids.get('wf')!)!.deadlineMs, before);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    assert.ok(leader.ctx.now() >= base + 3_000, 'ended no earlier than base + 2 s + 1 s');
    const asks = decisionsFor(leader, ids);
    assert.deepEqual(
      asks.map((a) => [a.granted, a.extensionMs, a.code]),
      [
        [true, 2_000, null],
        [true, 1_000, null],
        [false, 0, 'E_EXHAUSTED'],
      ],
    );
    // Told none is left, the worker asked no more.
    const worker = c.workers.get('w1')!;
    assert.equal(worker.asks.counters.asked, 2);
    assert.equal(worker.asks.answers.at(-1)?.left, 0);
    const [failure] = failures(doneOf(c, 'job-3', 'wf')!);
    assert.match(
      failure ?? '',
      /^timed out: the part ran past its deadline \(planned 2000 ms \+ base 4000 ms \+ 2 extension\(s\) of 3000 ms in all\); last extension refused: all 2 extensions were granted \(3000 ms\)$/,
    );
    assert.equal(leader.deadlines.counters.timedOut, 1);
  },
);

simTest(
  'LT-41.22.5 LT-31.2.3 while the relay to the gate is backed up the leader refuses more time though progress rises, and the part ends at its deadline with that reason',
  { seeds: seedsFrom(3) },
  async (sim) => {
    let refusing = true;
    const c = cluster(
      sim,
      { durationMs: 600_000 },
      { relay: { maxQueuedPerJob: 40 } },
      { gateRefusesWindows: () => refusing },
    );
    const leaderId = await c.ready(['w1']);
    const leader = c.managers.get(leaderId)!;
    assert.ok((await c.call(leaderId, dispatch(c, 'job-4', 'wf'))).ok);
    const ids = partIds(leader, 'job-4');
    assert.ok(
      await sim.runUntil(() => leader.deadlines.counters.timedOut === 1, { maxMs: 20_000 }),
    );
    const asks = decisionsFor(leader, ids);
    assert.ok(asks.length >= 2, 'the worker kept asking while refused for load');
    assert.ok(asks.every((a) => !a.granted && a.code === 'E_OVERLOADED'));
    assert.ok(asks.at(-1)!.completed > asks[0]!.completed, 'its progress rose meanwhile');
    assert.ok(['batch', 'reject'].includes(leader.ctx.relay.backpressure('job-4')));
    // The gate takes windows again: the end goes up with the reason.
    refusing = false;
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    const done = doneOf(c, 'job-4', 'wf')!;
    assert.equal(done['outcome'], 'failed');
    assert.match(
      failures(done)[0] ?? '',
      /\+ no extension\); last extension refused: the manager is overloaded$/,
    );
  },
);

simTest(
  'a new leader that takes over a blocked part tracks its deadline afresh (at least the base from when it first sees it) and ends it timed out',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = cluster(
      sim,
      { durationMs: 600_000, stallAfterMs: 1_500 },
      { registry: { suspectAfterMs: 3_000, reapAfterMs: 60_000 } },
    );
    const first = await c.ready(['w1']);
    assert.ok((await c.call(first, dispatch(c, 'job-5', 'wf'))).ok);
    // Past the part's planned end, before its deadline: the leader goes.
    await sim.run(PLANNED_MS + 1_000);
    assert.equal(c.managers.get(first)!.deadlines.counters.timedOut, 0);
    sim.crash(first);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 10_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    const since = next.ctx.now();
    assert.ok(
      await sim.runUntil(() => next.deadlines.core.size === 1, { maxMs: 10_000 }),
      'the new leader tracks the part',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.ok(next.ctx.now() >= since + DEADLINES.baseMs, 'at least the base from the takeover');
    assert.equal(next.deadlines.counters.timedOut, 1);
    const done = doneOf(c, 'job-5', 'wf')!;
    assert.equal(done['outcome'], 'failed');
    assert.match(failures(done)[0] ?? '', /^timed out: the part ran past its deadline/);
    assert.ok(
      await sim.runUntil(() => c.workers.get('w1')!.activeParts === 0, { maxMs: 10_000 }),
      'the worker was told to stop it',
    );
  },
);
