// The Run over a scripted placement that runs nothing itself: proves the run is
// placement-agnostic. Windows that come out of order and duplicated give the same document,
// setup and teardown run once whatever the placement's size, published values reach
// dependents, a failed unit fails its workflow, a cancel reaches every unit, and the hard end
// ends units that keep running, all in manual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutorConfig } from '../../src/api/executors.js';
import { EXIT } from '../../src/errors.js';
import type { PlanSpec, WorkflowSpec } from '../../src/run/plan-spec.js';
import { Run } from '../../src/run/run.js';
import { HARD_END_SLACK_MS, STALLED_QUIET_MS } from '../../src/run/watchdog.js';
import { Histogram } from '../../src/stats/histogram.js';
import type { StatsWindow } from '../../src/stats/types.js';
import {
  FakePlacement,
  ManualClock,
  T0,
  windowOf,
  type UnitScript,
  type WorkflowScript,
} from './fake-placement.js';

const SHARED: ExecutorConfig = {
  type: 'shared-iterations',
  vus: 4,
  iterations: 100,
  maxDurationMs: 10_000,
  gracefulStopMs: 2000,
};

function workflowSpec(name: string, more: Partial<WorkflowSpec> = {}): WorkflowSpec {
  return {
    name,
    dependsOn: [],
    executor: SHARED,
    steps: ['s'],
    publishes: [],
    thresholds: [],
    setup: null,
    teardown: null,
    ...more,
  };
}

function planOf(...workflows: WorkflowSpec[]): PlanSpec {
  return { version: 1, workflows };
}

function runOver(plan: PlanSpec, placement: FakePlacement, clock = new ManualClock()): Run {
  return new Run({
    file: 'load.ts',
    bundle: { hash: 'a'.repeat(64), source: '/work/load.ts' },
    plan,
    placement,
    baseUrl: undefined,
    cancelGraceMs: 1000,
    windowMs: 1000,
    id: 'run-1',
    clock,
    environment: {
      nodeVersion: 'v20.0.0',
      host: { platform: 'linux', arch: 'x64', cpus: 2, hostname: 'test' },
    },
  });
}

