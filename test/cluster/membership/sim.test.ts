// Simulated clusters of membership nodes, many seeds each: crash detection within the stated
// bound, no false deaths under 5% loss, partition detection and healing, flapping (GP-5.3) and
// the peer-lifecycle scenarios GP-1.1 … GP-4.3. Core invariants are checked after every event.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { LAN_CONFIG, detectionBoundMs } from '../../../src/cluster/membership/index.js';
import { MembershipCluster } from './cluster.js';

const N = 8;
/** The detection bound for an 8-member LAN cluster: (2·7 + 1) periods + suspicion max (24 s) = 39 s. */
const BOUND_MS = detectionBoundMs(LAN_CONFIG, N);
/** Reaping happens exactly reapIntervalMs after each observer's own dead event. */
const REAP_MS = LAN_CONFIG.reapIntervalMs;

function pick<T>(items: readonly T[], seed: number): T {
  return items[(seed * 2654435761) % items.length]!;
}

simTest(
  `crash: every live member declares the crashed one dead within ${BOUND_MS / 1000} s (15 periods + suspicion max)`,
  { seeds: seedsFrom(12) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    await sim.run((seed * 7919) % LAN_CONFIG.probeIntervalMs);
    for (const id of c.live())
      assert.equal(c.nodes.get(id)!.swim.localHealthScore, 0, `${id} healthy before the crash`);
    const victim = pick(c.ids, seed);
    const crashedAt = sim.nowMs;
    c.crash(victim);
    const ok = await sim.runUntil(() => c.allSee(victim, ['dead']), { maxMs: BOUND_MS + 1 });
    assert.ok(ok, `not every member declared ${victim} dead within ${BOUND_MS} ms`);
    for (const observer of c.live()) {
      const dead = c.eventsOf('dead', victim).find((e) => e.observer === observer);
      assert.ok(dead, `${observer} has no dead event for ${victim}`);
      assert.ok(dead.atMs - crashedAt <= BOUND_MS, `${observer} took ${dead.atMs - crashedAt} ms`);
    }
    assert.deepEqual(
      c.eventsOf('dead').filter((e) => 'id' in e.event && e.event.id !== victim),
      [],
      'no live member was declared dead',
    );
  },
);

simTest(
  '5% packet loss, no crash: no live member is ever declared dead over 10 simulated minutes (8 nodes)',
  { seeds: seedsFrom(10), sim: { defaultLink: { latencyMs: { min: 1, max: 3 }, loss: 0.05 } } },
  async (sim) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail(120_000);
    await sim.run(10 * 60_000);
    assert.deepEqual(
      c.eventsOf('dead').map((e) => `${e.observer}: ${JSON.stringify(e.event)}`),
      [],
    );
    assert.ok(c.converged(), 'everyone still sees everyone alive');
  },
);

simTest(
  'partition: each side declares the other dead, and after heal every member is alive again (refutation)',
  { seeds: seedsFrom(10) },
  async (sim) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const a = c.ids.slice(0, N / 2);
    const b = c.ids.slice(N / 2);
    sim.network.partition(a, b);
    const split = await sim.runUntil(
      () => a.every((x) => c.allSee(x, ['dead'], b)) && b.every((x) => c.allSee(x, ['dead'], a)),
      { maxMs: BOUND_MS + 1 },
    );
    assert.ok(split, 'each side sees the other side dead within the detection bound');
    assert.ok(
      a.every((x) => c.allSee(x, ['alive'], a)) && b.every((x) => c.allSee(x, ['alive'], b)),
      'each side stays whole',
    );
    sim.network.heal();
    const healed = await sim.runUntil(() => c.converged(), { maxMs: 60_000 });
    assert.ok(healed, 'the cluster is whole again within 60 s of the heal');
    assert.ok(c.eventsOf('refuted').length > 0, 'members came back by refuting their deaths');
    assert.equal(c.eventsOf('reaped').length, 0);
  },
);

