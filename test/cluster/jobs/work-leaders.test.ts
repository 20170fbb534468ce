// Unit tests of a worker's record of who leads its parts: orphaning, recovery, the grace
// period, and job-leader transfers (fences, unknown managers, duplicates, pending transfers).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkLeaders } from '../../../src/cluster/jobs/work-leaders.js';

const T = 2 ** 32;

test('MW-12.1.2 MW-12.1.3 MW-12.3.1 MW-12.3.3 parts of an unreachable manager are orphaned with the time; past the grace they are handed back; forget cleans up', () => {
  const l = new WorkLeaders();
  l.track('d1', 'j', 'm1', T + 1);
  l.track('d2', 'j', 'm2', T + 2);
  assert.deepEqual(l.orphaned('m1', 1_000), ['d1']);
  assert.deepEqual(l.orphaned('m1', 1_500), [], 'the first time is kept');
  assert.equal(l.record('d1')!.orphanedAtMs, 1_000);
  assert.equal(l.record('d2')!.orphanedAtMs, null);
  assert.deepEqual(l.expired(5_999, 5_000), []);
  assert.deepEqual(l.expired(6_000, 5_000), ['d1']);
  l.forget('d1');
  assert.equal(l.record('d1'), undefined);
  assert.deepEqual(l.expired(9_000, 5_000), []);
});

test('MW-12.2.2 the same manager answering again clears the orphan mark', () => {
  const l = new WorkLeaders();
  l.track('d1', 'j', 'm1', T + 1);
  l.orphaned('m1', 0);
  assert.deepEqual(l.recovered('m1'), ['d1']);
  assert.equal(l.record('d1')!.orphanedAtMs, null);
  assert.deepEqual(l.expired(60_000, 5_000), []);
});

test("MW-13.1.2 MW-13.1.3 MW-12.2.3 a transfer from a newer term re-points the job's parts and clears their orphan marks", () => {
  const l = new WorkLeaders();
  l.track('d1', 'j', 'm1', T + 5);
  l.track('d2', 'j', 'm1', T + 6);
  l.track('d3', 'other', 'm1', T + 7);
  l.orphaned('m1', 0);
  const r = l.transfer('j', 'm2', 2 * T, ['d1'], true, 10);
  assert.deepEqual(r, { ok: true, accepted: ['d1', 'd2'], pending: [], duplicate: false });
  assert.equal(l.leaderOf('d1'), 'm2');
  assert.equal(l.leaderOf('d2'), 'm2', 'every part of the job follows its new leader');
  assert.equal(l.leaderOf('d3'), 'm1', 'other jobs stay');
  assert.equal(l.record('d1')!.orphanedAtMs, null);
  assert.notEqual(l.record('d3')!.orphanedAtMs, null);
});

test('MW-13.2.1 MW-13.2.2 MW-13.2.3 MW-13.4.1 MW-13.4.2 MW-13.4.3 stale and unknown transfers are refused, a repeated one is idempotent, and each is counted', () => {
  const l = new WorkLeaders();
  l.track('d1', 'j', 'm1', 3 * T + 1);
  const stale = l.transfer('j', 'm2', 2 * T, ['d1'], true, 0);
  assert.equal(!stale.ok && stale.code, 'E_STALE_FENCE');
  const unknown = l.transfer('j', 'mx', 4 * T, ['d1'], false, 0);
  assert.equal(!unknown.ok && unknown.code, 'E_UNKNOWN_MANAGER');
  assert.equal(l.leaderOf('d1'), 'm1', 'refused transfers change nothing');
  const first = l.transfer('j', 'm2', 4 * T, ['d1'], true, 0);
  assert.ok(first.ok && !first.duplicate);
  const again = l.transfer('j', 'm2', 4 * T, ['d1'], true, 1);
  assert.ok(again.ok && again.duplicate);
  const conflict = l.transfer('j', 'm3', 4 * T, ['d1'], true, 2);
  assert.equal(!conflict.ok && conflict.code, 'E_CONFLICT');
  assert.equal(l.leaderOf('d1'), 'm2');
  assert.deepEqual(l.counters, {
    received: 5,
    accepted: 1,
    duplicates: 1,
    rejected: { E_STALE_FENCE: 1, E_UNKNOWN_MANAGER: 1, E_CONFLICT: 1 },
  });
});

test('MW-13.3.1 MW-13.3.2 MW-13.3.3 a transfer for a part not dispatched yet is kept, applied when it arrives, then dropped', () => {
  const l = new WorkLeaders({ pendingTtlMs: 1_000 });
  const r = l.transfer('j', 'm2', 2 * T, ['d9'], true, 0);
  assert.deepEqual(r, { ok: true, accepted: [], pending: ['d9'], duplicate: false });
  assert.equal(l.pendingCount, 1);
  assert.equal(l.track('d9', 'j', 'm1', T + 3), 'm2', 'the older-term dispatcher is overruled');
  assert.equal(l.leaderOf('d9'), 'm2');
  assert.equal(l.pendingCount, 0);
  l.transfer('j', 'm2', 2 * T, ['d10'], true, 0);
  l.expired(1_000, 5_000);
  assert.equal(l.pendingCount, 0, 'a pending transfer never applied expires');
});
