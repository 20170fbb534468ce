// The plan as data: planSpecOf of real workflow files survives JSON and validation unchanged;
// validatePlanSpec refuses what a client must not be trusted with, naming the field; shares of
// an executor split further with open-model phases that interleave across every unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorConfig } from '../../src/api/executors.js';
import { bundleWorkflow, importWorkflows } from '../../src/engine/loader.js';
import { buildPlan, splitExecutor } from '../../src/engine/plan.js';
import { EXIT, SalvoError, exitCodeFor } from '../../src/errors.js';
import { splitShare, validateExecutorShare, wholeShare } from '../../src/run/executor-spec.js';
import {
  PlanSpecError,
  planSpecOf,
  thresholdsOf,
  validatePlanSpec,
  type PlanSpec,
} from '../../src/run/plan-spec.js';
import { SALVO_VERSION } from '../../src/version.js';
import { CACHE_DIR, ROOT, fixture } from '../support/cli.js';

process.env['SALVO_CACHE_DIR'] = CACHE_DIR;

async function specOfFixture(name: string, vus?: number): Promise<PlanSpec> {
  const bundle = await bundleWorkflow(fixture(name));
  return planSpecOf(buildPlan(await importWorkflows(bundle), { vus }));
}

void test('planSpecOf a workflow file: survives JSON and validation unchanged, with hooks, publishes, dependencies and thresholds', async () => {
  const spec = await specOfFixture('run-placement.ts');
  const wire: unknown = JSON.parse(JSON.stringify(spec));
  assert.deepEqual(validatePlanSpec(wire), spec);
  const [producer, consumer] = spec.workflows;
  assert.deepEqual(producer, {
    name: 'producer',
    dependsOn: [],
    executor: {
      type: 'shared-iterations',
      vus: 4,
      iterations: 40,
      maxDurationMs: 600_000,
      gracefulStopMs: 30_000,
    },
    steps: ['add'],
    publishes: ['answer'],
    thresholds: [{ target: 'add', expression: 'count == 40' }],
    setup: { timeoutMs: 30_000 },
    teardown: { timeoutMs: 30_000 },
  });
  assert.equal(consumer?.name, 'consumer');
  assert.deepEqual(consumer?.dependsOn, ['producer']);
  assert.equal(consumer?.teardown, null);
  assert.equal(thresholdsOf(producer).at(0)?.op, '==');
});

void test('planSpecOf carries command-line overrides and the order of the workflow DAG', async () => {
  const spec = await specOfFixture('dag.ts', 3);
  assert.deepEqual(
    spec.workflows.map((w) => [w.name, w.dependsOn, w.steps, w.publishes]),
    [
      ['producer', [], ['a', 'b', 'c'], ['token']],
      ['consumer', ['producer'], ['use-token'], []],
    ],
  );
  assert.deepEqual(
    spec.workflows.map((w) => (w.executor.type === 'shared-iterations' ? w.executor.vus : -1)),
    [3, 3],
  );
  assert.deepEqual(validatePlanSpec(structuredClone(spec)), spec);
});

const constant: ExecutorConfig = {
  type: 'constant-vus',
  vus: 2,
  durationMs: 1000,
  gracefulStopMs: 0,
};

function goodSpec(): Record<string, unknown> & { workflows: Record<string, unknown>[] } {
  return {
    version: 1,
    workflows: [
      {
        name: 'first',
        dependsOn: [],
        executor: { ...constant },
        steps: ['home'],
        publishes: ['token'],
        thresholds: [{ target: 'home', expression: 'p(95) < 300ms' }],
        setup: { timeoutMs: 1000 },
        teardown: null,
      },
      {
        name: 'second',
        dependsOn: ['first'],
        executor: {
          type: 'ramping-arrival-rate',
          startRate: 0,
          timeUnitMs: 1000,
          stages: [{ durationMs: 1000, target: 5 }],
          preAllocatedVus: 2,
          maxVus: 4,
          gracefulStopMs: 0,
        },
        steps: ['a', 'b'],
        publishes: [],
        thresholds: [],
        setup: null,
        teardown: null,
      },
    ],
  };
}

type Spec = ReturnType<typeof goodSpec>;
const w0 = (s: Spec): Record<string, unknown> => s.workflows[0] as Record<string, unknown>;
const w1 = (s: Spec): Record<string, unknown> => s.workflows[1] as Record<string, unknown>;
const ex = (w: Record<string, unknown>): Record<string, unknown> =>
  w['executor'] as Record<string, unknown>;

