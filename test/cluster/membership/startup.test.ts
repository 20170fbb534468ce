// Concurrent startup with a static bootstrap list (ids known, so every peer starts UNCONFIRMED)
// on lossy links, one member arriving late: a node never suspects a peer it has not heard from
// directly — not on its own probes, not on another node's "suspect" gossip — and everyone ends
// up alive. The core invariant (no SUSPECT member that is unconfirmed) is checked after every
// simulated event.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { MembershipNode } from '../../../src/nodes/membership/index.js';
import type { MembershipEvent } from '../../../src/cluster/membership/index.js';
import { SIM_KEYRING } from './cluster.js';

const IDS = ['g1', 'g2', 'g3'];
/** g3 boots this much later than g1 and g2. */
const LATE_MS = 3_000;

simTest(
  'LT-41.1.1 three gates start together (one 3 s late) on lossy links: unconfirmed peers are not suspected during startup',
  { seeds: seedsFrom(20), sim: { defaultLink: { latencyMs: { min: 1, max: 5 }, loss: 0.2 } } },
  async (sim) => {
    const nodes = new Map<string, MembershipNode>();
    const events: { observer: string; event: MembershipEvent }[] = [];
    const address = (id: string) => ({ host: `dc1/${id}`, port: 7000 });
    const boot = (id: string): void => {
      sim.addNode({ id, dc: 'dc1', address: address(id) }, async (rt) => {
        const seeds = IDS.filter((x) => x !== id).map((x) => ({ id: x, address: address(x) }));
        const node = await MembershipNode.start(rt, { seeds, gossip: { keyring: SIM_KEYRING } });
        nodes.set(id, node);
        node.onEvent((event) => events.push({ observer: id, event }));
      });
    };
    sim.afterEvent(() => {
      for (const [id, node] of nodes) if (sim.node(id).up) node.swim.checkInvariants();
    });
    boot('g1');
    boot('g2');
    sim.at(LATE_MS, 'late boot', () => boot('g3'));
    const allAlive = (): boolean =>
      nodes.size === 3 &&
      [...nodes].every(([o, n]) => IDS.every((id) => id === o || n.member(id)?.status === 'alive'));
    const ok = await sim.runUntil(allAlive, { maxMs: 60_000 });
    await sim.run(10_000);
    // Every suspicion is of a peer its observer had already confirmed (an alive event before it).
    for (const [i, { observer, event }] of events.entries()) {
      if (event.type !== 'suspect') continue;
      const confirmedBefore = events
        .slice(0, i)
        .some(
          (e) => e.observer === observer && e.event.type === 'alive' && e.event.id === event.id,
        );
      assert.ok(confirmedBefore, `${observer} suspected ${event.id} before hearing from it`);
    }
    assert.ok(ok, 'every gate sees every other alive');
  },
);
