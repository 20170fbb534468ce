// Tests of the window merger: exactly-once merging by (job, DC, worker, workflow, seq), exact
// histogram merges across DCs, order-independence (property test with permutations and
// duplicates), bounded out-of-order memory, bounds, sealing and bad windows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram } from '../../../src/stats/histogram.js';
import { WorkflowAggregate } from '../../../src/stats/aggregate.js';
import type { MetricWindow, StatsWindow, StepWindow } from '../../../src/stats/types.js';
import {
  WindowMerger,
  type MergeResult,
  type WindowEnvelope,
  type WindowMergerConfig,
} from '../../../src/cluster/jobs/window-merger.js';

function histogramOf(values: readonly number[]): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

function step(
  latencies: readonly number[],
  failed = 0,
  errors: Record<string, number> = {},
  samples: Record<string, string> = {},
): StepWindow {
  return {
    count: latencies.length,
    ok: latencies.length - failed,
    failed,
    errors,
    errorSamples: samples,
    statuses: { '200': latencies.length - failed },
    latency: histogramOf(latencies).toSparse(),
  };
}

function win(seq: number, over: Partial<StatsWindow> = {}): StatsWindow {
  return {
    workflow: 'wf',
    seq,
    startMs: 1000 * seq,
    endMs: 1000 * seq + 1000,
    activeVus: 2,
    allocatedVus: 2,
    iterations: { started: 1, completed: 1, failed: 0, dropped: 0 },
    steps: { get: step([100 * seq, 200 * seq]) },
    checks: {},
    metrics: {},
    ...over,
  };
}

const env = (window: unknown, dc = 'a', worker = 'w1', job = 'job-1'): WindowEnvelope => ({
  job,
  dc,
  worker,
  window,
});

function merged(r: MergeResult): boolean {
  if (!r.ok) assert.fail(`expected the window to merge, got ${r.code}: ${r.message}`);
  return r.merged;
}

test('a replayed window is merged once; the merged histogram is the exact merge of the raw samples', () => {
  const m = new WindowMerger();
  assert.equal(merged(m.apply(env(win(1)), 0)), true);
  assert.equal(merged(m.apply(env(win(1)), 0)), false);
  assert.equal(merged(m.apply(env(win(2)), 0)), true);
  // The same seq from another worker, DC, workflow or job is another window.
  assert.equal(merged(m.apply(env(win(1), 'a', 'w2'), 0)), true);
  assert.equal(merged(m.apply(env(win(1), 'b', 'w1'), 0)), true);
  assert.equal(merged(m.apply(env(win(1, { workflow: 'other' })), 0)), true);
  assert.equal(merged(m.apply(env(win(1), 'a', 'w1', 'job-2'), 0)), true);
  assert.deepEqual(m.counters, { merged: 6, duplicates: 1, rejected: 0 });
  const view = m.view('job-1');
  assert.ok(view);
  const get = view.workflows.wf?.steps.get;
  assert.ok(get);
  const raw = histogramOf([100, 200, 200, 400, 100, 200, 100, 200]);
  assert.deepEqual(get.latency, raw.toSparse());
  assert.equal(get.count, 8);
  assert.equal(view.workflows.wf?.seq, 4);
  assert.equal(view.workflows.wf?.activeVus, 6, 'newest window of each of three sources');
});

test('GM-8.2.2 multi-DC stats merge: totals and percentiles equal those of the raw samples of both DCs', () => {
  const m = new WindowMerger();
  const dcA = [120, 130, 5000, 170];
  const dcB = [90, 80_000, 110];
  merged(m.apply(env(win(1, { steps: { get: step(dcA, 1, { status_503: 1 }) } }), 'a', 'w1'), 0));
  merged(m.apply(env(win(1, { steps: { get: step(dcB) } }), 'b', 'w9'), 0));
  const view = m.view('job-1');
  assert.ok(view);
  const latency = Histogram.fromSparse(view.workflows.wf!.steps.get!.latency);
  const all = histogramOf([...dcA, ...dcB]);
  for (const p of [50, 90, 99, 100]) assert.equal(latency.percentile(p), all.percentile(p));
  assert.equal(view.workflows.wf?.steps.get?.count, 7);
  assert.deepEqual(view.workflows.wf?.steps.get?.errors, { status_503: 1 });
  assert.equal(view.dcs.a?.requests, 4);
  assert.equal(view.dcs.a?.failed, 1);
  assert.equal(view.dcs.b?.requests, 3);
  assert.equal(view.dcs.b?.workers.w9?.ok, 3);
});

