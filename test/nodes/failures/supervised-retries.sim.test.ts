// Sim test of supervised restarts across many nodes (virtual time, each node its own seeded
// RNG): when a dependency every node's loop uses fails at once, the nodes' restarts spread out
// instead of landing together, stay under the backoff cap, and reach the dependency spread out
// when it recovers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulation } from '../../../src/runtime/sim/index.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { DEFAULT_RESTART_MAX_MS, Supervisor } from '../../../src/nodes/supervisor.js';

const NODES = 12;
const PERIOD_MS = 100;

test('LT-41.24.1 LT-41.24.3 LT-41.24.5 twelve nodes whose loops fail together restart at spread-out times, never past the cap, and come back to the recovered dependency spread out', async () => {
  const sim = new Simulation({ seed: 7 });
  const runtimes = new Map<string, Runtime>();
  for (let i = 0; i < NODES; i++) {
    const id = `n${i}`;
    sim.addNode({ id }, (rt) => void runtimes.set(id, rt));
  }
  await sim.run(1);
  assert.equal(runtimes.size, NODES);
  let dependencyUp = true;
  /** Per node: the times its loop ran. */
  const runs = new Map<string, number[]>();
  const supervisors: Supervisor[] = [];
  for (const [id, rt] of runtimes) {
    const sup = new Supervisor({ timers: rt.timers, rng: rt.rng.fork('sup'), log: rt.log });
    supervisors.push(sup);
    runs.set(id, []);
    sup.every('use-dependency', PERIOD_MS, () => {
      runs.get(id)!.push(sim.nowMs);
      if (!dependencyUp) throw new Error('the dependency is down');
    });
  }
  await sim.run(1_000);
  // The dependency fails for everyone at once, for long enough to reach the backoff cap.
  const downAt = sim.nowMs;
  dependencyUp = false;
  await sim.run(60_000);
  const upAt = sim.nowMs;
  dependencyUp = true;
  await sim.run(15_000);
  const gapsCap = DEFAULT_RESTART_MAX_MS + PERIOD_MS + 1;
  const firstRetries: number[] = [];
  const firstBackAfterRecovery: number[] = [];
  for (const [id, times] of runs) {
    const failing = times.filter((t) => t > downAt && t <= upAt);
    assert.ok(failing.length > 5, `${id} kept retrying`);
    const gaps = failing.slice(1).map((t, i) => t - failing[i]!);
    assert.ok(Math.max(...gaps) <= gapsCap, `${id}: no retry waited past the cap`);
    firstRetries.push(failing[1]! - failing[0]!);
    const back = times.find((t) => t > upAt);
    assert.ok(back !== undefined, `${id} came back`);
    firstBackAfterRecovery.push(back - upAt);
    assert.ok(times.filter((t) => t > upAt + gapsCap).length > 10, `${id} runs every period again`);
  }
  const distinct = (xs: number[]): number => new Set(xs.map((x) => Math.round(x))).size;
  assert.ok(distinct(firstRetries) > NODES / 2, `first retries spread: ${firstRetries.join(', ')}`);
  assert.ok(
    distinct(firstBackAfterRecovery) > NODES / 2,
    `no thundering herd on recovery: ${firstBackAfterRecovery.join(', ')}`,
  );
  const spread = Math.max(...firstBackAfterRecovery) - Math.min(...firstBackAfterRecovery);
  assert.ok(spread >= DEFAULT_RESTART_MAX_MS / 4, `returns spread over ${spread} ms`);
  for (const s of supervisors) s.stop();
});