/** Resolves once `ready()` holds, checking after each turn of the event loop. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (ready()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`never happened: ${what}`);
}

function loopDelayOf(...values: number[]): StatsWindow['loopDelay'] {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h.toSparse();
}

void test('windows delivered out of order and duplicated give the same results document as in order', async () => {
  const units: UnitScript[] = ['dc-b/w1#1/t0', 'dc-a/w1#1/t0', 'dc-a/w2#3/t1'].map((source, u) => ({
    source,
    windows: [1, 2, 3, 4].map((seq) => {
      const w = windowOf('load', 's', seq, 5 + u * 3 + seq, seq === 2 ? 1 : 0);
      if (seq % 2 === 1) w.loopDelay = loopDelayOf(100 * (u + 1), 200 * seq);
      return w;
    }),
    network: { requests: 10 + u, bytesSent: 100, bytesReceived: 1000 },
  }));
  const inOrder: WorkflowScript = { units };
  // Last unit first, each unit's windows backwards, and every window of unit 0 twice.
  const scrambled: WorkflowScript = {
    units,
    order: [
      [2, 3],
      [1, 3],
      [0, 3],
      [2, 2],
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 2],
      [1, 1],
      [2, 0],
      [0, 1],
      [1, 0],
      [0, 3],
      [0, 2],
      [0, 1],
      [0, 0],
      [2, 3],
    ],
  };
  const documents = [];
  for (const script of [inOrder, scrambled]) {
    const run = runOver(planOf(workflowSpec('load')), new FakePlacement(3, { load: script }));
    await run.run();
    assert.equal(run.rejectedWindows, 0);
    documents.push(run.results());
  }
  const [a, b] = documents;
  assert.deepEqual(b, a);
  const expected = units
    .flatMap((u) => u.windows)
    .reduce((n, w) => n + (w.steps['s']?.count ?? 0), 0);
  assert.equal(a?.workflows[0]?.totals.count, expected, 'each window counted once');
  assert.equal(a?.workflows[0]?.network?.requests, 33);
  assert.deepEqual(
    a?.generator?.eventLoopDelay.threads.map((t) => t.worker),
    [0, 1, 2],
    'every source numbered, in the same way whatever the order',
  );
  assert.equal(a?.generator?.eventLoopDelay.merged.samples, 12);
});

void test('setup and teardown run once over a placement of four units; setup data and published values reach every unit', async () => {
  const at = (atMs: number, value: string): Record<string, { value: unknown; atMs: number }> => ({
    token: { value, atMs },
  });
  const placement = new FakePlacement(
    4,
    {
      producer: {
        units: [
          {
            source: 'u0',
            windows: [windowOf('producer', 's', 1, 3)],
            published: at(T0 + 5, 'old'),
          },
          {
            source: 'u1',
            windows: [windowOf('producer', 's', 1, 3)],
            published: at(T0 + 9, 'newest'),
          },
          {
            source: 'u2',
            windows: [windowOf('producer', 's', 1, 3)],
            published: at(T0 + 7, 'mid'),
          },
          { source: 'u3', windows: [windowOf('producer', 's', 1, 3)] },
        ],
      },
      consumer: { units: [{ source: 'u0', windows: [windowOf('consumer', 's', 1, 2)] }] },
    },
    {
      'producer.setup': { value: { base: 20 } },
      'consumer.setup': { value: 'ready' },
    },
  );
  const run = runOver(
    planOf(
      workflowSpec('producer', {
        publishes: ['token'],
        setup: { timeoutMs: 5000 },
        teardown: { timeoutMs: 6000 },
        thresholds: [{ target: 's', expression: 'count == 12' }],
      }),
      workflowSpec('consumer', { dependsOn: ['producer'], setup: { timeoutMs: 5000 } }),
    ),
    placement,
  );
  await run.run();
  assert.deepEqual(
    placement.hookCalls.map((c) => [c.workflow, c.hook, c.timeoutMs, c.data, c.context]),
    [
      ['producer', 'setup', 5000, undefined, {}],
      ['producer', 'teardown', 6000, { base: 20 }, {}],
      ['consumer', 'setup', 5000, undefined, { producer: { token: 'newest' } }],
    ],
  );
  const [producerCall, consumerCall] = placement.workflowCalls;
  assert.deepEqual(producerCall?.data, { base: 20 });
  assert.deepEqual(producerCall?.share, { config: SHARED, phase: 0 });
  assert.equal(producerCall?.lanes, null);
  assert.deepEqual(consumerCall?.context, { producer: { token: 'newest' } });
  assert.equal(consumerCall?.data, 'ready');
  const results = run.results();
  assert.deepEqual(
    results.workflows.map((w) => [w.name, w.status, w.totals.count]),
    [
      ['producer', 'completed', 12],
      ['consumer', 'completed', 2],
    ],
  );
  assert.equal(results.thresholds.passed, 1);
  assert.equal(results.run.exitCode, EXIT.ok);
  assert.equal(results.run.workers, 4);
  await assert.rejects(run.run(), /a Run runs once/);
  assert.equal(placement.hookCalls.length, 3, 'nothing ran again');
  assert.deepEqual(results.run.droppedOutput, { writes: 3, bytes: 30 }, 'hook output counted');
});

void test('a failed unit fails its workflow: the others are merged, teardown still runs once, dependents are skipped, exit 4', async () => {
  const placement = new FakePlacement(
    3,
    {
      main: {
        units: [
          { source: 'a', windows: [windowOf('main', 's', 1, 4)] },
          { source: 'b', windows: [windowOf('main', 's', 1, 2)], failure: 'its thread crashed' },
          { source: 'c', windows: [windowOf('main', 's', 1, 4)], notes: ['slow start'] },
        ],
      },
    },
    {},
  );
  const run = runOver(
    planOf(
      workflowSpec('main', { teardown: { timeoutMs: 1000 } }),
      workflowSpec('after', { dependsOn: ['main'] }),
    ),
    placement,
  );
  await run.run();
  const results = run.results();
  const [main, after] = results.workflows;
  assert.equal(main?.status, 'failed');
  assert.equal(main?.error, 'unit b: its thread crashed');
  assert.equal(main?.totals.count, 10, 'what every unit reported is kept');
  assert.equal(after?.status, 'skipped');
  assert.match(after?.error ?? '', /skipped because 'main' did not complete \(failed\)/);
  assert.deepEqual(
    placement.hookCalls.map((c) => `${c.workflow}.${c.hook}`),
    ['main.teardown'],
  );
  assert.equal(placement.workflowCalls.length, 1, 'the dependent was never placed');
  assert.equal(results.run.exitCode, EXIT.runFailed);
  assert.equal(results.run.status, 'failed');
  assert.ok(results.run.notes.includes('main: slow start'));
});

void test('an interrupt reaches every unit of every running workflow and stops a running hook; nothing new starts', async () => {
  const forever = (source: string): UnitScript => ({
    source,
    windows: [windowOf('steady', 's', 1, 3)],
    untilCancelled: true,
  });
  const placement = new FakePlacement(
    3,
    { steady: { units: [forever('x'), forever('y'), forever('z')] } },
    { 'slow.setup': { hangs: true } },
  );
  const run = runOver(
    planOf(
      workflowSpec('steady'),
      workflowSpec('slow', { setup: { timeoutMs: 60_000 } }),
      workflowSpec('later', { dependsOn: ['steady'] }),
    ),
    placement,
  );
  const done = run.run();
  await until(
    () => placement.workflowCalls.length === 1 && placement.hookCalls.length === 1,
    'both started',
  );
  await until(() => run.snapshot().workflows[0]?.count === 9, 'windows merged');
  run.interrupt('the job was cancelled');
  await done;
  assert.deepEqual(
    [...(placement.cancels.get('steady') ?? [])],
    [
      ['x', 'the job was cancelled'],
      ['y', 'the job was cancelled'],
      ['z', 'the job was cancelled'],
    ],
  );
  assert.deepEqual(placement.stopped, ['slow.setup: the run was interrupted']);
  const results = run.results();
  assert.deepEqual(
    results.workflows.map((w) => [w.name, w.status]),
    [
      ['steady', 'interrupted'],
      ['slow', 'interrupted'],
      ['later', 'skipped'],
    ],
  );
  assert.equal(results.workflows[0]?.totals.count, 9, 'what came before the cancel is kept');
  assert.equal(results.run.status, 'interrupted');
  assert.equal(results.run.exitCode, EXIT.interrupted);
  assert.equal(run.exitCode(results), EXIT.interrupted);
});

void test('past the planned end a silent unit is ended, and past the slack every unit is; the watchdog then stops', async () => {
  const clock = new ManualClock();
  const executor: ExecutorConfig = {
    type: 'constant-vus',
    vus: 2,
    durationMs: 10_000,
    gracefulStopMs: 2000,
  };
  const placement = new FakePlacement(1, {
    spin: {
      units: [{ source: 't0', windows: [windowOf('spin', 's', 1, 2)], untilCancelled: true }],
    },
  });
  const run = runOver(planOf(workflowSpec('spin', { executor })), placement, clock);
  const done = run.run();
  await until(() => run.snapshot().workflows[0]?.count === 2, 'its window merged');
  clock.advance(11_900);
  assert.equal(placement.terminations.length, 0, 'nothing ended before the planned end + grace');
  clock.advance(150);
  assert.deepEqual(
    placement.terminations.map((t) => t.quietMs),
    [STALLED_QUIET_MS],
  );
  assert.match(placement.terminations[0]?.why ?? '', /stopped responding while running 'spin'/);
  clock.advance(HARD_END_SLACK_MS);
  await done;
  const last = placement.terminations.at(-1);
  assert.equal(last?.quietMs, 0);
  assert.match(last?.why ?? '', /was still running 'spin' 16s after it started/);
  assert.equal(clock.activeTickers, 0, 'the watchdog stopped with its workflow');
  const w = run.results().workflows[0];
  assert.equal(w?.status, 'failed');
  assert.match(w?.error ?? '', /^unit t0: t0 was still running 'spin'/);
  assert.equal(w?.totals.count, 2);
});

void test('a call that cannot be placed fails its workflow with the reason; teardown still runs', async () => {
  const placement = new FakePlacement(2, {
    main: { units: [], throws: new Error('the setup data cannot be sent: it has a cycle') },
  });
  const run = runOver(planOf(workflowSpec('main', { teardown: { timeoutMs: 1000 } })), placement);
  await run.run();
  const w = run.results().workflows[0];
  assert.equal(w?.status, 'failed');
  assert.equal(w?.error, 'the setup data cannot be sent: it has a cycle');
  assert.deepEqual(
    placement.hookCalls.map((c) => c.hook),
    ['teardown'],
  );
});

void test('a malformed window or one for another workflow is dropped and noted; the rest is merged', async () => {
  const bad = { ...windowOf('main', 's', 2, 5), iterations: 'many' } as unknown as StatsWindow;
  const placement = new FakePlacement(1, {
    main: {
      units: [
        {
          source: 'w0',
          windows: [
            windowOf('main', 's', 1, 4),
            bad,
            windowOf('other', 's', 3, 6),
            windowOf('main', 's', 4, 1),
          ],
        },
      ],
    },
  });
  const run = runOver(planOf(workflowSpec('main')), placement);
  await run.run();
  assert.equal(run.rejectedWindows, 2);
  const results = run.results();
  assert.equal(results.workflows[0]?.totals.count, 5);
  assert.equal(
    results.run.notes.filter((n) => n.startsWith('dropped a malformed statistics window from w0'))
      .length,
    2,
  );
});

void test('the live snapshot names the placement size, the planned length of the longest chain and each status', async () => {
  const placement = new FakePlacement(5, {
    a: { units: [{ source: 'w0', windows: [], untilCancelled: true }] },
    b: { units: [] },
  });
  const run = runOver(
    planOf(
      workflowSpec('a'),
      workflowSpec('b', { dependsOn: ['a'], executor: { ...SHARED, maxDurationMs: 5000 } }),
    ),
    placement,
  );
  const done = run.run();
  await until(() => placement.workflowCalls.length === 1, 'a placed');
  const live = run.snapshot();
  assert.equal(live.workers, 5);
  assert.equal(live.file, 'load.ts');
  assert.equal(live.plannedMs, 15_000);
  assert.deepEqual(
    live.workflows.map((w) => [w.name, w.status]),
    [
      ['a', 'running'],
      ['b', 'waiting'],
    ],
  );
  run.interrupt();
  await done;
  assert.match(run.snapshot().phase, /interrupted/);
});
