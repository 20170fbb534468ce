// Sim tests of one DC (real managers and workers, a fake gate): two dispatches racing for one
// worker's cores (one gets them, the other is refused), a new leader's sync with workers that are
// briefly silent (asked again, keep their parts) or cut off (logged, the job goes on without
// them), statistics windows that never touch a disk (the data plane has no durability), and
// windows the gate refuses for a while: logged and retried while the workers keep running; and
// a dispatch whose TCP link to its worker breaks, or sent from a stale list to a worker that just
// died: a circuit failure, the share placed elsewhere.

import assert from 'node:assert/strict';
import type { RpcReply } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, errorCode } from '../dc/support/dc-cluster.js';

simTest(
  'LT-28.1.1 two dispatches reach a DC with one free 2-core worker at the same moment: exactly one gets the cores and runs, the other is refused E_INSUFFICIENT_CAPACITY once its wait ends',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 30_000 } }],
      manager: { maxWaitMs: 1_000 },
    });
    const leader = await c.ready(['w1']);
    const replies: RpcReply[] = [];
    for (const job of ['job-x', 'job-y']) {
      void c.ask(leader, c.dispatchMsg(job, 'wf', 2)).then((r) => replies.push(r));
    }
    assert.ok(await sim.runUntil(() => replies.length === 2, { maxMs: 20_000 }));
    const ok = replies.filter((r) => r.ok);
    assert.equal(ok.length, 1, `one accepted: ${JSON.stringify(replies)}`);
    assert.deepEqual(replies.filter((r) => !r.ok).map(errorCode), ['E_INSUFFICIENT_CAPACITY']);
    const parts = c.executors.get('w1')!.specs;
    assert.equal(new Set(parts.map((s) => s.job)).size, 1, 'only one job reached the worker');
  },
);

simTest(
  'LT-41.4.1 a new leader syncs with the workers: one that is frozen when the leader takes over is asked again after its timeout, answers, and keeps its part; the job completes with every request counted once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 8_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 8_000 } },
      ],
      manager: {
        registry: { suspectAfterMs: 5_000, reapAfterMs: 60_000 },
        recovery: { lostAfterMs: 10_000 },
      },
    });
    const first = await c.ready();
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(1_500);
    sim.crash(first);
    sim.pause('w1', 2_500);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 10_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersAcked === 2, { maxMs: 20_000 }),
      'both workers follow the new leader in the end',
    );
    assert.ok(next.takeover.counters.transfersFailed >= 1, 'the frozen worker was asked again');
    assert.equal(next.recovery.counters.replaced, 0, 'no part had to move');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);

simTest(
  'LT-41.4.5 a new leader takes over while one worker is cut off: the missing worker is logged, its part is recovered on a live worker, and the job completes with nothing counted twice',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: ['w1', 'w2', 'w3'].map((id) => ({
        id,
        cores: 2,
        synthetic: { durationMs: undefined },
        worker: { orphanGraceMs: 60_000 },
      })),
      manager: {
        registry: { suspectAfterMs: 1_000, reapAfterMs: 120_000 },
        recovery: { lostAfterMs: 4_000 },
      },
    });
    const first = await c.ready(['w1', 'w2', 'w3']);
    const share = {
      config: { type: 'constant-vus', vus: 4, durationMs: 20_000, gracefulStopMs: 0 },
      phase: 0,
    };
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4, { share }))).ok);
    const parts = c.managers.get(first)!.ctx.leadership.dispatcher()!.partsOf('job-1');
    const cut = parts[0]!.worker;
    await sim.run(1_500);
    sim.network.isolate(cut);
    sim.crash(first);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 15_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.takeovers > 0, { maxMs: 15_000 }),
      'the new leader took over',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 60_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed', 'the job went on without the cut worker');
    assert.ok(next.recovery.counters.replaced >= 1, 'its part ran on a live worker');
    const moved = next.ctx.leadership.dispatcher()?.partsOf('job-1') ?? [];
    assert.ok(moved.every((p) => p.worker !== cut || p.state !== 'running'));
    const id = next.ctx.id;
    const mine = sim.logs.filter((l) => l.includes(` ${id} warn `));
    assert.ok(
      mine.some((l) => l.includes('worker silent') && l.includes(`"${cut}"`)) &&
        mine.some((l) => l.includes('lost part re-dispatched')),
      `the new leader logged the recovery: ${mine.join('\n')}`,
    );
    assert.ok(c.mergedRequests('job-1') <= c.producedRequests(), 'nothing counted twice');
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'LT-41.10.5 statistics windows are fire-and-forget data: a job’s windows reach the gate while the job writes nothing to any worker’s disk and the managers’ disks hold only their Raft state',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const disk = async (id: string): Promise<string[]> => {
      const st = sim.node(id).runtime!.storage;
      const names = await st.list();
      return Promise.all(names.map(async (n) => `${n}:${(await st.readFile(n))?.length}`));
    };
    const workersBefore = [await disk('w1'), await disk('w2')];
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.ok(c.gate.windows > 0 && c.mergedRequests('job-1') > 0, 'windows reached the gate');
    // A worker's disk holds its incarnation number only; the job wrote nothing there.
    assert.deepEqual([await disk('w1'), await disk('w2')], workersBefore);
    for (const id of c.managerIds) {
      const files = await sim.node(id).runtime!.storage.list();
      assert.ok(files.length > 0);
      assert.ok(
        files.every((f) => f.startsWith('raft')),
        `${id} keeps only Raft state: ${files.join(', ')}`,
      );
    }
  },
);

