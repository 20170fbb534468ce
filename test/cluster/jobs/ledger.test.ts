// Unit tests of the gate job ledger, command by command: the happy path, the global status
// rule, idempotency keys, fences and ownership, illegal transitions, retention and snapshots.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobLedger, globalStatus } from '../../../src/cluster/jobs/ledger.js';
import { WindowMerger } from '../../../src/cluster/jobs/window-merger.js';
import { CoreReservations } from '../../../src/cluster/jobs/core-reservations.js';
import {
  encodeLedgerCommand,
  encodeLedgerSnapshot,
  parseLedgerBytes,
} from '../../../src/cluster/jobs/ledger-codec.js';
import type {
  LedgerCommand,
  LedgerConfig,
  LedgerEvent,
  LedgerResult,
} from '../../../src/cluster/jobs/ledger-types.js';

const submit = (
  jobId: string,
  over: Partial<Extract<LedgerCommand, { type: 'submit' }>> = {},
): LedgerCommand => ({
  type: 'submit',
  atMs: 1000,
  jobId,
  client: 'alice',
  idempotencyKey: null,
  payloadDigest: 'd1',
  ownerGate: 'gate-1',
  fence: 1,
  targetDcs: ['a', 'b'],
  ...over,
});

const accepted = (jobId: string, dc: string, fence = 1, atMs = 1100): LedgerCommand => ({
  type: 'dc-accepted',
  atMs,
  jobId,
  dc,
  fence,
});
const finished = (
  jobId: string,
  dc: string,
  outcome: 'completed' | 'failed' | 'cancelled' | 'timed-out',
  fence = 1,
  atMs = 2000,
): LedgerCommand => ({ type: 'dc-finished', atMs, jobId, dc, outcome, fence });
const complete = (jobId: string, fence = 1, atMs = 3000): LedgerCommand => ({
  type: 'complete',
  atMs,
  jobId,
  fence,
});

function ok(r: LedgerResult): Extract<LedgerResult, { ok: true }> {
  if (!r.ok) assert.fail(`expected the command to apply, got ${r.code}: ${r.message}`);
  return r;
}

function refused(r: LedgerResult, code: string): void {
  assert.equal(r.ok, false, 'expected a rejection');
  assert.equal(!r.ok && r.code, code, !r.ok ? r.message : '');
}

function ended(events: readonly LedgerEvent[]): Extract<LedgerEvent, { type: 'job-ended' }>[] {
  return events.filter(
    (e): e is Extract<LedgerEvent, { type: 'job-ended' }> => e.type === 'job-ended',
  );
}

/** Runs a job with two DCs to the given outcomes and returns the events of `complete`. */
function runTo(
  ledger: JobLedger,
  jobId: string,
  a: 'completed' | 'failed' | 'cancelled' | 'timed-out',
  b: 'completed' | 'failed' | 'cancelled' | 'timed-out',
): readonly LedgerEvent[] {
  ok(ledger.apply(submit(jobId)));
  ok(ledger.apply(accepted(jobId, 'a')));
  ok(ledger.apply(accepted(jobId, 'b')));
  ok(ledger.apply(finished(jobId, 'a', a)));
  ok(ledger.apply(finished(jobId, 'b', b)));
  return ok(ledger.apply(complete(jobId))).events;
}

