// LT-42.4.5: the ledger leader loses its quorum in the middle of a submission storm. It steps
// down; what it could not commit is never acknowledged (clients retry elsewhere); after the
// partition heals every acknowledged job is in every gate's ledger, one job per key.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import type { RpcReply } from '../../../src/protocol/index.js';
import { GATE_IDS, GateCluster, SimClient, submission } from './support/gate-cluster.js';

const KEYS = 300;

simTest(
  'LT-42.4.5: the ledger leader is cut off mid-storm, steps down, acknowledges nothing it could not commit; one job per key after healing',
  { seeds: seedsFrom(3), timeoutMs: 300_000 },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        { id: 'a-m1', dc: 'a', leader: true, mode: 'hang' },
        { id: 'b-m1', dc: 'b', leader: true, mode: 'hang' },
      ],
      gate: { rateLimit: { burst: 100_000, perSecond: 100_000 }, proposeTimeoutMs: 2_000 },
    });
    const client = new SimClient(sim, cluster);
    const oldLeader = await cluster.waitForLeader();
    let n = 0;
    const gate = (): string => GATE_IDS[n++ % GATE_IDS.length] ?? 'g1';
    const accepted = new Map<string, string[]>();
    let refusedWhileCut = 0;
    let cut = false;
    let leaderWhileCut = false;
    let done = 0;
    const send = async (key: string): Promise<void> => {
      const body = submission({ key, dcs: ['a', 'b'], durationMs: 3_600_000 });
      for (let attempt = 0; attempt < 40; attempt++) {
        const to = gate();
        const r: RpcReply = await client.start(to, body, 5_000);
        if (r.ok) {
          accepted.set(key, [...(accepted.get(key) ?? []), r.message.job as string]);
          return;
        }
        if (cut && to === oldLeader) refusedWhileCut++;
        await new Promise<void>((resolve) => client.runtime?.timers.after(200, resolve));
      }
    };
    for (let i = 0; i < KEYS; i++) {
      sim.at(i * 10, `submit ${i}`, () => void send(`key-${i}`).then(() => done++));
    }
    // A third of the way in, the leader loses both followers (clients still reach it).
    sim.at(1_000, 'cut the leader off', () => {
      cut = true;
      sim.network.partition(
        [oldLeader],
        GATE_IDS.filter((g) => g !== oldLeader),
      );
    });
    sim.at(5_000, 'check the old leader stepped down', () => {
      leaderWhileCut = cluster.gate(oldLeader).isLeader;
    });
    sim.at(6_000, 'heal', () => {
      cut = false;
      sim.network.heal();
    });
    assert.ok(
      await sim.runUntil(() => done === KEYS, { maxMs: 120_000 }),
      `${done} of ${KEYS} answered`,
    );
    assert.equal(leaderWhileCut, false, 'the cut-off leader stepped down');
    assert.ok(refusedWhileCut > 0, 'the cut-off gate refused what it could not commit');
    // Every key answered, always with the same job; each acknowledged job in every ledger.
    assert.equal(accepted.size, KEYS);
    const jobs = new Set<string>();
    for (const [key, list] of accepted) {
      assert.equal(new Set(list).size, 1, `key ${key}: ${list.join(', ')}`);
      jobs.add(list[0]!);
    }
    assert.equal(jobs.size, KEYS);
    await sim.runUntil(
      () =>
        [...cluster.gates.values()].every((g) =>
          [...jobs].every((j) => g.ledger.job(j) !== undefined),
        ),
      { maxMs: 20_000 },
    );
    for (const g of cluster.gates.values()) {
      assert.equal(g.ledger.size, KEYS, `gate ${g.id} holds ${g.ledger.size} jobs`);
      for (const j of jobs) assert.ok(g.ledger.job(j) !== undefined, `gate ${g.id} lacks ${j}`);
    }
  },
);