test('a merged workflow is a window the local results path accepts, with the same step figures', () => {
  const windows = [
    env(
      win(1, { steps: { get: step([120, 900, 70_000], 1, { timeout: 1 }, { timeout: 'slow' }) } }),
      'a',
      'w1',
    ),
    env(win(1, { steps: { get: step([300, 310]) } }), 'b', 'w1'),
    env(win(2, { steps: { get: step([5, 6_000_000]) } }), 'a', 'w1'),
  ];
  const local = new WorkflowAggregate('wf', { type: 'constant-vus' });
  for (const e of windows) local.applyWindow(`${e.dc}/${e.worker}`, e.window as StatsWindow);
  const m = new WindowMerger();
  for (const e of windows) merged(m.apply(e, 0));
  const viaCluster = new WorkflowAggregate('wf', { type: 'constant-vus' });
  const mergedWindow = m.view('job-1')?.workflows.wf;
  assert.ok(mergedWindow);
  assert.equal(viaCluster.applyWindow('cluster', mergedWindow), true);
  const [a] = local.toResult([], 10_000).steps;
  const [b] = viaCluster.toResult([], 10_000).steps;
  assert.ok(a && b);
  for (const k of [
    'count',
    'ok',
    'failed',
    'errors',
    'errorSamples',
    'statuses',
    'latencyMs',
  ] as const) {
    assert.deepEqual(b[k], a[k], k);
  }
});

test('windows far ahead of a source are refused to be resent, so the seen-set stays bounded', () => {
  const m = new WindowMerger({ maxOutOfOrderPerSource: 4 });
  merged(m.apply(env(win(2)), 0));
  merged(m.apply(env(win(4)), 0));
  const ahead = m.apply(env(win(5)), 0);
  assert.equal(ahead.ok, false);
  assert.equal(!ahead.ok && ahead.code, 'E_WINDOW_AHEAD');
  merged(m.apply(env(win(1)), 0));
  assert.equal(merged(m.apply(env(win(5)), 0)), true, 'accepted once the prefix moved');
  assert.equal(merged(m.apply(env(win(3)), 0)), true);
  // After the prefix is contiguous, every old seq is still known as merged.
  for (let s = 1; s <= 5; s++) assert.equal(merged(m.apply(env(win(s)), 0)), false);
  assert.equal(m.view('job-1')?.workflows.wf?.seq, 5);
});

test('GM-8.4.2 stats for a completed (sealed) job are refused as late, counted, and change nothing; dropped jobs free their state', () => {
  const m = new WindowMerger({ maxTombstones: 2 });
  merged(m.apply(env(win(1)), 0));
  m.seal('job-1', 0);
  const late = m.apply(env(win(2)), 0);
  assert.equal(!late.ok && late.code, 'E_JOB_SEALED');
  assert.equal(m.counters.rejected, 1);
  assert.equal(m.view('job-1')?.sealed, true);
  assert.equal(m.view('job-1')?.workflows.wf?.seq, 1, 'the late window was not merged');
  m.drop('job-1');
  assert.equal(m.view('job-1'), undefined);
  assert.equal(m.jobCount, 0);
  const straggler = m.apply(env(win(3)), 0);
  assert.equal(!straggler.ok && straggler.code, 'E_JOB_SEALED');
  for (const j of ['x', 'y', 'z']) {
    merged(m.apply(env(win(1), 'a', 'w1', j), 0));
    m.drop(j);
  }
  // Only the newest two tombstones are kept: the oldest job id may start afresh.
  assert.equal(merged(m.apply(env(win(3)), 0)), true);
});

test('expire drops sealed jobs after their retention and idle jobs after their timeout', () => {
  const m = new WindowMerger({ sealedRetentionMs: 100, idleJobTimeoutMs: 1000 });
  merged(m.apply(env(win(1), 'a', 'w1', 'sealed'), 0));
  merged(m.apply(env(win(1), 'a', 'w1', 'idle'), 0));
  merged(m.apply(env(win(1), 'a', 'w1', 'busy'), 0));
  m.seal('sealed', 500);
  merged(m.apply(env(win(2), 'a', 'w1', 'busy'), 900));
  assert.deepEqual(m.expire(599), []);
  assert.deepEqual(m.expire(600), [{ job: 'sealed', cause: 'sealed' }]);
  assert.deepEqual(m.expire(1000), [{ job: 'idle', cause: 'idle' }]);
  assert.ok(m.view('busy'), 'a job that keeps receiving windows stays');
  assert.equal(m.jobCount, 1);
  const late = m.apply(env(win(2), 'a', 'w1', 'idle'), 1001);
  assert.equal(
    !late.ok && late.code,
    'E_JOB_SEALED',
    'an expired job is not recreated by a straggler',
  );
});

