// Sim tests of the gate ledger under partitions and crashes, through three real gates and fake
// managers: a ledger leader cut off alone loses the lead while the majority goes on and it
// catches up after the heal; jobs in flight through a total loss of quorum end once it is back;
// committed submissions and cancels survive every gate crashing at once.

import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { seedsFrom, simTest } from '../../support/sim.js';
import {
  A_DONE_B_HANGS,
  GATE_IDS,
  GateCluster,
  SimClient,
  submission,
  jobResults,
} from '../gate/support/gate-cluster.js';

function jobsOn(cluster: GateCluster, gate: string): string[] {
  return [...cluster.gate(gate).state.machine.ledger.views()].map((v) => v.jobId);
}

simTest(
  'LT-33.1.1 LT-33.1.3 a ledger leader cut off from the other gates loses the lead; the majority elects another and runs jobs; after the heal there is one leader and the old one holds the same ledger',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { proposeTimeoutMs: 3_000 } });
    const client = new SimClient(sim, cluster);
    const old = await cluster.waitForLeader();
    const oldTerm = cluster.gate(old).raft.status().term;
    const majority = GATE_IDS.filter((id) => id !== old);
    sim.network.partition([old], majority);
    assert.ok(
      await sim.runUntil(
        () => {
          const l = cluster.leader();
          return l !== null && l !== old && !cluster.gate(old).isLeader;
        },
        { maxMs: 20_000 },
      ),
      'the majority elected a leader and the cut-off one stepped down',
    );
    const refused = await client.ask(old, submission({ key: 'minority' }));
    assert.ok(!refused.ok, 'the minority side commits nothing');
    assert.equal(refused.error.code, 'E_UNAVAILABLE');
    const job = await client.submitAndWatch(submission({ key: 'majority' }), majority[0]);
    assert.ok(await sim.runUntil(() => jobResults(client, job).length === 1, { maxMs: 20_000 }));
    assert.equal(jobResults(client, job)[0]!.status, 'completed');
    assert.deepEqual(jobsOn(cluster, old), [], 'the cut-off gate has not heard of it yet');
    sim.network.heal();
    assert.ok(
      await sim.runUntil(() => cluster.gate(old).ledger.job(job)?.status === 'completed', {
        maxMs: 20_000,
      }),
      'the old leader caught up with the ledger',
    );
    await sim.run(2_000);
    const leaders = GATE_IDS.filter((id) => cluster.gate(id).isLeader);
    assert.equal(leaders.length, 1, 'one leader after the heal');
    assert.ok(cluster.gate(leaders[0]!).raft.status().term > oldTerm, 'in a newer term');
    for (const id of GATE_IDS) {
      assert.deepEqual(jobsOn(cluster, id), [job], `${id} holds exactly the majority's job`);
      assert.equal(cluster.gate(id).ledger.job(job)?.status, 'completed');
    }
  },
);