test('a job goes submitted → running → completed, and ends exactly once', () => {
  const ledger = new JobLedger();
  const s = ok(ledger.apply(submit('job-1')));
  assert.deepEqual(s.answer, {
    jobId: 'job-1',
    submittedAtMs: 1000,
    ownerGate: 'gate-1',
    fence: 1,
    targetDcs: ['a', 'b'],
  });
  assert.equal(ledger.job('job-1')?.status, 'submitted');
  const acc = ok(ledger.apply(accepted('job-1', 'a')));
  assert.deepEqual(
    acc.events.map((e) => e.type),
    ['dc-accepted', 'status-changed'],
  );
  assert.equal(ledger.job('job-1')?.status, 'running');
  ok(ledger.apply(accepted('job-1', 'b')));
  ok(ledger.apply(finished('job-1', 'a', 'completed')));
  refused(ledger.apply(complete('job-1')), 'E_DCS_PENDING');
  ok(ledger.apply(finished('job-1', 'b', 'completed')));
  const done = ok(ledger.apply(complete('job-1')));
  assert.deepEqual(ended(done.events), [
    {
      type: 'job-ended',
      jobId: 'job-1',
      status: 'completed',
      dcs: { a: 'completed', b: 'completed' },
    },
  ]);
  assert.equal(ledger.job('job-1')?.endedAtMs, 3000);
  const again = ok(ledger.apply(complete('job-1', 1, 3500)));
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.events, []);
  assert.equal(ledger.job('job-1')?.endedAtMs, 3000);
  assert.equal(ledger.activeJobs, 0);
  assert.equal(ledger.endedJobs, 1);
});

test('GM-10.2.2 mixed final statuses: DC a completed and DC b failed resolve to failed', () => {
  const ledger = new JobLedger();
  const events = runTo(ledger, 'job-1', 'completed', 'failed');
  assert.equal(ended(events)[0]?.status, 'failed');
  assert.deepEqual(ended(events)[0]?.dcs, { a: 'completed', b: 'failed' });
  assert.equal(ledger.job('job-1')?.status, 'failed');
});

test('global status: failed beats cancelled, timed out counts as failed, cancelled beats completed', () => {
  assert.equal(globalStatus(['cancelled', 'failed']), 'failed');
  assert.equal(globalStatus(['completed', 'timed-out']), 'failed');
  assert.equal(globalStatus(['cancelled', 'timed-out']), 'failed');
  assert.equal(globalStatus(['completed', 'cancelled']), 'cancelled');
  assert.equal(globalStatus(['completed', 'completed']), 'completed');
  const ledger = new JobLedger();
  assert.equal(ended(runTo(ledger, 'j-t', 'completed', 'timed-out'))[0]?.status, 'failed');
  assert.equal(ended(runTo(ledger, 'j-c', 'cancelled', 'completed'))[0]?.status, 'cancelled');
});

test('GM-1.5.1 duplicate submission with the same idempotency key returns the cached original answer', () => {
  const ledger = new JobLedger();
  const first = ok(ledger.apply(submit('job-1', { idempotencyKey: 'k1', atMs: 1000 })));
  // A retry reaches another gate, which proposes a fresh job id: the ledger answers with the first.
  const retry = ok(
    ledger.apply(
      submit('job-2', { idempotencyKey: 'k1', atMs: 1500, ownerGate: 'gate-2', fence: 7 }),
    ),
  );
  assert.equal(retry.duplicate, true);
  assert.deepEqual(retry.answer, first.answer);
  assert.deepEqual(retry.events, []);
  assert.equal(ledger.job('job-2'), undefined);
  assert.equal(ledger.size, 1);
  // Still the original answer once the job runs and after it ended (while retained).
  ok(ledger.apply(accepted('job-1', 'a')));
  assert.deepEqual(
    ok(ledger.apply(submit('job-3', { idempotencyKey: 'k1' }))).answer,
    first.answer,
  );
  ok(ledger.apply(accepted('job-1', 'b')));
  ok(ledger.apply(finished('job-1', 'a', 'completed')));
  ok(ledger.apply(finished('job-1', 'b', 'completed')));
  ok(ledger.apply(complete('job-1')));
  assert.deepEqual(
    ok(ledger.apply(submit('job-4', { idempotencyKey: 'k1' }))).answer,
    first.answer,
  );
  // Another client's identical key is its own.
  const bob = ok(ledger.apply(submit('job-5', { idempotencyKey: 'k1', client: 'bob' })));
  assert.equal(bob.duplicate, false);
  assert.equal(bob.answer?.jobId, 'job-5');
});