simTest(
  'LT-41.26.5 data-plane errors are logged and retried without blocking the producers: while the gate refuses windows the manager logs each refused batch, the workers keep running the job, and once it takes them again every request is merged exactly once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    let refusing = false;
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 8_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 8_000 } },
      ],
      gateRefusesWindows: () => refusing,
    });
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(1_000);
    refusing = true;
    const producedAtStart = c.producedRequests();
    await sim.run(4_000);
    const producedDuring = c.producedRequests() - producedAtStart;
    refusing = false;
    assert.ok(producedDuring > 0, 'the workers kept producing while the gate refused');
    assert.ok(c.gate.refusedBatches > 0, 'batches were refused');
    const m = c.managers.get(leader)!;
    assert.ok(m.relay.counters.batchesFailed > 0, 'the manager counted the refusals');
    assert.ok(
      sim.logs.some((l) => l.includes(` ${leader} `) && l.includes('gate did not take windows')),
      'and logged them',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests(), 'every request merged once');
  },
);

simTest(
  'GM-20.2.1 a TCP send that fails (the link to one worker resets every frame) is answered as a failed dispatch: the failure counts against that worker’s circuit, the share goes to the other worker, and the job completes',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 2 },
      ],
    });
    const leader = await c.ready();
    sim.network.setOneWay(leader, 'w1', { latencyMs: { min: 1, max: 3 }, streamBreak: 1 });
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4), 30_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message['workers'], ['w2'], 'the share went to the reachable worker');
    const m = c.managers.get(leader)!;
    const w1 = m.ctx.registry.get('w1', m.ctx.now());
    assert.ok(
      (w1?.consecutiveFailures ?? 0) >= 1,
      `the failed send counted against w1 (${JSON.stringify(w1)})`,
    );
    const lines = sim.logs.filter((l) => l.includes('worker did not take a part'));
    assert.ok(
      lines.some((l) => l.includes('"w1"') && !l.includes('"code":"timeout"')),
      `w1's failure was the broken link, not a timeout: ${lines.join('\n')}`,
    );
    sim.network.clearLinks();
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
  },
);

simTest(
  'LT-44.2 the leader dispatches from a stale worker list: a worker that just crashed is still listed healthy and gets a part; the send fails, the share is placed on live workers, and the job completes with nothing run on the dead one',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 4 },
        { id: 'w2', cores: 2 },
        { id: 'w3', cores: 2 },
      ],
      manager: { registry: { suspectAfterMs: 30_000, reapAfterMs: 60_000 } },
    });
    const leaderId = await c.ready(['w1', 'w2', 'w3']);
    const m = c.managers.get(leaderId)!;
    const producedBefore = c.executors.get('w1')!.counters.requests;
    sim.crash('w1');
    const listed = m.ctx.registry.get('w1', m.ctx.now());
    assert.ok(listed !== undefined && listed.unhealthySinceMs === null, 'w1 still looks healthy');
    const r = await c.call(leaderId, c.dispatchMsg('job-1', 'wf', 4), 30_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(!(r.message['workers'] as string[]).includes('w1'), 'the parts run on live workers');
    const tried = sim.logs.filter(
      (l) => l.includes('worker did not take a part') && l.includes('"w1"'),
    );
    assert.ok(
      tried.length > 0,
      `a part was first sent to the dead worker: ${sim.logs
        .filter((l) => l.includes('w1'))
        .slice(-5)
        .join('\n')}`,
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.executors.get('w1')!.counters.requests, producedBefore, 'nothing ran on w1');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests() - producedBefore);
  },
);
