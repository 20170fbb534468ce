// Sim tests of one DC's managers under load (real managers and workers, a fake gate): a leader
// that dies, or is stopped, with twenty running workflows hands every one of them to the next
// leader (adopted, not re-run; the workers told to follow), and a manager that restarts or is cut
// off while jobs keep coming rejoins as a follower holding every job the DC recorded meanwhile.

import assert from 'node:assert/strict';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import type { ManagerNode } from '../../../src/nodes/manager/manager-node.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

const WORKERS = ['w1', 'w2', 'w3', 'w4'];

function busyDc(sim: Simulation, partMs: number): DcCluster {
  return new DcCluster(sim, {
    workers: WORKERS.map((id) => ({ id, cores: 6, synthetic: { durationMs: partMs } })),
    manager: { registry: { suspectAfterMs: 3_000, reapAfterMs: 60_000 } },
  });
}

/** Dispatches `n` one-VU jobs to the leader; returns their ids. */
async function load(c: DcCluster, leader: string, n: number, prefix = 'job'): Promise<string[]> {
  const jobs: string[] = [];
  for (let i = 1; i <= n; i++) {
    const job = `${prefix}-${i}`;
    const r = await c.call(leader, c.dispatchMsg(job, 'wf', 1));
    assert.ok(r.ok, JSON.stringify(r));
    jobs.push(job);
  }
  return jobs;
}

async function nextLeader(sim: Simulation, c: DcCluster, not: string): Promise<string> {
  assert.ok(
    await sim.runUntil(() => c.leaderId() !== null && c.leaderId() !== not, { maxMs: 15_000 }),
  );
  return c.leaderId()!;
}

async function adoptedAll(sim: Simulation, next: ManagerNode, n: number): Promise<void> {
  assert.ok(
    await sim.runUntil(() => next.takeover.counters.adopted === n, { maxMs: 20_000 }),
    `all ${n} adopted (${next.takeover.counters.adopted})`,
  );
}

/** Every job completed at the gate, with every request the workers made counted once. */
async function allCompleted(sim: Simulation, c: DcCluster, jobs: readonly string[]): Promise<void> {
  assert.ok(await sim.runUntil(() => completed(c) === jobs.length, { maxMs: 60_000 }));
  const merged = jobs.reduce((n, j) => n + c.mergedRequests(j), 0);
  assert.equal(merged, c.producedRequests());
}

function completed(c: DcCluster): number {
  return c.gate.done.filter((d) => d['outcome'] === 'completed').length;
}

simTest(
  'LT-30.1.1 the DC leader dies with twenty workflows running: the next leader adopts every one of them (Salvo takes running workflows over rather than rescheduling them), and all twenty complete with every request counted once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = busyDc(sim, 8_000);
    const first = await c.ready(WORKERS);
    const jobs = await load(c, first, 20);
    await sim.run(1_000);
    sim.crash(first);
    const next = c.managers.get(await nextLeader(sim, c, first))!;
    await adoptedAll(sim, next, 20);
    await allCompleted(sim, c, jobs);
    assert.equal(next.recovery.counters.replaced, 0, 'nothing had to run again');
  },
);

simTest(
  'LT-40.2.1 LT-40.2.2 the DC leader is shut down with twenty workflows running: it hands over first, the next leader adopts every workflow, each worker is told to report to it, and all complete with every request counted once',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = busyDc(sim, 8_000);
    const first = await c.ready(WORKERS);
    const jobs = await load(c, first, 20);
    await sim.run(1_000);
    let stopped = false;
    void c.managers
      .get(first)!
      .stop()
      .then(() => (stopped = true));
    const next = c.managers.get(await nextLeader(sim, c, first))!;
    assert.ok(await sim.runUntil(() => stopped, { maxMs: 20_000 }));
    await adoptedAll(sim, next, 20);
    assert.ok(
      await sim.runUntil(
        () =>
          WORKERS.every((w) =>
            c.executors
              .get(w)!
              .specs.every((s) => c.workers.get(w)!.leaders.leaderOf(s.dispatchId) !== first),
          ),
        { maxMs: 20_000 },
      ),
      'every worker now reports to the next leader',
    );
    await allCompleted(sim, c, jobs);
  },
);

simTest(
  'LT-30.3.1 a follower manager restarts while the DC is busy with a stream of jobs: it rejoins as a follower and catches up, holding every job the DC recorded while it was down, and every job completes',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = busyDc(sim, 4_000);
    const leader = await c.ready(WORKERS);
    const follower = c.managerIds.find((m) => m !== leader)!;
    const jobs = await load(c, leader, 6, 'before');
    sim.crash(follower);
    jobs.push(...(await load(c, leader, 6, 'during')));
    sim.restart(follower);
    jobs.push(...(await load(c, leader, 6, 'after')));
    assert.ok(
      await sim.runUntil(
        () => {
          const f = c.managers.get(follower);
          return f !== undefined && jobs.every((j) => f.ctx.state.job(j) !== undefined);
        },
        { maxMs: 30_000 },
      ),
      'the restarted manager caught up on every job',
    );
    assert.equal(c.managers.get(follower)!.isLeader(), false, 'and rejoined as a follower');
    assert.equal(c.leaderId(), leader, 'the leader kept leading');
    assert.ok(await sim.runUntil(() => completed(c) === 18, { maxMs: 60_000 }));
  },
);

simTest(
  'LT-33.2.4 a leader cut off from its peers is replaced; jobs go on through the new leader; once the cut heals the old leader rejoins as a follower with every job recorded meanwhile, and one leader remains',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const c = busyDc(sim, 4_000);
    const old = await c.ready(WORKERS);
    const peers = c.managerIds.filter((m) => m !== old);
    sim.network.partition([old], peers);
    const next = await nextLeader(sim, c, old);
    assert.ok(
      await sim.runUntil(() => WORKERS.every((w) => c.managers.get(next)!.ctx.workerConns.has(w)), {
        maxMs: 20_000,
      }),
      'the workers reach the new leader',
    );
    const jobs = await load(c, next, 5, 'split');
    sim.network.heal();
    assert.ok(
      await sim.runUntil(
        () => {
          const o = c.managers.get(old)!;
          return !o.isLeader() && jobs.every((j) => o.ctx.state.job(j) !== undefined);
        },
        { maxMs: 30_000 },
      ),
      'the old leader stepped down and caught up',
    );
    const leaders = c.managerIds.filter((m) => c.managers.get(m)?.isLeader() === true);
    assert.equal(leaders.length, 1, `one leader: ${leaders.join(', ')}`);
    assert.ok(await sim.runUntil(() => completed(c) === 5, { maxMs: 60_000 }));
  },
);
