// Tests of what a gate keeps after jobs end, at volume: the replicated ledger drops ten
// thousand ended jobs (and their idempotency keys) within their retention and never holds more
// than its bounds, and the owner's kept results are dropped by age and by count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndedRetention } from '../../../src/cluster/jobs/ended-retention.js';
import { JobLedger } from '../../../src/cluster/jobs/ledger.js';
import type { LedgerCommand, LedgerResult } from '../../../src/cluster/jobs/ledger-types.js';

const JOBS = 10_000;

function ok(r: LedgerResult): Extract<LedgerResult, { ok: true }> {
  if (!r.ok) assert.fail(`expected the command to apply, got ${r.code}: ${r.message}`);
  return r;
}

function submit(jobId: string, atMs: number, key: string | null, digest = 'd1'): LedgerCommand {
  return {
    type: 'submit',
    atMs,
    jobId,
    client: 'alice',
    idempotencyKey: key,
    payloadDigest: digest,
    ownerGate: 'gate-1',
    fence: 1,
    targetDcs: ['a'],
  };
}

/** Submits, runs and completes `jobId` on DC a at `atMs` (one ms per step). */
function runJob(ledger: JobLedger, jobId: string, atMs: number, key: string | null): void {
  ok(ledger.apply(submit(jobId, atMs, key)));
  ok(ledger.apply({ type: 'dc-accepted', atMs, jobId, dc: 'a', fence: 1 }));
  ok(ledger.apply({ type: 'dc-finished', atMs, jobId, dc: 'a', outcome: 'completed', fence: 1 }));
  ok(ledger.apply({ type: 'complete', atMs, jobId, fence: 1 }));
}

test('LT-37.2.1 ten thousand completed jobs are all dropped from the ledger once their retention passes; nothing else is kept', () => {
  const retentionMs = 60_000;
  const ledger = new JobLedger({ completedRetentionMs: retentionMs, maxEndedJobs: JOBS });
  for (let i = 0; i < JOBS; i++) runJob(ledger, `job-${i}`, 1_000 + i, `key-${i}`);
  assert.equal(ledger.size, JOBS, 'all kept within their retention');
  assert.equal(ledger.keyCount, JOBS);
  const lastEnd = 1_000 + JOBS - 1;
  // Half-way through the retention nothing is dropped early.
  ok(ledger.apply({ type: 'sweep', atMs: 1_000 + retentionMs - 1 }));
  assert.equal(ledger.size, JOBS);
  // A sweep just after the last job's retention drops every one of them, keys included.
  const r = ok(ledger.apply({ type: 'sweep', atMs: lastEnd + retentionMs }));
  assert.equal(r.events.filter((e) => e.type === 'job-evicted').length, JOBS);
  assert.equal(ledger.size, 0);
  assert.equal(ledger.keyCount, 0);
  assert.equal(ledger.jobForKey('alice', 'key-0'), undefined);
  assert.equal(ledger.snapshot().jobs.length, 0, 'a snapshot carries nothing of them');
});

test('LT-32.1.2 idempotency keys under pressure: past maxEndedJobs the oldest keys go with their jobs, retained keys still answer their first job, and freed keys make new jobs', () => {
  const bound = 100;
  const ledger = new JobLedger({ maxEndedJobs: bound });
  for (let i = 0; i < JOBS; i++) {
    runJob(ledger, `job-${i}`, 1_000 + i, `key-${i}`);
    assert.ok(ledger.keyCount <= bound, `keys bounded after job ${i}`);
  }
  assert.equal(ledger.size, bound);
  assert.equal(ledger.keyCount, bound);
  // A retained key still answers with its original job, even with the ledger at its bound.
  const dup = ok(ledger.apply(submit('job-new-a', 20_000, `key-${JOBS - 1}`)));
  assert.equal(dup.answer?.jobId, `job-${JOBS - 1}`);
  assert.equal(dup.duplicate, true);
  // The same retained key with another payload is still a conflict.
  const conflict = ledger.apply(submit('job-new-b', 20_001, `key-${JOBS - 1}`, 'other'));
  assert.equal(!conflict.ok && conflict.code, 'E_IDEMPOTENCY_CONFLICT');
  // An evicted key is free: it makes a new job.
  const fresh = ok(ledger.apply(submit('job-new-c', 20_002, 'key-0')));
  assert.equal(fresh.answer?.jobId, 'job-new-c');
  assert.equal(ledger.jobForKey('alice', 'key-0'), 'job-new-c');
});

test("LT-37.2.4 an owner's kept results are dropped once older than their retention, and the oldest go first past the count bound", () => {
  const kept = new EndedRetention<{ job: string }>({ maxEntries: 1_000, maxAgeMs: 60_000 });
  let evictedByCount = 0;
  for (let i = 0; i < JOBS; i++) {
    evictedByCount += kept.put(`job-${i}`, { job: `job-${i}` }, i).length;
    assert.ok(kept.size <= 1_000);
  }
  assert.equal(evictedByCount, JOBS - 1_000);
  assert.equal(kept.get('job-0'), undefined, 'the oldest went first');
  assert.deepEqual(kept.get(`job-${JOBS - 1}`), { job: `job-${JOBS - 1}` });
  // Before their age is up none is dropped; after it, all are.
  assert.deepEqual(kept.sweep(JOBS - 1_000 + 59_999), []);
  const swept = kept.sweep(JOBS - 1 + 60_000);
  assert.equal(swept.length, 1_000);
  assert.equal(kept.size, 0);
});