test('LT-41.5.4 same idempotency key with another payload is rejected and the original job is untouched', () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1', { idempotencyKey: 'k1', payloadDigest: 'd1' })));
  const before = ledger.snapshot();
  refused(
    ledger.apply(submit('job-2', { idempotencyKey: 'k1', payloadDigest: 'd2' })),
    'E_IDEMPOTENCY_CONFLICT',
  );
  assert.deepEqual(ledger.snapshot(), before);
});

test('a job id is not reused by another payload; an identical retry of the same id is a duplicate', () => {
  const ledger = new JobLedger();
  const first = ok(ledger.apply(submit('job-1')));
  refused(ledger.apply(submit('job-1', { payloadDigest: 'other' })), 'E_JOB_EXISTS');
  const retry = ok(ledger.apply(submit('job-1')));
  assert.equal(retry.duplicate, true);
  assert.deepEqual(retry.answer, first.answer);
});

test('ended jobs leave after their retention period, and their key then makes a new job', () => {
  const cfg: Partial<LedgerConfig> = { completedRetentionMs: 1000, unsuccessfulRetentionMs: 5000 };
  const ledger = new JobLedger(cfg);
  ok(ledger.apply(submit('ok-1', { idempotencyKey: 'k', atMs: 0 })));
  ok(ledger.apply(accepted('ok-1', 'a', 1, 0)));
  ok(ledger.apply(accepted('ok-1', 'b', 1, 0)));
  ok(ledger.apply(finished('ok-1', 'a', 'completed', 1, 0)));
  ok(ledger.apply(finished('ok-1', 'b', 'completed', 1, 0)));
  ok(ledger.apply(complete('ok-1', 1, 100)));
  ok(ledger.apply(submit('bad-1', { atMs: 0 })));
  ok(ledger.apply(finished('bad-1', 'a', 'failed', 1, 0)));
  ok(ledger.apply(finished('bad-1', 'b', 'failed', 1, 0)));
  ok(ledger.apply(complete('bad-1', 1, 100)));
  // Just before the completed job's retention runs out, both are kept.
  assert.deepEqual(ok(ledger.apply({ type: 'sweep', atMs: 1099 })).events, []);
  assert.equal(ledger.size, 2);
  const sweep = ok(ledger.apply({ type: 'sweep', atMs: 1100 }));
  assert.deepEqual(sweep.events, [{ type: 'job-evicted', jobId: 'ok-1', cause: 'age' }]);
  assert.equal(ledger.job('ok-1'), undefined);
  assert.equal(ledger.jobForKey('alice', 'k'), undefined);
  assert.ok(ledger.job('bad-1'), 'a failed job is kept for its longer retention');
  // The key is free again: the eviction happens at the submission's own timestamp too.
  const again = ok(ledger.apply(submit('ok-2', { idempotencyKey: 'k', atMs: 1200 })));
  assert.equal(again.duplicate, false);
  assert.equal(again.answer?.jobId, 'ok-2');
  const late = ok(ledger.apply(submit('x', { atMs: 5100 })));
  assert.deepEqual(late.events, [
    { type: 'job-evicted', jobId: 'bad-1', cause: 'age' },
    { type: 'job-submitted', jobId: 'x' },
  ]);
});

