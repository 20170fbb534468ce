// Sim tests of UNCONFIRMED peers in SWIM membership (real membership nodes, invariants checked
// after every event): managers that boot before the gate on their bootstrap list confirm it on
// its first answer, a listed peer that never boots is dropped without ever being declared dead,
// gossip alone never confirms a peer, and a flood of updates about one node keeps its state O(1).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemberUpdate } from '../../../src/cluster/membership/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { addr, introduce, makeCore } from '../../cluster/membership/helpers.js';
import { MembershipNet } from './support/membership-net.js';

simTest(
  'LT-41.1.2 managers boot before the gate on their bootstrap list: it stays UNCONFIRMED (never suspected) until it boots, then each confirms it on its first answer',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const net = new MembershipNet(sim);
    const ids = ['m1', 'm2', 'g1'];
    for (const id of ids) net.place(id);
    const list = (self: string) => ids.filter((x) => x !== self).map((x) => net.seedOf(x));
    net.boot('m1', list('m1'));
    net.boot('m2', list('m2'));
    await sim.run(20_000);
    for (const m of ['m1', 'm2']) {
      assert.equal(net.statusOf(m, 'g1'), 'unconfirmed', `${m} has not heard the gate yet`);
    }
    assert.equal(net.statusOf('m1', 'm2'), 'alive', 'the managers confirmed each other');
    const gateBootAt = sim.nowMs;
    net.boot('g1', list('g1'));
    assert.ok(await sim.runUntil(() => net.converged(ids), { maxMs: 30_000 }), 'all confirmed');
    for (const m of ['m1', 'm2']) {
      const confirmed = net.eventsOf('alive', 'g1', m);
      assert.equal(confirmed.length, 1, `${m} confirmed the gate once`);
      const [c] = confirmed;
      assert.ok(c !== undefined && c.event.type === 'alive');
      assert.equal(c.event.previous, 'unconfirmed');
      assert.ok(c.atMs >= gateBootAt, 'only after the gate itself answered');
    }
    assert.deepEqual(net.accusations('g1'), [], 'the late gate was never suspected or dead');
  },
);

simTest(
  'LT-41.1.3 a bootstrap peer that never boots is probed, then dropped as never-confirmed: no node ever suspects it or declares it dead',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const net = new MembershipNet(sim, {
      config: { unconfirmedTimeoutMs: 20_000, unconfirmedMaxFailedProbes: 3 },
    });
    const ids = ['a', 'b', 'c', 'ghost'];
    for (const id of ids) net.place(id);
    const live = ['a', 'b', 'c'];
    for (const id of live)
      net.boot(
        id,
        ids.filter((x) => x !== id).map((x) => net.seedOf(x)),
      );
    await sim.run(5_000);
    for (const o of live) assert.equal(net.statusOf(o, 'ghost'), 'unconfirmed');
    assert.ok(
      await sim.runUntil(() => live.every((o) => net.statusOf(o, 'ghost') === undefined), {
        maxMs: 60_000,
      }),
      'every node dropped the ghost',
    );
    for (const o of live) {
      const reaped = net.eventsOf('reaped', 'ghost', o);
      assert.equal(reaped.length, 1, `${o} dropped it once`);
      const [r] = reaped;
      assert.ok(r !== undefined && r.event.type === 'reaped');
      assert.equal(r.event.reason, 'never-confirmed');
      assert.ok(r.atMs >= 20_000, 'not before the unconfirmed timeout');
      assert.deepEqual(net.nodes.get(o)!.swim.peerStateFootprint('ghost'), [], 'nothing left');
      assert.equal(net.nodes.get(o)!.swim.localHealthScore, 0, 'its silence cost no health');
    }
    assert.deepEqual(net.accusations('ghost'), [], 'never SUSPECT, never DEAD');
    assert.ok(net.converged(live), 'the live members are whole');
  },
);

