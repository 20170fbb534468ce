// Test fixtures for the terminal UI: a realistic live snapshot and run results to render.
// Shared by test/ui/*.test.ts; builders take overrides so each test states only what it needs.

import type { LiveSnapshot, LiveStepRow, LiveWorkflow } from '../../src/ui/snapshot.js';
import type {
  LatencySummary,
  RunResults,
  SparseHistogram,
  StepResult,
  WorkflowResult,
} from '../../src/stats/types.js';

export function liveStep(name: string, overrides: Partial<LiveStepRow> = {}): LiveStepRow {
  return { name, count: 12_345, ok: 12_340, failed: 5, p50Ms: 0.84, p99Ms: 12.3, ...overrides };
}

export function liveWorkflow(name: string, overrides: Partial<LiveWorkflow> = {}): LiveWorkflow {
  return {
    name,
    status: 'running',
    executor: 'constant-vus',
    elapsedMs: 12_000,
    plannedMs: 30_000,
    activeVus: 10,
    allocatedVus: 20,
    rpsNow: 4210,
    count: 50_511,
    ok: 50_500,
    failed: 11,
    dropped: 0,
    rpsSeries: [0, 1200, 3900, 4100, 4300, 4150, 4000, 4200, 4250, 4180, 4220, 4210],
    steps: [
      liveStep('login'),
      liveStep('browse catalog', { failed: 0, ok: 12_345 }),
      liveStep('checkout'),
    ],
    ...overrides,
  };
}

export function liveSnapshot(overrides: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    file: 'examples/shop.ts',
    workers: 8,
    elapsedMs: 12_000,
    plannedMs: 30_000,
    phase: 'running',
    workflows: [
      liveWorkflow('checkout'),
      liveWorkflow('admin', {
        status: 'waiting',
        executor: 'per-vu-iterations',
        count: 0,
        ok: 0,
        failed: 0,
        rpsSeries: [],
        steps: [],
      }),
    ],
    ...overrides,
  };
}

const EMPTY_HISTOGRAM: SparseHistogram = {
  count: 0,
  min: 0,
  max: 0,
  sum: 0,
  sumSquares: 0,
  buckets: [],
};

export function latency(p50: number, overrides: Partial<LatencySummary> = {}): LatencySummary {
  return {
    min: p50 / 4,
    max: p50 * 10,
    mean: p50 * 1.2,
    stdev: p50 / 2,
    p50,
    p75: p50 * 1.5,
    p90: p50 * 2,
    p95: p50 * 3,
    p99: p50 * 5,
    p999: p50 * 8,
    ...overrides,
  };
}

export function stepResult(name: string, overrides: Partial<StepResult> = {}): StepResult {
  return {
    name,
    count: 30_000,
    ok: 29_990,
    failed: 10,
    rps: 1000,
    errors: { status_503: 10 },
    errorSamples: { status_503: 'HTTP 503 Service Unavailable from GET /api/cart' },
    statuses: { '200': 29_990, '503': 10 },
    latencyMs: latency(2.1),
    timeline: { intervalMs: 1000, counts: [], failures: [] },
    histogram: EMPTY_HISTOGRAM,
    ...overrides,
  };
}

export function workflowResult(
  name: string,
  overrides: Partial<WorkflowResult> = {},
): WorkflowResult {
  return {
    name,
    status: 'completed',
    executor: { type: 'constant-vus', vus: 10, duration: '30s' },
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:00:30.000Z',
    durationMs: 30_000,
    vus: { max: 10, allocated: 10 },
    iterations: { started: 10_000, completed: 9_995, failed: 5, dropped: 0 },
    totals: { count: 60_000, ok: 59_980, failed: 20, rps: 2000 },
    steps: [stepResult('login'), stepResult('add to cart')],
    checks: [
      { step: 'login', name: 'status is 200', passes: 9_995, fails: 5 },
      { step: 'add to cart', name: 'cart has item', passes: 10_000, fails: 0 },
    ],
    metrics: [
      { name: 'orders', kind: 'counter', value: 1234, ratePerSecond: 41.1 },
      { name: 'queue_depth', kind: 'gauge', value: 3, min: 0, max: 17 },
      { name: 'cache_hit', kind: 'rate', rate: 0.873, trues: 873, total: 1000 },
      {
        name: 'render_ms',
        kind: 'trend',
        summary: latency(4.2),
        count: 1000,
        histogram: EMPTY_HISTOGRAM,
      },
    ],
    thresholds: [
      { target: 'login', expression: 'p(95) < 200ms', actual: 6.3, unit: 'ms', passed: true },
      { target: '*', expression: 'errors < 1%', actual: 0.03, unit: '%', passed: true },
    ],
    timeline: { intervalMs: 1000, counts: [], failures: [] },
    ...overrides,
  };
}

export function runResults(overrides: Partial<RunResults> = {}): RunResults {
  return {
    schema: 'salvo.results/v1',
    run: {
      id: 'run-1',
      file: 'examples/shop.ts',
      startedAt: '2025-01-01T00:00:00.000Z',
      endedAt: '2025-01-01T00:00:31.200Z',
      durationMs: 31_200,
      status: 'completed',
      exitCode: 0,
      workers: 8,
      salvoVersion: '0.1.0',
      nodeVersion: 'v20.20.2',
      host: { platform: 'linux', arch: 'x64', cpus: 8, hostname: 'ci' },
      notes: [],
    },
    thresholds: { total: 2, passed: 2, failed: 0 },
    workflows: [workflowResult('shopper')],
    ...overrides,
  };
}