test('LT-41.5.5 idempotency entries are evicted with their jobs: memory stays bounded by maxEndedJobs', () => {
  const ledger = new JobLedger({ maxEndedJobs: 10 });
  for (let i = 0; i < 200; i++) {
    const id = `job-${i}`;
    ok(ledger.apply(submit(id, { idempotencyKey: `key-${i}`, atMs: i, targetDcs: ['a'] })));
    ok(ledger.apply(finished(id, 'a', i % 2 === 0 ? 'cancelled' : 'failed', 1, i)));
    ok(ledger.apply(complete(id, 1, i)));
    assert.ok(ledger.size <= 10 && ledger.keyCount <= 10, `bounded after job ${i}`);
  }
  assert.equal(ledger.size, 10);
  assert.equal(ledger.keyCount, 10);
  // The oldest went first: the retained ones are the ten newest.
  assert.equal(ledger.job('job-189'), undefined);
  assert.ok(ledger.job('job-190'));
  assert.equal(ledger.jobForKey('alice', 'key-0'), undefined);
});

test('a full ledger refuses new submissions but still answers duplicates', () => {
  const ledger = new JobLedger({ maxActiveJobs: 2 });
  ok(ledger.apply(submit('j1', { idempotencyKey: 'k1' })));
  ok(ledger.apply(submit('j2')));
  refused(ledger.apply(submit('j3')), 'E_LEDGER_FULL');
  assert.equal(ok(ledger.apply(submit('j9', { idempotencyKey: 'k1' }))).answer?.jobId, 'j1');
});

test('GM-10.4.2 a duplicate final result of a DC is idempotent; a conflicting one is refused', () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1')));
  ok(ledger.apply(accepted('job-1', 'a')));
  ok(ledger.apply(finished('job-1', 'a', 'completed')));
  const before = ledger.snapshot();
  const dup = ok(ledger.apply(finished('job-1', 'a', 'completed')));
  assert.equal(dup.duplicate, true);
  assert.deepEqual(dup.events, []);
  refused(ledger.apply(finished('job-1', 'a', 'failed')), 'E_ILLEGAL_TRANSITION');
  assert.deepEqual(ledger.snapshot(), before);
});

test('GM-10.4.3 a final result for an unknown job is refused as a value and changes nothing', () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1')));
  const before = ledger.snapshot();
  refused(ledger.apply(finished('nope', 'a', 'completed')), 'E_JOB_UNKNOWN');
  refused(ledger.apply(complete('nope')), 'E_JOB_UNKNOWN');
  assert.deepEqual(ledger.snapshot(), before);
});

test('illegal transitions are typed rejections', () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1')));
  refused(ledger.apply(finished('job-1', 'a', 'completed')), 'E_ILLEGAL_TRANSITION');
  refused(ledger.apply(accepted('job-1', 'zz')), 'E_UNKNOWN_DC');
  ok(ledger.apply(finished('job-1', 'a', 'failed')));
  refused(ledger.apply(accepted('job-1', 'a')), 'E_ILLEGAL_TRANSITION');
  ok(ledger.apply(finished('job-1', 'b', 'timed-out')));
  ok(ledger.apply(complete('job-1')));
  refused(
    ledger.apply({ type: 'cancel-requested', atMs: 5000, jobId: 'job-1', reason: 'x' }),
    'E_JOB_ENDED',
  );
  refused(
    ledger.apply({ type: 'transfer-owner', atMs: 5000, jobId: 'job-1', ownerGate: 'g2', fence: 9 }),
    'E_JOB_ENDED',
  );
});

test('cancellation: requested once (from submitted or running), repeated requests are duplicates', () => {
  const ledger = new JobLedger({ maxReasonChars: 8 });
  ok(ledger.apply(submit('job-1')));
  const c = ok(
    ledger.apply({
      type: 'cancel-requested',
      atMs: 1200,
      jobId: 'job-1',
      reason: 'user pressed ctrl-c',
    }),
  );
  assert.deepEqual(c.events, [
    { type: 'cancel-requested', jobId: 'job-1', reason: 'user pr…' },
    { type: 'status-changed', jobId: 'job-1', from: 'submitted', to: 'cancelling' },
  ]);
  assert.equal(
    ok(ledger.apply({ type: 'cancel-requested', atMs: 1300, jobId: 'job-1', reason: 'again' }))
      .duplicate,
    true,
  );
  // A DC that accepted concurrently is still recorded; the job stays cancelling.
  ok(ledger.apply(accepted('job-1', 'a')));
  assert.equal(ledger.job('job-1')?.status, 'cancelling');
  ok(ledger.apply(finished('job-1', 'a', 'cancelled')));
  ok(ledger.apply(finished('job-1', 'b', 'cancelled')));
  assert.equal(ended(ok(ledger.apply(complete('job-1'))).events)[0]?.status, 'cancelled');
});