test('bounds: jobs, sources and workflows per job; a refused window changes nothing', () => {
  const cfg: Partial<WindowMergerConfig> = {
    maxJobs: 1,
    maxSourcesPerJob: 2,
    maxWorkflowsPerJob: 2,
  };
  const m = new WindowMerger(cfg);
  merged(m.apply(env(win(1)), 0));
  const other = m.apply(env(win(1), 'a', 'w1', 'job-2'), 0);
  assert.equal(!other.ok && other.code, 'E_TOO_MANY_JOBS');
  merged(m.apply(env(win(1), 'a', 'w2'), 0));
  const before = m.view('job-1');
  const third = m.apply(env(win(1), 'a', 'w3'), 0);
  assert.equal(!third.ok && third.code, 'E_WINDOW_BOUND');
  assert.deepEqual(m.view('job-1'), before);
  const kind = m.apply(env(win(2, { metrics: { x: { kind: 'counter', value: 1 } } })), 0);
  merged(kind);
  const clash = m.apply(env(win(3, { metrics: { x: { kind: 'rate', trues: 1, total: 1 } } })), 0);
  assert.equal(!clash.ok && clash.code, 'E_WINDOW_BOUND');
  assert.match(!clash.ok ? clash.message : '', /counter, not a rate/);
});

test('malformed windows and envelopes are refused with what is wrong, never thrown', () => {
  const m = new WindowMerger();
  const cases: Array<[WindowEnvelope, RegExp]> = [
    [env(null), /must be an object/],
    [env({ ...win(1), seq: 0 }), /seq/],
    [env({ ...win(1), endMs: 0 }), /startMs/],
    [env({ ...win(1), steps: { get: { ...step([1]), ok: 5 } } }), /ok \+ failed = count/],
    [
      env({
        ...win(1),
        steps: { get: { ...step([1]), latency: { ...step([1]).latency, count: 9 } } },
      }),
      /bucket counts/,
    ],
    [env({ ...win(1), metrics: { m: { kind: 'nope' } } }), /unknown metric kind/],
    [env({ ...win(1), checks: { get: { c: { passes: -1, fails: 0 } } } }), /passes and fails/],
    [env(win(1), ''), /dc must be/],
    [{ job: 7, dc: 'a', worker: 'w', window: win(1) } as unknown as WindowEnvelope, /job must be/],
  ];
  for (const [input, message] of cases) {
    const r = m.apply(input, 0);
    assert.equal(!r.ok && r.code, 'E_WINDOW_INVALID');
    assert.match(!r.ok ? r.message : '', message);
  }
  assert.equal(m.jobCount, 0);
  fc.assert(
    fc.property(fc.anything(), (v) => {
      const r = new WindowMerger().apply(env(v), 0);
      assert.equal(r.ok, false);
    }),
    { numRuns: 200, seed: 3 },
  );
});

test('past 100 error kinds per step, the smallest kinds are kept whatever the order', () => {
  const kinds = Array.from({ length: 150 }, (_, i) => `k${String(i).padStart(3, '0')}`);
  const windows = kinds.map((k, i) =>
    win(i + 1, { steps: { get: step([10], 1, { [k]: 1 }, { [k]: `sample ${k}` }) } }),
  );
  const forward = new WindowMerger({ maxOutOfOrderPerSource: 1000 });
  for (const w of windows) merged(forward.apply(env(w), 0));
  const backward = new WindowMerger({ maxOutOfOrderPerSource: 1000 });
  for (const w of [...windows].reverse()) merged(backward.apply(env(w), 0));
  const f = forward.view('job-1')?.workflows.wf?.steps.get;
  assert.deepEqual(backward.view('job-1')?.workflows.wf?.steps.get, f);
  assert.equal(Object.keys(f?.errors ?? {}).length, 101);
  assert.equal(f?.errors.other, 50);
  assert.equal(f?.errors.k000, 1);
  assert.equal(f?.errors.k149, undefined);
  assert.equal(f?.errorSamples.k099, 'sample k099');
  assert.equal(f?.errorSamples.k100, undefined);
});

// ─── Property: any permutation with duplicates equals one in-order pass ───

const latencies = fc.array(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 6 });
const stepArb = fc
  .record({
    lat: latencies,
    failedShare: fc.nat(),
    kind: fc.constantFrom('timeout', 'status_500', 'exception'),
    sample: fc.constantFrom('x', 'y', 'z'),
  })
  .map(({ lat, failedShare, kind, sample }) => {
    const failed = lat.length === 0 ? 0 : failedShare % (lat.length + 1);
    return failed > 0 ? step(lat, failed, { [kind]: failed }, { [kind]: sample }) : step(lat);
  });
