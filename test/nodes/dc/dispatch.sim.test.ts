// Sim tests of a DC's dispatch path: real managers (Raft) and workers (synthetic executor), and
// a fake gate speaking dc-wire. Each seed replays exactly (SALVO_SIM_SEED=n).

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster, errorCode } from './support/dc-cluster.js';

simTest(
  'MW-3.1.1 MW-3.4.1 MW-3.4.2 MW-3.4.4 MW-8.3.2 MW-8.4.1 MW-8.5.3 MW-9.4.1 MW-9.4.3 MW-16.1.1 a workflow is dispatched over the workers, runs, and every window reaches the gate exactly once',
  { seeds: seedsFrom(6) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const m = c.managers.get(leader)!;
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 8));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.message.t, 'dc.accepted');
    assert.deepEqual([...(r.message.workers as string[])].sort(), ['w1', 'w2']);
    assert.equal(r.message.cores, 4);
    assert.equal(r.message.duplicate, false);
    assert.equal(m.dispatch.counters.accepted, 1);
    for (const w of c.workers.values())
      assert.equal(w.slots.freeCores, 0, 'each worker runs its part on its cores');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const done = c.gate.done[0]!;
    assert.equal(done.outcome, 'completed');
    assert.equal((done.parts as unknown[]).length, 2);
    assert.ok(c.producedRequests() > 0);
    assert.equal(
      c.mergedRequests('job-1'),
      c.producedRequests(),
      'the gate merged exactly what the workers produced',
    );
    assert.equal(m.relay.counters.batchesAcked > 0, true);
    for (const w of c.workers.values()) {
      assert.equal(w.slots.freeCores, 2);
      assert.equal(w.counters.windowsAcked, w.counters.windowsSent);
    }
  },
);

simTest(
  "MW-3.3.1 MW-3.3.2 MW-3.3.3 MW-3.3.4 MW-8.2.1 MW-8.2.2 MW-8.2.3 a worker's part carries the job, workflow, bundle, data, context, its share of VUs and one thread per core",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 3 },
        { id: 'w2', cores: 1 },
      ],
    });
    const leader = await c.ready();
    const r = await c.call(
      leader,
      c.dispatchMsg('job-7', 'checkout', 9, {
        data: { token: 'abc' },
        context: { user: 'u1' },
        baseUrl: 'http://t',
      }),
    );
    assert.ok(r.ok, JSON.stringify(r));
    const specs = [...c.executors.values()].flatMap((e) => e.specs);
    assert.equal(specs.length, 2);
    let vus = 0;
    let threads = 0;
    for (const s of specs) {
      assert.equal(s.job, 'job-7');
      assert.equal(s.workflow, 'checkout');
      assert.equal(s.bundle.hash, 'a'.repeat(64));
      assert.deepEqual(s.data, { token: 'abc' });
      assert.deepEqual(s.context, { user: 'u1' });
      assert.equal(s.baseUrl, 'http://t');
      assert.equal(s.threads, 4);
      for (const sh of s.shares) vus += 'vus' in sh.config ? sh.config.vus : 0;
      threads += s.shares.length;
    }
    assert.equal(vus, 9, 'the VUs of the DC share add up over the parts');
    assert.equal(threads, 4, 'one thread per reserved core');
    const w1 = specs.find((s) => s.shares.length === 3)!;
    assert.ok(w1, 'the 3-core worker runs 3 threads');
  },
);

simTest(
  'MW-3.1.4 each part carries a fence above every earlier one of the leader',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 4 }] });
    const leader = await c.ready(['w1']);
    const term = c.managers.get(leader)!.raft!.status().term;
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'a', 1))).ok);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'b', 1))).ok);
    const w = c.workers.get('w1')!;
    const fences = [...c.executors.get('w1')!.specs].map((s) => w.slots.part(s.dispatchId)!.fence);
    assert.equal(fences.length, 2);
    assert.ok(fences[1]! > fences[0]!);
    for (const f of fences) assert.equal(Math.floor(f / 2 ** 32), term);
  },
);

