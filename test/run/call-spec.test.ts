// Placement calls from another process: a valid call survives JSON and validation unchanged
// (absent setup data stays absent); a malformed one is refused naming the field; a thread
// placement refuses lanes its threads do not fit in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHookCall, validateWorkflowCall } from '../../src/run/call-spec.js';
import { PlanSpecError } from '../../src/run/plan-spec.js';
import type { HookCall, WorkflowCall } from '../../src/run/placement.js';
import { ThreadPlacement, oneBundle } from '../../src/run/thread-placement.js';
import type { WorkerPool } from '../../src/pool/pool.js';

const HASH = 'e'.repeat(64);

function workflowCall(): WorkflowCall {
  return {
    bundle: { hash: HASH, source: '/work/load.ts' },
    workflow: 'load',
    share: {
      config: { type: 'constant-vus', vus: 4, durationMs: 1000, gracefulStopMs: 0 },
      phase: 0,
    },
    lanes: { first: 2, total: 8 },
    data: { token: 'x' },
    context: { before: { key: 1 } },
    baseUrl: null,
    windowMs: 1000,
    cancelGraceMs: 3000,
  };
}

function hookCall(): HookCall {
  return {
    bundle: { hash: HASH, source: '/work/load.ts' },
    workflow: 'load',
    hook: 'setup',
    timeoutMs: 30_000,
    baseUrl: 'http://target',
    context: {},
  };
}

void test('valid calls survive JSON and validation unchanged; absent setup data stays absent', () => {
  const call = workflowCall();
  assert.deepEqual(validateWorkflowCall(JSON.parse(JSON.stringify(call))), call);
  const noData = { ...call, data: undefined, lanes: null };
  const checked = validateWorkflowCall(JSON.parse(JSON.stringify(noData)));
  assert.equal('data' in checked, false);
  assert.equal(checked.lanes, null);
  const hook = hookCall();
  assert.deepEqual(validateHookCall(JSON.parse(JSON.stringify(hook))), hook);
  const teardown = { ...hook, hook: 'teardown', data: [1, 2] };
  assert.deepEqual(validateHookCall(teardown), teardown);
});

const REFUSED: [string, () => unknown, (v: unknown) => unknown, string][] = [
  [
    'a bundle hash that is not SHA-256 hex',
    () => ({ ...workflowCall(), bundle: { hash: 'abc', source: 'x' } }),
    validateWorkflowCall,
    'call.bundle.hash',
  ],
  [
    'lanes whose first is past the total',
    () => ({ ...workflowCall(), lanes: { first: 8, total: 8 } }),
    validateWorkflowCall,
    'call.lanes.first',
  ],
  [
    'a window shorter than 10 ms',
    () => ({ ...workflowCall(), windowMs: 5 }),
    validateWorkflowCall,
    'call.windowMs',
  ],
  [
    'a share with a bad executor',
    () => ({ ...workflowCall(), share: { config: { type: 'x' }, phase: 0 } }),
    validateWorkflowCall,
    'call.share.config.type',
  ],
  [
    'a context that is not an object',
    () => ({ ...workflowCall(), context: [] }),
    validateWorkflowCall,
    'call.context',
  ],
  [
    'an unknown field',
    () => ({ ...workflowCall(), code: 'export default 1' }),
    validateWorkflowCall,
    'call.code',
  ],
  [
    'a missing field',
    () => {
      const c: Partial<WorkflowCall> = workflowCall();
      delete c.cancelGraceMs;
      return c;
    },
    validateWorkflowCall,
    'call.cancelGraceMs',
  ],
  ['an unknown hook', () => ({ ...hookCall(), hook: 'cleanup' }), validateHookCall, 'call.hook'],
  [
    'a zero hook timeout',
    () => ({ ...hookCall(), timeoutMs: 0 }),
    validateHookCall,
    'call.timeoutMs',
  ],
  ['an empty base URL', () => ({ ...hookCall(), baseUrl: '' }), validateHookCall, 'call.baseUrl'],
];

for (const [what, input, validate, field] of REFUSED) {
  void test(`a call with ${what} is refused, naming ${field}`, () => {
    assert.throws(
      () => validate(input()),
      (error: unknown) => error instanceof PlanSpecError && error.field === field,
    );
  });
}

void test('a thread placement refuses lanes that its threads do not fit in', () => {
  const pool: WorkerPool = {
    size: 4,
    runJob: () => assert.fail('nothing may start'),
    shutdown: async () => undefined,
  };
  const placement = new ThreadPlacement({
    pool,
    bundles: oneBundle({ path: '/cache/e.mjs', hash: HASH, source: '/work/load.ts' }),
  });
  assert.throws(
    () =>
      placement.runWorkflow({ ...workflowCall(), lanes: { first: 6, total: 8 } }, () => undefined),
    /workflow 'load': lanes 6…9 of 8 do not fit 4 threads/,
  );
});
