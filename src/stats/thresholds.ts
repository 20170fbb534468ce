// Owns threshold expressions: parsing `<stat> <op> <value>` once into a typed form (k6
// thresholds.go style) and evaluating it against merged statistics. Never reads a clock or I/O.

import { ThresholdSyntaxError } from '../errors.js';
import type { Histogram } from './histogram.js';
import { TREND_SCALE, type MetricKind } from './recorder.js';
import type { ThresholdResult } from './types.js';

export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** Statistics after aliases are resolved (avg → mean, med → p50, error_rate → rate). */
export type ThresholdStat =
  | { name: 'percentile'; p: number }
  | { name: 'min' }
  | { name: 'max' }
  | { name: 'mean' }
  | { name: 'stdev' }
  | { name: 'count' }
  | { name: 'rps' }
  | { name: 'rate' }
  | { name: 'errors' }
  | { name: 'value' };

export type ThresholdStatName = ThresholdStat['name'];

/** A unit written after the number; null for a bare number. */
export type ThresholdValueUnit = 'us' | 'ms' | 's' | 'm' | '%';

export interface ParsedThreshold {
  /** A step name, `*` (all steps), `errors` (workflow error rate) or a custom metric name. */
  target: string;
  /** The expression exactly as written. */
  expression: string;
  stat: ThresholdStat;
  /** The statistic as written (`avg`, `p(99.9)`, `error_rate`…), for messages. */
  statText: string;
  op: ThresholdOp;
  /** The number as written, before any unit conversion. */
  value: number;
  unit: ThresholdValueUnit | null;
  /** Set when the threshold stops the run as soon as it fails, after `delayMs` of the workflow. */
  abortOnFail?: { delayMs: number };
}

/** What a threshold target refers to. `workflow` is `*`; `errors` is the workflow error rate. */
export type ThresholdTargetKind = 'workflow' | 'errors' | 'step' | MetricKind;

/** The names a target can resolve to. */
export interface ThresholdTargetLookup {
  hasStep(name: string): boolean;
  metricKind(name: string): MetricKind | undefined;
}

/** Counts and latency (µs) of one step, or of all steps together. */
export interface ThresholdStepView {
  count: number;
  ok: number;
  failed: number;
  latencyUs: Histogram;
}

export type ThresholdMetricView =
  | { kind: 'counter'; value: number }
  | { kind: 'gauge'; value: number; min: number; max: number }
  | { kind: 'rate'; trues: number; total: number }
  /** Trend values scaled by TREND_SCALE (1000), as recorded. */
  | { kind: 'trend'; scaled: Histogram };

/** What `evaluateThreshold` reads; implemented by WorkflowAggregate. */
export interface ThresholdSubject extends ThresholdTargetLookup {
  stepView(name: string): ThresholdStepView | undefined;
  allStepsView(): ThresholdStepView;
  metricView(name: string): ThresholdMetricView | undefined;
  /** Seconds to divide by for per-second statistics. */
  durationSeconds(nowMs?: number): number;
}

const OPS: readonly ThresholdOp[] = ['<', '<=', '>', '>=', '==', '!='];
const UNITS_TO_US: Record<'us' | 'ms' | 's' | 'm', number> = {
  us: 1,
  ms: 1000,
  s: 1_000_000,
  m: 60_000_000,
};

/** Target name reserved for the workflow's failed/total rate. */
export const ERRORS_TARGET = 'errors';
/** Target name for all steps of a workflow together. */
export const ALL_STEPS_TARGET = '*';

const ACCEPTED_FORMS =
  'accepted: "<stat> <op> <value>" such as "p95 < 250ms" or "error_rate < 1%"; ' +
  'stats: p50 p75 p90 p95 p99 p99.9 p(N) min max mean avg med stdev count rps error_rate rate errors value; ' +
  'ops: < <= > >= == !=; ' +
  'units: us ms s m for latencies (a bare number is ms), 1% or 0.01 for rates, bare numbers otherwise';

const APPLICABLE: Record<ThresholdTargetKind, readonly ThresholdStatName[]> = {
  workflow: ['percentile', 'min', 'max', 'mean', 'stdev', 'count', 'rps', 'rate', 'errors'],
  step: ['percentile', 'min', 'max', 'mean', 'stdev', 'count', 'rps', 'rate', 'errors'],
  errors: ['rate', 'errors', 'count'],
  counter: ['count', 'rate'],
  gauge: ['value', 'min', 'max'],
  rate: ['rate'],
  trend: ['percentile', 'min', 'max', 'mean', 'stdev', 'count'],
};