simTest(
  'a follower answers E_NOT_LEADER naming the leader and its address',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const follower = c.managerIds.find((id) => id !== leader)!;
    const r = await c.call(follower, c.dispatchMsg('job-1', 'wf', 2));
    assert.equal(errorCode(r), 'E_NOT_LEADER');
    assert.ok(!r.ok);
    assert.deepEqual(r.error.details?.['leader'], { nodeId: leader, address: c.peers.get(leader) });
  },
);

simTest('a DC without workers answers E_NO_WORKERS', { seeds: seedsFrom(2) }, async (sim) => {
  const c = new DcCluster(sim, { workers: [] });
  const leader = await c.ready([]);
  const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 2));
  assert.equal(errorCode(r), 'E_NO_WORKERS');
});

simTest(
  'LT-41.25.2 a dispatch with an older fence than one the DC saw for the job is refused E_STALE_FENCE; the higher fence wins on every manager',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'a', 1, { fence: 5 }))).ok);
    const stale = await c.call(leader, c.dispatchMsg('job-1', 'b', 1, { fence: 4 }));
    assert.equal(errorCode(stale), 'E_STALE_FENCE');
    const stillOk = await c.call(leader, c.dispatchMsg('job-1', 'c', 1, { fence: 6 }));
    assert.equal(errorCode(stillOk), null);
    await c.sim.run(200);
    for (const m of c.managers.values())
      assert.equal(m.ctx.state.job('job-1')!.fence, 6, 'every manager holds the newest fence');
  },
);

simTest(
  "MW-15.1.3 an accepted dispatch is committed to the DC's Raft group before the gate hears of it; a resent dispatch is a duplicate",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4));
    assert.ok(r.ok);
    // The leader applies an entry only once a majority stored it, so this proves the commit.
    assert.ok(
      c.managers.get(leader)!.ctx.state.job('job-1')?.workflows['wf'],
      'applied (committed) on the leader',
    );
    assert.ok(
      await sim.runUntil(
        () =>
          [...c.managers.values()].every(
            (m) => m.ctx.state.job('job-1')?.workflows['wf'] !== undefined,
          ),
        { maxMs: 2_000 },
      ),
      'every manager learns it',
    );
    const again = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4));
    assert.ok(again.ok);
    assert.equal(again.message.duplicate, true);
    assert.deepEqual(again.message.workers, r.message.workers);
    assert.equal(
      [...c.executors.values()].reduce((n, e) => n + e.counters.parts, 0),
      2,
      'no part ran twice',
    );
  },
);

simTest(
  'MW-15.1.4 MW-15.2.3 MW-15.3.1 LT-33.2.1 a leader cut off from its peers cannot record a dispatch: it refuses within a bounded time and undoes the parts',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, { manager: { workerTimeoutMs: 1_000 } });
    const leader = await c.ready();
    for (const id of c.managerIds) if (id !== leader) sim.network.partition([leader], [id]);
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4), 30_000);
    assert.ok(!r.ok, 'no dispatch without a quorum');
    assert.ok(['E_NOT_LEADER', 'E_UNAVAILABLE'].includes(r.error.code), r.error.code);
    assert.ok(
      await sim.runUntil(() => [...c.workers.values()].every((w) => w.slots.activeCount === 0), {
        maxMs: 10_000,
      }),
    );
    assert.equal(c.managers.get(leader)!.ctx.state.job('job-1'), undefined);
    assert.equal(
      c.managers.get(leader)!.raft!.status().pendingProposals,
      0,
      'nothing left pending',
    );
  },
);

simTest(
  'MW-15.1.1 MW-15.2.1 a dispatch needs a majority of the configured managers: 2 of 3 record it, 1 of 3 cannot',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim);
    const leader = await c.ready();
    const [f1, f2] = c.managerIds.filter((id) => id !== leader) as [string, string];
    sim.crash(f1);
    const ok = await c.call(leader, c.dispatchMsg('job-1', 'a', 1));
    assert.ok(ok.ok, 'leader + one follower are a quorum of 3');
    assert.ok(c.managers.get(leader)!.ctx.state.job('job-1')?.workflows['a']);
    sim.crash(f2);
    const refused = await c.call(leader, c.dispatchMsg('job-1', 'b', 1), 30_000);
    assert.ok(!refused.ok, 'one manager of three is no quorum');
    assert.ok(['E_NOT_LEADER', 'E_UNAVAILABLE'].includes(refused.error.code), refused.error.code);
  },
);