test('fences: a deposed owner is refused; ownership moves only with a higher fence', () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1', { fence: 5 })));
  refused(ledger.apply(accepted('job-1', 'a', 4)), 'E_STALE_FENCE');
  refused(ledger.apply(accepted('job-1', 'a', 6)), 'E_FENCE_AHEAD');
  const t = (ownerGate: string, fence: number): LedgerCommand => ({
    type: 'transfer-owner',
    atMs: 1500,
    jobId: 'job-1',
    ownerGate,
    fence,
  });
  refused(ledger.apply(t('gate-2', 5)), 'E_STALE_FENCE');
  refused(ledger.apply(t('gate-2', 3)), 'E_STALE_FENCE');
  const moved = ok(ledger.apply(t('gate-2', 8)));
  assert.deepEqual(moved.events, [
    { type: 'owner-changed', jobId: 'job-1', ownerGate: 'gate-2', fence: 8 },
  ]);
  assert.equal(ok(ledger.apply(t('gate-2', 8))).duplicate, true);
  refused(ledger.apply(accepted('job-1', 'a', 5)), 'E_STALE_FENCE');
  ok(ledger.apply(accepted('job-1', 'a', 8)));
  assert.equal(ledger.job('job-1')?.ownerGate, 'gate-2');
  // The original answer still names the submission's owner and fence.
  assert.equal(ok(ledger.apply(submit('job-1', { fence: 5 }))).answer?.fence, 5);
});

test('malformed commands are refused with a message naming the field, never thrown', () => {
  const ledger = new JobLedger();
  const cases: Array<[unknown, RegExp]> = [
    [null, /must be an object/],
    [{ type: 'submit' }, /atMs/],
    [{ type: 'nope', atMs: 1 }, /unknown command type/],
    [{ ...submit('j'), targetDcs: [] }, /targetDcs/],
    [{ ...submit('j'), targetDcs: ['a', 'a'] }, /listed twice/],
    [{ ...submit('j'), fence: -1 }, /fence/],
    [{ ...submit('j'), jobId: 'x'.repeat(300) }, /jobId/],
    [{ ...submit('j'), idempotencyKey: 3 }, /idempotencyKey/],
    [{ type: 'dc-finished', atMs: 1, jobId: 'j', dc: 'a', outcome: 'meh', fence: 1 }, /outcome/],
    [{ type: 'cancel-requested', atMs: 1, jobId: 'j' }, /reason/],
  ];
  for (const [value, message] of cases) {
    const r = ledger.apply(value);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'E_INVALID_COMMAND');
    assert.match(!r.ok ? r.message : '', message);
  }
  assert.equal(ledger.size, 0);
});

