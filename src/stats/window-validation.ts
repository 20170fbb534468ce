// Owns the validation of a statistics window that arrives from a worker thread or another
// machine: its shape, its counts and histograms, and the aggregate's bounds. Throws a
// MalformedDataError naming the field; never changes anything.

import { validateSparseHistogram } from './histogram.js';
import type { MetricKind } from './recorder.js';
import type { StatsWindow, StepWindow } from './types.js';
import { MalformedDataError } from '../errors.js';

/** Distinct sources (threads, machines) per workflow. */
export const MAX_SOURCES = 10_000;
/** Distinct steps per workflow. */
export const MAX_AGGREGATE_STEPS = 1000;
/** Distinct custom metrics per workflow. */
export const MAX_AGGREGATE_METRICS = 1000;
/** Distinct (step, check) pairs per workflow. */
export const MAX_AGGREGATE_CHECKS = 1000;

export function fail(what: string, problem: string): never {
  throw new MalformedDataError(`stats window ${what}: ${problem}`);
}

export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function isFiniteNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function checkCounts(what: string, record: unknown): Record<string, number> {
  if (!isRecord(record)) fail(what, 'must be an object');
  for (const [key, n] of Object.entries(record)) {
    if (!isCount(n)) fail(what, `'${key}' must be a non-negative integer, got ${String(n)}`);
  }
  return record as Record<string, number>;
}

export function validateStep(what: string, step: unknown): StepWindow {
  if (!isRecord(step)) fail(what, 'must be an object');
  const { count, ok, failed, errors, errorSamples, statuses, latency } = step;
  if (!isCount(count) || !isCount(ok) || !isCount(failed) || ok + failed !== count) {
    fail(what, 'count, ok and failed must be non-negative integers with ok + failed = count');
  }
  checkCounts(`${what}.errors`, errors);
  checkCounts(`${what}.statuses`, statuses);
  if (!isRecord(errorSamples)) fail(`${what}.errorSamples`, 'must be an object');
  for (const [k, v] of Object.entries(errorSamples)) {
    if (typeof v !== 'string') fail(`${what}.errorSamples`, `'${k}' must be a string`);
  }
  validateSparseHistogram(latency, `stats window ${what}.latency`);
  return step as unknown as StepWindow;
}

export function validateMetric(
  what: string,
  metric: unknown,
  existing: MetricKind | undefined,
): void {
  if (!isRecord(metric)) fail(what, 'must be an object');
  const kind = metric.kind;
  if (kind !== 'counter' && kind !== 'gauge' && kind !== 'rate' && kind !== 'trend') {
    fail(what, `unknown metric kind ${JSON.stringify(kind)}`);
  }
  if (existing !== undefined && existing !== kind) {
    fail(what, `metric is a ${existing} but this window reports it as a ${kind}`);
  }
  switch (kind) {
    case 'counter':
      if (!isFiniteNumber(metric.value)) fail(what, 'counter value must be a finite number');
      break;
    case 'gauge':
      for (const field of ['value', 'min', 'max', 'atMs'] as const) {
        if (!isFiniteNumber(metric[field])) fail(what, `gauge ${field} must be a finite number`);
      }
      break;
    case 'rate':
      if (!isCount(metric.trues) || !isCount(metric.total) || metric.trues > metric.total) {
        fail(what, 'rate trues and total must be integers with 0 ≤ trues ≤ total');
      }
      break;
    case 'trend':
      validateSparseHistogram(metric.values, `stats window ${what}.values`);
      break;
  }
}

/** What the aggregate holds already, for the bounds a window must stay within. */
export interface AggregateHoldings {
  readonly name: string;
  readonly sources: number;
  hasStep(name: string): boolean;
  readonly steps: number;
  hasCheck(step: string, check: string): boolean;
  readonly checks: number;
  metricKind(name: string): MetricKind | undefined;
  readonly metrics: number;
}

/** Checks a whole window against its shape and the aggregate's bounds before anything is merged. */
export function validateWindow(
  what: string,
  w: StatsWindow,
  newSource: boolean,
  held: AggregateHoldings,
): void {
  if (w.workflow !== held.name) {
    fail(what, `is for workflow '${String(w.workflow)}', not '${held.name}'`);
  }
  if (newSource && held.sources >= MAX_SOURCES)
    fail(what, `too many sources (limit ${MAX_SOURCES})`);
  if (!isFiniteNumber(w.startMs) || !isFiniteNumber(w.endMs) || w.endMs < w.startMs) {
    fail(what, 'startMs and endMs must be finite with startMs ≤ endMs');
  }
  if (!isCount(w.activeVus) || !isCount(w.allocatedVus)) {
    fail(what, 'activeVus and allocatedVus must be non-negative integers');
  }
  checkCounts(`${what} iterations`, w.iterations);
  for (const key of ['started', 'completed', 'failed', 'dropped'] as const) {
    if (!isCount(w.iterations[key])) fail(`${what} iterations`, `${key} is missing`);
  }
  if (!isRecord(w.steps) || !isRecord(w.checks) || !isRecord(w.metrics)) {
    fail(what, 'steps, checks and metrics must be objects');
  }
  let newSteps = 0;
  for (const [name, step] of Object.entries(w.steps)) {
    validateStep(`${what} step '${name}'`, step);
    if (!held.hasStep(name)) newSteps++;
  }
  if (held.steps + newSteps > MAX_AGGREGATE_STEPS) {
    fail(what, `too many steps (limit ${MAX_AGGREGATE_STEPS})`);
  }
  let newChecks = 0;
  for (const [stepName, byName] of Object.entries(w.checks)) {
    if (!isRecord(byName)) fail(`${what} checks of '${stepName}'`, 'must be an object');
    for (const [checkName, c] of Object.entries(byName)) {
      if (!isRecord(c) || !isCount(c.passes) || !isCount(c.fails)) {
        fail(
          `${what} check '${stepName}/${checkName}'`,
          'passes and fails must be non-negative integers',
        );
      }
      if (!held.hasCheck(stepName, checkName)) newChecks++;
    }
  }
  if (held.checks + newChecks > MAX_AGGREGATE_CHECKS) {
    fail(what, `too many checks (limit ${MAX_AGGREGATE_CHECKS})`);
  }
  let newMetrics = 0;
  for (const [name, metric] of Object.entries(w.metrics)) {
    const existing = held.metricKind(name);
    validateMetric(`${what} metric '${name}'`, metric, existing);
    if (!existing) newMetrics++;
  }
  if (held.metrics + newMetrics > MAX_AGGREGATE_METRICS) {
    fail(what, `too many custom metrics (limit ${MAX_AGGREGATE_METRICS})`);
  }
}
