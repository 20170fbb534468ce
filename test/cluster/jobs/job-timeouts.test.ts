// Unit tests of job deadlines: the tracker (add, remove, due with its re-offer pause, bound),
// the default timeout and its bounds, the planned length of a plan, and the ledger keeping a
// submit's deadline through views, snapshots and a restore, refusing one out of range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultJobTimeoutMs,
  JobTimeouts,
  MAX_JOB_TIMEOUT_MS,
  timeoutProblem,
} from '../../../src/cluster/jobs/job-timeouts.js';
import { JobLedger } from '../../../src/cluster/jobs/ledger.js';
import { encodeLedgerSnapshot, parseLedgerBytes } from '../../../src/cluster/jobs/ledger-codec.js';
import type { LedgerCommand } from '../../../src/cluster/jobs/ledger-types.js';
import { plannedJobMs, type PlanSpec } from '../../../src/run/plan-spec.js';

const submit = (jobId: string, atMs: number, deadlineMs: number | undefined): LedgerCommand => ({
  type: 'submit',
  atMs,
  jobId,
  client: 'alice',
  idempotencyKey: 'k-' + jobId,
  payloadDigest: 'd1',
  ownerGate: 'gate-1',
  fence: 1,
  targetDcs: ['a', 'b'],
  ...(deadlineMs !== undefined ? { deadlineMs } : {}),
});

test('a tracked job is due at its deadline, not before, earliest first; remove forgets it', () => {
  const t = new JobTimeouts({ reofferAfterMs: 1_000 });
  assert.ok(t.add('late', 5_000));
  assert.ok(t.add('early', 3_000));
  assert.equal(t.size, 2);
  assert.equal(t.deadlineOf('early'), 3_000);
  assert.equal(t.next(), 3_000);
  assert.deepEqual(t.due(2_999), []);
  assert.deepEqual(t.due(5_000), [
    { jobId: 'early', deadlineMs: 3_000 },
    { jobId: 'late', deadlineMs: 5_000 },
  ]);
  assert.ok(t.remove('early'));
  assert.equal(t.remove('early'), false);
  assert.equal(t.has('early'), false);
  assert.equal(t.next(), 5_000);
});

test('a due job is offered again only after the re-offer pause (its end may have failed)', () => {
  const t = new JobTimeouts({ reofferAfterMs: 1_000 });
  t.add('j', 100);
  assert.equal(t.due(200).length, 1);
  assert.equal(t.due(700).length, 0, 'not again within the pause');
  assert.equal(t.due(1_200).length, 1, 'again after it');
});

test('the tracker is bounded: a job beyond maxJobs is refused; a tracked one may be updated', () => {
  const t = new JobTimeouts({ maxJobs: 2 });
  assert.ok(t.add('a', 1));
  assert.ok(t.add('b', 2));
  assert.equal(t.add('c', 3), false);
  assert.equal(t.size, 2);
  assert.ok(t.add('a', 10), 'a tracked job takes a new deadline');
  assert.equal(t.deadlineOf('a'), 10);
  t.clear();
  assert.equal(t.size, 0);
  assert.throws(() => new JobTimeouts({ maxJobs: 0 }), /maxJobs must be an integer ≥ 1/);
});

test('the default timeout is the planned length plus max(60 s, 50 %), at most 24 h', () => {
  assert.equal(defaultJobTimeoutMs(60_000), 120_000, '1 min + 60 s');
  assert.equal(defaultJobTimeoutMs(600_000), 900_000, '10 min + 5 min');
  assert.equal(defaultJobTimeoutMs(20 * 3_600_000), MAX_JOB_TIMEOUT_MS, 'capped');
  assert.equal(defaultJobTimeoutMs(null), MAX_JOB_TIMEOUT_MS, 'unknown plan: the cap');
  assert.equal(defaultJobTimeoutMs(600_000, 700_000), 700_000, 'a lower gate maximum');
  assert.equal(timeoutProblem(90_000, MAX_JOB_TIMEOUT_MS), null);
  assert.match(
    timeoutProblem(999, MAX_JOB_TIMEOUT_MS) ?? '',
    /^timeoutMs must be a whole number of milliseconds from 1000 to 86400000, got 999$/,
  );
  assert.match(timeoutProblem(1.5e3 + 0.5, 5_000) ?? '', /timeoutMs .* from 1000 to 5000/);
});

