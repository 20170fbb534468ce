// The membership node shell under its supervisor: a SWIM step that throws from the node's own
// timer used to leave the timer unarmed, so an isolated node (no datagrams to wake it) stalled
// for good. Now the failure is logged and counted, the loop restarts after a backoff, and the
// isolated node goes on to suspect and then declare its unreachable peers dead.

import assert from 'node:assert/strict';
import { simTest, seedsFrom } from '../../support/sim.js';
import { LAN_CONFIG, detectionBoundMs } from '../../../src/cluster/membership/index.js';
import { MembershipCluster } from './cluster.js';

const N = 4;
const BOUND_MS = detectionBoundMs(LAN_CONFIG, N);

simTest(
  'membership: a step that throws from the timer is restarted by the supervisor; an isolated node still detects its peers dead',
  { seeds: seedsFrom(5) },
  async (sim) => {
    const c = new MembershipCluster(sim, N);
    await c.formOrFail();
    const victim = c.ids[0]!;
    const node = c.nodes.get(victim)!;
    const swim = node.swim;
    const step = swim.step.bind(swim);
    let injected = 0;
    swim.step = (input, nowMs) => {
      if (input.type === 'tick' && injected === 0) {
        injected++;
        throw new Error('injected failure of a timer step');
      }
      return step(input, nowMs);
    };
    sim.network.isolate(victim);
    const others = c.ids.filter((id) => id !== victim);
    const detected = await sim.runUntil(
      () => others.every((id) => c.statusOf(victim, id) === 'dead'),
      { maxMs: 2 * BOUND_MS },
    );
    assert.equal(injected, 1, 'the failure was injected');
    assert.ok(detected, `${victim} kept probing and declared every unreachable peer dead`);
    const [loop] = node.supervision();
    assert.equal(loop?.failures, 1, 'the failure was counted');
    assert.ok((loop?.restarts ?? 0) >= 1, 'the loop was restarted');
    assert.ok(
      sim.logs.some((l) => l.includes('supervised loop failed') && l.includes('injected failure')),
      'the failure was logged',
    );
  },
);