test('snapshot bytes restore an equal ledger; corrupt snapshots are refused', () => {
  const ledger = new JobLedger();
  runTo(ledger, 'done', 'completed', 'cancelled');
  ok(ledger.apply(submit('live', { idempotencyKey: 'k' })));
  ok(ledger.apply(accepted('live', 'a')));
  const bytes = encodeLedgerSnapshot(ledger.snapshot());
  const parsed = parseLedgerBytes(bytes, 'E_INVALID_SNAPSHOT');
  assert.ok(parsed.ok);
  const restored = JobLedger.restore(parsed.value);
  assert.ok(restored instanceof JobLedger);
  assert.deepEqual(restored.snapshot(), ledger.snapshot());
  assert.equal(ok(restored.apply(submit('other', { idempotencyKey: 'k' }))).answer?.jobId, 'live');

  const snap = ledger.snapshot();
  const broken: unknown[] = [
    { ...snap, version: 2 },
    { ...snap, jobs: [...snap.jobs, snap.jobs[0]] },
    { ...snap, endedCompleted: ['live'] },
    { ...snap, endedUnsuccessful: [] },
    { ...snap, jobs: [{ ...snap.jobs[0], status: 'weird' }] },
  ];
  for (const b of broken) {
    const r = JobLedger.restore(b);
    assert.ok(!(r instanceof JobLedger), `should refuse ${JSON.stringify(b).slice(0, 80)}`);
    assert.equal(r.code, 'E_INVALID_SNAPSHOT');
  }
  const garbage = parseLedgerBytes(new Uint8Array([0xff, 0x00]), 'E_INVALID_SNAPSHOT');
  assert.equal(garbage.ok, false);
  // Commands travel as bytes too.
  const cmd = parseLedgerBytes(encodeLedgerCommand(submit('b')), 'E_INVALID_COMMAND');
  assert.ok(cmd.ok);
  ok(new JobLedger().apply(cmd.value));
});

test('a configuration value out of range is an E_OPTION error naming the field', () => {
  assert.throws(() => new JobLedger({ maxEndedJobs: 0 }), {
    code: 'E_OPTION',
    message: /job ledger config: maxEndedJobs must be an integer ≥ 1, got 0/,
  });
  assert.throws(() => new JobLedger({ completedRetentionMs: -5 }), {
    code: 'E_OPTION',
    message: /completedRetentionMs/,
  });
  assert.throws(() => new WindowMerger({ maxOutOfOrderPerSource: 1.5 }), {
    code: 'E_OPTION',
    message: /window merger config: maxOutOfOrderPerSource/,
  });
  assert.throws(() => CoreReservations.create({ term: 1, maxWorkers: 0 }), {
    code: 'E_OPTION',
    message: /maxWorkers/,
  });
});

// ─── the resume payload (what another gate runs a job from when its owner is lost) ─────────────

const RESUME = { plan: { version: 1 }, bundle: { hash: 'h', sizeBytes: 1, file: 'a.ts' } };

test("a submit's resume payload is kept while the job lives, survives snapshot and restore, and goes when the job ends", () => {
  const ledger = new JobLedger();
  ok(ledger.apply(submit('job-1', { resume: RESUME })));
  ok(ledger.apply(submit('plain')));
  ok(ledger.apply(submit('nulled', { resume: null })));
  assert.deepEqual(ledger.resumeOf('job-1'), RESUME);
  assert.equal(ledger.resumeOf('plain'), null);
  assert.equal(ledger.resumeOf('nulled'), null);
  assert.equal(ledger.resumeOf('unknown'), null);
  ok(ledger.apply(accepted('job-1', 'a')));
  ok(ledger.apply({ type: 'cancel-requested', atMs: 1200, jobId: 'job-1', reason: 'stop' }));
  assert.deepEqual(ledger.resumeOf('job-1'), RESUME, 'a cancel requested is not an end');

  const snap = ledger.snapshot();
  const byId = new Map(snap.jobs.map((j) => [j.jobId, j]));
  assert.deepEqual(byId.get('job-1')?.resume, RESUME);
  assert.equal('resume' in byId.get('plain')!, false, 'no payload, no field');
  const parsed = parseLedgerBytes(encodeLedgerSnapshot(snap), 'E_INVALID_SNAPSHOT');
  assert.ok(parsed.ok);
  const restored = JobLedger.restore(parsed.value);
  assert.ok(restored instanceof JobLedger);
  assert.deepEqual(restored.resumeOf('job-1'), RESUME);
  assert.equal(restored.resumeOf('plain'), null);

  // The job ends (on the original and on the restored copy alike): the payload goes.
  for (const l of [ledger, restored]) {
    ok(l.apply(accepted('job-1', 'b')));
    ok(l.apply(finished('job-1', 'a', 'cancelled')));
    assert.deepEqual(l.resumeOf('job-1'), RESUME, 'one DC finished: the job still lives');
    ok(l.apply(finished('job-1', 'b', 'cancelled')));
    ok(l.apply(complete('job-1')));
    assert.equal(l.job('job-1')?.status, 'cancelled');
    assert.equal(l.resumeOf('job-1'), null);
    const ended = l.snapshot().jobs.find((j) => j.jobId === 'job-1');
    assert.ok(ended);
    assert.equal('resume' in ended, false);
  }
  assert.deepEqual(restored.snapshot(), ledger.snapshot());
});