simTest(
  'LT-30.2.3 jobs in flight when the gates lose their quorum: their DCs finish meanwhile, and once the quorum is back each job ends completed exactly once on every gate',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hold' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hold' },
      ],
    });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const ends = new Map<string, number>();
    for (const id of GATE_IDS) {
      cluster.gate(id).state.machine.onEvents((events) => {
        for (const e of events)
          if (e.type === 'job-ended')
            ends.set(`${id}/${e.jobId}`, (ends.get(`${id}/${e.jobId}`) ?? 0) + 1);
      });
    }
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(
        await client.submitAndWatch(
          submission({ dcs: ['a', 'b'], durationMs: 600_000, source: `export default ${i};` }),
          leader,
        ),
      );
    }
    assert.ok(
      await sim.runUntil(() => cluster.allDispatches().length === 6, { maxMs: 10_000 }),
      'every job is running in both DCs',
    );
    // No two gates can talk: no quorum anywhere, while the DCs finish their work.
    sim.network.partition(['g1'], ['g2', 'g3']);
    sim.network.partition(['g2'], ['g3']);
    await sim.run(500);
    for (const job of jobs) {
      for (const m of ['a-m1', 'b-m1']) cluster.manager(m).finish(job, 'wf1', 'completed');
    }
    // Longer than a ledger proposal waits (proposeTimeoutMs, 10 s).
    await sim.run(20_000);
    for (const m of ['a-m1', 'b-m1']) assert.equal(cluster.manager(m).runningCount(), 0);
    sim.network.heal();
    assert.ok(
      await sim.runUntil(
        () =>
          jobs.every((j) =>
            GATE_IDS.every((id) => cluster.gate(id).ledger.job(j)?.endedAtMs != null),
          ),
        { maxMs: 40_000 },
      ),
      'every job ended once the quorum was back',
    );
    await sim.run(3_000);
    for (const job of jobs) {
      assert.equal(jobResults(client, job).length, 1, 'one job.result');
      const r = jobResults(client, job)[0]!;
      assert.equal(r.status, 'completed', `${String(r.failure)} ${JSON.stringify(r.dcs)}`);
      for (const id of GATE_IDS) {
        assert.equal(cluster.gate(id).ledger.job(job)?.status, 'completed', id);
        assert.equal(ends.get(`${id}/${job}`), 1, `${id}: ${job} ended once`);
      }
    }
  },
);

simTest(
  'LT-41.10.1 a committed submission and a committed cancel survive every gate being killed at once: after the restart all gates answer the job, cancelled',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
    });
    const client = new SimClient(sim, cluster);
    const owner = await cluster.waitForLeader();
    const kept = await client.ask(
      owner,
      submission({ dcs: ['a', 'b'], durationMs: 600_000, key: 'kept' }),
    );
    assert.ok(kept.ok, JSON.stringify(kept));
    const keptJob = kept.message.job as string;
    const cancelled = await client.ask(
      owner,
      submission({ dcs: ['a', 'b'], durationMs: 600_000, source: 'export default 2;' }),
    );
    assert.ok(cancelled.ok);
    const job = cancelled.message.job as string;
    assert.ok(await sim.runUntil(() => cluster.allDispatches().length === 4, { maxMs: 10_000 }));
    const ack = await client.ask(owner, { t: 'job.cancel', job, reason: 'enough' });
    assert.ok(ack.ok, JSON.stringify(ack));
    assert.ok(
      await sim.runUntil(() => cluster.gate(owner).ledger.job(job)?.status === 'cancelled', {
        maxMs: 20_000,
      }),
    );
    for (const id of GATE_IDS) sim.crash(id);
    await sim.run(1_000);
    for (const id of GATE_IDS) sim.restart(id);
    const other = GATE_IDS.find((id) => id !== owner)!;
    assert.ok(
      await sim.runUntil(
        () =>
          GATE_IDS.every(
            (id) => sim.node(id).up && cluster.gates.get(id)?.ledger.job(job) !== undefined,
          ) && cluster.leader() !== null,
        { maxMs: 30_000 },
      ),
      'every restarted gate knows the jobs again',
    );
    for (const id of GATE_IDS) {
      const v = cluster.gate(id).ledger.job(job)!;
      assert.equal(v.status, 'cancelled', id);
      assert.equal(v.cancelReason, 'enough');
      assert.ok(cluster.gate(id).ledger.job(keptJob), `${id} still has the other job`);
    }
    const status = await client.ask(other, { t: 'job.status', job });
    assert.ok(status.ok, JSON.stringify(status));
    assert.equal((status.message.view as { status: string }).status, 'cancelled');
    // The idempotency key was committed with its job: the same submission is still a duplicate.
    const again = await client.ask(
      other,
      submission({ dcs: ['a', 'b'], durationMs: 600_000, key: 'kept' }),
    );
    assert.ok(again.ok && again.message.job === keptJob && again.message.duplicate === true);
  },
);

