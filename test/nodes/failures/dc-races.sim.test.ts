// Sim tests of races inside one DC (real managers and workers, a fake gate): a cancel arriving
// while a lost worker's part is being re-dispatched, and a leader change while another manager
// is unreachable too.

import assert from 'node:assert/strict';
import type { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

const WORKERS = ['w1', 'w2', 'w3'];

function share(c: DcCluster, job: string, vus: number, durationMs: number) {
  return c.dispatchMsg(job, 'wf', vus, {
    share: { config: { type: 'constant-vus', vus, durationMs, gracefulStopMs: 0 }, phase: 0 },
  });
}

/** When the cancel is sent, counted from the moment the leader counted the worker lost (ms). */
const CANCEL_AFTER_LOSS_MS = [0, 5, 50, 500, 3_000];

simTest(
  'LT-44.6 a cancel racing the re-dispatch of a lost part: the workflow ends cancelled once, no copy of the part keeps running, and every core is freed',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: WORKERS.map((id) => ({ id, cores: 2, synthetic: { durationMs: undefined } })),
      manager: { recovery: { lostAfterMs: 3_000 } },
    });
    let leaderId = await c.ready(WORKERS);
    let replacedBeforeCancel = 0;
    /** Re-dispatches the worker took only after the cancel came in (the dispatch was in flight). */
    let inFlightAtCancel = 0;
    for (const [i, delay] of CANCEL_AFTER_LOSS_MS.entries()) {
      const job = `job-${i}`;
      const leader: ManagerNode = c.managers.get(leaderId)!;
      assert.ok((await c.call(leaderId, share(c, job, 2, 30_000))).ok);
      await sim.run(1_000);
      const part = leader.ctx.leadership.dispatcher()!.partsOf(job)[0]!;
      const lostBefore = leader.recovery.counters.lost;
      const replacedBefore = leader.recovery.counters.replaced;
      sim.crash(part.worker);
      assert.ok(
        await sim.runUntil(() => leader.recovery.counters.lost > lostBefore, { maxMs: 20_000 }),
      );
      if (delay > 0) await sim.run(delay);
      const replacedAtCancel = leader.recovery.counters.replaced;
      const ack = await c.call(leaderId, {
        t: 'dc.cancel',
        job,
        fence: 1,
        reason: 'user asked',
        timeoutMs: 2_000,
      });
      assert.ok(ack.ok, JSON.stringify(ack));
      assert.ok(
        await sim.runUntil(() => c.gate.done.some((d) => d.job === job), { maxMs: 20_000 }),
        `delay ${delay}: the workflow ended`,
      );
      await sim.run(2_000);
      const ends = c.gate.done.filter((d) => d.job === job);
      assert.equal(ends.length, 1);
      assert.equal(ends[0]!['outcome'], 'cancelled', `delay ${delay}`);
      for (const p of leader.ctx.leadership.dispatcher()!.partsOf(job)) {
        assert.ok(
          ['completed', 'failed', 'cancelled'].includes(p.state),
          `part ${p.dispatchId} ended`,
        );
      }
      const d = leader.ctx.leadership.dispatcher()!;
      for (const w of WORKERS) {
        if (w === part.worker) continue;
        assert.equal(
          d.reservations.freeCores(w),
          d.reservations.totalCores(w),
          `${w}: cores freed`,
        );
      }
      if (replacedAtCancel > replacedBefore) replacedBeforeCancel++;
      if (leader.recovery.counters.replaced > replacedAtCancel) inFlightAtCancel++;
      for (const w of WORKERS) {
        if (w === part.worker) continue;
        assert.equal(c.workers.get(w)!.activeParts, 0, `${w} runs no copy of the part`);
      }
      sim.restart(part.worker);
      leaderId = await c.ready(WORKERS);
    }
    assert.equal(c.gate.conflictingDone, 0);
    assert.ok(replacedBeforeCancel > 0, 'some cancels came after the part was re-dispatched');
    assert.ok(inFlightAtCancel + replacedBeforeCancel > 0, 'the race was exercised');
  },
);

simTest(
  'LT-41.4.2 the leader dies while another manager is also unreachable: the three left elect a leader, take the running workflow over from the DC state, and it completes with every request counted once',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      managers: 5,
      workers: WORKERS.map((id) => ({ id, cores: 2, synthetic: { durationMs: 8_000 } })),
      manager: { registry: { suspectAfterMs: 3_000, reapAfterMs: 60_000 } },
    });
    const first = await c.ready(WORKERS);
    assert.ok((await c.call(first, share(c, 'job-s', 4, 8_000))).ok);
    await sim.run(1_500);
    const unreachable = c.managerIds.find((id) => id !== first)!;
    sim.network.isolate(unreachable);
    sim.crash(first);
    assert.ok(
      await sim.runUntil(
        () => {
          const l = c.leaderId();
          return l !== null && l !== first && l !== unreachable;
        },
        { maxMs: 20_000 },
      ),
      'a leader among the three reachable managers',
    );
    const next = c.managers.get(c.leaderId()!)!;
    assert.ok(
      await sim.runUntil(() => next.takeover.counters.transfersAcked >= 1, { maxMs: 15_000 }),
      'the workers followed the new leader',
    );
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    assert.equal(c.mergedRequests('job-s'), c.producedRequests());
    sim.network.heal();
    await sim.run(3_000);
    assert.equal(c.gate.done.length, 1, 'one end, also after the unreachable manager is back');
    assert.equal(c.gate.conflictingDone, 0);
  },
);

simTest(
  'LT-37.3.2 forty jobs in four waves: after each wave the leader and the workers are back to no parts, reservations, slots or pending windows; only the DC record of each job remains',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: WORKERS.map((id) => ({ id, cores: 4, synthetic: { durationMs: 1_000 } })),
    });
    const leaderId = await c.ready(WORKERS);
    const m = c.managers.get(leaderId)!;
    for (let wave = 0; wave < 4; wave++) {
      const jobs = Array.from({ length: 10 }, (_, i) => `job-${wave}-${i}`);
      let accepted = 0;
      for (const job of jobs) {
        void c.ask(leaderId, c.dispatchMsg(job, 'wf', 1)).then((r) => {
          assert.ok(r.ok, JSON.stringify(r));
          accepted++;
        });
      }
      assert.ok(await sim.runUntil(() => accepted === jobs.length, { maxMs: 20_000 }));
      assert.ok(
        await sim.runUntil(() => c.gate.done.length === (wave + 1) * jobs.length, {
          maxMs: 30_000,
        }),
        `wave ${wave} ended`,
      );
      assert.ok(await sim.runUntil(() => m.ctx.parts.size === 0, { maxMs: 5_000 }));
      const d = m.ctx.leadership.dispatcher()!;
      assert.equal(d.reservations.reservationCount, 0, `wave ${wave}: no reservation left`);
      for (const job of jobs) {
        assert.equal(d.partsOf(job).length, 0);
        assert.equal(m.ctx.relay.pending(job), 0);
      }
      for (const w of c.workers.values()) {
        assert.equal(w.activeParts, 0);
        assert.equal(w.slots.activeCount, 0);
      }
      assert.equal(m.ctx.state.jobCount, (wave + 1) * jobs.length, 'one DC record per job');
    }
    assert.ok(c.gate.done.every((d) => d['outcome'] === 'completed'));
    assert.equal(c.gate.duplicates, 0);
  },
);