simTest(
  'LT-41.1.4 a peer known only from gossip stays UNCONFIRMED while it cannot answer us directly, however often others report it alive; the first direct ack confirms it',
  { seeds: seedsFrom(4) },
  async (sim) => {
    const net = new MembershipNet(sim);
    for (const id of ['a', 'b', 'c']) net.place(id);
    net.boot('a', [net.addressSeed('b')]);
    net.boot('b', [net.addressSeed('a')]);
    assert.ok(await sim.runUntil(() => net.converged(['a', 'b']), { maxMs: 20_000 }));
    sim.network.partition(['a'], ['c']);
    net.boot('c', [net.addressSeed('b')]);
    assert.ok(
      await sim.runUntil(() => net.statusOf('a', 'c') !== undefined, { maxMs: 20_000 }),
      'a hears of c through b',
    );
    const heardAt = sim.nowMs;
    await sim.run(40_000);
    assert.equal(net.statusOf('b', 'c'), 'alive', 'b talks to c and gossips it alive');
    assert.equal(net.statusOf('a', 'c'), 'unconfirmed', 'a never heard c itself');
    const joined = net.eventsOf('joined', 'c', 'a');
    assert.equal(joined.length, 1);
    assert.ok(joined[0]!.event.type === 'joined' && joined[0]!.event.status === 'unconfirmed');
    assert.deepEqual(net.eventsOf('alive', 'c', 'a'), [], 'gossip did not confirm it');
    assert.deepEqual(net.accusations('c', ['a']), [], 'nor was it suspected for not answering');
    assert.ok(sim.nowMs - heardAt >= 40_000);
    sim.network.heal();
    assert.ok(await sim.runUntil(() => net.statusOf('a', 'c') === 'alive', { maxMs: 20_000 }));
    const confirmed = net.eventsOf('alive', 'c', 'a');
    assert.equal(confirmed.length, 1);
    assert.ok(
      confirmed[0]!.event.type === 'alive' && confirmed[0]!.event.previous === 'unconfirmed',
    );
  },
);

test('LT-41.1.5 thousands of gossip updates about one node (refutations, suspicions, re-announcements) keep its state O(1): one member record, one queued update, a bounded agenda', () => {
  const a = makeCore('a');
  const b = makeCore('b');
  introduce(a, b, 0);
  introduce(a, makeCore('c'), 1);
  const up = (kind: MemberUpdate['kind'], incarnation: number): MemberUpdate => ({
    kind,
    id: 'c',
    host: 'c',
    port: 7946,
    incarnation,
    from: 'b',
  });
  let maxAgenda = 0;
  const UPDATES = 20_000;
  for (let i = 0; i < UPDATES; i++) {
    // suspect at the current incarnation, then a refutation one higher, and again.
    const kind: MemberUpdate['kind'] = i % 2 === 0 ? 'suspect' : 'alive';
    const incarnation = Math.floor(i / 2) + (kind === 'alive' ? 1 : 0);
    a.step(
      {
        type: 'receive',
        from: addr('b'),
        message: {
          type: 'ping',
          seq: i + 1,
          sender: { id: 'b', host: 'b', port: 7946, incarnation: 0 },
          targetId: 'a',
          updates: [up(kind, incarnation)],
        },
      },
      2 + i * 0.05,
    );
    maxAgenda = Math.max(maxAgenda, a.agendaSize);
    if (i % 1000 === 0) a.checkInvariants();
  }
  assert.equal(a.member('c')?.incarnation, UPDATES / 2, 'every update was applied');
  assert.equal(a.member('c')?.status, 'alive');
  assert.equal(a.memberCount, 2, 'one record per peer');
  assert.ok(a.broadcastQueueSize <= 2, `one pending update per member (${a.broadcastQueueSize})`);
  assert.ok(maxAgenda <= 4 * 2 + 64 + 8, `agenda stayed bounded (${maxAgenda} at most)`);
  a.checkInvariants();
});
