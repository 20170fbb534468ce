// Sim tests of SWIM membership under faults (8 real membership nodes, invariants checked after
// every event): a death most members only hear of by gossip, a suspicion timer that
// confirmations shorten but never restart, a suspected member refuting at a higher incarnation,
// and packet loss that raises suspicions which are all cleared without a false death.

import assert from 'node:assert/strict';
import {
  LAN_CONFIG,
  suspicionMaxMs,
  suspicionMinMs,
} from '../../../src/cluster/membership/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { MembershipCluster } from '../../cluster/membership/cluster.js';

const N = 8;

simTest(
  'LT-41.17.1 LT-41.17.2 a crashed member is declared dead once by every observer, most of them told by gossip; frequent confirmations shorten its suspicion but never keep it from expiring',
  { seeds: seedsFrom(4) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const victim = c.ids[seed % N]!;
    c.crash(victim);
    assert.ok(
      await sim.runUntil(() => c.allSee(victim, ['dead']), { maxMs: 60_000 }),
      'every live member sees the crashed one dead',
    );
    await sim.run(2_000);
    const deaths = c.eventsOf('dead', victim);
    for (const observer of c.live()) {
      assert.equal(
        deaths.filter((e) => e.observer === observer).length,
        1,
        `${observer} was told once`,
      );
    }
    const byGossip = deaths.filter((e) => 'by' in e.event && e.event.by !== e.observer);
    assert.ok(byGossip.length > 0, 'some observers learned the death from another member');
    // The first observer to suspect it got confirmations from the others, and still timed out
    // no later than the unconfirmed maximum after its own suspicion.
    const suspects = c.eventsOf('suspect', victim);
    const first = suspects[0]!;
    const accusers = new Set(suspects.map((e) => e.observer));
    const death = deaths.find((e) => e.observer === first.observer)!;
    assert.ok(accusers.size > 1, 'other members suspected it too: their suspicions confirm it');
    assert.ok(
      death.atMs - first.atMs <= suspicionMaxMs(LAN_CONFIG, N),
      `suspicion expired within its maximum (${death.atMs - first.atMs} ms, ${accusers.size} accusers)`,
    );
    assert.ok(
      death.atMs - first.atMs >= suspicionMinMs(LAN_CONFIG, N) - 1,
      'and not before its minimum',
    );
  },
);

simTest(
  'LT-41.17.4 a member suspected while cut off refutes at a higher incarnation once back: the suspicion clears everywhere and it is never declared dead',
  { seeds: seedsFrom(4) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const victim = c.ids[(seed * 3) % N]!;
    const before = c.nodes.get(victim)!.swim.incarnation;
    sim.network.isolate(victim);
    assert.ok(
      await sim.runUntil(() => c.eventsOf('suspect', victim).length > 0, { maxMs: 20_000 }),
      'someone suspects it',
    );
    sim.network.heal();
    assert.ok(
      await sim.runUntil(() => c.allSee(victim, ['alive']), { maxMs: 30_000 }),
      'everyone sees it alive again',
    );
    const refuted = c.events.filter((e) => e.observer === victim && e.event.type === 'refuted');
    assert.ok(refuted.length > 0, 'the member refuted the suspicion');
    const now = c.nodes.get(victim)!.swim.incarnation;
    assert.ok(now > before, 'at a higher incarnation');
    assert.ok(
      await sim.runUntil(
        () =>
          c
            .live()
            .every(
              (o) =>
                o === victim ||
                c.nodes.get(o)!.member(victim)?.incarnation ===
                  c.nodes.get(victim)!.swim.incarnation,
            ),
        { maxMs: 30_000 },
      ),
      'the refutation reaches every member',
    );
    assert.ok(c.allSee(victim, ['alive']));
    assert.deepEqual(c.eventsOf('dead', victim), [], 'never declared dead');
  },
);

simTest(
  'LT-42.2.5 under 10% packet loss suspicions come and go but every one is cleared: no member is declared dead and the view stays whole',
  { seeds: seedsFrom(3), sim: { defaultLink: { latencyMs: { min: 1, max: 3 }, loss: 0.1 } } },
  async (sim) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail(120_000);
    const from = c.events.length;
    await sim.run(3 * 60_000);
    assert.deepEqual(
      c.eventsOf('dead').map((e) => `${e.observer}: ${JSON.stringify(e.event)}`),
      [],
    );
    assert.ok(
      await sim.runUntil(() => c.converged(), { maxMs: 30_000 }),
      'everyone sees everyone alive',
    );
    // Every suspicion raised under loss was followed by the member being seen alive again.
    const later = c.events.slice(from);
    for (const [i, s] of later.entries()) {
      if (s.event.type !== 'suspect') continue;
      const id = s.event.id;
      const cleared = later
        .slice(i + 1)
        .some((e) => e.observer === s.observer && e.event.type === 'alive' && e.event.id === id);
      assert.ok(cleared, `${s.observer}'s suspicion of ${id} at ${s.atMs} ms was cleared`);
    }
  },
);
