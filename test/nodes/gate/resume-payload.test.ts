// Unit tests of the resume payload a gate puts in a job's ledger submit: what it carries, when it
// is too large (null, logged), and how a new owner reads it back (checked again, with a message
// saying what is wrong).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobLedger } from '../../../src/cluster/jobs/ledger.js';
import { sha256Hex } from '../../../src/cluster/jobs/submission-check.js';
import type { GateState, PendingSubmission } from '../../../src/nodes/gate/gate-context.js';
import { RUN_PROGRAM } from '../../../src/nodes/gate/job-program.js';
import { pendingFromResume, resumePayload } from '../../../src/nodes/gate/resume-payload.js';
import type { Logger, LogLevel } from '../../../src/runtime/types.js';

class CaptureLogger implements Logger {
  readonly lines: Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }> =
    [];

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level, message, ...(fields !== undefined ? { fields } : {}) });
  }

  child(): Logger {
    return this;
  }
}

/** The parts of a gate's state these functions read: its ledger options, its log, its program. */
function gateState(maxResumeChars?: number): { state: GateState; log: CaptureLogger } {
  const log = new CaptureLogger();
  const state = {
    opts: maxResumeChars === undefined ? {} : { ledger: { maxResumeChars } },
    runtime: { log },
    program: RUN_PROGRAM,
  } as unknown as GateState;
  return { state, log };
}

const SOURCE = 'export default { workflows: [] };';
const PLAN = {
  version: 1,
  workflows: [
    {
      name: 'wf1',
      dependsOn: [],
      executor: { type: 'constant-vus', vus: 2, durationMs: 1_000, gracefulStopMs: 0 },
      steps: ['get'],
      publishes: [],
      thresholds: [],
      setup: null,
      teardown: null,
    },
  ],
};

function pending(over: Partial<PendingSubmission> = {}): PendingSubmission {
  const source = over.source ?? SOURCE;
  return {
    job: 'job-1',
    plan: PLAN,
    bundle: { hash: sha256Hex(source), sizeBytes: Buffer.byteLength(source), file: 'load.ts' },
    source,
    reports: [{ kind: 'json', path: 'results.json' }] as PendingSubmission['reports'],
    untilMs: 5_000,
    ...over,
  };
}

/** What `pendingFromResume` says is wrong with `v` (it must refuse it). */
function problem(state: GateState, v: unknown): string {
  const out = pendingFromResume(state, 'j', v);
  assert.equal(typeof out, 'string', 'refused');
  return out as string;
}

/** The payload as another gate reads it from the ledger (JSON in a Raft entry). */
const replicated = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

test('the payload carries the plan, bundle, source and reporters; a new owner reads the same submission back', () => {
  const { state, log } = gateState();
  const p = pending();
  const v = resumePayload(state, p);
  assert.deepEqual(v, { plan: p.plan, bundle: p.bundle, source: p.source, reports: p.reports });
  assert.deepEqual(log.lines, []);
  // Through the ledger, as a submit's payload, and back.
  const ledger = new JobLedger();
  const r = ledger.apply({
    type: 'submit',
    atMs: 1,
    jobId: 'job-1',
    client: 'c',
    idempotencyKey: null,
    payloadDigest: 'd',
    ownerGate: 'g1',
    fence: 1,
    targetDcs: ['a'],
    resume: replicated(v),
  });
  assert.equal(r.ok, true);
  const back = pendingFromResume(state, 'job-1', replicated(ledger.resumeOf('job-1')));
  assert.deepEqual(back, { ...p, untilMs: Number.POSITIVE_INFINITY });
  // No reporters listed is none.
  const { reports: _r, ...noReports } = v;
  assert.deepEqual((pendingFromResume(state, 'job-1', noReports) as PendingSubmission).reports, []);
});

test('a payload over maxResumeChars is null and logged with its size and the bound; at the bound it is kept', () => {
  const p = pending();
  const chars = JSON.stringify({
    plan: p.plan,
    bundle: p.bundle,
    source: p.source,
    reports: p.reports,
  }).length;
  const at = gateState(chars);
  assert.notEqual(resumePayload(at.state, p), null);
  const over = gateState(chars - 1);
  assert.equal(resumePayload(over.state, p), null);
  assert.deepEqual(over.log.lines, [
    {
      level: 'info',
      message: 'job too large to replicate: it cannot move to another gate',
      fields: { job: 'job-1', chars, max: chars - 1 },
    },
  ]);
  // Without a ledger option, the ledger's default bound (192 KiB) applies.
  const big = 'x'.repeat(192 * 1024);
  const dflt = gateState();
  assert.equal(resumePayload(dflt.state, pending({ source: big })), null);
  assert.equal(dflt.log.lines.length, 1);
  assert.equal(dflt.log.lines[0]!.fields?.max, 192 * 1024);
});

test('a missing or malformed payload is refused with a message saying what is wrong', () => {
  const { state } = gateState();
  const good = resumePayload(state, pending()) as Record<string, unknown>;
  const bundle = good.bundle as Record<string, unknown>;
  const noPayload =
    'it was submitted without what another gate needs to run it (too large to replicate)';
  assert.equal(pendingFromResume(state, 'j', null), noPayload);
  assert.equal(pendingFromResume(state, 'j', 'text'), noPayload);
  const malformed = 'its replicated submission is malformed (bundle or source missing)';
  const { source: _s, ...noSource } = good;
  const { bundle: _b, ...noBundle } = good;
  for (const v of [
    noSource,
    noBundle,
    { ...good, source: 7 },
    { ...good, bundle: 'b' },
    { ...good, bundle: { ...bundle, hash: 1 } },
    { ...good, bundle: { ...bundle, sizeBytes: '33' } },
    { ...good, bundle: { ...bundle, file: null } },
  ]) {
    assert.equal(pendingFromResume(state, 'j', v), malformed, JSON.stringify(v).slice(0, 80));
  }
});

test('a payload whose bundle, plan or reporters do not check is refused, naming the part', () => {
  const { state } = gateState();
  const good = resumePayload(state, pending()) as Record<string, unknown>;
  const bundle = good.bundle as { hash: string; sizeBytes: number; file: string };
  assert.equal(
    pendingFromResume(state, 'j', {
      ...good,
      source: `${SOURCE} `,
      bundle: { ...bundle, sizeBytes: bundle.sizeBytes + 1 },
    }),
    `its replicated bundle does not check: bundle.hash does not match the source (its SHA-256 is ${sha256Hex(`${SOURCE} `)})`,
  );
  assert.equal(
    pendingFromResume(state, 'j', { ...good, bundle: { ...bundle, sizeBytes: 3 } }),
    `its replicated bundle does not check: bundle.sizeBytes says 3, the source is ${bundle.sizeBytes} bytes`,
  );
  assert.equal(
    pendingFromResume(state, 'j', { ...good, plan: { ...PLAN, version: 2 } }),
    'its replicated plan does not check: plan version 2 is not supported by this gate (it runs version 1)',
  );
  const badPlan = problem(state, { ...good, plan: { version: 1, workflows: 'x' } });
  assert.match(badPlan, /^its replicated plan does not check: .*workflows/);
  assert.equal(
    pendingFromResume(state, 'j', { ...good, reports: 'json' }),
    'its replicated reporters do not check: reports must be a list of reporter configs',
  );
  const badReporter = problem(state, { ...good, reports: [{ kind: 'nope' }] });
  assert.match(badReporter, /^its replicated reporters do not check: reports\[0\]/);
});