simTest(
  'MW-10.1.1 MW-10.1.2 dispatches arriving together never share a core: each worker runs at most its cores',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 1_500 } },
        { id: 'w2', cores: 1, synthetic: { durationMs: 1_500 } },
      ],
      manager: { maxWaitMs: 20_000 },
    });
    const leader = await c.ready();
    sim.afterEvent(() => {
      for (const w of c.workers.values()) {
        if (w.slots.freeCores < 0 || w.slots.freeCores > w.slots.totalCores)
          throw new Error('a worker counts cores it does not have');
      }
    });
    const answers: boolean[] = [];
    for (let i = 0; i < 5; i++)
      void c.ask(leader, c.dispatchMsg(`job-${i}`, 'wf', 2)).then((r) => answers.push(r.ok));
    assert.ok(await sim.runUntil(() => answers.length === 5, { maxMs: 30_000 }));
    assert.deepEqual(answers, [true, true, true, true, true], 'all served, in turn');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 5, { maxMs: 30_000 }));
    assert.equal(
      c.managers.get(leader)!.ctx.leadership.dispatcher()!.reservations.reservationCount,
      0,
    );
    for (const w of c.workers.values())
      assert.equal(w.counters.refused, 0, 'no worker was asked for a core it did not have');
  },
);

simTest(
  'MW-2.3.3 a dispatch waiting for cores is served when a running workflow frees them',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 2_000 } }],
      manager: { maxWaitMs: 10_000 },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'first', 2))).ok);
    const t0 = sim.nowMs;
    const second = await c.call(leader, c.dispatchMsg('job-1', 'second', 2), 30_000);
    assert.ok(second.ok, JSON.stringify(second));
    assert.ok(sim.nowMs - t0 >= 1_900, 'the second waited for the first to end (2 s)');
    assert.ok(await sim.runUntil(() => c.gate.done.length === 2, { maxMs: 10_000 }));
    assert.deepEqual(
      c.gate.done.map((d) => [d.workflow, d.outcome]),
      [
        ['first', 'completed'],
        ['second', 'completed'],
      ],
    );
  },
);

simTest(
  'MW-2.5.2 a dispatch that finds no free core within the wait is refused E_INSUFFICIENT_CAPACITY',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 1, synthetic: { durationMs: 60_000 } }],
      manager: { maxWaitMs: 1_000 },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'first', 1))).ok);
    const t0 = sim.nowMs;
    const r = await c.call(leader, c.dispatchMsg('job-2', 'second', 1));
    assert.equal(errorCode(r), 'E_INSUFFICIENT_CAPACITY');
    assert.ok(sim.nowMs - t0 >= 1_000);
  },
);

simTest(
  'MW-3.4.3 MW-3.5.2 MW-20.1.2 MW-20.3.1 a worker that refuses its part is recorded and the share is retried on another worker',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 2 },
      ],
    });
    const leader = await c.ready();
    c.workers.get('w1')!.slots.drain();
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.workers, ['w2']);
    const m = c.managers.get(leader)!;
    assert.equal(m.dispatch.counters.workerRefusals, 1);
    assert.equal(m.dispatch.counters.retries, 1);
    assert.equal(m.ctx.registry.get('w1', m.ctx.now())!.consecutiveFailures, 1);
    assert.ok(
      sim.logs.some((l) => l.includes('worker did not take a part') && l.includes('E_DRAINING')),
    );
    assert.equal(c.workers.get('w1')!.counters.refused, 1);
  },
);

simTest(
  'MW-6.2.3 MW-20.3.3 when every attempt fails the manager reports the failure to the gate with the reason',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 2 }] });
    const leader = await c.ready(['w1']);
    c.workers.get('w1')!.slots.drain();
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 2));
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'E_WORKER_REFUSED');
    assert.match(r.error.message, /w1.*draining/);
    assert.equal(
      c.managers.get(leader)!.ctx.leadership.dispatcher()!.reservations.freeCores('w1'),
      2,
      'cores given back',
    );
  },
);