const REFUSED: [string, (s: Spec) => unknown, string, RegExp][] = [
  ['not an object', () => 'plan', '(the spec)', /must be an object, got the string "plan"/],
  ['another version', (s) => ({ ...s, version: 2 }), 'version', /must be 1 .* got 2/],
  ['an unknown top-level field', (s) => ({ ...s, code: 'x' }), '(the spec).code', /not a known/],
  ['no workflows', (s) => ({ ...s, workflows: [] }), 'workflows', /list of 1 to 256/],
  ['an empty name', (s) => ((w0(s)['name'] = ' '), s), 'workflows[0].name', /non-empty name/],
  [
    'a repeated name',
    (s) => ((w1(s)['name'] = 'first'), s),
    'workflows[1].name',
    /repeats 'first'/,
  ],
  [
    'a dependency listed later',
    (s) => ((w0(s)['dependsOn'] = ['second']), s),
    'workflows[0].dependsOn[0]',
    /'second', which is not a workflow listed before 'first'/,
  ],
  [
    'a dependency on itself',
    (s) => ((w1(s)['dependsOn'] = ['second']), s),
    'workflows[1].dependsOn[0]',
    /not a workflow listed before/,
  ],
  [
    'an unknown workflow field',
    (s) => ((w0(s)['run'] = 'x'), s),
    'workflows[0].run',
    /not a known/,
  ],
  ['a missing field', (s) => (delete w0(s)['setup'], s), 'workflows[0].setup', /is missing/],
  [
    'an unknown executor type',
    (s) => ((ex(w0(s))['type'] = 'forever'), s),
    'workflows[0].executor.type',
    /must be one of constant-vus/,
  ],
  [
    'zero VUs',
    (s) => ((ex(w0(s))['vus'] = 0), s),
    'workflows[0].executor.vus',
    /from 1 to 1000000/,
  ],
  ['fractional VUs', (s) => ((ex(w0(s))['vus'] = 1.5), s), 'workflows[0].executor.vus', /whole/],
  ['too many VUs', (s) => ((ex(w0(s))['vus'] = 2e6), s), 'workflows[0].executor.vus', /whole/],
  [
    'a NaN duration',
    (s) => ((ex(w0(s))['durationMs'] = Number.NaN), s),
    'workflows[0].executor.durationMs',
    /must be a number above 0/,
  ],
  [
    'a negative graceful stop',
    (s) => ((ex(w0(s))['gracefulStopMs'] = -1), s),
    'workflows[0].executor.gracefulStopMs',
    /from 0/,
  ],
  [
    'an unknown executor field',
    (s) => ((ex(w0(s))['rate'] = 5), s),
    'workflows[0].executor.rate',
    /not a known/,
  ],
  [
    'maxVus below preAllocatedVus',
    (s) => ((ex(w1(s))['maxVus'] = 1), s),
    'workflows[1].executor.maxVus',
    /from 2 to/,
  ],
  [
    'no stages',
    (s) => ((ex(w1(s))['stages'] = []), s),
    'workflows[1].executor.stages',
    /1 to 1000/,
  ],
  [
    'a negative stage target',
    (s) => ((ex(w1(s))['stages'] = [{ durationMs: 1000, target: -1 }]), s),
    'workflows[1].executor.stages[0].target',
    /from 0/,
  ],
  ['no steps', (s) => ((w1(s)['steps'] = []), s), 'workflows[1].steps', /list of 1 to 1000/],
  [
    'a repeated step',
    (s) => ((w1(s)['steps'] = ['a', 'a']), s),
    'workflows[1].steps[1]',
    /repeats/,
  ],
  [
    'a threshold that does not parse',
    (s) => ((w0(s)['thresholds'] = [{ target: 'home', expression: 'p99 <<< 3' }]), s),
    'workflows[0].thresholds[0].expression',
    /does not parse/,
  ],
  [
    'a target that is not http(s)',
    (s) => ((s['baseUrl'] = 'ftp://x'), s),
    'baseUrl',
    /http\(s\) URL/,
  ],
  ['a target that is not a URL', (s) => ((s['baseUrl'] = 'nope'), s), 'baseUrl', /http\(s\) URL/],
  [
    'an abortOnFail delay that is not a whole number',
    (s) => (
      (w0(s)['thresholds'] = [
        { target: 'home', expression: 'p(95) < 300ms', abortOnFail: { delayMs: -1 } },
      ]),
      s
    ),
    'workflows[0].thresholds[0].abortOnFail.delayMs',
    /from 0/,
  ],
  [
    'a zero hook timeout',
    (s) => ((w0(s)['setup'] = { timeoutMs: 0 }), s),
    'workflows[0].setup.timeoutMs',
    /from 1 to 3600000/,
  ],
];