const metricArb: fc.Arbitrary<MetricWindow> = fc.oneof(
  fc.integer({ min: 0, max: 1000 }).map((value) => ({ kind: 'counter' as const, value })),
  fc
    .record({ value: fc.integer({ min: -5, max: 5 }), atMs: fc.integer({ min: 0, max: 3 }) })
    .map(({ value, atMs }) => ({ kind: 'gauge' as const, value, min: value, max: value, atMs })),
  fc
    .integer({ min: 0, max: 10 })
    .map((total) => ({ kind: 'rate' as const, trues: Math.floor(total / 2), total })),
  latencies.map((vs) => ({ kind: 'trend' as const, values: histogramOf(vs).toSparse() })),
);
const windowBody = fc.record({
  startMs: fc.integer({ min: 0, max: 10_000 }),
  span: fc.integer({ min: 0, max: 2000 }),
  activeVus: fc.integer({ min: 0, max: 50 }),
  steps: fc.dictionary(fc.constantFrom('s1', 's2'), stepArb),
  checks: fc.dictionary(
    fc.constantFrom('s1', 's2'),
    fc.dictionary(fc.constantFrom('c1', 'c2'), fc.record({ passes: fc.nat(9), fails: fc.nat(9) })),
  ),
  metrics: fc.dictionary(fc.constantFrom('m1', 'm2', 'm3', 'm4'), metricArb),
});

interface Source {
  dc: string;
  worker: string;
  workflow: string;
}
const sourceArb = fc.record({
  dc: fc.constantFrom('a', 'b'),
  worker: fc.constantFrom('w1', 'w2'),
  workflow: fc.constantFrom('wf1', 'wf2'),
});

/** Windows of several sources, each numbered 1..n; metric kinds fixed per name so they agree. */
const scenario = fc
  .uniqueArray(sourceArb, {
    minLength: 1,
    maxLength: 4,
    selector: (s) => `${s.dc}/${s.worker}/${s.workflow}`,
  })
  .chain((sources: Source[]) =>
    fc.tuple(
      ...sources.map((s) =>
        fc.array(windowBody, { minLength: 1, maxLength: 6 }).map((bodies) => ({ s, bodies })),
      ),
    ),
  )
  .map((perSource) => {
    const kindOf = new Map<string, MetricWindow['kind']>();
    const envelopes: WindowEnvelope[] = [];
    for (const { s, bodies } of perSource) {
      bodies.forEach((b, i) => {
        const metrics: Record<string, MetricWindow> = {};
        for (const [name, mw] of Object.entries(b.metrics)) {
          const kind = kindOf.get(name) ?? mw.kind;
          kindOf.set(name, kind);
          if (kind === mw.kind) metrics[name] = mw;
        }
        const window: StatsWindow = {
          workflow: s.workflow,
          seq: i + 1,
          startMs: b.startMs,
          endMs: b.startMs + b.span,
          activeVus: b.activeVus,
          allocatedVus: b.activeVus + 1,
          iterations: { started: i + 1, completed: i, failed: 1, dropped: 0 },
          steps: b.steps,
          checks: b.checks,
          metrics,
        };
        envelopes.push({ job: 'job-p', dc: s.dc, worker: s.worker, window });
      });
    }
    return envelopes;
  });

test('any permutation of the windows with duplicates yields the same merge as one in-order pass', () => {
  fc.assert(
    fc.property(
      scenario.chain((envs) =>
        fc.tuple(
          fc.constant(envs),
          fc.shuffledSubarray([...envs, ...envs, ...envs], { minLength: envs.length * 3 }),
        ),
      ),
      fc.integer({ min: 1, max: 4 }),
      ([inOrder, shuffled], maxOutOfOrder) => {
        const reference = new WindowMerger();
        for (const e of inOrder) assert.equal(merged(reference.apply(e, 0)), true);

        const m = new WindowMerger({ maxOutOfOrderPerSource: maxOutOfOrder });
        // A sender retransmits what was refused as too far ahead, until everything is in.
        let pending = shuffled;
        let mergedCount = 0;
        for (let round = 0; pending.length > 0; round++) {
          assert.ok(round < 100, 'retransmission converges');
          const again: WindowEnvelope[] = [];
          for (const e of pending) {
            const r = m.apply(e, 0);
            if (!r.ok) {
              assert.equal(r.code, 'E_WINDOW_AHEAD', r.message);
              again.push(e);
            } else if (r.merged) mergedCount++;
          }
          pending = again;
        }
        assert.equal(mergedCount, inOrder.length, 'each window merged exactly once');
        assert.deepEqual(m.view('job-p'), reference.view('job-p'));
      },
    ),
    { numRuns: 120, seed: 21 },
  );
});
