// Sim test of wall clocks drifting apart over a long run (real managers and workers, a fake
// gate): Salvo does not synchronise node clocks; windows are numbered and merged by sequence and
// timeouts run on monotonic time, so drift of seconds between nodes changes nothing.

import assert from 'node:assert/strict';
import { seedsFrom, simTest } from '../../support/sim.js';
import { DcCluster } from '../dc/support/dc-cluster.js';

simTest(
  'LT-24.2.3 wall clocks drifting apart for a minute-long run (a worker +100 ms/s, another −60 ms/s, the leader +20 ms/s: seconds apart by the end) need no clock sync: the job completes, no window is refused and every request is counted once (Salvo relies on sequence numbers and monotonic time instead of syncing clocks)',
  { seeds: seedsFrom(1) },
  async (sim) => {
    const c = new DcCluster(sim, {
      workers: [
        { id: 'w1', cores: 2, synthetic: { durationMs: 60_000 } },
        { id: 'w2', cores: 2, synthetic: { durationMs: 60_000 } },
      ],
    });
    const leaderId = await c.ready();
    const share = {
      config: { type: 'constant-vus', vus: 4, durationMs: 60_000, gracefulStopMs: 0 },
      phase: 0,
    };
    assert.ok((await c.call(leaderId, c.dispatchMsg('job-drift', 'wf', 4, { share }))).ok);
    const drift: Record<string, number> = { w1: 100, w2: -60, [leaderId]: 20 };
    const start = sim.nowMs;
    while (c.gate.done.length === 0 && sim.nowMs - start < 180_000) {
      for (const [id, msPerS] of Object.entries(drift)) sim.jumpClock(id, msPerS);
      await sim.run(1_000);
    }
    const w1 = sim.node('w1').runtime!.clock.wallMs();
    const w2 = sim.node('w2').runtime!.clock.wallMs();
    assert.ok(Math.abs(w1 - w2) > 5_000, `the workers' clocks ended far apart (${w1 - w2} ms)`);
    assert.equal(c.gate.done.length, 1);
    assert.equal(c.gate.done[0]!['outcome'], 'completed');
    const leader = c.managers.get(leaderId)!;
    assert.equal(leader.relay.counters.windowsInvalid, 0, 'no window refused');
    assert.equal(leader.recovery.counters.lost, 0, 'no worker taken for lost');
    assert.equal(c.mergedRequests('job-drift'), c.producedRequests());
  },
);
