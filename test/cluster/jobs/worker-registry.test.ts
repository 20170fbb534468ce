// Unit tests of the manager's worker registry: registration, incarnations, health, heartbeats,
// circuits and reaping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  WorkerRegistry,
  type WorkerRegistration,
} from '../../../src/cluster/jobs/worker-registry.js';

const reg = (id: string, over: Partial<WorkerRegistration> = {}): WorkerRegistration => ({
  id,
  incarnation: 1,
  cores: 4,
  memoryBytes: 8 << 30,
  version: { major: 1, minor: 0 },
  capabilities: ['work.cancel'],
  ...over,
});

test('MW-1.1.2 MW-1.1.3 a registration stores cores, memory, version, capabilities and starts healthy', () => {
  const r = new WorkerRegistry();
  assert.deepEqual(r.register(reg('w1', { cores: 6 }), 100), {
    ok: true,
    replaced: null,
    duplicate: false,
  });
  const w = r.get('w1', 100)!;
  assert.equal(w.cores, 6);
  assert.equal(w.memoryBytes, 8 << 30);
  assert.deepEqual(w.version, { major: 1, minor: 0 });
  assert.deepEqual(w.capabilities, ['work.cancel']);
  assert.equal(w.health, 'healthy');
  assert.equal(w.unhealthySinceMs, null);
  assert.equal(w.circuit, 'closed');
});

test('MW-1.2.1 a registered worker is offered for dispatch with the free cores the manager counts', () => {
  const r = new WorkerRegistry();
  assert.deepEqual(
    r.offers(0, () => 0),
    [],
  );
  r.register(reg('w1'), 0);
  assert.deepEqual(
    r.offers(0, (id) => (id === 'w1' ? 3 : 0)),
    [{ id: 'w1', freeCores: 3, health: 'healthy' }],
  );
});

test("MW-1.2.2 MW-1.2.3 heartbeats carry health; the registry reports each worker's state and the counts per state", () => {
  const r = new WorkerRegistry();
  for (const id of ['w1', 'w2', 'w3', 'w4']) r.register(reg(id), 0);
  assert.deepEqual(r.heartbeat('w1', 1, 'busy', 1, 10), { known: true });
  r.heartbeat('w2', 1, 'degraded', 0, 10);
  r.heartbeat('w3', 1, 'overloaded', 0, 10);
  assert.equal(r.get('w1', 10)!.health, 'busy');
  assert.equal(r.get('w1', 10)!.freeCoresReported, 1);
  assert.deepEqual(r.healthCounts(10), {
    healthy: 1,
    busy: 1,
    degraded: 1,
    overloaded: 1,
    unhealthy: 0,
  });
});

test('MW-1.1.4 re-registration after a restart: the newer incarnation replaces the old state; an older one is refused', () => {
  const r = new WorkerRegistry();
  r.register(reg('w1'), 0);
  r.heartbeat('w1', 1, 'busy', 0, 5);
  const again = r.register(reg('w1', { incarnation: 2, cores: 8 }), 10);
  assert.deepEqual(again, { ok: true, replaced: 1, duplicate: false });
  const w = r.get('w1', 10)!;
  assert.equal(w.incarnation, 2);
  assert.equal(w.cores, 8);
  assert.equal(w.health, 'healthy', 'old health state was cleared');
  const stale = r.register(reg('w1', { incarnation: 1 }), 11);
  assert.equal(stale.ok, false);
  assert.equal(!stale.ok && stale.code, 'E_STALE_INCARNATION');
  assert.deepEqual(
    r.heartbeat('w1', 1, 'healthy', 1, 12),
    { known: false },
    'the old incarnation is unknown now',
  );
  assert.deepEqual(r.register(reg('w1', { incarnation: 2, cores: 8 }), 13), {
    ok: true,
    replaced: null,
    duplicate: true,
  });
});

test('invalid registrations are refused as values and counted', () => {
  const r = new WorkerRegistry({ maxWorkers: 1 });
  for (const bad of [
    reg(''),
    reg('w', { cores: 0 }),
    reg('w', { incarnation: 0 }),
    reg('w', { memoryBytes: -1 }),
  ]) {
    const x = r.register(bad, 0);
    assert.equal(!x.ok && x.code, 'E_INVALID_REGISTRATION');
  }
  r.register(reg('w1'), 0);
  const full = r.register(reg('w2'), 0);
  assert.equal(!full.ok && full.code, 'E_TOO_MANY_WORKERS');
  assert.equal(r.counters.refused, 5);
});

test('MW-1.3.1 a worker that leaves in an orderly way is removed with all its state', () => {
  const r = new WorkerRegistry();
  r.register(reg('w1'), 0);
  assert.equal(r.unregister('w1'), true);
  assert.equal(r.get('w1', 0), undefined);
  assert.equal(r.size, 0);
  assert.deepEqual(
    r.offers(0, () => 4),
    [],
  );
  assert.equal(r.unregister('w1'), false);
});

