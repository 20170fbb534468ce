// LT-42.4 sim tests of submission storms through three real gates (fake managers of the gate
// harness): DC choice by free cores keeps working while the storm fills the DCs, and a storm that
// loses the ledger's quorum midway — the leader steps down, submissions get structured refusals,
// nothing accepted is lost, and the storm goes on once quorum is back.

import assert from 'node:assert/strict';
import { simTest } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GATE_IDS, GateCluster, SimClient, submission } from '../gate/support/gate-cluster.js';

const LONG_MS = 3_600_000;

simTest(
  'LT-42.4.3 under a storm of 200 submissions without named DCs, jobs go to the DC with the most free cores and spill over as it fills',
  { seeds: [1, 2], timeoutMs: 300_000 },
  async (sim) => {
    // a: 200 cores, b: 100; every running job holds one core; jobs never end (a storm).
    const cluster = new GateCluster(sim, {
      managers: [
        {
          id: 'a-m1',
          dc: 'a',
          leader: true,
          mode: 'hang',
          workers: 4,
          cores: 50,
          coresPerDispatch: 1,
        },
        {
          id: 'b-m1',
          dc: 'b',
          leader: true,
          mode: 'hang',
          workers: 4,
          cores: 25,
          coresPerDispatch: 1,
        },
      ],
      gate: { rateLimit: { burst: 100_000, perSecond: 100_000 } },
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const WAVES = 10;
    const PER_WAVE = 20;
    const first: string[] = [];
    let refused = 0;
    for (let w = 0; w < WAVES; w++) {
      const replies: RpcReply[] = [];
      for (let i = 0; i < PER_WAVE; i++) {
        const gate = GATE_IDS[(w + i) % GATE_IDS.length]!;
        void client
          .start(gate, submission({ dcCount: 1, durationMs: LONG_MS, key: `k-${w}-${i}` }))
          .then((r) => replies.push(r));
      }
      assert.ok(await sim.runUntil(() => replies.length === PER_WAVE, { maxMs: 30_000 }));
      for (const r of replies) {
        if (!r.ok) {
          refused++;
          continue;
        }
        assert.equal((r.message.targetDcs as string[]).length, 1);
        if (w === 0) first.push((r.message.targetDcs as string[])[0]!);
      }
      // Past the gates' capacity cache, so the next wave sees the new free cores.
      await sim.run(3_000);
    }
    assert.equal(refused, 0, 'every submission accepted');
    await sim.runUntil(() => cluster.allDispatches().length === WAVES * PER_WAVE, {
      maxMs: 30_000,
    });
    const a = cluster.manager('a-m1').runningCount();
    const b = cluster.manager('b-m1').runningCount();
    assert.equal(a + b, WAVES * PER_WAVE, 'each job dispatched once');
    // The bigger DC took the first wave, and the smaller one got work once the bigger filled.
    assert.ok(
      first.every((dc) => dc === 'a'),
      `first wave went to ${first.join(',')}`,
    );
    assert.ok(b > 0, 'jobs spilled over to b');
    assert.ok(a > b, `a (${a}) took more than b (${b})`);
    // Free cores ended level (within one wave): routing followed capacity, not a round robin
    // (which would leave a with 100 free and b with none).
    const freeA = 200 - a;
    const freeB = 100 - b;
    assert.ok(Math.abs(freeA - freeB) <= PER_WAVE, `free cores a=${freeA} b=${freeB}`);
  },
);

simTest(
  'LT-42.4.5 the ledger loses its quorum mid-storm: the leader steps down, submissions are refused with E_UNAVAILABLE, and none accepted is lost',
  { seeds: [1, 2, 3], timeoutMs: 300_000 },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
      gate: { rateLimit: { burst: 100_000, perSecond: 100_000 } },
    });
    const client = new SimClient(sim, cluster);
    const leader = await cluster.waitForLeader();
    const others = GATE_IDS.filter((g) => g !== leader);
    const accepted = new Map<string, string>(); // key → job
    const codes = new Map<string, number>();
    let n = 0;
    const wave = async (gates: readonly string[], size: number): Promise<void> => {
      const pending: Promise<void>[] = [];
      let done = 0;
      for (let i = 0; i < size; i++) {
        const key = `k-${n++}`;
        const gate = gates[i % gates.length]!;
        pending.push(
          client
            .start(gate, submission({ dcs: ['a', 'b'], durationMs: LONG_MS, key }), 15_000)
            .then((r) => {
              done++;
              if (r.ok) accepted.set(key, r.message.job as string);
              else codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
            }),
        );
      }
      assert.ok(await sim.runUntil(() => done === size, { maxMs: 60_000 }), 'every answer came');
    };
    await wave(GATE_IDS, 60);
    const before = accepted.size;
    assert.equal(before, 60, JSON.stringify([...codes]));
    // Mid-storm: both followers die; the storm goes on against the leader.
    const storm = wave([leader], 30);
    sim.crash(others[0]!);
    sim.crash(others[1]!);
    await storm;
    // The lone leader stepped down (check-quorum) instead of serving without a majority.
    assert.ok(
      await sim.runUntil(() => !cluster.gate(leader).isLeader, { maxMs: 5_000 }),
      'the leader stepped down',
    );
    const codesBefore = new Map(codes);
    const acceptedBefore = accepted.size;
    await wave([leader], 20);
    assert.equal(accepted.size, acceptedBefore, 'nothing is accepted without a quorum');
    const refusedNow = (codes.get('E_UNAVAILABLE') ?? 0) - (codesBefore.get('E_UNAVAILABLE') ?? 0);
    assert.equal(refusedNow, 20, `refusals: ${JSON.stringify([...codes])}`);
    for (const code of codes.keys()) assert.equal(code, 'E_UNAVAILABLE');
    // Quorum back: a leader again, the storm is served, and every accepted job is in the ledger.
    sim.restart(others[0]!);
    sim.restart(others[1]!);
    assert.ok(
      await sim.runUntil(() => cluster.leader() !== null && cluster.gates.size === 3, {
        maxMs: 20_000,
      }),
    );
    await wave(GATE_IDS, 30);
    assert.ok(accepted.size >= acceptedBefore + 25, `accepted ${accepted.size}`);
    const jobs = new Set(accepted.values());
    assert.equal(jobs.size, accepted.size, 'no job id answers two keys');
    await sim.runUntil(
      () => [...cluster.gates.values()].every((g) => [...jobs].every((j) => g.ledger.job(j))),
      { maxMs: 20_000 },
    );
    for (const g of cluster.gates.values())
      for (const j of jobs) assert.ok(g.ledger.job(j) !== undefined, `${g.id} lost ${j}`);
  },
);
