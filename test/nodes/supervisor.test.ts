// The supervisor on the simulated runtime (virtual time, seeded RNG): a failing loop is logged,
// counted and restarted after a bounded, jittered backoff that resets once a step succeeds; an
// `escalate` loop stops and calls the shell's fail-stop once; stop() ends every loop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulation } from '../../src/runtime/sim/index.js';
import type { Runtime } from '../../src/runtime/types.js';
import { DEFAULT_RESTART_MAX_MS, Supervisor, SupervisorError } from '../../src/nodes/supervisor.js';

async function simRuntime(seed = 1): Promise<{ sim: Simulation; rt: Runtime }> {
  const sim = new Simulation({ seed });
  let runtime: Runtime | undefined;
  sim.addNode({ id: 'n1' }, (rt) => {
    runtime = rt;
  });
  await sim.run(1);
  assert.ok(runtime);
  return { sim, rt: runtime };
}

function supervisorOn(rt: Runtime, onEscalate?: (loop: string, e: unknown) => void): Supervisor {
  return new Supervisor({
    timers: rt.timers,
    rng: rt.rng.fork('sup'),
    log: rt.log,
    ...(onEscalate ? { onEscalate } : {}),
  });
}

test('a periodic loop that throws is restarted with doubling, bounded, jittered backoff', async () => {
  const { sim, rt } = await simRuntime();
  const sup = supervisorOn(rt);
  const runsAt: number[] = [];
  let failUntil = 6;
  const loop = sup.every('probe', 10, () => {
    runsAt.push(sim.nowMs);
    if (runsAt.length <= failUntil) throw new Error(`boom ${runsAt.length}`);
  });
  await sim.run(60_000);
  const st = loop.stats;
  assert.equal(st.failures, 6);
  assert.equal(st.restarts, 6, 'restarted after every failure');
  assert.equal(st.consecutiveFailures, 0, 'reset by the first step that succeeded');
  assert.match(st.lastError ?? '', /boom 6/);
  // Gaps between failing runs: restart delay (≤ base·2^(n-1), ≥ half of it) + one period.
  const gaps = runsAt.slice(1, 7).map((t, i) => t - runsAt[i]!);
  for (const [i, gap] of gaps.entries()) {
    const full = Math.min(DEFAULT_RESTART_MAX_MS, 50 * 2 ** i);
    assert.ok(
      gap >= full / 2 + 10 - 1 && gap <= full + 10 + 1,
      `gap ${i}: ${gap} ms (full ${full})`,
    );
  }
  assert.ok(runsAt.length > 100, 'runs every period once healthy again');
  assert.ok(
    sim.logs.filter((l) => l.includes('supervised loop failed; restarting')).length === 6,
    'each failure is logged',
  );
  // Backoff is bounded even after many failures.
  failUntil = Number.POSITIVE_INFINITY;
  const before = runsAt.length;
  await sim.run(120_000);
  const late = runsAt.slice(before);
  const lateGaps = late.slice(1).map((t, i) => t - late[i]!);
  assert.ok(lateGaps.length > 20, `kept restarting (${lateGaps.length})`);
  assert.ok(Math.max(...lateGaps) <= DEFAULT_RESTART_MAX_MS + 10 + 1, 'delay capped');
  assert.ok(new Set(lateGaps.map((g) => Math.round(g))).size > 5, 'jittered, not fixed');
  sup.stop();
});

test('a self-arming loop is restarted through its restart function; run() steps are supervised too', async () => {
  const { sim, rt } = await simRuntime(2);
  const sup = supervisorOn(rt);
  let ticks = 0;
  let restarts = 0;
  let throwNext = false;
  const arm = (): void =>
    loop.after(100, () => {
      ticks++;
      if (throwNext) {
        throwNext = false;
        throw new Error('tick failed before re-arming');
      }
      arm();
    });
  const loop = sup.loop('swim', {
    restart: () => {
      restarts++;
      arm();
    },
  });
  arm();
  await sim.run(1_000);
  const before = ticks;
  throwNext = true;
  await sim.run(1_000);
  assert.equal(restarts, 1);
  assert.ok(ticks > before + 5, 'ticking again after the failure');
  loop.run(() => {
    throw new Error('input step failed');
  });
  await sim.run(1_000);
  assert.equal(restarts, 2);
  assert.equal(loop.stats.failures, 2);
  assert.throws(() => sup.loop('swim'), SupervisorError, 'one live loop per name');
});

test('an escalate loop stops at its first failure and calls the fail-stop once', async () => {
  const { sim, rt } = await simRuntime(3);
  const escalated: string[] = [];
  const sup = supervisorOn(rt, (name, e) =>
    escalated.push(`${name}: ${e instanceof Error ? e.message : ''}`),
  );
  let runs = 0;
  const loop = sup.every(
    'raft-tick',
    10,
    () => {
      runs++;
      if (runs === 3) throw new Error('invariant');
    },
    { policy: 'escalate' },
  );
  await sim.run(1_000);
  assert.equal(runs, 3, 'never run again');
  assert.deepEqual(escalated, ['raft-tick: invariant']);
  assert.equal(loop.stats.stopped, true);
  loop.run(() => assert.fail('a stopped loop runs nothing'));
});

test('stop() ends every loop, including a pending restart', async () => {
  const { sim, rt } = await simRuntime(4);
  const sup = supervisorOn(rt);
  let a = 0;
  let b = 0;
  sup.every('a', 10, () => {
    a++;
  });
  sup.every('b', 10, () => {
    b++;
    throw new Error('always');
  });
  await sim.run(100);
  sup.stop();
  const [a0, b0] = [a, b];
  await sim.run(10_000);
  assert.equal(a, a0);
  assert.equal(b, b0);
  assert.ok(sup.stats().every((s) => s.stopped));
  assert.throws(() => sup.loop('c'), SupervisorError);
});
