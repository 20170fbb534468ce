// Run over ThreadPlacement on real worker threads: hooks run once in their own threads whatever
// the pool size, setup data and published values reach every thread, thresholds are evaluated
// on the merged result; an interrupt cancels every thread's part; a thread that dies fails its
// workflow; a bundle the machine does not have is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyWorkflow } from '../../src/api/workflow.js';
import { bundleWorkflow, importWorkflows, type Bundle } from '../../src/engine/loader.js';
import { buildPlan } from '../../src/engine/plan.js';
import { EXIT } from '../../src/errors.js';
import { ThreadPool } from '../../src/pool/pool.js';
import type { Placement, PlacementReport } from '../../src/run/placement.js';
import { planSpecOf } from '../../src/run/plan-spec.js';
import { Run } from '../../src/run/run.js';
import { ThreadPlacement, oneBundle } from '../../src/run/thread-placement.js';
import { CACHE_DIR, fixture, tempDir } from '../support/cli.js';

process.env['SALVO_CACHE_DIR'] = CACHE_DIR;
const hookLog = join(tempDir('salvo-run-'), 'hooks.log');
// Worker threads start with a copy of this environment: the fixture's hooks write here.
process.env['RUN_HOOK_LOG'] = hookLog;

let pool: ThreadPool;
let bundle: Bundle;
let workflows: AnyWorkflow[];
before(async () => {
  bundle = await bundleWorkflow(fixture('run-placement.ts'));
  workflows = await importWorkflows(bundle);
  pool = await ThreadPool.start({ size: 2, finalizeSlackMs: 5000 });
});
after(async () => {
  await pool.shutdown();
});

/** The thread placement, with every workflow's report kept for the test to look at. */
function placementWithReports(reports: PlacementReport[], hash = bundle.hash): Placement {
  const threads = new ThreadPlacement({ pool, bundles: oneBundle({ ...bundle, hash }) });
  return {
    size: threads.size,
    runHook: (call) => threads.runHook(call),
    runWorkflow: (call, onWindow) => {
      const placed = threads.runWorkflow(call, onWindow);
      void placed.done.then((r) => reports.push(r));
      return placed;
    },
  };
}

function runOf(names: string[], placement: Placement): Run {
  const chosen = workflows.filter((w) => names.includes(w.definition.name));
  return new Run({
    file: 'run-placement.ts',
    bundle: { hash: bundle.hash, source: bundle.source },
    plan: planSpecOf(buildPlan(chosen)),
    placement,
    baseUrl: undefined,
    cancelGraceMs: 500,
    windowMs: 100,
  });
}

void test('two dependent workflows on two threads: hooks once each, data and published values everywhere, thresholds on the merged result', async () => {
  writeFileSync(hookLog, '');
  const reports: PlacementReport[] = [];
  const run = runOf(['producer', 'consumer'], placementWithReports(reports));
  await run.run();
  const results = run.results();
  assert.deepEqual(readFileSync(hookLog, 'utf8').trim().split('\n').sort(), [
    'setup consumer 42',
    'setup producer',
    'teardown producer 20',
  ]);
  assert.deepEqual(
    results.workflows.map((w) => [w.name, w.status, w.totals.count, w.totals.ok]),
    [
      ['producer', 'completed', 40, 40],
      ['consumer', 'completed', 10, 10],
    ],
  );
  assert.deepEqual(
    reports.map((r) => r.parts.map((p) => [p.unit, p.failure, p.cancelled])),
    [
      [
        ['worker 0', undefined, false],
        ['worker 1', undefined, false],
      ],
      [
        ['worker 0', undefined, false],
        ['worker 1', undefined, false],
      ],
    ],
    'each workflow ran on both threads',
  );
  assert.deepEqual(
    reports[0]?.parts.map((p) => p.published['answer']?.value),
    [42, 42],
  );
  assert.equal(results.thresholds.total, 1);
  assert.equal(results.thresholds.passed, 1);
  assert.equal(results.run.workers, 2);
  assert.equal(results.run.exitCode, EXIT.ok);
});

void test('an interrupt cancels the part of every thread; what they reported is kept', async () => {
  const reports: PlacementReport[] = [];
  const run = runOf(['steady'], placementWithReports(reports));
  const done = run.run();
  for (let i = 0; i < 600 && (run.snapshot().workflows[0]?.count ?? 0) < 20; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  run.interrupt();
  await done;
  assert.deepEqual(
    reports[0]?.parts.map((p) => [p.unit, p.cancelled, p.failure]),
    [
      ['worker 0', true, undefined],
      ['worker 1', true, undefined],
    ],
  );
  const results = run.results();
  assert.equal(results.workflows[0]?.status, 'interrupted');
  assert.ok((results.workflows[0]?.totals.count ?? 0) >= 20);
  assert.equal(results.run.exitCode, EXIT.interrupted);
});

void test('a thread that exits fails its workflow, naming the thread', async () => {
  const exiting = await bundleWorkflow(fixture('exit-step.ts'));
  const plan = planSpecOf(buildPlan(await importWorkflows(exiting), { durationMs: 20_000 }));
  const run = new Run({
    file: 'exit-step.ts',
    bundle: { hash: exiting.hash, source: exiting.source },
    plan,
    placement: new ThreadPlacement({ pool, bundles: oneBundle(exiting) }),
    baseUrl: 'http://127.0.0.1:9',
    cancelGraceMs: 500,
    windowMs: 100,
  });
  await run.run();
  const w = run.results().workflows[0];
  assert.equal(w?.status, 'failed');
  assert.match(
    w?.error ?? '',
    /^worker \d: worker thread \d exited with code 0: the workflow called process\.exit\(\)/,
  );
});

void test('a bundle this machine does not have is refused for hooks and workflows alike', async () => {
  const run = runOf(['producer', 'steady'], placementWithReports([], 'f'.repeat(64)));
  await run.run();
  const [producer, steady] = run.results().workflows;
  for (const w of [producer, steady]) {
    assert.equal(w?.status, 'failed');
    assert.match(
      w?.error ?? '',
      /bundle [0-9a-f]{12}… of .*run-placement\.ts is not on this machine/,
    );
  }
  assert.equal(producer?.iterations.started, 0);
});