const LATENCY_STATS: ReadonlySet<ThresholdStatName> = new Set([
  'percentile',
  'min',
  'max',
  'mean',
  'stdev',
]);

function syntaxError(target: string, expression: string, problem: string): ThresholdSyntaxError {
  return new ThresholdSyntaxError(
    `invalid threshold for '${target}': "${expression}": ${problem}; ${ACCEPTED_FORMS}`,
  );
}

const NUMBER = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const PERCENTILE_RE = new RegExp(String.raw`^p(?:\(\s*(${NUMBER})\s*\)|(${NUMBER}))$`);
const VALUE_RE = new RegExp(String.raw`^(${NUMBER})\s*(\S*)$`);

function parseStat(target: string, expression: string, text: string): ThresholdStat {
  const lower = text.toLowerCase();
  switch (lower) {
    case 'min':
    case 'max':
    case 'mean':
    case 'stdev':
    case 'count':
    case 'rps':
    case 'rate':
    case 'errors':
    case 'value':
      return { name: lower };
    case 'avg':
      return { name: 'mean' };
    case 'med':
      return { name: 'percentile', p: 50 };
    case 'error_rate':
      return { name: 'rate' };
  }
  const match = PERCENTILE_RE.exec(lower);
  if (match) {
    const p = Number(match[1] ?? match[2]);
    if (!(p > 0 && p <= 100)) {
      throw syntaxError(
        target,
        expression,
        `percentile '${text}' is out of range: N in p(N) must be greater than 0 and at most 100`,
      );
    }
    return { name: 'percentile', p };
  }
  if (text === '')
    throw syntaxError(target, expression, 'the statistic before the operator is missing');
  throw syntaxError(target, expression, `unknown statistic '${text}'`);
}

function parseUnit(
  target: string,
  expression: string,
  stat: ThresholdStat,
  statText: string,
  unitText: string,
): ThresholdValueUnit | null {
  if (unitText === '') return null;
  const unit = unitText === 'µs' ? 'us' : unitText;
  if (unit === 'us' || unit === 'ms' || unit === 's' || unit === 'm') {
    if (!LATENCY_STATS.has(stat.name)) {
      throw syntaxError(
        target,
        expression,
        `'${statText}' is not a duration, so the unit '${unitText}' does not apply`,
      );
    }
    return unit;
  }
  if (unit === '%') {
    if (stat.name !== 'rate') {
      throw syntaxError(target, expression, `'%' applies only to rates, not to '${statText}'`);
    }
    return '%';
  }
  throw syntaxError(
    target,
    expression,
    `unknown unit '${unitText}' (durations take us, ms, s or m; rates take %)`,
  );
}

/**
 * Parses `<stat> <op> <value>` for `target`. Throws ThresholdSyntaxError naming the target, the
 * expression, the problem and the accepted forms. Whether the statistic applies to the target's
 * kind is checked later (`thresholdApplicability`), since the kind may not be known yet.
 */
export function parseThreshold(target: string, expression: string): ParsedThreshold {
  if (typeof target !== 'string' || target.trim() === '') {
    throw new ThresholdSyntaxError(
      `invalid threshold: the target (a step name, '*', 'errors' or a metric name) is empty; ${ACCEPTED_FORMS}`,
    );
  }
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw syntaxError(target, String(expression), 'the expression is empty');
  }
  const opStart = expression.search(/[<>=!]/);
  if (opStart < 0) {
    throw syntaxError(
      target,
      expression,
      'missing comparison operator between statistic and value',
    );
  }
  const opText = /^[<>=!]+/.exec(expression.slice(opStart))?.[0] ?? '';
  if (!OPS.includes(opText as ThresholdOp)) {
    throw syntaxError(target, expression, `unknown operator '${opText}'`);
  }
  const op = opText as ThresholdOp;
  const statText = expression.slice(0, opStart).trim();
  const valueText = expression.slice(opStart + opText.length).trim();
  const stat = parseStat(target, expression, statText);
  if (valueText === '')
    throw syntaxError(target, expression, 'the value after the operator is missing');
  const valueMatch = VALUE_RE.exec(valueText);
  if (!valueMatch) {
    throw syntaxError(target, expression, `'${valueText}' is not a number with an optional unit`);
  }
  const value = Number(valueMatch[1]);
  if (!Number.isFinite(value)) {
    throw syntaxError(target, expression, `'${valueMatch[1]}' is not a finite number`);
  }
  const unit = parseUnit(target, expression, stat, statText, valueMatch[2] ?? '');
  if (stat.name === 'rate' && unit === '%' && (value < 0 || value > 100)) {
    throw syntaxError(
      target,
      expression,
      `a percentage must be between 0% and 100%, got ${value}%`,
    );
  }
  return { target, expression, stat, statText, op, value, unit };
}

