// Sim tests of retry policy: supervised restarts at the backoff cap never settle into a fixed
// period or a shared phase across nodes (each delay drawn anew from the node's seeded RNG), and
// a DC leader's refusal that is not retryable fails the part at once, even with a retry-after.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulation } from '../../../src/runtime/sim/index.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { DEFAULT_RESTART_MAX_MS, Supervisor } from '../../../src/nodes/supervisor.js';
import { seedsFrom, simTest } from '../../support/sim.js';
import { GateCluster, SimClient, submission } from '../gate/support/gate-cluster.js';

test('LT-41.24.2 restarts held at the backoff cap do not align into a period: each node’s gaps vary and two nodes that failed together drift apart (Salvo draws a fresh jittered delay per restart rather than decorrelated jitter; the effect checked is the same)', async () => {
  const sim = new Simulation({ seed: 11 });
  const runtimes = new Map<string, Runtime>();
  for (const id of ['n0', 'n1']) sim.addNode({ id }, (rt) => void runtimes.set(id, rt));
  await sim.run(1);
  const runs = new Map<string, number[]>();
  const supervisors: Supervisor[] = [];
  for (const [id, rt] of runtimes) {
    const sup = new Supervisor({ timers: rt.timers, rng: rt.rng.fork('sup'), log: rt.log });
    supervisors.push(sup);
    runs.set(id, []);
    sup.every('dependency', 100, () => {
      runs.get(id)!.push(sim.nowMs);
      throw new Error('the dependency is down');
    });
  }
  await sim.run(5 * 60_000);
  for (const s of supervisors) s.stop();
  // Only the restarts at the cap (after the doubling phase).
  const atCap = (id: string): number[] => runs.get(id)!.filter((t) => t > 30_000);
  for (const id of runtimes.keys()) {
    const times = atCap(id);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(gaps.length > 50, `${id} kept retrying (${gaps.length})`);
    const distinct = new Set(gaps.map((g) => Math.round(g))).size;
    assert.ok(
      distinct > gaps.length * 0.8,
      `${id}: gaps are not one period (${distinct} distinct)`,
    );
    assert.ok(
      Math.max(...gaps) <= DEFAULT_RESTART_MAX_MS + 100 + 1,
      'never past the cap (plus one period)',
    );
  }
  // Phase between the two nodes: the offset from each n0 retry to the nearest n1 retry moves
  // around instead of staying near zero (locked together) or near any fixed value.
  const a = atCap('n0');
  const b = atCap('n1');
  const offsets = a.map((t) => Math.min(...b.map((u) => Math.abs(u - t))));
  const close = offsets.filter((o) => o < 50).length;
  assert.ok(close < offsets.length * 0.2, `rarely retry together (${close} of ${offsets.length})`);
  const mean = offsets.reduce((s, o) => s + o, 0) / offsets.length;
  const sd = Math.sqrt(offsets.reduce((s, o) => s + (o - mean) ** 2, 0) / offsets.length);
  assert.ok(sd > 200, `their phase wanders (sd ${sd.toFixed(0)} ms)`);
});

simTest(
  'LT-41.24.4 a DC leader refusal that is not retryable (an invalid plan) fails the part at once: one dispatch, no retry even though the refusal names a retry-after',
  { seeds: seedsFrom(2) },
  async (sim) => {
    const cluster = new GateCluster(sim, {
      managers: [
        {
          id: 'a-m1',
          dc: 'a',
          leader: true,
          refuse: { code: 'E_INVALID_PLAN', retryAfterMs: 5_000, times: 1_000 },
        },
      ],
    });
    const client = new SimClient(sim, cluster);
    await cluster.waitForLeader();
    const accepted = await client.ask('g1', submission({ dcs: ['a'], durationMs: 60_000 }));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    const job = accepted.message.job as string;
    assert.ok((await client.ask('g1', { t: 'job.watch', job })).ok);
    assert.ok(
      await sim.runUntil(() => client.notes.some((n) => n.t === 'job.result'), { maxMs: 60_000 }),
    );
    const m = cluster.manager('a-m1');
    assert.equal(m.dispatchTimes.length, 1, 'sent once, never again');
    const result = client.notes.find((n) => n.t === 'job.result')!;
    assert.equal(result.status, 'failed');
    assert.match(result.failure as string, /E_INVALID_PLAN/);
    // Failed before the retry-after the refusal named could even have elapsed.
    assert.ok(sim.nowMs - m.dispatchTimes[0]! < 5_000, 'failed fast');
  },
);
