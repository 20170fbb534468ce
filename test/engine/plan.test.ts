// The run plan: step DAG and workflow DAG validation (cycles named), CLI overrides, and how
// executors split across threads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constantArrivalRate,
  constantVus,
  rampingArrivalRate,
  rampingVus,
  sharedIterations,
  type ExecutorConfig,
} from '../../src/api/executors.js';
import { workflow } from '../../src/api/workflow.js';
import {
  applyOverrides,
  buildPlan,
  buildStepGraph,
  collectWorkflows,
  shareOf,
  splitExecutor,
} from '../../src/engine/plan.js';
import {
  StepCycleError,
  WorkflowConfigError,
  WorkflowCycleError,
  ThresholdSyntaxError,
} from '../../src/errors.js';

const noop = (): number => 1;

describe('step DAG', () => {
  test('orders steps after their dependencies and records edges', () => {
    const w = workflow('w')
      .step('a', noop)
      .step('b', noop)
      .step('c', { after: ['a', 'b'] }, noop)
      .step('d', { after: ['c'] }, noop);
    const graph = buildStepGraph(w.definition);
    const position = (name: string): number =>
      graph.order.indexOf(w.definition.steps.findIndex((s) => s.name === name));
    assert.ok(position('c') > position('a') && position('c') > position('b'));
    assert.ok(position('d') > position('c'));
    assert.deepEqual(graph.deps[2], [0, 1]);
  });

  test('a step cycle is rejected before the run with the cycle named', () => {
    const w = workflow('loop')
      .step('a', { after: ['c'] as never[] }, noop)
      .step('b', { after: ['a'] }, noop)
      .step('c', { after: ['b'] }, noop);
    assert.throws(
      () => buildStepGraph(w.definition),
      (error: unknown) => {
        assert.ok(error instanceof StepCycleError);
        assert.equal(error.code, 'E_STEP_CYCLE');
        assert.match(error.message, /workflow 'loop': steps form a cycle: /);
        assert.equal(error.cycle[0], error.cycle[error.cycle.length - 1]);
        assert.deepEqual(new Set(error.cycle), new Set(['a', 'b', 'c']));
        return true;
      },
    );
  });

  test('a step that runs after an unknown step is rejected, listing the steps', () => {
    const w = workflow('w').step('a', { after: ['nope'] as never[] }, noop);
    assert.throws(
      () => buildStepGraph(w.definition),
      /runs after 'nope', which is not a step of this workflow \(steps: a\)/,
    );
  });

  test('a workflow without steps is rejected', () => {
    assert.throws(() => buildStepGraph(workflow('empty').definition), /has no steps/);
  });

  test('duplicate step names are rejected at definition', () => {
    assert.throws(() => workflow('w').step('a', noop).step('a', noop), /step 'a' is defined twice/);
  });
});

describe('workflow DAG', () => {
  test('collects exported workflows and their dependencies in dependency order', () => {
    const setup = workflow('setup')
      .step('login', noop)
      .publish('token', () => 't');
    const load = workflow('load').after(setup).step('get', noop);
    const found = collectWorkflows({ default: load });
    assert.deepEqual(found.map((w) => w.name).sort(), ['load', 'setup']);
    const plan = buildPlan(found);
    assert.deepEqual(
      plan.workflows.map((w) => w.name),
      ['setup', 'load'],
    );
    assert.deepEqual(plan.workflows[1]?.dependsOn, ['setup']);
  });

  test('a workflow cycle is rejected with the cycle named', () => {
    const a = workflow('a').step('x', noop);
    const b = workflow('b').after(a).step('y', noop);
    a.after(b);
    assert.throws(
      () => buildPlan(collectWorkflows({ a, b })),
      (error: unknown) => {
        assert.ok(error instanceof WorkflowCycleError);
        assert.match(error.message, /workflows form a cycle: (a → b → a|b → a → b)/);
        return true;
      },
    );
  });

  test('two workflows with one name are rejected', () => {
    assert.throws(
      () => buildPlan([workflow('x').step('a', noop), workflow('x').step('b', noop)]),
      WorkflowConfigError,
    );
  });

  test('a file exporting no workflow is rejected with an example', () => {
    assert.throws(() => buildPlan(collectWorkflows({ something: 42 })), /exports no workflow/);
  });

  test('thresholds are parsed into the plan; a bad one names target and expression', () => {
    const good = workflow('w')
      .step('home', noop)
      .thresholds({ home: ['p99 < 250ms'], errors: ['rate < 1%'] });
    assert.equal(buildPlan([good]).workflows[0]?.thresholds.length, 2);
    const bad = workflow('w2')
      .step('home', noop)
      .thresholds({ home: ['p99 < 250parsecs'] });
    assert.throws(
      () => buildPlan([bad]),
      (e: unknown) =>
        e instanceof ThresholdSyntaxError && /home/.test(e.message) && /250parsecs/.test(e.message),
    );
  });
});