/** What `target` names in a workflow: `*`, `errors`, a step (steps win over metrics), a metric. */
export function thresholdTargetKind(
  target: string,
  lookup: ThresholdTargetLookup,
): ThresholdTargetKind | null {
  if (target === ALL_STEPS_TARGET) return 'workflow';
  if (target === ERRORS_TARGET) return 'errors';
  if (lookup.hasStep(target)) return 'step';
  return lookup.metricKind(target) ?? null;
}

function describeKind(kind: ThresholdTargetKind, target: string): string {
  switch (kind) {
    case 'workflow':
      return "'*' (all steps)";
    case 'errors':
      return "'errors' (the workflow error rate)";
    case 'step':
      return `step '${target}'`;
    default:
      return `${kind} metric '${target}'`;
  }
}

/**
 * Null when `parsed` can be evaluated against a target of `kind`; otherwise a message saying
 * why not. Use it to validate thresholds before a run.
 */
export function thresholdApplicability(
  parsed: ParsedThreshold,
  kind: ThresholdTargetKind,
): string | null {
  const what = describeKind(kind, parsed.target);
  const allowed = APPLICABLE[kind];
  if (!allowed.includes(parsed.stat.name)) {
    const forms = allowed.map((s) => (s === 'percentile' ? 'pN' : s)).join(', ');
    return `threshold "${parsed.expression}" on ${what}: '${parsed.statText}' does not apply; use one of ${forms}`;
  }
  const latencyUnit =
    parsed.unit !== null && parsed.unit !== '%' && LATENCY_STATS.has(parsed.stat.name);
  if (latencyUnit && (kind === 'trend' || kind === 'gauge')) {
    return `threshold "${parsed.expression}" on ${what}: its values are unitless numbers; write the value without '${parsed.unit}'`;
  }
  if (parsed.stat.name === 'rate') {
    if (kind === 'counter') {
      if (parsed.unit === '%') {
        return `threshold "${parsed.expression}" on ${what}: a counter's rate is per second; write a bare number`;
      }
    } else if (parsed.unit === null && (parsed.value < 0 || parsed.value > 1)) {
      return `threshold "${parsed.expression}" on ${what}: a bare rate is a fraction between 0 and 1 (did you mean ${parsed.value}%?)`;
    }
  }
  return null;
}

function compare(actual: number, op: ThresholdOp, expected: number): boolean {
  switch (op) {
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected;
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected;
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
  }
}