for (const [what, mutate, field, message] of REFUSED) {
  void test(`validatePlanSpec refuses ${what}, naming ${field}`, () => {
    const input = mutate(goodSpec());
    assert.throws(
      () => validatePlanSpec(input),
      (error: unknown) => {
        assert.ok(error instanceof PlanSpecError, String(error));
        assert.equal(error.field, field);
        assert.match(error.message, message);
        assert.ok(error.message.startsWith(`plan spec: ${field} `), error.message);
        return true;
      },
    );
  });
}

void test('an abortOnFail threshold keeps its delay through validation and parses with it', () => {
  const input = goodSpec();
  w0(input)['thresholds'] = [
    { target: 'home', expression: 'p(95) < 300ms', abortOnFail: { delayMs: 2000 } },
  ];
  const spec = validatePlanSpec(JSON.parse(JSON.stringify(input)));
  const [first] = spec.workflows;
  assert.ok(first);
  assert.deepEqual(first.thresholds[0]?.abortOnFail, { delayMs: 2000 });
  assert.deepEqual(thresholdsOf(first)[0]?.abortOnFail, { delayMs: 2000 });
  assert.equal(thresholdsOf(spec.workflows[1] ?? first).length, 0);
  assert.equal(spec.baseUrl, undefined);
  assert.equal(
    validatePlanSpec({ ...goodSpec(), baseUrl: 'http://127.0.0.1:9/' }).baseUrl,
    'http://127.0.0.1:9/',
  );
});

void test('a valid spec is returned as a fresh copy; a refused one is bad input (exit 2)', () => {
  const input = goodSpec();
  const spec = validatePlanSpec(input);
  assert.deepEqual(spec, input);
  ex(w0(input))['vus'] = 99;
  assert.equal((spec.workflows[0]?.executor as { vus: number }).vus, 2, 'no alias into the input');
  const error = (() => {
    try {
      validatePlanSpec({ version: 1, workflows: 'all' });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(error instanceof SalvoError);
  assert.equal(exitCodeFor(error), EXIT.badInput);
});

void test('an open-model share split again over threads interleaves arrivals evenly across all of them', () => {
  const rate: ExecutorConfig = {
    type: 'constant-arrival-rate',
    rate: 12,
    timeUnitMs: 1000,
    durationMs: 10_000,
    preAllocatedVus: 6,
    maxVus: 6,
    gracefulStopMs: 0,
  };
  // Two machines, three threads each: every thread runs 2/s, first arrivals 1000/12 ms apart.
  const firsts: number[] = [];
  for (const machine of splitExecutor(rate, 2)) {
    assert.ok(machine);
    const share = validateExecutorShare(JSON.parse(JSON.stringify(machine)), 'share');
    for (const thread of splitShare(share, 3)) {
      assert.ok(thread && thread.config.type === 'constant-arrival-rate');
      assert.equal(thread.config.rate, 2);
      firsts.push(thread.phase * (thread.config.timeUnitMs / thread.config.rate));
    }
  }
  const sorted = firsts.sort((a, b) => a - b).map((ms) => Math.round(ms * 1000) / 1000);
  assert.deepEqual(
    sorted,
    [0, 1, 2, 3, 4, 5].map((j) => Math.round(((j * 1000) / 12) * 1000) / 1000),
  );
  // The whole executor as one share splits exactly as splitExecutor does.
  assert.deepEqual(splitShare(wholeShare(rate), 3), splitExecutor(rate, 3));
  assert.deepEqual(splitShare(wholeShare(constant), 3), splitExecutor(constant, 3));
  assert.throws(
    () => validateExecutorShare({ config: constant, phase: 1 }, 'share'),
    /plan spec: share.phase must be a number from 0 up to 1/,
  );
});

void test('SALVO_VERSION is the package version', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(SALVO_VERSION, pkg.version);
});
