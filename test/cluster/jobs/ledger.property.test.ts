// Property tests of the gate job ledger over random command sequences: it never throws, is
// deterministic, a snapshot taken anywhere continues identically, a job ends at most once with
// the status its DC outcomes dictate, and an idempotency key always answers with one job.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JobLedger, globalStatus } from '../../../src/cluster/jobs/ledger.js';
import type {
  DcOutcome,
  LedgerCommand,
  LedgerConfig,
  LedgerEvent,
  LedgerResult,
} from '../../../src/cluster/jobs/ledger-types.js';

const CONFIG: Partial<LedgerConfig> = {
  maxActiveJobs: 6,
  maxEndedJobs: 3,
  completedRetentionMs: 40,
  unsuccessfulRetentionMs: 90,
};

const jobId = fc.constantFrom('j1', 'j2', 'j3', 'j4', 'j5');
const dc = fc.constantFrom('a', 'b', 'c');
const fence = fc.integer({ min: 0, max: 4 });
const outcome = fc.constantFrom<DcOutcome>('completed', 'failed', 'cancelled', 'timed-out');

const command = (atMs: number): fc.Arbitrary<LedgerCommand> =>
  fc.oneof(
    fc.record({
      type: fc.constant('submit' as const),
      atMs: fc.constant(atMs),
      jobId,
      client: fc.constantFrom('alice', 'bob'),
      idempotencyKey: fc.constantFrom(null, 'k1', 'k2'),
      payloadDigest: fc.constantFrom('d1', 'd2'),
      ownerGate: fc.constantFrom('g1', 'g2'),
      fence,
      targetDcs: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
      resume: fc.constantFrom(undefined, null, { p: 1 }, { p: 2, s: 'x' }),
    }),
    fc.record({
      type: fc.constant('dc-accepted' as const),
      atMs: fc.constant(atMs),
      jobId,
      dc,
      fence,
    }),
    fc.record({
      type: fc.constant('cancel-requested' as const),
      atMs: fc.constant(atMs),
      jobId,
      reason: fc.constant('stop'),
    }),
    fc.record({
      type: fc.constant('dc-finished' as const),
      atMs: fc.constant(atMs),
      jobId,
      dc,
      outcome,
      fence,
    }),
    fc.record({ type: fc.constant('complete' as const), atMs: fc.constant(atMs), jobId, fence }),
    fc.record({
      type: fc.constant('transfer-owner' as const),
      atMs: fc.constant(atMs),
      jobId,
      ownerGate: fc.constantFrom('g1', 'g2'),
      fence,
    }),
    fc.record({ type: fc.constant('sweep' as const), atMs: fc.constant(atMs) }),
  );

/** Commands with (mostly) increasing timestamps, as a leader stamps them. */
const commands = fc
  .array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 120 })
  .chain((steps) => {
    let t = 0;
    return fc.tuple(...steps.map((d) => command((t += d))));
  });

test('the ledger is deterministic and a snapshot taken anywhere continues identically', () => {
  fc.assert(
    fc.property(commands, fc.nat(), (cmds, cutAt) => {
      const cut = cutAt % (cmds.length + 1);
      const a = new JobLedger(CONFIG);
      const b = new JobLedger(CONFIG);
      const resultsA: LedgerResult[] = cmds.map((c) => a.apply(c));
      const resultsB: LedgerResult[] = cmds.map((c) => b.apply(c));
      assert.deepEqual(resultsB, resultsA);
      assert.deepEqual(b.snapshot(), a.snapshot());

      const head = new JobLedger(CONFIG);
      for (const c of cmds.slice(0, cut)) head.apply(c);
      const restored = JobLedger.restore(JSON.parse(JSON.stringify(head.snapshot())), CONFIG);
      assert.ok(restored instanceof JobLedger, 'a snapshot of a valid ledger restores');
      const tail = cmds.slice(cut).map((c) => restored.apply(c));
      assert.deepEqual(tail, resultsA.slice(cut));
      assert.deepEqual(restored.snapshot(), a.snapshot());
    }),
    { numRuns: 150, seed: 9 },
  );
});