test('a restored ended job carries no resume payload; a payload that is not an object is a corrupt snapshot', () => {
  const ledger = new JobLedger();
  runTo(ledger, 'done', 'completed', 'completed');
  ok(ledger.apply(submit('live', { resume: RESUME })));
  const snap = ledger.snapshot();
  const withStale = {
    ...snap,
    jobs: snap.jobs.map((j) => (j.jobId === 'done' ? { ...j, resume: RESUME } : j)),
  };
  const restored = JobLedger.restore(withStale);
  assert.ok(restored instanceof JobLedger);
  assert.equal(restored.resumeOf('done'), null);
  assert.deepEqual(restored.resumeOf('live'), RESUME);
  const at = snap.jobs.findIndex((j) => j.jobId === 'live');
  for (const bad of ['plan', 3, [RESUME]]) {
    const r = JobLedger.restore({
      ...snap,
      jobs: snap.jobs.map((j, i) => (i === at ? { ...j, resume: bad } : j)),
    });
    assert.ok(!(r instanceof JobLedger));
    assert.equal(r.code, 'E_INVALID_SNAPSHOT');
    assert.match(r.message, new RegExp(`jobs\\[${at}\\]\\.resume must be an object when present`));
  }
});

test('a submit whose resume payload passes maxResumeChars is refused with a message naming the bound; no job is made', () => {
  const ledger = new JobLedger({ maxResumeChars: 40 });
  // {"s":"…"} is the string's length + 8 characters as JSON.
  ok(ledger.apply(submit('at-bound', { resume: { s: 'x'.repeat(32) } })));
  assert.deepEqual(ledger.resumeOf('at-bound'), { s: 'x'.repeat(32) });
  const over = ledger.apply(submit('over', { resume: { s: 'x'.repeat(33) } }));
  refused(over, 'E_INVALID_COMMAND');
  assert.equal(
    !over.ok && over.message,
    'ledger command submit: resume must be at most 40 characters as JSON, got 41',
  );
  for (const bad of ['a string', 7, [1, 2], true]) {
    const r = ledger.apply(submit('shape', { resume: bad }));
    refused(r, 'E_INVALID_COMMAND');
    assert.equal(!r.ok && r.message, 'ledger command submit: resume must be null or an object');
  }
  assert.equal(ledger.job('over'), undefined);
  assert.equal(ledger.job('shape'), undefined);
  assert.equal(ledger.size, 1);
  // The default bound is what a Raft entry can carry with the rest of the submit.
  const big = { source: 'y'.repeat(192 * 1024) };
  const r = new JobLedger().apply(submit('big', { resume: big }));
  refused(r, 'E_INVALID_COMMAND');
  assert.match(!r.ok ? r.message : '', /resume must be at most 196608 characters as JSON/);
});

test('maxResumeChars out of range is an E_OPTION error naming it', () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => new JobLedger({ maxResumeChars: bad }), {
      code: 'E_OPTION',
      message: /job ledger config: maxResumeChars/,
    });
  }
  assert.ok(new JobLedger({ maxResumeChars: 0 }) instanceof JobLedger);
});
