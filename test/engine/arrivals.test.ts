// The open-model scheduler over a virtual clock: a generator that fell behind catches up one
// free VU at a time at each iteration's own scheduled start (no burst that exhausts the pool,
// nothing dropped while VUs come free); an iteration waits for a VU at most MAX_VU_WAIT_MS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantArrivalRate } from '../../src/api/executors.js';
import {
  EARLY_START_MS,
  MAX_VU_WAIT_MS,
  startExecutor,
  type ExecutorHost,
} from '../../src/engine/executors/index.js';

interface FakeVu {
  retire: boolean;
  id: number;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** A host on a virtual clock with a fixed pool; the test decides when iterations end. */
function virtualHost(poolSize: number) {
  let now = 0;
  let seq = 0;
  const timers: Timer[] = [];
  const idle: FakeVu[] = [];
  const running: { vu: FakeVu; done: (vu: FakeVu) => void }[] = [];
  const starts: { scheduled: number; at: number }[] = [];
  let allocated = 0;
  let dropped = 0;
  const host: ExecutorHost<FakeVu> = {
    now: () => now,
    stopping: false,
    newVu: () => ({ retire: false, id: ++allocated }),
    acquireVu: (maxVus) =>
      idle.pop() ?? (allocated < Math.min(maxVus, poolSize) ? host.newVu() : null),
    releaseVu: (vu) => {
      idle.push(vu);
    },
    iterate: (vu, scheduledStart, done) => {
      starts.push({ scheduled: scheduledStart, at: now });
      running.push({ vu, done });
    },
    warmUp: (_vus, ready) => ready(),
    dropped: () => {
      dropped++;
    },
    setTimer: (fn, ms) => {
      const timer = { at: now + Math.max(1, ms), seq: seq++, fn, live: true };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      (handle as Timer).live = false;
    },
    defer: (fn) => {
      timers.push({ at: now, seq: seq++, fn, live: true });
    },
  };
  return {
    host,
    starts,
    dropped: () => dropped,
    running: () => running.length,
    /** Ends the oldest running iteration (its VU is released). */
    finishOne(): void {
      const r = running.shift();
      r?.done(r.vu);
    },
    /** Moves the clock to `t` without running timers (the generator was paused). */
    pauseUntil(t: number): void {
      now = t;
    },
    /** Runs due timers in order up to `t`, ending every iteration `latencyMs` after it began. */
    runUntil(t: number): void {
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers[0];
        if (next === undefined || next.at > t) break;
        timers.shift();
        if (!next.live) continue;
        now = Math.max(now, next.at);
        next.fn();
      }
      now = Math.max(now, t);
    },
  };
}

function start(host: ExecutorHost<FakeVu>, rate: number, seconds: number, vus: number) {
  const config = constantArrivalRate({
    rate,
    duration: `${seconds}s`,
    preAllocatedVus: vus,
    maxVus: vus,
  });
  let finished = false;
  const run = startExecutor(host, config, 0);
  void run.scheduled.then(() => (finished = true));
  return { finished: () => finished };
}

void test('after a 30 ms pause, 300 late iterations start on a pool of 100 as VUs free up: none dropped, each timed from its own schedule', () => {
  const fake = virtualHost(100);
  start(fake.host, 10_000, 1, 100); // one every 0.1 ms
  fake.pauseUntil(30); // the generator was paused: 300 iterations are due at once
  fake.runUntil(30);
  assert.equal(fake.running(), 100, 'the first run starts only what the pool can take');
  assert.equal(fake.dropped(), 0, 'the rest wait for a free VU');
  // Responses come back: each freed VU takes the next late iteration at once.
  for (let i = 0; i < 200; i++) fake.finishOne();
  assert.equal(fake.dropped(), 0);
  assert.equal(fake.starts.length, 300);
  fake.starts.forEach((s, i) => {
    // Late: timed from its schedule; the first few started early at 0, timed from then.
    const expected = Math.min(i * 0.1, s.at);
    assert.ok(Math.abs(s.scheduled - expected) < 1e-9, `iteration ${i} timed from ${s.scheduled}`);
  });
  assert.ok(fake.starts.filter((s) => s.at === 30).length >= 290, 'all but the first few ran late');
});

void test('a pool that never frees up drops each iteration once it has waited MAX_VU_WAIT_MS; started + dropped = scheduled', async () => {
  const fake = virtualHost(5);
  const run = start(fake.host, 1000, 1, 5); // one per ms, 5 VUs, nothing ever ends
  fake.runUntil(MAX_VU_WAIT_MS - 1);
  assert.equal(fake.starts.length, 5);
  assert.equal(fake.dropped(), 0, 'nothing has waited MAX_VU_WAIT_MS yet');
  fake.runUntil(1000 + MAX_VU_WAIT_MS + 5);
  await Promise.resolve();
  assert.ok(run.finished(), 'the schedule ended');
  assert.equal(fake.starts.length + fake.dropped(), 1000);
  assert.equal(fake.dropped(), 995);
});

void test('an iteration due within EARLY_START_MS starts at once, timed from its actual start', () => {
  const fake = virtualHost(10);
  start(fake.host, 1000 / (EARLY_START_MS * 0.8), 1, 10); // interval just under EARLY_START_MS
  fake.runUntil(0);
  const [first, second] = fake.starts;
  assert.ok(first && second, 'the second iteration started in the same run as the first');
  assert.equal(second.at, 0);
  assert.equal(second.scheduled, 0, 'timed from when it actually started, not its later due time');
});
