// Tests for src/stats/loop-delay.ts (sampler, per-thread merge) and the summary's warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from '../../src/stats/histogram.js';
import {
  LOOP_DELAY_WARN_P99_MS,
  LoopDelayAggregate,
  LoopDelaySampler,
} from '../../src/stats/loop-delay.js';
import { buildRunResults } from '../../src/stats/results.js';
import { loopDelayWarning, renderSummary } from '../../src/ui/summary.js';

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

void test('the sampler records a blocked loop as a late tick and take() resets', async () => {
  const sampler = new LoopDelaySampler(5);
  sampler.acquire();
  await sleep(20);
  block(60);
  await sleep(20);
  sampler.release();
  const taken = sampler.take();
  assert.ok(taken, 'samples were taken');
  assert.ok(taken.count >= 2, `count ${taken.count}`);
  assert.ok(taken.max >= 50_000, `max ${taken.max} µs shows the 60 ms block`);
  assert.equal(sampler.take(), null, 'take() reset the window');
  await sleep(20);
  assert.equal(sampler.take(), null, 'released: no more samples');
});

void test('the sampler runs while any of its users does', async () => {
  const sampler = new LoopDelaySampler(2);
  sampler.acquire();
  sampler.acquire();
  sampler.release();
  await sleep(20);
  assert.ok(sampler.take(), 'one user left: still sampling');
  sampler.release();
  sampler.release(); // an extra release is harmless
  sampler.take();
  await sleep(20);
  assert.equal(sampler.take(), null);
});

function sparse(...valuesUs: number[]) {
  const h = new Histogram();
  for (const v of valuesUs) h.record(v);
  return h.toSparse();
}

void test('the aggregate keeps each worker and merges them exactly; malformed samples change nothing', () => {
  const agg = new LoopDelayAggregate();
  agg.add(1, sparse(1000, 2000));
  agg.add(0, sparse(500));
  agg.add(1, sparse(30_000));
  assert.throws(() => agg.add(2, { ...sparse(1), count: 5 }));
  const eld = agg.toResult().eventLoopDelay;
  assert.deepEqual(
    eld.threads.map((t) => [t.worker, t.samples, t.max]),
    [
      [0, 1, 0.5],
      [1, 3, 30],
    ],
  );
  assert.equal(eld.merged.samples, 4);
  assert.equal(eld.merged.max, 30);
  assert.equal(eld.histogram.count, 4);
  assert.equal(eld.exceeded, eld.merged.p99 > LOOP_DELAY_WARN_P99_MS);
  assert.equal(eld.exceeded, true);
});

function resultsWith(valuesUs: number[]) {
  const agg = new LoopDelayAggregate();
  agg.add(0, sparse(...valuesUs));
  return buildRunResults(
    {
      id: 'r',
      file: 'w.ts',
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
      status: 'completed',
      exitCode: 0,
      workers: 1,
      salvoVersion: '0',
      nodeVersion: 'v20',
      host: { platform: 'linux', arch: 'x64', cpus: 2, hostname: 'h' },
      notes: [],
    },
    [],
    agg.toResult(),
  );
}

void test('the summary warns only when the p99 delay is above the bound', () => {
  const below = resultsWith(Array<number>(100).fill((LOOP_DELAY_WARN_P99_MS - 1) * 1000));
  assert.equal(loopDelayWarning(below), null);
  assert.doesNotMatch(renderSummary(below, { width: 100, color: false }), /event-loop delay/);
  const above = resultsWith(Array<number>(100).fill((LOOP_DELAY_WARN_P99_MS + 1) * 1000));
  assert.match(loopDelayWarning(above) ?? '', /event-loop delay p99 6\.00ms/);
  assert.match(renderSummary(above, { width: 100, color: false }), /event-loop delay p99/);
  const old = { ...below };
  delete old.generator;
  assert.equal(loopDelayWarning(old), null, 'documents without the figures: no warning');
});