simTest(
  'GP-5.3 flapping member: stale recoveries are rejected by incarnation checks; it ends alive at a higher incarnation',
  { seeds: seedsFrom(12) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const victim = pick(c.ids, seed);
    // Every observer's view of the victim must never go back in incarnation, and an alive view
    // after a death needs a strictly higher incarnation.
    const lastInc = new Map<string, number>();
    const deadAt = new Map<string, number>();
    sim.afterEvent(() => {
      for (const o of c.live()) {
        if (o === victim) continue;
        const v = c.nodes.get(o)?.member(victim);
        if (!v) continue;
        const prev = lastInc.get(o) ?? 0;
        if (v.incarnation < prev)
          throw new Error(`${o} moved ${victim} back from incarnation ${prev} to ${v.incarnation}`);
        lastInc.set(o, v.incarnation);
        if (v.status === 'dead') deadAt.set(o, Math.max(deadAt.get(o) ?? -1, v.incarnation));
        const d = deadAt.get(o);
        if (v.status !== 'dead' && d !== undefined && v.incarnation <= d) {
          throw new Error(`${o} revived ${victim} at ${v.incarnation} though it was dead at ${d}`);
        }
      }
    });
    for (let cycle = 0; cycle < 5; cycle++) {
      c.crash(victim);
      await sim.run(8_000 + ((seed * 31 + cycle * 1_777) % 30_000));
      c.restart(victim);
      await sim.run(1_000 + ((seed * 17 + cycle) % 4_000));
    }
    const back = await sim.runUntil(() => c.converged(), { maxMs: 90_000 });
    assert.ok(back, `${victim} is alive everywhere after it stops flapping`);
    const revived = c
      .eventsOf('alive', victim)
      .filter((e) => e.event.type === 'alive' && e.event.previous === 'dead');
    for (const e of revived) {
      const deaths = c
        .eventsOf('dead', victim)
        .filter((d) => d.observer === e.observer && d.atMs <= e.atMs);
      const lastDeath = deaths.at(-1);
      if (lastDeath && lastDeath.event.type === 'dead' && e.event.type === 'alive') {
        assert.ok(
          e.event.incarnation > lastDeath.event.incarnation,
          'revival needs a higher incarnation',
        );
      }
    }
    assert.ok(c.nodes.get(victim)!.swim.counters.refutations > 0 || revived.length === 0);
    assert.deepEqual(
      c.eventsOf('dead').filter((e) => 'id' in e.event && e.event.id !== victim),
      [],
      'nobody else was declared dead',
    );
  },
);

simTest(
  'GP-1.1 GP-3.2 a member that stays down is reaped reapIntervalMs after its death on every member, with all per-peer state purged',
  { seeds: seedsFrom(10) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, 6);
    await c.formOrFail();
    const victim = pick(c.ids, seed);
    c.crash(victim);
    assert.ok(
      await sim.runUntil(() => c.allSee(victim, ['dead']), {
        maxMs: detectionBoundMs(LAN_CONFIG, 6) + 1,
      }),
    );
    await sim.run(REAP_MS - 5_000);
    assert.ok(c.allSee(victim, ['dead']), 'still tracked (dead) just before the reap interval');
    assert.ok(await sim.runUntil(() => c.allSee(victim, [undefined]), { maxMs: 10_000 }));
    for (const o of c.live()) {
      const dead = c.eventsOf('dead', victim).find((e) => e.observer === o)!;
      const reaped = c.eventsOf('reaped', victim).find((e) => e.observer === o);
      assert.ok(reaped, `${o} reaped ${victim}`);
      assert.ok(Math.abs(reaped.atMs - dead.atMs - REAP_MS) < 1e-3, 'reaped on its deadline');
      assert.deepEqual(
        c.nodes.get(o)!.swim.peerStateFootprint(victim),
        [],
        `${o} keeps no state about ${victim}`,
      );
      assert.equal(c.nodes.get(o)!.swim.coordinateTable.has(victim), false);
    }
  },
);