simTest(
  'MW-3.5.1 MW-6.2.1 MW-6.2.2 MW-20.1.1 a worker that does not answer the dispatch times out, counts against its circuit, and the share goes elsewhere',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 2 },
      ],
    });
    const leader = await c.ready();
    sim.network.partition([leader], ['w1']);
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4), 30_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.workers, ['w2']);
    const m = c.managers.get(leader)!;
    assert.ok(
      m.ctx.registry.get('w1', m.ctx.now())?.consecutiveFailures === 1 ||
        m.ctx.registry.get('w1', m.ctx.now())?.unhealthySinceMs !== null,
    );
    assert.ok(
      sim.logs.some(
        (l) => l.includes('worker did not take a part') && l.includes('"code":"timeout"'),
      ),
    );
  },
);

simTest(
  'MW-6.4.1 MW-6.4.2 MW-8.4.2 MW-20.2.1 a part whose workflow fails reports the failure up; the workflow ends failed on this DC',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 1, synthetic: { failWorkflows: new Set(['wf']) } },
        { id: 'w2', cores: 1 },
      ],
    });
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 20_000 }));
    const done = c.gate.done[0]!;
    assert.equal(done.outcome, 'failed');
    const parts = done.parts as { worker: string; failure?: string }[];
    assert.match(parts.find((p) => p.worker === 'w1')!.failure ?? '', /failed on purpose/);
    assert.equal(parts.find((p) => p.worker === 'w2')!.failure, undefined);
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);

simTest(
  'MW-9.2.1 windows the gate does not acknowledge stay queued and are resent until it does, each counted once',
  { seeds: seedsFrom(4) },
  async (sim) => {
    let refuse = true;
    const c = new DcCluster(sim, { gateRefusesWindows: () => refuse });
    const leader = await c.ready();
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4))).ok);
    await sim.run(2_500);
    assert.ok(c.gate.refusedBatches > 0);
    assert.equal(c.gate.done.length, 0, 'the end waits for the windows');
    refuse = false;
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
    assert.equal(c.gate.duplicates, 0);
  },
);

simTest(
  'LT-30.3.2 LT-30.3.4 windows survive a worker cut off from its manager: buffered, resent after the heal, merged once',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2 }],
      manager: { registry: { suspectAfterMs: 10_000, reapAfterMs: 60_000 } },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    await sim.run(1_200);
    sim.network.partition(['w1'], [leader]);
    await sim.run(2_500);
    sim.network.heal();
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.gate.done[0]!.outcome, 'completed');
    assert.equal(c.mergedRequests('job-1'), c.producedRequests());
  },
);

simTest(
  'MW-4.4.2 an exclusive workflow sent over the wire waits for the DC to be idle and runs alone; later work waits behind it',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 4, synthetic: { durationMs: 2_000 } }],
      manager: { maxWaitMs: 30_000 },
    });
    const leader = await c.ready(['w1']);
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'first', 1))).ok);
    const order: string[] = [];
    void c
      .ask(leader, c.dispatchMsg('job-1', 'solo', 2, { exclusive: true }))
      .then((r) => r.ok && order.push('solo'));
    await sim.run(100);
    void c.ask(leader, c.dispatchMsg('job-1', 'later', 1)).then((r) => r.ok && order.push('later'));
    await sim.run(1_000);
    assert.deepEqual(
      order,
      [],
      'the exclusive one waits for the first to end; the later one waits behind it',
    );
    assert.equal(c.workers.get('w1')!.slots.freeCores, 3);
    assert.ok(await sim.runUntil(() => order.length === 1, { maxMs: 5_000 }));
    assert.deepEqual(order, ['solo']);
    assert.equal(c.workers.get('w1')!.slots.freeCores, 2, 'only the exclusive workflow runs');
    assert.ok(await sim.runUntil(() => order.length === 2, { maxMs: 10_000 }));
    assert.deepEqual(order, ['solo', 'later']);
  },
);