test('a job ends at most once per incarnation, with the status its DC outcomes dictate', () => {
  fc.assert(
    fc.property(commands, (cmds) => {
      const ledger = new JobLedger(CONFIG);
      const endedSince = new Map<string, number>();
      const outcomes = new Map<string, Map<string, DcOutcome>>();
      for (const c of cmds) {
        const r = ledger.apply(c);
        const events: readonly LedgerEvent[] = r.events;
        for (const e of events) {
          switch (e.type) {
            case 'job-submitted':
              endedSince.set(e.jobId, 0);
              outcomes.set(e.jobId, new Map());
              break;
            case 'dc-finished':
              outcomes.get(e.jobId)?.set(e.dc, e.outcome);
              break;
            case 'job-ended': {
              const n = (endedSince.get(e.jobId) ?? 0) + 1;
              assert.equal(n, 1, `job ${e.jobId} ended twice`);
              endedSince.set(e.jobId, n);
              const seen = outcomes.get(e.jobId);
              assert.ok(seen);
              assert.deepEqual(e.dcs, Object.fromEntries(seen));
              assert.equal(e.status, globalStatus(seen.values()));
              break;
            }
            case 'job-evicted':
              endedSince.delete(e.jobId);
              break;
            default:
              break;
          }
        }
        assert.ok(ledger.activeJobs <= 6 && ledger.endedJobs <= 3, 'bounds hold');
      }
    }),
    { numRuns: 200, seed: 11 },
  );
});

test('an idempotency key answers with one job while that job is retained', () => {
  fc.assert(
    fc.property(commands, (cmds) => {
      const ledger = new JobLedger(CONFIG);
      const keyJob = new Map<string, string>();
      for (const c of cmds) {
        const r = ledger.apply(c);
        for (const e of r.events) {
          if (e.type === 'job-evicted') {
            for (const [k, id] of keyJob) if (id === e.jobId) keyJob.delete(k);
          }
        }
        if (c.type !== 'submit' || c.idempotencyKey === null) continue;
        const k = `${c.client}/${c.idempotencyKey}`;
        const known = keyJob.get(k);
        if (r.ok) {
          assert.ok(r.answer);
          if (known !== undefined) {
            assert.equal(r.answer.jobId, known);
            assert.equal(r.duplicate, true);
          }
          keyJob.set(k, r.answer.jobId);
        } else if (known !== undefined) {
          assert.equal(r.code, 'E_IDEMPOTENCY_CONFLICT');
          assert.notEqual(ledger.job(known)?.payloadDigest, c.payloadDigest);
        }
      }
    }),
    { numRuns: 200, seed: 13 },
  );
});

test("a job's resume payload is held exactly while it lives, and a snapshot anywhere carries it", () => {
  const ids = ['j1', 'j2', 'j3', 'j4', 'j5'];
  fc.assert(
    fc.property(commands, (cmds) => {
      const ledger = new JobLedger(CONFIG);
      // The payload of the submit that made each live job (null: none, or the job ended).
      const expected = new Map<string, unknown>();
      for (const c of cmds) {
        const r = ledger.apply(c);
        for (const e of r.events) {
          if (e.type === 'job-submitted' && c.type === 'submit') {
            expected.set(e.jobId, c.resume ?? null);
          } else if (e.type === 'job-ended') expected.set(e.jobId, null);
          else if (e.type === 'job-evicted') expected.delete(e.jobId);
        }
        for (const id of ids) {
          assert.deepEqual(ledger.resumeOf(id), expected.get(id) ?? null, `resume of ${id}`);
          const view = ledger.job(id);
          if (view === undefined || view.endedAtMs !== null) {
            assert.equal(ledger.resumeOf(id), null, `${id} is gone or ended`);
          }
        }
      }
      const restored = JobLedger.restore(JSON.parse(JSON.stringify(ledger.snapshot())), CONFIG);
      assert.ok(restored instanceof JobLedger);
      for (const id of ids) assert.deepEqual(restored.resumeOf(id), ledger.resumeOf(id));
    }),
    { numRuns: 200, seed: 17 },
  );
});

test('any value at all is answered, never thrown', () => {
  fc.assert(
    fc.property(fc.anything(), (v) => {
      const r = new JobLedger().apply(v);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'E_INVALID_COMMAND');
    }),
    { numRuns: 300, seed: 5 },
  );
});