test('planned length of a plan: the longest dependency chain of duration plus graceful stop', () => {
  const wf = (name: string, dependsOn: string[], durationMs: number): PlanSpec['workflows'][0] => ({
    name,
    dependsOn,
    executor: { type: 'constant-vus', vus: 1, durationMs, gracefulStopMs: 1_000 },
    steps: ['s'],
    publishes: [],
    thresholds: [],
    setup: null,
    teardown: null,
  });
  const spec: PlanSpec = {
    version: 1,
    workflows: [wf('a', [], 10_000), wf('b', ['a'], 20_000), wf('c', [], 40_000)],
  };
  // a → b: 11 s + 21 s = 32 s; c alone: 41 s.
  assert.equal(plannedJobMs(spec), 41_000);
  spec.workflows.push(wf('d', ['b'], 15_000));
  assert.equal(plannedJobMs(spec), 48_000);
});

test('the ledger keeps a submit deadline in views and snapshots; a restore brings it back', () => {
  const ledger = new JobLedger();
  assert.ok(ledger.apply(submit('j1', 1_000, 301_000)).ok);
  assert.ok(ledger.apply(submit('j2', 1_000, undefined)).ok, 'an older entry without one');
  assert.equal(ledger.job('j1')?.deadlineMs, 301_000);
  assert.equal(ledger.job('j2')?.deadlineMs, null);
  const bytes = encodeLedgerSnapshot(ledger.snapshot());
  const parsed = parseLedgerBytes(bytes, 'E_INVALID_SNAPSHOT');
  assert.ok(parsed.ok);
  const restored = JobLedger.restore(parsed.value);
  assert.ok(restored instanceof JobLedger);
  assert.equal(restored.job('j1')?.deadlineMs, 301_000);
  assert.deepEqual(restored.snapshot(), ledger.snapshot());
  // A snapshot written before jobs had deadlines reads as none.
  const old = ledger.snapshot();
  const legacy = {
    ...old,
    jobs: old.jobs.map(({ deadlineMs: _d, endReason: _r, ...rest }) => rest),
  };
  const fromLegacy = JobLedger.restore(legacy);
  assert.ok(fromLegacy instanceof JobLedger);
  assert.equal(fromLegacy.job('j1')?.deadlineMs, null);
  assert.equal(fromLegacy.job('j1')?.endReason, null);
});

test('the ledger refuses a deadline not after atMs or beyond maxJobTimeoutMs, naming the field and range', () => {
  const ledger = new JobLedger({ maxJobTimeoutMs: 60_000 });
  for (const deadlineMs of [1_000, 500, 61_001 + 1]) {
    const r = ledger.apply(submit(`j${deadlineMs}`, 1_000, deadlineMs));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.code === 'E_INVALID_COMMAND');
    assert.match(
      r.ok ? '' : r.message,
      /deadlineMs must be null or a time after atMs and at most maxJobTimeoutMs \(60000 ms\) after it/,
    );
  }
  assert.equal(ledger.size, 0);
  assert.ok(ledger.apply(submit('ok', 1_000, 61_000)).ok, 'exactly the maximum is taken');
});

test('an end reason given with complete is kept (cut to maxReasonChars); a second complete changes nothing', () => {
  const ledger = new JobLedger({ maxReasonChars: 40 });
  ledger.apply(submit('j', 1_000, 10_000));
  const fin = (dc: string): LedgerCommand => ({
    type: 'dc-finished',
    atMs: 10_100,
    jobId: 'j',
    dc,
    outcome: 'timed-out',
    fence: 1,
  });
  assert.ok(ledger.apply(fin('a')).ok);
  assert.ok(ledger.apply(fin('b')).ok);
  const reason = 'timed out after 9s: a, b did not finish in any reasonable time';
  const done = ledger.apply({ type: 'complete', atMs: 10_200, jobId: 'j', fence: 1, reason });
  assert.ok(done.ok && !done.duplicate);
  const v = ledger.job('j');
  assert.equal(v?.status, 'failed');
  assert.equal(v?.endReason?.length, 40);
  assert.ok(v?.endReason?.startsWith('timed out after 9s: a, b'));
  const again = ledger.apply({ type: 'complete', atMs: 10_300, jobId: 'j', fence: 1, reason: 'x' });
  assert.ok(again.ok && again.duplicate && again.events.length === 0);
  assert.equal(ledger.job('j')?.endReason, v?.endReason);
});