describe('executor definitions', () => {
  test('bad executor options name the executor, the field and the accepted values', () => {
    assert.throws(
      () => constantVus({ vus: -1, duration: '10s' }),
      /constant-vus: 'vus' must be a whole number ≥ 1, got -1/,
    );
    assert.throws(
      () => constantVus({ vus: 1, duration: '5parsecs' }),
      /constant-vus: 'duration': invalid duration "5parsecs".*use a number with a unit/,
    );
    assert.throws(
      () => constantArrivalRate({ rate: 10, duration: '1s', preAllocatedVus: 5, maxVus: 2 }),
      /'maxVus' \(2\) is below 'preAllocatedVus' \(5\)/,
    );
    assert.throws(() => rampingVus({ stages: [] }), /'stages' must be a non-empty list/);
  });
});

describe('overrides from the command line', () => {
  test('constant-vus takes --vus and --duration as they are', () => {
    const c = applyOverrides('w', constantVus({ vus: 2, duration: '10s' }), {
      vus: 7,
      durationMs: 3000,
    });
    assert.deepEqual(
      [c.type, (c as { vus: number }).vus, (c as { durationMs: number }).durationMs],
      ['constant-vus', 7, 3000],
    );
  });

  test('ramping-vus is scaled so its peak equals --vus and stretched to --duration', () => {
    const c = applyOverrides(
      'w',
      rampingVus({
        startVus: 0,
        stages: [
          { duration: '10s', target: 10 },
          { duration: '10s', target: 5 },
        ],
      }),
      { vus: 20, durationMs: 10_000 },
    );
    assert.equal(c.type, 'ramping-vus');
    if (c.type !== 'ramping-vus') return;
    assert.deepEqual(
      c.stages.map((s) => s.target),
      [20, 10],
    );
    assert.deepEqual(
      c.stages.map((s) => s.durationMs),
      [5000, 5000],
    );
  });

  test('--rate is refused for closed-model executors with a reason', () => {
    assert.throws(
      () => applyOverrides('w', constantVus({ vus: 1, duration: '1s' }), { rate: 5 }),
      /--rate applies to arrival-rate executors/,
    );
  });

  test('arrival-rate executors take --rate, --duration and --vus as the pool', () => {
    const c = applyOverrides(
      'w',
      constantArrivalRate({ rate: 10, duration: '1s', preAllocatedVus: 2 }),
      { rate: 50, durationMs: 2000, vus: 9 },
    );
    assert.equal(c.type, 'constant-arrival-rate');
    if (c.type !== 'constant-arrival-rate') return;
    assert.deepEqual([c.rate, c.durationMs, c.preAllocatedVus, c.maxVus], [50, 2000, 9, 9]);
  });
});

describe('splitting executors across threads', () => {
  test('shareOf splits integers into near-equal shares that sum to the total', () => {
    for (const total of [0, 1, 2, 7, 100, 1001]) {
      for (const n of [1, 2, 3, 8]) {
        const shares = Array.from({ length: n }, (_, i) => shareOf(total, i, n));
        assert.equal(
          shares.reduce((a, b) => a + b, 0),
          total,
        );
        assert.ok(Math.max(...shares) - Math.min(...shares) <= 1);
      }
    }
  });

  const sum = (configs: (ExecutorConfig | undefined)[], field: string): number =>
    configs.reduce(
      (t, c) => t + (c ? ((c as unknown as Record<string, number>)[field] ?? 0) : 0),
      0,
    );

  test('VUs and iterations split exactly; empty shares are null', () => {
    const vus = splitExecutor(constantVus({ vus: 3, duration: '1s' }), 4);
    assert.equal(vus.filter((s) => s === null).length, 1);
    assert.equal(
      sum(
        vus.map((s) => s?.config),
        'vus',
      ),
      3,
    );
    const it = splitExecutor(sharedIterations({ vus: 4, iterations: 1001 }), 2);
    assert.equal(
      sum(
        it.map((s) => s?.config),
        'iterations',
      ),
      1001,
    );
  });

  test('arrival rates split evenly with staggered phases', () => {
    const shares = splitExecutor(
      constantArrivalRate({ rate: 90, duration: '1s', preAllocatedVus: 10 }),
      3,
    );
    assert.deepEqual(
      shares.map((s) => s?.phase),
      [0, 1 / 3, 2 / 3],
    );
    assert.ok(
      Math.abs(
        sum(
          shares.map((s) => s?.config),
          'rate',
        ) - 90,
      ) < 1e-9,
    );
    assert.equal(
      sum(
        shares.map((s) => s?.config),
        'preAllocatedVus',
      ),
      10,
    );
    const ramp = splitExecutor(
      rampingArrivalRate({ stages: [{ duration: '1s', target: 40 }], preAllocatedVus: 2 }),
      2,
    );
    assert.deepEqual(
      ramp.map((s) =>
        s?.config.type === 'ramping-arrival-rate' ? s.config.stages[0]?.target : -1,
      ),
      [20, 20],
    );
  });
});