simTest(
  'GP-1.2 a member that recovers before the reap threshold is alive again and never reaped',
  { seeds: seedsFrom(10) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, 6);
    await c.formOrFail();
    const victim = pick(c.ids, seed);
    const incBefore = c.nodes.get(c.ids.find((x) => x !== victim)!)!.member(victim)!.incarnation;
    sim.network.isolate(victim);
    assert.ok(
      await sim.runUntil(() => c.allSee(victim, ['dead']), {
        maxMs: detectionBoundMs(LAN_CONFIG, 6) + 1,
      }),
    );
    sim.network.heal();
    assert.ok(
      await sim.runUntil(() => c.converged(), { maxMs: 60_000 }),
      'back within 60 s of recovery',
    );
    await sim.run(REAP_MS + 10_000);
    assert.ok(c.converged());
    assert.equal(c.eventsOf('reaped', victim).length, 0, 'never reaped');
    for (const o of c.live())
      if (o !== victim) assert.ok(c.nodes.get(o)!.member(victim)!.incarnation > incBefore);
  },
);

simTest(
  'GP-1.3 GP-4.3 several members failing at once are tracked and reaped independently',
  { seeds: seedsFrom(10) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, 10);
    await c.formOrFail();
    const victims = [pick(c.ids, seed), pick(c.ids, seed + 1), pick(c.ids, seed + 2)].filter(
      (v, i, all) => all.indexOf(v) === i,
    );
    for (const v of victims) c.crash(v);
    const bound = detectionBoundMs(LAN_CONFIG, 10);
    assert.ok(
      await sim.runUntil(() => victims.every((v) => c.allSee(v, ['dead'])), { maxMs: bound + 1 }),
    );
    assert.ok(
      await sim.runUntil(() => victims.every((v) => c.allSee(v, [undefined])), {
        maxMs: REAP_MS + 1_000,
      }),
    );
    for (const o of c.live()) {
      for (const v of victims) {
        const dead = c.eventsOf('dead', v).filter((e) => e.observer === o);
        const reaped = c.eventsOf('reaped', v).filter((e) => e.observer === o);
        assert.equal(dead.length, 1, `${o} declared ${v} dead exactly once (AD-31)`);
        assert.equal(reaped.length, 1);
        assert.ok(
          Math.abs(reaped[0]!.atMs - dead[0]!.atMs - REAP_MS) < 1e-3,
          'each member on its own deadline',
        );
        assert.deepEqual(
          c.nodes.get(o)!.swim.peerStateFootprint(v),
          [],
          'no helper circuit, forward or timer left',
        );
      }
    }
    assert.equal(
      c.eventsOf('dead').filter((e) => 'id' in e.event && !victims.includes(e.event.id)).length,
      0,
    );
  },
);

simTest(
  'GP-3.1 a member that comes back after it was reaped is treated as a new member',
  { seeds: seedsFrom(10) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, 6);
    await c.formOrFail();
    const victim = pick(c.ids.slice(2), seed); // not a seed node, so it must rejoin through one
    c.crash(victim);
    assert.ok(
      await sim.runUntil(() => c.allSee(victim, ['dead']), {
        maxMs: detectionBoundMs(LAN_CONFIG, 6) + 1,
      }),
    );
    await sim.run(2 * REAP_MS);
    assert.ok(c.allSee(victim, [undefined]), 'reaped everywhere');
    const mark = c.events.length;
    c.restart(victim);
    assert.ok(await sim.runUntil(() => c.converged(), { maxMs: 60_000 }));
    for (const o of c.live()) {
      if (o === victim) continue;
      const first = c.events
        .slice(mark)
        .find((e) => e.observer === o && 'id' in e.event && e.event.id === victim);
      assert.equal(first?.event.type, 'joined', `${o} first sees ${victim} as a new member`);
    }
  },
);