/** Rounds away binary noise from unit conversions (0.1·1000 and friends). */
function clean(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

type Measured =
  | { ok: true; actual: number; expected: number; unit: ThresholdResult['unit'] }
  | { ok: false; message: string; unit: ThresholdResult['unit'] };

function histogramStat(h: Histogram, stat: ThresholdStat): number {
  switch (stat.name) {
    case 'percentile':
      return h.percentile(stat.p);
    case 'min':
      return h.min;
    case 'max':
      return h.max;
    case 'mean':
      return h.mean;
    default:
      return h.stdev;
  }
}

function measureSteps(
  parsed: ParsedThreshold,
  view: ThresholdStepView,
  what: string,
  seconds: number,
): Measured {
  const { stat } = parsed;
  switch (stat.name) {
    case 'count':
      return { ok: true, actual: view.count, expected: parsed.value, unit: '' };
    case 'errors':
      return { ok: true, actual: view.failed, expected: parsed.value, unit: '' };
    case 'rps':
      if (seconds <= 0) return { ok: false, message: `${what}: no duration yet`, unit: '/s' };
      return { ok: true, actual: view.count / seconds, expected: parsed.value, unit: '/s' };
    case 'rate':
      if (view.count === 0) return { ok: false, message: `${what}: no executions`, unit: '%' };
      return rateMeasured(parsed, view.failed / view.count);
    default: {
      if (view.latencyUs.isEmpty) {
        return { ok: false, message: `${what}: no latency samples`, unit: 'ms' };
      }
      const unit = parsed.unit === null || parsed.unit === '%' ? 'ms' : parsed.unit;
      const expectedUs = parsed.value * UNITS_TO_US[unit];
      const actualUs = histogramStat(view.latencyUs, stat);
      return { ok: true, actual: actualUs / 1000, expected: clean(expectedUs) / 1000, unit: 'ms' };
    }
  }
}

function rateMeasured(parsed: ParsedThreshold, fraction: number): Measured {
  const expectedFraction = parsed.unit === '%' ? parsed.value / 100 : parsed.value;
  return {
    ok: true,
    actual: clean(fraction * 100),
    expected: clean(expectedFraction * 100),
    unit: '%',
  };
}

function measureMetric(
  parsed: ParsedThreshold,
  view: ThresholdMetricView,
  what: string,
  seconds: number,
): Measured {
  const { stat } = parsed;
  switch (view.kind) {
    case 'counter':
      if (stat.name === 'count')
        return { ok: true, actual: view.value, expected: parsed.value, unit: '' };
      if (seconds <= 0) return { ok: false, message: `${what}: no duration yet`, unit: '/s' };
      return { ok: true, actual: view.value / seconds, expected: parsed.value, unit: '/s' };
    case 'gauge': {
      const actual = stat.name === 'min' ? view.min : stat.name === 'max' ? view.max : view.value;
      return { ok: true, actual, expected: parsed.value, unit: '' };
    }
    case 'rate':
      if (view.total === 0) return { ok: false, message: `${what}: no values`, unit: '%' };
      return rateMeasured(parsed, view.trues / view.total);
    case 'trend':
      if (stat.name === 'count') {
        return { ok: true, actual: view.scaled.count, expected: parsed.value, unit: '' };
      }
      if (view.scaled.isEmpty) return { ok: false, message: `${what}: no values`, unit: '' };
      return {
        ok: true,
        actual: histogramStat(view.scaled, stat) / TREND_SCALE,
        expected: parsed.value,
        unit: '',
      };
  }
}

/**
 * Evaluates a parsed threshold. Never throws for a missing or mismatched target: the result
 * then has `passed: false`, `actual: null` and a `message`. No data (no samples, no duration)
 * also fails, so a step that never ran cannot pass a latency threshold.
 */
export function evaluateThreshold(
  parsed: ParsedThreshold,
  subject: ThresholdSubject,
  nowMs?: number,
): ThresholdResult {
  const base = {
    target: parsed.target,
    expression: parsed.expression,
    ...(parsed.abortOnFail !== undefined ? { abortOnFail: true as const } : {}),
  };
  const kind = thresholdTargetKind(parsed.target, subject);
  if (kind === null) {
    return {
      ...base,
      actual: null,
      unit: '',
      passed: false,
      message: `threshold target '${parsed.target}' is neither a step nor a custom metric of this workflow (nor '*' or 'errors')`,
    };
  }
  const what = describeKind(kind, parsed.target);
  const inapplicable = thresholdApplicability(parsed, kind);
  if (inapplicable !== null) {
    return { ...base, actual: null, unit: '', passed: false, message: inapplicable };
  }
  const seconds = subject.durationSeconds(nowMs);
  let measured: Measured;
  if (kind === 'errors') {
    // For the `errors` target, `count` is the number of failures, like `errors`.
    const errorsOnly: ParsedThreshold =
      parsed.stat.name === 'count' ? { ...parsed, stat: { name: 'errors' } } : parsed;
    measured = measureSteps(errorsOnly, subject.allStepsView(), what, seconds);
  } else if (kind === 'workflow') {
    measured = measureSteps(parsed, subject.allStepsView(), what, seconds);
  } else if (kind === 'step') {
    const view = subject.stepView(parsed.target);
    measured = view
      ? measureSteps(parsed, view, what, seconds)
      : { ok: false, message: `${what}: no data`, unit: '' };
  } else {
    const view = subject.metricView(parsed.target);
    measured = view
      ? measureMetric(parsed, view, what, seconds)
      : { ok: false, message: `${what}: no data`, unit: '' };
  }
  if (!measured.ok) {
    return { ...base, actual: null, unit: measured.unit, passed: false, message: measured.message };
  }
  return {
    ...base,
    actual: measured.actual,
    unit: measured.unit,
    passed: compare(measured.actual, parsed.op, measured.expected),
  };
}
