// ramping-vus over a virtual clock: VUs retired on a ramp-down are reused on the next ramp-up,
// so repeated ramps never allocate more VUs (clients, connections) than the peak needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rampingVus } from '../../src/api/executors.js';
import { startExecutor, type ExecutorHost } from '../../src/engine/executors/index.js';

interface FakeVu {
  retire: boolean;
  id: number;
}

function virtualHost(iterationMs: number) {
  let now = 0;
  const timers: { at: number; seq: number; fn: () => void }[] = [];
  let seq = 0;
  const schedule = (delay: number, fn: () => void): void => {
    timers.push({ at: now + delay, seq: seq++, fn });
  };
  let allocated = 0;
  let maxBusy = 0;
  let busy = 0;
  const host: ExecutorHost<FakeVu> = {
    now: () => now,
    stopping: false,
    newVu: () => ({ retire: false, id: ++allocated }),
    acquireVu: () => null,
    releaseVu: () => undefined,
    iterate: (vu, _start, done) => {
      busy++;
      maxBusy = Math.max(maxBusy, busy);
      schedule(iterationMs, () => {
        busy--;
        done(vu);
      });
    },
    warmUp: (_vus, ready) => ready(),
    dropped: () => undefined,
    setTimer: (fn, ms) => schedule(ms, fn),
    clearTimer: () => undefined,
    defer: (fn) => schedule(0, fn),
  };
  const runUntil = async (endMs: number): Promise<void> => {
    while (timers.length > 0) {
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers[0];
      if (!next || next.at > endMs) break;
      timers.shift();
      now = next.at;
      next.fn();
      await Promise.resolve();
    }
  };
  return { host, runUntil, allocated: () => allocated, maxBusy: () => maxBusy };
}

test('ramping-vus reuses retired VUs across repeated ramps instead of allocating new ones', async () => {
  const cycle = [
    { duration: '1s', target: 5 },
    { duration: '1s', target: 0 },
  ];
  const config = rampingVus({ startVus: 0, stages: [...cycle, ...cycle, ...cycle, ...cycle] });
  const fake = virtualHost(30);
  const run = startExecutor(fake.host, config, 0);
  let finished = false;
  void run.scheduled.then(() => (finished = true));
  await fake.runUntil(20_000);
  assert.ok(finished, 'the executor finished its stages');
  assert.ok(fake.maxBusy() >= 4, `the ramp reached its peak (${fake.maxBusy()} busy at once)`);
  assert.ok(
    fake.allocated() <= 6,
    `4 ramps to 5 VUs allocated ${fake.allocated()} VUs (peak 5, +1 still finishing)`,
  );
});