simTest(
  "MW-3.5.3 MW-20.1.3 a dispatch that breaks on a dead connection is logged, counts against the worker's circuit, and goes elsewhere",
  { seeds: seedsFrom(3) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2 },
        { id: 'w2', cores: 2 },
      ],
    });
    const leader = await c.ready();
    const m = c.managers.get(leader)!;
    sim.crash('w1');
    assert.ok(
      await sim.runUntil(() => m.ctx.workerConns.get('w1')?.isClosed === true, { maxMs: 5_000 }),
    );
    const r = await c.call(leader, c.dispatchMsg('job-1', 'wf', 4));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.message.workers, ['w2']);
    assert.equal(m.ctx.registry.get('w1', m.ctx.now())!.consecutiveFailures, 1);
    assert.ok(
      sim.logs.some((l) => l.includes('worker did not take a part') && l.includes('"worker":"w1"')),
    );
  },
);

simTest(
  'MW-16.1.2 MW-16.1.3 dispatch throughput is measured per interval and the count starts again after each reading',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, { workers: [{ id: 'w1', cores: 4 }] });
    const leader = await c.ready(['w1']);
    const m = c.managers.get(leader)!;
    m.dispatch.takeThroughput();
    const t0 = sim.nowMs;
    for (const wf of ['a', 'b', 'c'])
      assert.ok((await c.call(leader, c.dispatchMsg('job-1', wf, 1))).ok);
    await sim.run(1_000);
    const elapsed = sim.nowMs - t0;
    const reading = m.dispatch.takeThroughput();
    assert.equal(reading.count, 3);
    assert.ok(Math.abs(reading.intervalMs - elapsed) < 1);
    assert.ok(Math.abs(reading.perSecond - 3_000 / reading.intervalMs) < 1e-9);
    await sim.run(500);
    const next = m.dispatch.takeThroughput();
    assert.equal(next.count, 0, 'reset after the reading');
    assert.ok(Math.abs(next.intervalMs - 500) < 1);
    assert.equal(m.dispatch.counters.accepted, 3, 'the running total is kept');
  },
);

simTest(
  'MW-5.2.1 MW-5.2.4 a worker whose cores fill reports busy in its heartbeats, and healthy again once they free',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [{ id: 'w1', cores: 2, synthetic: { durationMs: 2_000 } }],
    });
    const leader = await c.ready(['w1']);
    const m = c.managers.get(leader)!;
    const health = (): string | undefined => m.ctx.registry.get('w1', m.ctx.now())?.health;
    assert.equal(health(), 'healthy');
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 2))).ok);
    assert.ok(await sim.runUntil(() => health() === 'busy', { maxMs: 1_000 }));
    assert.ok(await sim.runUntil(() => health() === 'healthy', { maxMs: 5_000 }));
    assert.equal(c.workers.get('w1')!.slots.activeCount, 0);
  },
);

simTest(
  'MW-11.1.1 a manager whose queue to the gate fills signals rising backpressure; workers hold back and nothing is lost',
  { seeds: seedsFrom(3) },
  async (sim) => {
    let refuse = true;
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 8_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 8_000 } },
      ],
      manager: { relay: { maxQueuedPerJob: 40 } },
      gateRefusesWindows: () => refuse,
    });
    const leader = await c.ready();
    const m = c.managers.get(leader)!;
    let maxQueued = 0;
    sim.afterEvent(() => {
      maxQueued = Math.max(maxQueued, m.ctx.relay.pending('job-1'));
    });
    assert.ok((await c.call(leader, c.dispatchMsg('job-1', 'wf', 4, { windowMs: 200 }))).ok);
    const seen = (level: 'throttle' | 'batch' | 'reject'): number =>
      [...c.workers.values()].reduce((n, w) => n + w.counters.backpressure[level], 0);
    assert.ok(await sim.runUntil(() => seen('reject') > 0, { maxMs: 10_000 }));
    assert.ok(seen('throttle') > 0 && seen('batch') > 0, 'the level rose step by step');
    assert.ok(maxQueued <= 40, `the queue stayed within its bound (${maxQueued})`);
    refuse = false;
    assert.ok(await sim.runUntil(() => c.gate.done.length === 1, { maxMs: 30_000 }));
    assert.equal(c.mergedRequests('job-1'), c.producedRequests(), 'held back, never dropped');
  },
);
