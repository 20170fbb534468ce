// Failure tests of the manager's view of a worker fed by two sources at once — heartbeats (its
// own health report) and dispatch outcomes (the circuit) — and of the circuit under intermittent
// failures: neither source overwrites the other, and the circuit opens only on a run of
// failures, stays open its full period and lets one probe through, so it cannot flap faster.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  WorkerRegistry,
  type WorkerRegistration,
} from '../../../src/cluster/jobs/worker-registry.js';

/** A plain 4-core worker at incarnation 1. */
const BASE: Omit<WorkerRegistration, 'id'> = {
  incarnation: 1,
  cores: 4,
  memoryBytes: 1 << 30,
  version: { major: 1, minor: 0 },
  capabilities: [],
};
const reg = (id: string): WorkerRegistration => ({ id, ...BASE });

const offered = (r: WorkerRegistry, now: number): string[] =>
  r.offers(now, () => 4).map((o) => o.id);

test('LT-28.3.1 heartbeats and dispatch failures update the same worker at the same moments (Salvo’s manager view of a worker; the gate keeps no per-manager health): a healthy heartbeat does not close an open circuit, and an open circuit does not hide the health the worker reports', () => {
  const r = new WorkerRegistry({ circuitThreshold: 3, circuitOpenMs: 10_000 });
  assert.ok(r.register(reg('w1'), 0).ok);
  assert.ok(r.register(reg('w2'), 0).ok);
  // Three failed dispatches, each interleaved with a heartbeat saying all is well.
  for (const t of [100, 200, 300]) {
    r.heartbeat('w1', 1, 'healthy', 4, t);
    r.dispatchFailed('w1', t);
    r.heartbeat('w1', 1, 'healthy', 4, t);
  }
  assert.equal(r.get('w1', 300)?.circuit, 'open', 'the failures opened the circuit');
  assert.deepEqual(offered(r, 300), ['w2'], 'an open circuit is not offered, heartbeats or not');
  assert.equal(r.healthCounts(300).unhealthy, 1);
  // The worker reports a new health while its circuit is open: the report is kept.
  r.heartbeat('w1', 1, 'busy', 1, 400);
  assert.equal(r.get('w1', 400)?.health, 'busy');
  assert.equal(r.get('w1', 400)?.circuit, 'open');
  // Heartbeats keep it alive past the open period: half-open, one probe offered; a success closes.
  for (let t = 1_000; t <= 10_300; t += 1_000) r.heartbeat('w1', 1, 'healthy', 4, t);
  assert.equal(r.get('w1', 10_300)?.circuit, 'half-open');
  assert.deepEqual(offered(r, 10_300), ['w1', 'w2']);
  r.dispatchStarted('w1', 10_300);
  assert.deepEqual(offered(r, 10_301), ['w2'], 'only one probe in flight');
  r.dispatchSucceeded('w1');
  assert.equal(r.get('w1', 10_400)?.circuit, 'closed');
  assert.equal(r.get('w1', 10_400)?.health, 'healthy', 'the latest heartbeat’s health');
  // Silence is the other source: a worker whose circuit is closed but that stops heartbeating
  // turns unhealthy, and a success on a dispatch does not make it healthy again.
  const silent = new WorkerRegistry({ suspectAfterMs: 3_000, reapAfterMs: 60_000 });
  assert.ok(silent.register(reg('w3'), 0).ok);
  assert.deepEqual(silent.expire(5_000).unhealthy, ['w3']);
  silent.dispatchSucceeded('w3');
  assert.equal(silent.get('w3', 5_001)?.unhealthySinceMs, 5_000);
  assert.deepEqual(offered(silent, 5_001), []);
  silent.heartbeat('w3', 1, 'healthy', 4, 5_100);
  assert.deepEqual(offered(silent, 5_100), ['w3'], 'only its own heartbeat brings it back');
});

test('LT-45.7 a worker that fails intermittently does not make its circuit flap: failures between successes never open it; runs of failures open it for its full open period each time, so it opens at most once per period', () => {
  const OPEN_MS = 5_000;
  const r = new WorkerRegistry({ circuitThreshold: 3, circuitOpenMs: OPEN_MS });
  assert.ok(r.register(reg('w1'), 0).ok);
  let now = 0;
  // Intermittent: two failures, a success, again and again.
  for (let i = 0; i < 50; i++) {
    r.dispatchFailed('w1', (now += 10));
    r.dispatchFailed('w1', (now += 10));
    r.dispatchSucceeded('w1');
  }
  assert.equal(r.counters.circuitsOpened, 0, 'no run reached the threshold');
  assert.equal(r.get('w1', now)?.circuit, 'closed');
  // Now a failing stretch where the manager keeps offering whatever the registry offers.
  const transitions: { atMs: number; state: string }[] = [];
  let last = r.get('w1', now)!.circuit as string;
  for (let t = 0; t < 60_000; t += 50) {
    now += 50;
    if (offered(r, now).includes('w1')) {
      r.dispatchStarted('w1', now);
      // It succeeds only one time in five.
      if ((t / 50) % 5 === 0) r.dispatchSucceeded('w1');
      else r.dispatchFailed('w1', now);
    }
    const state = r.get('w1', now)!.circuit;
    if (state !== last) transitions.push({ atMs: now, state });
    last = state;
  }
  const opened = transitions.filter((x) => x.state === 'open');
  assert.ok(opened.length > 0, 'runs of failures did open it');
  for (let i = 1; i < transitions.length; i++) {
    const prev = transitions[i - 1]!;
    if (prev.state === 'open') {
      assert.ok(
        transitions[i]!.atMs - prev.atMs >= OPEN_MS,
        `open for its full period (${transitions[i]!.atMs - prev.atMs} ms)`,
      );
    }
  }
  assert.ok(
    opened.length <= 60_000 / OPEN_MS,
    `at most one opening per period (${opened.length} in 60 s)`,
  );
});