test('MW-5.4.1 MW-5.4.2 MW-5.4.3 silence marks a worker unhealthy (not offered), a heartbeat clears it, long silence reaps it', () => {
  const r = new WorkerRegistry({ suspectAfterMs: 1_000, reapAfterMs: 5_000 });
  r.register(reg('w1'), 0);
  r.register(reg('w2'), 0);
  r.heartbeat('w2', 1, 'healthy', 4, 900);
  assert.deepEqual(r.expire(1_000), { unhealthy: ['w1'], reaped: [] });
  assert.equal(r.get('w1', 1_000)!.unhealthySinceMs, 1_000);
  assert.deepEqual(
    r.offers(1_000, () => 4).map((o) => o.id),
    ['w2'],
  );
  assert.equal(r.healthCounts(1_000).unhealthy, 1);
  r.heartbeat('w1', 1, 'healthy', 4, 1_500);
  assert.equal(r.get('w1', 1_500)!.unhealthySinceMs, null);
  assert.deepEqual(
    r.offers(1_500, () => 4).map((o) => o.id),
    ['w1', 'w2'],
  );
  const later = r.expire(6_600);
  assert.deepEqual(
    later.reaped.map((w) => w.id),
    ['w1', 'w2'],
  );
  assert.equal(r.size, 0);
  assert.equal(r.counters.reaped, 2);
});

test("MW-3.2.6 MW-5.3.1 MW-5.3.2 MW-5.3.3 MW-5.3.4 MW-16.3.3 dispatch failures open a worker's circuit; half-open lets one dispatch through; success closes it", () => {
  const r = new WorkerRegistry({ circuitThreshold: 3, circuitOpenMs: 1_000 });
  r.register(reg('w1'), 0);
  r.register(reg('w2'), 0);
  assert.equal(r.dispatchFailed('w1', 10), 'closed');
  assert.equal(r.dispatchFailed('w1', 20), 'closed');
  assert.equal(r.dispatchFailed('w1', 30), 'open');
  assert.equal(r.get('w1', 30)!.circuit, 'open');
  assert.equal(r.get('w1', 30)!.consecutiveFailures, 3);
  assert.deepEqual(
    r.offers(500, () => 4).map((o) => o.id),
    ['w2'],
    'an open circuit is not offered',
  );
  assert.equal(r.get('w1', 1_030)!.circuit, 'half-open');
  assert.deepEqual(
    r.offers(1_030, () => 4).map((o) => o.id),
    ['w1', 'w2'],
  );
  r.dispatchStarted('w1', 1_030);
  assert.deepEqual(
    r.offers(1_031, () => 4).map((o) => o.id),
    ['w2'],
    'only one trial dispatch while half-open',
  );
  r.dispatchSucceeded('w1');
  assert.equal(r.get('w1', 1_040)!.circuit, 'closed');
  assert.deepEqual(
    r.offers(1_040, () => 4).map((o) => o.id),
    ['w1', 'w2'],
  );
  assert.equal(r.counters.circuitsOpened, 1);
});

test('MW-20.3.2 repeated dispatch failures mark a worker unhealthy in the counts until its circuit closes', () => {
  const r = new WorkerRegistry({ circuitThreshold: 2, circuitOpenMs: 1_000 });
  r.register(reg('w1'), 0);
  assert.equal(r.healthCounts(0).unhealthy, 0);
  r.dispatchFailed('w1', 10);
  assert.equal(r.healthCounts(10).unhealthy, 0);
  r.dispatchFailed('w1', 20);
  assert.equal(r.healthCounts(20).unhealthy, 1);
  assert.equal(r.healthCounts(20).healthy, 0);
});

test('MW-16.2.1 MW-16.2.2 MW-16.2.3 dispatch latency is kept per worker in a bounded list; old samples are dropped', () => {
  const r = new WorkerRegistry({ latencySamples: 3, latencyMaxAgeMs: 1_000 });
  r.register(reg('w1'), 0);
  r.register(reg('w2'), 0);
  r.recordLatency('w1', 5, 0);
  r.recordLatency('w2', 50, 0);
  for (const [ms, at] of [
    [6, 100],
    [7, 200],
    [8, 300],
  ] as const)
    r.recordLatency('w1', ms, at);
  assert.deepEqual(r.latencies('w1', 300), [6, 7, 8], 'only the newest three');
  assert.deepEqual(r.latencies('w2', 300), [50]);
  assert.deepEqual(r.latencies('w1', 1_150), [7, 8], 'the sample older than a second is gone');
  assert.deepEqual(r.latencies('w2', 1_150), []);
  r.recordLatency('nobody', 1, 0);
  assert.deepEqual(r.latencies('nobody', 0), []);
});
