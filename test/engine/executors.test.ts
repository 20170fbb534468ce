// Executor schedule arithmetic: piecewise-linear VU and arrival-rate profiles.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arrivalOffset, stageValue } from '../../src/engine/executors/index.js';

describe('stage profiles', () => {
  test('stageValue interpolates linearly and holds the last target', () => {
    const stages = [
      { durationMs: 1000, target: 10 },
      { durationMs: 1000, target: 0 },
    ];
    assert.equal(stageValue(0, stages, 0), 0);
    assert.equal(stageValue(0, stages, 500), 5);
    assert.equal(stageValue(0, stages, 1500), 5);
    assert.equal(stageValue(0, stages, 5000), 0);
  });

  test('a constant arrival rate spaces arrivals evenly', () => {
    const stages = [{ durationMs: 10_000, target: 100 }];
    for (const k of [0, 1, 10, 999]) {
      const offset = arrivalOffset(100, stages, 1000, k);
      assert.ok(offset !== null && Math.abs(offset - k * 10) < 1e-6, `arrival ${k} at ${offset}`);
    }
    assert.equal(arrivalOffset(100, stages, 1000, 1001), null);
  });

  test('a ramp from 0 to 10/s over 10s yields 50 arrivals, the k-th at sqrt(2k) seconds', () => {
    const stages = [{ durationMs: 10_000, target: 10 }];
    const at = (k: number): number => arrivalOffset(0, stages, 1000, k) ?? Number.NaN;
    assert.ok(Math.abs(at(8) - 4000) < 1e-6);
    assert.ok(Math.abs(at(50) - 10_000) < 1e-6);
    assert.equal(arrivalOffset(0, stages, 1000, 50.5), null);
    for (let k = 1; k < 50; k++) assert.ok(at(k) > at(k - 1), 'arrivals are increasing');
  });

  test('a stage with a flat rate after a ramp continues the count', () => {
    const stages = [
      { durationMs: 1000, target: 100 },
      { durationMs: 1000, target: 100 },
    ];
    assert.ok(Math.abs((arrivalOffset(0, stages, 1000, 50) ?? 0) - 1000) < 1e-6);
    assert.ok(Math.abs((arrivalOffset(0, stages, 1000, 100) ?? 0) - 1500) < 1e-6);
  });
});
