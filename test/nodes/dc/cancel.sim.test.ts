// Sim tests of cancellation on a DC: dc.cancel from the gate fans out to the workers running
// the job, acknowledgements come back up (or the workers that did not answer are named), the
// parts drain and the workflows end cancelled.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, errorCode } from './support/dc-cluster.js';

const cancelMsg = (job: string, over: Record<string, unknown> = {}) => ({
  t: 'dc.cancel',
  job,
  fence: 1,
  reason: 'user asked',
  timeoutMs: 2_000,
  ...over,
});

simTest(
  'MW-14.1.1 MW-14.1.3 MW-14.2.1 MW-14.2.2 MW-14.2.3 MW-14.3.1 MW-14.3.2 MW-8.4.3 a cancel reaches every worker running the job, is acknowledged back up, and the workflows end cancelled',
  { seeds: seedsFrom(5) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 60_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 60_000 } },
        { id: 'w3', cores: 2, synthetic: { durationMs: 60_000 } },
      ],
    });
    const leader = await c.ready(['w1', 'w2', 'w3']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'a', 2))).ok);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'b', 2))).ok);
    assert.ok((await c.call(leader, c.dispatchMsg('job-2', 'x', 2))).ok);
    await sim.run(1_500);
    const running = new Map(
      [...c.workers].map(([id]) => [id, [...c.executors.get(id)!.specs].map((s) => s.job)]),
    );
    const job1Workers = [...running]
      .filter(([, jobs]) => jobs.includes('job-1'))
      .map(([id]) => id)
      .sort();
    const r = await c.call(leader, cancelMsg('job-1'));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.acknowledged, job1Workers);
    assert.deepEqual(r.message.unanswered, []);
    for (const [id, w] of c.workers) {
      assert.equal(
        w.counters.cancels,
        job1Workers.includes(id) ? 1 : 0,
        `only workers running job-1 are asked (${id})`,
      );
    }
    const windowsAtCancel = c.producedRequests();
    assert.ok(
      await sim.runUntil(() => c.gate.done.filter((d) => d.job === 'job-1').length === 2, {
        maxMs: 10_000,
      }),
    );
    for (const d of c.gate.done.filter((x) => x.job === 'job-1'))
      assert.equal(d.outcome, 'cancelled');
    const cancelled = [...c.executors.values()].reduce((n, e) => n + e.counters.cancelled, 0);
    assert.equal(cancelled, 2, 'both parts of job-1 were interrupted');
    assert.ok(c.producedRequests() - windowsAtCancel < windowsAtCancel, 'job-1 stopped producing');
    assert.equal(
      c.gate.done.some((d) => d.job === 'job-2'),
      false,
      'job-2 keeps running',
    );
    assert.equal(c.mergedRequests('job-1') > 0, true);
  },
);

simTest(
  "MW-14.1.2 LT-28.1.3 a cancel drops the job's shares still waiting for cores",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, synthetic: { durationMs: 60_000 } }],
      manager: { maxWaitMs: 30_000 },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'a', 1))).ok);
    const waiting = c.ask(leader, c.dispatchMsg('job-1', 'b', 1));
    await sim.run(500);
    assert.equal(c.managers.get(leader)!.ctx.leadership.dispatcher()!.waitingCount, 1);
    const r = await c.call(leader, cancelMsg('job-1'));
    assert.ok(r.ok);
    let answer: unknown;
    void waiting.then((x) => (answer = x));
    assert.ok(await sim.runUntil(() => answer !== undefined, { maxMs: 1_000 }));
    assert.equal((answer as { ok: boolean; error: { code: string } }).error.code, 'E_CANCELLED');
    assert.equal(c.managers.get(leader)!.ctx.leadership.dispatcher()!.waitingCount, 0);
  },
);

simTest(
  'MW-14.4.1 MW-14.4.2 MW-14.4.3 a worker that cannot be reached is named as unanswered when the cancel times out; the others acknowledged',
  { seeds: seedsFrom(5) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1, synthetic: { durationMs: 60_000 } },
        { id: 'w2', cores: 1, synthetic: { durationMs: 60_000 } },
      ],
      manager: { registry: { suspectAfterMs: 30_000, reapAfterMs: 60_000 } },
    });
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    await sim.run(500);
    sim.network.partition(['w2'], [leader]);
    const t0 = sim.nowMs;
    const r = await c.call(leader, cancelMsg('job-1', { timeoutMs: 1_500 }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.acknowledged, ['w1']);
    assert.deepEqual(r.message.unanswered, ['w2']);
    assert.ok(
      sim.nowMs - t0 >= 1_500 && sim.nowMs - t0 < 3_000,
      'answered at the timeout, not later',
    );
    assert.equal(c.managers.get(leader)!.cancel.counters.unanswered, 1);
  },
);

simTest(
  'LT-41.3.5 a cancel with an older fence (a stale owner) is refused E_STALE_FENCE; a follower answers E_NOT_LEADER',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 1, { fence: 3 }))).ok);
    assert.equal(
      errorCode(await c.call(leader, cancelMsg('job-1', { fence: 2 }))),
      'E_STALE_FENCE',
    );
    const follower = c.managerIds.find((id) => id !== leader)!;
    assert.equal(
      errorCode(await c.call(follower, cancelMsg('job-1', { fence: 3 }))),
      'E_NOT_LEADER',
    );
  },
);

simTest(
  'a cancel of a job with nothing running on the DC is acknowledged at once with no workers',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const r = await c.call(leader, cancelMsg('job-unknown'));
    assert.ok(r.ok);
    assert.deepEqual([r.message.acknowledged, r.message.unanswered], [[], []]);
  },
);
