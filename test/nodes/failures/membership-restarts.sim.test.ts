// Sim tests of membership restarts and stale traffic on a loaded network (16 real membership
// nodes; links that lose, duplicate and reorder datagrams; invariants checked after every
// event): a node that restarts rejoins at an incarnation above every accusation, duplicated and
// overtaken datagrams never move a view back, and dead members are reaped everywhere on time.

import assert from 'node:assert/strict';
import type { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { MembershipCluster } from '../../cluster/membership/cluster.js';

const N = 16;
/** A busy network: some loss, many duplicates, datagrams overtaking each other. */
const LOADED = {
  defaultLink: {
    latencyMs: { min: 1, max: 20 },
    loss: 0.05,
    duplicate: 0.2,
    reorder: 0.3,
    reorderDelayMs: 400,
  },
};

/** Fails the run if any observer's view of any member goes back in incarnation. */
function watchIncarnations(sim: Simulation, c: MembershipCluster): void {
  const last = new Map<string, number>();
  sim.afterEvent(() => {
    for (const o of c.live()) {
      const node = c.nodes.get(o);
      if (node === undefined) continue;
      for (const m of node.members()) {
        const k = `${o}>${m.id}`;
        const prev = last.get(k);
        if (prev !== undefined && m.incarnation < prev)
          throw new Error(`${o} moved ${m.id} back from incarnation ${prev} to ${m.incarnation}`);
        last.set(k, m.incarnation);
      }
    }
  });
}

simTest(
  'LT-37.1.1 LT-37.1.2 a node restarted under load (lossy, duplicating, reordering links) rejoins: everyone sees it alive again at an incarnation above every one it was suspected or declared dead at, and nobody else is declared dead',
  { seeds: seedsFrom(2), sim: LOADED },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail(120_000);
    watchIncarnations(sim, c);
    const victim = c.ids[(seed * 5) % N]!;
    c.crash(victim);
    await sim.run(15_000);
    c.restart(victim);
    assert.equal(
      await sim.runUntil(() => c.up(victim), { maxMs: 1_000 }),
      true,
      'the restarted process is up',
    );
    assert.ok(await sim.runUntil(() => c.converged(), { maxMs: 120_000 }), 'it rejoined');
    const accusedAt = Math.max(
      -1,
      ...[...c.eventsOf('suspect', victim), ...c.eventsOf('dead', victim)].map((e) =>
        e.event.type === 'suspect' || e.event.type === 'dead' ? e.event.incarnation : -1,
      ),
    );
    assert.ok(accusedAt >= 0, 'it was accused while down');
    const now = c.nodes.get(victim)!.swim.incarnation;
    assert.ok(now > accusedAt, `rejoined at ${now}, above the accusations (${accusedAt})`);
    for (const o of c.live()) {
      if (o === victim) continue;
      assert.equal(c.nodes.get(o)!.member(victim)?.incarnation, now, `${o} holds the new life`);
    }
    assert.deepEqual(
      c.eventsOf('dead').filter((e) => 'id' in e.event && e.event.id !== victim),
      [],
      'no collateral deaths',
    );
  },
);

simTest(
  'LT-37.1.3 duplicated and overtaken datagrams (stale gossip from before a refutation) are rejected: no view ever moves back in incarnation, and the stale updates were seen and counted',
  { seeds: seedsFrom(1), sim: LOADED },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail(120_000);
    watchIncarnations(sim, c);
    // Brief cuts make members suspected and refute, so older-incarnation gossip is in flight.
    for (let round = 0; round < 4; round++) {
      const id = c.ids[(seed + round * 7) % N]!;
      sim.network.isolate(id);
      await sim.run(3_000);
      sim.network.heal();
      await sim.run(10_000);
    }
    assert.ok(await sim.runUntil(() => c.converged(), { maxMs: 120_000 }));
    const stale = c.live().reduce((n, o) => n + c.nodes.get(o)!.swim.counters.staleUpdates, 0);
    const refuted = c.live().reduce((n, o) => n + c.nodes.get(o)!.swim.counters.refutations, 0);
    assert.ok(refuted > 0, 'members refuted suspicions');
    assert.ok(stale > 0, `stale updates arrived and were rejected (${stale})`);
    assert.ok(sim.stats.datagramsDuplicated > 0);
  },
);

simTest(
  'LT-37.1.4 three members crash on a loaded network: each is declared dead and its record reaped on every live member once its reap interval passes, leaving no per-peer state',
  { seeds: seedsFrom(1), sim: LOADED },
  async (sim, seed) => {
    const REAP_MS = 30_000;
    const c = new MembershipCluster(sim, N, { reapIntervalMs: REAP_MS });
    await c.formOrFail(120_000);
    const victims = [0, 1, 2].map((i) => c.ids[(seed * 3 + i * 5) % N]!);
    for (const v of victims) c.crash(v);
    const gone = (): boolean =>
      c.live().every((o) => victims.every((v) => c.statusOf(o, v) === undefined));
    assert.ok(await sim.runUntil(gone, { maxMs: 180_000 }), 'every record reaped');
    for (const o of c.live()) {
      for (const v of victims) {
        const dead = c.eventsOf('dead', v).filter((e) => e.observer === o);
        const reaped = c.eventsOf('reaped', v).filter((e) => e.observer === o);
        assert.equal(dead.length, 1, `${o} declared ${v} dead once`);
        assert.equal(reaped.length, 1, `${o} reaped ${v} once`);
        const r = reaped[0]!;
        assert.ok(r.event.type === 'reaped' && r.event.reason === 'dead');
        assert.ok(r.atMs - dead[0]!.atMs >= REAP_MS - 1, 'not before its reap interval');
        assert.deepEqual(c.nodes.get(o)!.swim.peerStateFootprint(v), []);
      }
    }
    assert.ok(c.converged(), 'the survivors stay whole');
  },
);
