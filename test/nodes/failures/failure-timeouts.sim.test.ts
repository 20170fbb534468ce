// Sim tests of failure-detection timeouts (real membership nodes, invariants checked after every
// event): a probe timeout shorter than a busy network's round trips sends probes indirect but
// accuses nobody; the WAN profile's longer timeouts find a crash later than the LAN
// profile; and a node whose own links are slow stretches its timeouts (Lifeguard) instead of
// blaming its peers.

import assert from 'node:assert/strict';
import { MEMBERSHIP_PROFILES } from '../../../src/cluster/membership/config.js';
import { Simulation } from '../../../src/runtime/sim/index.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { MembershipCluster } from '../../cluster/membership/cluster.js';

const N = 8;
/** A loaded LAN: round trips of 120–300 ms. */
const BUSY = { defaultLink: { latencyMs: { min: 60, max: 150 } } };

simTest(
  'LT-31.3.1 an aggressive probe timeout (20 ms against 120–300 ms round trips) makes probers fall back to indirect probes again and again, yet within the protocol period the answers still arrive and no live member is suspected',
  { seeds: seedsFrom(1), sim: BUSY },
  async (sim) => {
    const c = new MembershipCluster(sim, N, { probeTimeoutMs: 20 });
    await c.formOrFail(120_000);
    const from = c.events.length;
    const pingReqsBefore = c.ids.reduce(
      (n, id) => n + c.nodes.get(id)!.swim.counters.sent['ping-req'],
      0,
    );
    await sim.run(60_000);
    const pingReqs =
      c.ids.reduce((n, id) => n + c.nodes.get(id)!.swim.counters.sent['ping-req'], 0) -
      pingReqsBefore;
    assert.ok(pingReqs > 100, `the short timeout fired again and again (${pingReqs} ping-reqs)`);
    const accused = c.events
      .slice(from)
      .filter((e) => e.event.type === 'suspect' || e.event.type === 'dead');
    assert.deepEqual(accused, [], 'yet no live member was suspected');
  },
);

/** Virtual ms from a crash until every live member has declared the victim dead. */
async function detectionMs(
  sim: Simulation,
  profile: 'lan' | 'wan',
  victim: number,
): Promise<number> {
  const c = new MembershipCluster(sim, N, MEMBERSHIP_PROFILES[profile]);
  await c.formOrFail(180_000);
  const id = c.ids[victim % N]!;
  c.crash(id);
  const at = sim.nowMs;
  assert.ok(await sim.runUntil(() => c.allSee(id, ['dead']), { maxMs: 10 * 60_000 }));
  return sim.nowMs - at;
}

simTest(
  'LT-31.3.2 conservative (WAN) timeouts find a crashed member later than the LAN profile does: the same crash is declared dead everywhere several times later, in virtual time',
  { seeds: seedsFrom(1) },
  async (sim, seed) => {
    const lan = await detectionMs(sim, 'lan', seed);
    const wan = await detectionMs(new Simulation({ seed }), 'wan', seed);
    assert.ok(wan > 2 * lan, `WAN detection ${wan.toFixed(0)} ms vs LAN ${lan.toFixed(0)} ms`);
  },
);

simTest(
  'LT-31.3.3 a node whose own links turn slow (1.4 s round trips, longer than a probe period, as if overloaded) raises its local health score, stretching its probe timeouts, and declares none of its healthy peers dead; its score falls back once the links recover',
  { seeds: seedsFrom(2) },
  async (sim, seed) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const slow = c.ids[seed % N]!;
    for (const other of c.ids) {
      if (other !== slow) sim.network.setLink(slow, other, { latencyMs: { min: 700, max: 700 } });
    }
    const from = c.events.length;
    let maxScore = 0;
    const node = c.nodes.get(slow)!;
    for (let i = 0; i < 60; i++) {
      await sim.run(1_000);
      maxScore = Math.max(maxScore, node.swim.localHealthScore);
    }
    assert.ok(maxScore > 0, `the slow node's health score rose (to ${maxScore})`);
    const deathsBySlow = c.events
      .slice(from)
      .filter((e) => e.observer === slow && e.event.type === 'dead');
    assert.deepEqual(deathsBySlow, [], 'it declared none of its healthy peers dead');
    sim.network.clearLinks();
    assert.ok(
      await sim.runUntil(() => node.swim.localHealthScore === 0 && c.converged(), {
        maxMs: 120_000,
      }),
      'its score returns to 0 and the view is whole',
    );
  },
);
