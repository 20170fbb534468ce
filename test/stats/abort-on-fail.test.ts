// Tests for src/stats/abort-on-fail.ts and the `abortOnFail` threshold option: which threshold
// decides, the delay before it may, no abort for lack of data, the results marking, and the
// option's validation in the workflow builder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workflow } from '../../src/api/workflow.js';
import { buildPlan } from '../../src/engine/plan.js';
import { WorkflowConfigError } from '../../src/errors.js';
import { AbortOnFailWatch, RunAbortOnFail, describeAbort } from '../../src/stats/abort-on-fail.js';
import { WorkflowAggregate } from '../../src/stats/aggregate.js';
import { WorkflowRecorder } from '../../src/stats/recorder.js';
import { parseThreshold, type ParsedThreshold } from '../../src/stats/thresholds.js';

const T0 = 1_000_000;

function aggregate(ok: number, failed: number): WorkflowAggregate {
  const agg = new WorkflowAggregate('w', { type: 'x' });
  agg.markStarted(T0);
  const rec = new WorkflowRecorder('w', T0);
  const step = rec.step('buy');
  for (let i = 0; i < ok; i++) step.ok(1000);
  for (let i = 0; i < failed; i++) step.fail(1000, 'status_500', 'GET / → 500');
  agg.applyWindow('t', rec.takeWindow(T0 + 1000));
  return agg;
}

function aborting(target: string, expression: string, delayMs = 0): ParsedThreshold {
  return { ...parseThreshold(target, expression), abortOnFail: { delayMs } };
}

void test('a failing abortOnFail threshold decides the abort once; plain thresholds never do', () => {
  const watch = new AbortOnFailWatch('w', [
    parseThreshold('errors', 'rate < 1%'),
    aborting('buy', 'p99 < 10ms'),
    aborting('errors', 'rate < 10%'),
  ]);
  assert.equal(watch.armed, true);
  const healthy = aggregate(10, 0);
  assert.equal(watch.check(healthy, T0, T0 + 1000), undefined);
  const failing = aggregate(5, 5);
  const decided = watch.check(failing, T0, T0 + 2500);
  assert.deepEqual(decided, {
    workflow: 'w',
    target: 'errors',
    expression: 'rate < 10%',
    actual: 50,
    unit: '%',
    afterMs: 2500,
  });
  assert.equal(watch.check(failing, T0, T0 + 3000), undefined, 'decided once');
  assert.deepEqual(watch.decision, decided);
  assert.match(
    describeAbort(decided),
    /threshold 'errors: rate < 10%' .*failed at 50% after 2\.5s/,
  );
  const plainOnly = new AbortOnFailWatch('w', [parseThreshold('errors', 'rate < 1%')]);
  assert.equal(plainOnly.armed, false);
  assert.equal(plainOnly.check(failing, T0, T0 + 2500), undefined);
});

void test('no abort before delayAbortEval has passed, nor while the target has no data', () => {
  const watch = new AbortOnFailWatch('w', [aborting('errors', 'rate < 10%', 5000)]);
  const failing = aggregate(0, 4);
  assert.equal(watch.check(failing, T0, T0 + 4999), undefined);
  assert.equal(watch.check(failing, T0, T0 + 5000)?.target, 'errors');
  const empty = new AbortOnFailWatch('w', [aborting('buy', 'p99 < 1ms')]);
  assert.equal(empty.check(aggregate(0, 0), T0, T0 + 10_000), undefined);
});

void test('the run marks the aborting threshold failed in its workflow result, even if it passes at the end', () => {
  const rules = [aborting('errors', 'rate < 10%')];
  const run = new RunAbortOnFail([
    { name: 'w', thresholds: rules },
    { name: 'other', thresholds: [] },
  ]);
  assert.equal(run.check('other', aggregate(0, 3), T0, T0 + 100), undefined);
  assert.ok(run.check('w', aggregate(1, 3), T0, T0 + 100));
  const end = aggregate(1000, 3); // recovered by the end: 0.3%
  const result = end.toResult(rules, T0 + 2000);
  assert.equal(result.thresholds[0]?.passed, true);
  assert.equal(result.thresholds[0]?.abortOnFail, true);
  const [marked] = run.markResults([result]);
  assert.equal(marked?.thresholds[0]?.passed, false);
  assert.equal(marked?.thresholds[0]?.abortedRun, true);
});

void test('workflow thresholds take { threshold, abortOnFail, delayAbortEval } and the plan carries them', () => {
  const w = workflow('w')
    .step('buy', () => 1)
    .thresholds({
      buy: ['p99 < 1s', { threshold: 'p95 < 500ms', abortOnFail: true, delayAbortEval: '10s' }],
      errors: [{ threshold: 'rate < 1%' }],
    });
  const plan = buildPlan([w]);
  const byExpr = Object.fromEntries(
    (plan.workflows[0]?.thresholds ?? []).map((t) => [t.expression, t.abortOnFail]),
  );
  assert.deepEqual(byExpr, {
    'p99 < 1s': undefined,
    'p95 < 500ms': { delayMs: 10_000 },
    'rate < 1%': undefined,
  });
  const bad: [unknown, RegExp][] = [
    [{ abortOnFail: true }, /needs 'threshold'/],
    [{ threshold: 'p99 < 1s', abortOnFail: 'yes' }, /abortOnFail must be true or false/],
    [{ threshold: 'p99 < 1s', delayAbortEval: '1s' }, /only with abortOnFail: true/],
    [{ threshold: 'p99 < 1s', abortOnFail: true, delayAbortEval: 'soon' }, /delayAbortEval/],
    [{ threshold: 'p99 < 1s', abortOnFail: true, when: 1 }, /unknown option 'when'/],
    [42, /must be an expression/],
  ];
  for (const [spec, message] of bad) {
    assert.throws(
      () => workflow('x').thresholds({ '*': [spec as string] }),
      (error: unknown) => error instanceof WorkflowConfigError && message.test(error.message),
      JSON.stringify(spec),
    );
  }
});