simTest(
  'LT-41.10.4 every gate killed with torn log tails replays its durable ledger on restart: each ends with exactly the ledger it had applied',
  { seeds: seedsFrom(3) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: A_DONE_B_HANGS,
    });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const jobs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await client.ask(
        leader,
        submission({
          dcs: i % 2 === 0 ? ['a'] : ['b'],
          durationMs: 600_000,
          source: `export default ${i};`,
        }),
      );
      assert.ok(r.ok, JSON.stringify(r));
      jobs.push(r.message.job as string);
    }
    const cancel = await client.ask(leader, { t: 'job.cancel', job: jobs[1]!, reason: 'stop' });
    assert.ok(cancel.ok);
    assert.ok(
      await sim.runUntil(
        () =>
          GATE_IDS.every(
            (id) =>
              cluster.gate(id).ledger.job(jobs[0]!)?.status === 'completed' &&
              cluster.gate(id).ledger.job(jobs[1]!)?.status === 'cancelled',
          ),
        { maxMs: 20_000 },
      ),
    );
    await sim.run(1_000);
    const before = new Map<string, unknown>(
      GATE_IDS.map((id) => [id, cluster.gate(id).ledger.snapshot()]),
    );
    assert.deepEqual(before.get('g1'), before.get('g2'), 'the gates agree before the crash');
    for (const id of GATE_IDS) sim.crash(id, { tornTail: true });
    await sim.run(500);
    for (const id of GATE_IDS) sim.restart(id);
    const same = (id: string): boolean =>
      sim.node(id).up &&
      isDeepStrictEqual(cluster.gates.get(id)?.ledger.snapshot(), before.get(id));
    assert.ok(
      await sim.runUntil(() => GATE_IDS.every(same), { maxMs: 30_000 }),
      'every gate replayed its ledger to the state it had applied',
    );
    // From there the ledger moves on only by the restarted owner taking its live jobs back (a
    // higher fence, the same gate): the ended jobs and everything else stay as they were.
    await sim.run(2_000);
    const withoutLiveFences = (snap: unknown): unknown => {
      const s = snap as { jobs: { endedAtMs: number | null; fence: number }[] };
      return {
        ...s,
        jobs: s.jobs.map((j) => (j.endedAtMs === null ? { ...j, fence: 0 } : j)),
      };
    };
    for (const id of GATE_IDS) {
      const now = cluster.gate(id).ledger.snapshot();
      assert.deepEqual(
        withoutLiveFences(now),
        withoutLiveFences(before.get(id)),
        `${id} stays there but for fences`,
      );
      const was = before.get(id) as typeof now;
      now.jobs.forEach((j, i) => assert.ok(j.fence >= was.jobs[i]!.fence, `${j.jobId} fence`));
    }
  },
);

simTest(
  'GM-15.1.1 GM-15.1.3 with one of three gates down a quorum (2 of 3) is available and jobs are taken; with two down the last gate, though all that is alive, has no quorum and refuses',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, { gate: { proposeTimeoutMs: 3_000 } });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const [down1, down2] = GATE_IDS.filter((id) => id !== leader);
    sim.crash(down1!);
    const taken = await client.ask(leader, submission({ key: 'two-of-three' }));
    assert.ok(taken.ok, `2 of 3 configured gates are a quorum: ${JSON.stringify(taken)}`);
    assert.ok(
      await sim.runUntil(
        () => cluster.gate(down2!).ledger.job(taken.message.job as string) !== undefined,
        { maxMs: 5_000 },
      ),
    );
    sim.crash(down2!);
    const refused = await client.ask(leader, submission({ key: 'one-of-three' }));
    assert.ok(!refused.ok, '1 of 3 is not a quorum, even when it is every live gate');
    assert.equal(refused.error.code, 'E_UNAVAILABLE');
    assert.equal([...cluster.gate(leader).state.machine.ledger.views()].length, 1, 'nothing new');
  },
);
