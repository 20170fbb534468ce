// Failure test of identifier collisions in the gate ledger at volume: job ids are random, so two
// submissions may draw the same one — the ledger refuses the second and never merges it into
// the first; idempotency keys are compared exactly, never hashed, so
// thousands of near-identical keys stay distinct jobs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobLedger } from '../../../src/cluster/jobs/ledger.js';
import type { LedgerCommand, LedgerResult } from '../../../src/cluster/jobs/ledger-types.js';

function submit(
  jobId: string,
  key: string | null,
  digest: string,
  client = 'alice',
): LedgerCommand {
  return {
    type: 'submit',
    atMs: 1_000,
    jobId,
    client,
    idempotencyKey: key,
    payloadDigest: digest,
    ownerGate: 'g1',
    fence: 1,
    targetDcs: ['a'],
  };
}

function applied(r: LedgerResult): Extract<LedgerResult, { ok: true }> {
  if (!r.ok) assert.fail(`${r.code}: ${r.message}`);
  return r;
}

test('LT-32.1.3 identifier collisions at volume: a second submission drawing a taken job id is refused E_JOB_EXISTS and the first job is untouched; 4 000 near-identical idempotency keys (case, spaces, Unicode forms, one character apart) make 4 000 distinct jobs, each retry answered with its own', () => {
  const ledger = new JobLedger();
  applied(ledger.apply(submit('job-00000000000000aa', 'k-first', 'digest-1')));
  const clash = ledger.apply(submit('job-00000000000000aa', 'k-other', 'digest-2'));
  assert.equal(!clash.ok && clash.code, 'E_JOB_EXISTS');
  const first = ledger.job('job-00000000000000aa')!;
  assert.equal(first.idempotencyKey, 'k-first');
  assert.equal(first.payloadDigest, 'digest-1');
  // The other submission, drawn again with a fresh id, is its own job.
  applied(ledger.apply(submit('job-00000000000000ab', 'k-other', 'digest-2')));

  const keys: string[] = [];
  for (let i = 0; i < 500; i++) {
    const base = `key-${i}`;
    keys.push(
      base,
      base.toUpperCase(),
      `${base} `,
      ` ${base}`,
      `${base}\u00e9`, // é precomposed …
      `${base}e\u0301`, // … and decomposed: different code points, different keys
      `${base}x`,
      `${base}y`,
    );
  }
  assert.equal(new Set(keys).size, 4_000);
  const jobOf = new Map<string, string>();
  keys.forEach((key, i) => {
    const jobId = `job-${String(i).padStart(16, '0')}`;
    const r = applied(ledger.apply(submit(jobId, key, `d-${i}`)));
    assert.equal(r.duplicate, false, `${JSON.stringify(key)} is a new job`);
    jobOf.set(key, jobId);
  });
  assert.equal(new Set(jobOf.values()).size, 4_000);
  // Every retry, under a new id, finds exactly its own job.
  keys.forEach((key, i) => {
    const retry = applied(ledger.apply(submit(`job-retry-${i}`, key, `d-${i}`)));
    assert.equal(retry.duplicate, true);
    assert.equal(retry.answer?.jobId, jobOf.get(key), JSON.stringify(key));
  });
  // The same key from another client is that client's own.
  const bob = applied(ledger.apply(submit('job-bob', 'key-0', 'd-0', 'bob')));
  assert.equal(bob.duplicate, false);
});
