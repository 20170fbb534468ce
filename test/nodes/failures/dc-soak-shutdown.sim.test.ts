// Sim tests of one DC (real managers and workers, a fake gate) over time and at shutdown: thirty
// jobs run back to back leave no per-job state behind in the leader or the workers (a short
// soak: nothing grows with the number of jobs), a leader stopped while its Raft log waits on a
// slow disk stops without hanging, and a new leader stopped in the middle of syncing with a
// frozen worker stops and asks nothing more.

import assert from 'node:assert/strict';
import type { RpcReply } from '../../../src/protocol/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

simTest(
  'LT-37.3.3 a short soak: thirty jobs run back to back; after each one (released by its gate) the leader holds no part, no relay state and no kept windows or ends for it, the workers run nothing, track no leader and have every core free, so no per-job structure grows with the jobs run',
  { seeds: seedsFrom(2), timeoutMs: 180_000 },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 1_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 1_000 } },
      ],
    });
    const leaderId = await c.ready();
    const leader = c.managers.get(leaderId)!;
    const sizes: string[] = [];
    for (let i = 1; i <= 30; i++) {
      const job = `job-${i}`;
      assert.ok((await c.call(leaderId, c.dispatchMsg(job, 'wf', 4))).ok);
      assert.ok(await sim.runUntil(() => c.gate.done.length === i, { maxMs: 30_000 }), job);
      // The owner gate releases the ended job (what the DC kept for a new owner goes with it).
      assert.ok((await c.call(leaderId, { t: 'dc.release', job, fence: 1 })).ok);
      const idle = (): boolean =>
        leader.ctx.parts.size === 0 &&
        leader.ctx.relay.jobCount === 0 &&
        leader.ctx.relay.retainedCount() === 0 &&
        leader.handover.endsKept === 0 &&
        (leader.ctx.leadership.dispatcher()?.partsOf(job).length ?? 0) === 0 &&
        [...c.workers.values()].every((w) => w.activeParts === 0 && w.leaders.pendingCount === 0);
      assert.ok(await sim.runUntil(idle, { maxMs: 10_000 }), `state released after ${job}`);
      sizes.push(`${leader.ctx.parts.size}/${leader.ctx.relay.jobCount}`);
    }
    assert.equal(c.gate.done.filter((d) => d['outcome'] === 'completed').length, 30);
    assert.deepEqual(new Set(sizes), new Set(['0/0']), 'the same empty state after every job');
    for (const w of c.workers.values()) assert.equal(w.slots.freeCores, w.slots.totalCores);
  },
);

simTest(
  'LT-41.19.4 a leader stopped while its Raft log waits on a slow disk (2 s per fsync) stops without hanging, and the dispatch it was recording is answered rather than left waiting',
  { seeds: seedsFrom(2), sim: { fsyncLatencyMs: 2_000 } },
  async (sim) => {
    const c = new DcCluster(sim);
    const leaderId = await c.ready(undefined, 60_000);
    const leader = c.managers.get(leaderId)!;
    let reply: RpcReply | null = null;
    void c.ask(leaderId, c.dispatchMsg('job-1', 'wf', 2), 60_000).then(
      (r) => (reply = r),
      () => (reply = { ok: false, error: { code: 'rejected', message: 'rejected' } } as RpcReply),
    );
    // Let the dispatch reach the leader and its log append start waiting on the disk.
    await sim.run(50);
    let stopped = false;
    void leader.stop().then(() => (stopped = true));
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 30_000 }), 'stop() completed');
    assert.ok(
      await sim.runUntil(() => reply !== null, { maxMs: 60_000 }),
      'the dispatch was answered',
    );
  },
);

simTest(
  'LT-41.4.4 a new leader stopped while it is still syncing with a frozen worker (transfer requests retrying) stops: no deadlock, and no transfer is sent after the stop',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 30_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 30_000 } },
      ],
      manager: { registry: { suspectAfterMs: 20_000, reapAfterMs: 60_000 } },
    });
    const first = await c.ready();
    assert.ok((await c.call(first, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(1_000);
    sim.crash(first);
    sim.pause('w1', 20_000);
    assert.ok(
      await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== first, { maxMs: 10_000 }),
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersFailed >= 1, { maxMs: 20_000 }),
      'the sync with w1 is retrying',
    );
    let stopped = false;
    void next.stop().then(() => (stopped = true));
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 20_000 }), 'stop() completed');
    const failed = next.takeover.counters.transfersFailed;
    const acked = next.takeover.counters.transfersAcked;
    await sim.run(20_000);
    assert.equal(next.takeover.counters.transfersFailed, failed, 'no retry after the stop');
    assert.equal(next.takeover.counters.transfersAcked, acked);
  },
);
