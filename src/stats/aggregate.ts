// Owns the main-thread merge of statistics windows into one workflow's cumulative statistics —
// the single merge path for threads now and machines later. Never reads a clock or does I/O:
// every time is passed in, and every window is validated before anything is changed.

import type { LiveStepRow, LiveWorkflow } from '../ui/snapshot.js';
import { Histogram } from './histogram.js';
import {
  MAX_ERROR_MESSAGE_CHARS,
  OVERFLOW_ERROR_KIND,
  TREND_SCALE,
  type MetricKind,
} from './recorder.js';
import {
  evaluateThreshold,
  type ParsedThreshold,
  type ThresholdMetricView,
  type ThresholdStepView,
  type ThresholdSubject,
} from './thresholds.js';
import type {
  CheckResult,
  LatencySummary,
  MetricResult,
  StatsWindow,
  StepResult,
  Timeline,
  WorkflowResult,
  WorkflowStatus,
} from './types.js';
import { InternalError } from '../errors.js';
import { SeqTracker } from './seq-tracker.js';
export { MAX_OUT_OF_ORDER_SEQS } from './seq-tracker.js';
export {
  MAX_AGGREGATE_CHECKS,
  MAX_AGGREGATE_METRICS,
  MAX_AGGREGATE_STEPS,
  MAX_SOURCES,
} from './window-validation.js';
import { addToSeries, downsample, padded, type Series } from './timeline-series.js';
import { MAX_AGGREGATE_STEPS, fail, isRecord, validateWindow } from './window-validation.js';

/** Points kept per timeline; when full, adjacent pairs merge and the interval doubles. */
export const MAX_TIMELINE_POINTS = 1200;
/** Timeline resolution until the first downsampling. */
export const INITIAL_TIMELINE_INTERVAL_MS = 1000;
/** A source whose newest window is older than this no longer counts towards `rpsNow`. */
const STALE_SOURCE_MS = 2500;
/** Distinct error kinds (and, separately, statuses) kept per step; more go to `other`. */
export const MAX_KINDS_PER_STEP = 100;

export type AggregateStatus = LiveWorkflow['status'];

export type ExecutorDescription = { type: string } & Record<string, unknown>;

interface StepAggregate {
  name: string;
  latencyUs: Histogram;
  count: number;
  ok: number;
  failed: number;
  errors: Map<string, number>;
  errorSamples: Map<string, string>;
  statuses: Map<string, number>;
  series: Series;
}

type MetricAggregate =
  | { kind: 'counter'; value: number }
  | { kind: 'gauge'; value: number; min: number; max: number; atMs: number }
  | { kind: 'rate'; trues: number; total: number }
  | { kind: 'trend'; scaled: Histogram };

interface SourceState {
  seqs: SeqTracker;
  latestSeq: number;
  activeVus: number;
  allocatedVus: number;
  /** Actions per second in this source's newest window, and when that window ended. */
  latestRate: number;
  latestEndMs: number;
}

function truncate(message: string): string {
  return message.length > MAX_ERROR_MESSAGE_CHARS
    ? `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…`
    : message;
}

/** Adds `n` to `map[key]`, sending new keys beyond MAX_KINDS_PER_STEP to `other`. */
function addBounded(map: Map<string, number>, key: string, n: number): string {
  const seen = map.get(key);
  if (seen !== undefined) {
    map.set(key, seen + n);
    return key;
  }
  const target = map.size < MAX_KINDS_PER_STEP ? key : OVERFLOW_ERROR_KIND;
  map.set(target, (map.get(target) ?? 0) + n);
  return target;
}

function ms(us: number): number {
  return Math.round(us) / 1000;
}

/** Summary of a histogram of integer units, divided by `divisor`, rounded to 1/1000. */
export function summarize(h: Histogram, divisor: number): LatencySummary {
  const scale = (v: number): number => Math.round((v / divisor) * 1000) / 1000;
  if (h.isEmpty) {
    return { min: 0, max: 0, mean: 0, stdev: 0, p50: 0, p75: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
  }
  return {
    min: scale(h.min),
    max: scale(h.max),
    mean: scale(h.mean),
    stdev: scale(h.stdev),
    p50: scale(h.percentile(50)),
    p75: scale(h.percentile(75)),
    p90: scale(h.percentile(90)),
    p95: scale(h.percentile(95)),
    p99: scale(h.percentile(99)),
    p999: scale(h.percentile(99.9)),
  };
}

function toRecord<V>(map: Map<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of map) out[k] = v;
  return out;
}

function resultStatus(status: AggregateStatus): WorkflowStatus {
  switch (status) {
    case 'completed':
    case 'interrupted':
    case 'failed':
    case 'skipped':
      return status;
    case 'waiting':
      return 'skipped';
    case 'running':
    case 'stopping':
      return 'interrupted';
  }
}

/**
 * One workflow's cumulative statistics, merged from windows of any number of sources.
 * Windows are merged exactly once per (source, seq), in any order. A window that arrives
 * before `markStarted` starts the workflow at the window's `startMs`.
 */
export class WorkflowAggregate implements ThresholdSubject {
  readonly name: string;
  readonly executor: ExecutorDescription;
  private status: AggregateStatus = 'waiting';
  private error: string | undefined;
  private startedMs: number | null = null;
  private endedMs: number | null = null;
  private lastWindowEndMs: number | null = null;
  private readonly sources = new Map<string, SourceState>();
  private readonly steps = new Map<string, StepAggregate>();
  private readonly checks = new Map<string, Map<string, { passes: number; fails: number }>>();
  private checkCount = 0;
  private readonly metrics = new Map<string, MetricAggregate>();
  private readonly iterations = { started: 0, completed: 0, failed: 0, dropped: 0 };
  private activeVus = 0;
  private allocatedVus = 0;
  private maxActiveVus = 0;
  private maxAllocatedVus = 0;
  private intervalMs = INITIAL_TIMELINE_INTERVAL_MS;
  private readonly series: Series = { counts: [], failures: [] };
  /** Windows refused because their (source, seq) was already merged. */
  duplicates = 0;

  constructor(name: string, executorDescription: ExecutorDescription) {
    this.name = name;
    this.executor = executorDescription;
  }

  markStarted(ms: number): void {
    if (this.startedMs === null) this.startedMs = ms;
    if (this.status === 'waiting') this.status = 'running';
  }

  /** Records the end; a running/stopping/waiting workflow becomes `completed` unless set otherwise. */
  markEnded(ms: number): void {
    this.endedMs = ms;
    if (this.status === 'running' || this.status === 'stopping' || this.status === 'waiting') {
      this.status = 'completed';
    }
  }

  setStatus(status: AggregateStatus, error?: string): void {
    this.status = status;
    if (error !== undefined) this.error = error;
  }

  getStatus(): AggregateStatus {
    return this.status;
  }

  /** Makes steps known before they report, so results and thresholds list them. */
  declareSteps(names: Iterable<string>): void {
    for (const name of names) this.stepAggregate(name);
  }

  /** Seqs given up on across sources (see MAX_OUT_OF_ORDER_SEQS). */
  get skippedSeqs(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.seqs.skipped;
    return n;
  }

  /**
   * Merges `w` from `source` unless this (source, seq) was merged before (returns false and
   * changes nothing). Throws a descriptive Error, changing nothing, if `w` is malformed, is for
   * another workflow, or would exceed a bound.
   */
  applyWindow(source: string, w: StatsWindow): boolean {
    if (!isRecord(w)) fail(`from '${source}'`, 'must be an object');
    const what = `from '${source}' seq ${String(w.seq)}`;
    if (typeof w.seq !== 'number' || !Number.isSafeInteger(w.seq) || w.seq < 1) {
      fail(what, 'seq must be a positive integer');
    }
    const state = this.sources.get(source);
    if (state?.seqs.has(w.seq)) {
      this.duplicates++;
      return false;
    }
    validateWindow(what, w, state === undefined, {
      name: this.name,
      sources: this.sources.size,
      hasStep: (name) => this.steps.has(name),
      steps: this.steps.size,
      hasCheck: (step, check) => this.checks.get(step)?.has(check) === true,
      checks: this.checkCount,
      metricKind: (name) => this.metrics.get(name)?.kind,
      metrics: this.metrics.size,
    });
    const src = state ?? this.addSource(source);
    src.seqs.add(w.seq);
    this.merge(src, w);
    return true;
  }

  private addSource(source: string): SourceState {
    const state: SourceState = {
      seqs: new SeqTracker(),
      latestSeq: 0,
      activeVus: 0,
      allocatedVus: 0,
      latestRate: 0,
      latestEndMs: 0,
    };
    this.sources.set(source, state);
    return state;
  }

  private stepAggregate(name: string): StepAggregate {
    let step = this.steps.get(name);
    if (!step) {
      if (this.steps.size >= MAX_AGGREGATE_STEPS) {
        throw new InternalError(
          `workflow '${this.name}': too many steps (limit ${MAX_AGGREGATE_STEPS})`,
        );
      }
      step = {
        name,
        latencyUs: new Histogram(),
        count: 0,
        ok: 0,
        failed: 0,
        errors: new Map(),
        errorSamples: new Map(),
        statuses: new Map(),
        series: { counts: [], failures: [] },
      };
      this.steps.set(name, step);
    }
    return step;
  }

  private merge(src: SourceState, w: StatsWindow): void {
    if (this.startedMs === null) this.markStarted(w.startMs);
    if (this.lastWindowEndMs === null || w.endMs > this.lastWindowEndMs) {
      this.lastWindowEndMs = w.endMs;
    }
    this.iterations.started += w.iterations.started;
    this.iterations.completed += w.iterations.completed;
    this.iterations.failed += w.iterations.failed;
    this.iterations.dropped += w.iterations.dropped;

    if (w.seq > src.latestSeq) {
      src.latestSeq = w.seq;
      src.activeVus = w.activeVus;
      src.allocatedVus = w.allocatedVus;
      let active = 0;
      let allocated = 0;
      for (const s of this.sources.values()) {
        active += s.activeVus;
        allocated += s.allocatedVus;
      }
      this.activeVus = active;
      this.allocatedVus = allocated;
      this.maxActiveVus = Math.max(this.maxActiveVus, active);
      this.maxAllocatedVus = Math.max(this.maxAllocatedVus, allocated);
    }

    const index = this.timelineIndex((w.startMs + w.endMs) / 2);
    let windowCount = 0;
    let windowFailed = 0;
    for (const [name, sw] of Object.entries(w.steps)) {
      const step = this.stepAggregate(name);
      step.latencyUs.mergeSparse(sw.latency);
      step.count += sw.count;
      step.ok += sw.ok;
      step.failed += sw.failed;
      for (const [kind, n] of Object.entries(sw.errors)) {
        const key = addBounded(step.errors, kind, n);
        const sample = sw.errorSamples[kind];
        if (sample !== undefined && !step.errorSamples.has(key)) {
          step.errorSamples.set(key, truncate(key === kind ? sample : `${kind}: ${sample}`));
        }
      }
      for (const [status, n] of Object.entries(sw.statuses)) addBounded(step.statuses, status, n);
      addToSeries(step.series, index, sw.count, sw.failed);
      windowCount += sw.count;
      windowFailed += sw.failed;
    }
    addToSeries(this.series, index, windowCount, windowFailed);
    if (w.endMs > src.latestEndMs) {
      src.latestEndMs = w.endMs;
      src.latestRate = w.endMs > w.startMs ? (windowCount * 1000) / (w.endMs - w.startMs) : 0;
    }

    for (const [stepName, byName] of Object.entries(w.checks)) {
      let target = this.checks.get(stepName);
      if (!target) {
        target = new Map();
        this.checks.set(stepName, target);
      }
      for (const [checkName, c] of Object.entries(byName)) {
        const entry = target.get(checkName);
        if (entry) {
          entry.passes += c.passes;
          entry.fails += c.fails;
        } else {
          target.set(checkName, { passes: c.passes, fails: c.fails });
          this.checkCount++;
        }
      }
    }

    for (const [name, m] of Object.entries(w.metrics)) {
      const existing = this.metrics.get(name);
      switch (m.kind) {
        case 'counter':
          if (existing?.kind === 'counter') existing.value += m.value;
          else this.metrics.set(name, { kind: 'counter', value: m.value });
          break;
        case 'gauge':
          if (existing?.kind === 'gauge') {
            if (m.atMs >= existing.atMs) {
              existing.value = m.value;
              existing.atMs = m.atMs;
            }
            existing.min = Math.min(existing.min, m.min);
            existing.max = Math.max(existing.max, m.max);
          } else {
            this.metrics.set(name, { ...m });
          }
          break;
        case 'rate':
          if (existing?.kind === 'rate') {
            existing.trues += m.trues;
            existing.total += m.total;
          } else {
            this.metrics.set(name, { kind: 'rate', trues: m.trues, total: m.total });
          }
          break;
        case 'trend':
          if (existing?.kind === 'trend') existing.scaled.mergeSparse(m.values);
          else this.metrics.set(name, { kind: 'trend', scaled: Histogram.fromSparse(m.values) });
          break;
      }
    }
  }

  /** Index of the timeline interval holding `atMs`, downsampling first if it would not fit. */
  private timelineIndex(atMs: number): number {
    const offset = Math.max(0, atMs - (this.startedMs ?? atMs));
    let index = Math.floor(offset / this.intervalMs);
    while (index >= MAX_TIMELINE_POINTS) {
      this.intervalMs *= 2;
      downsample(this.series);
      for (const step of this.steps.values()) downsample(step.series);
      index = Math.floor(offset / this.intervalMs);
    }
    return index;
  }

  /**
   * Actions per second now: the sum over sources of the rate in each one's newest window,
   * counting only sources that reported within the last STALE_SOURCE_MS.
   */
  rpsNow(nowMs: number): number {
    let total = 0;
    for (const src of this.sources.values()) {
      if (nowMs - src.latestEndMs <= STALE_SOURCE_MS) total += src.latestRate;
    }
    return total;
  }

  /** Milliseconds from start to end (or to `nowMs`, or the last window, while running). */
  durationMs(nowMs?: number): number {
    if (this.startedMs === null) return 0;
    const end = this.endedMs ?? nowMs ?? this.lastWindowEndMs ?? this.startedMs;
    return Math.max(0, end - this.startedMs);
  }

  durationSeconds(nowMs?: number): number {
    return this.durationMs(nowMs) / 1000;
  }

  get totals(): { count: number; ok: number; failed: number } {
    let count = 0;
    let ok = 0;
    let failed = 0;
    for (const s of this.steps.values()) {
      // Named-request groups re-count requests their steps already count.
      if (isRequestGroup(s.name)) continue;
      count += s.count;
      ok += s.ok;
      failed += s.failed;
    }
    return { count, ok, failed };
  }

  // ─── ThresholdSubject ───

  hasStep(name: string): boolean {
    return this.steps.has(name);
  }

  metricKind(name: string): MetricKind | undefined {
    return this.metrics.get(name)?.kind;
  }

  stepView(name: string): ThresholdStepView | undefined {
    const s = this.steps.get(name);
    return s && { count: s.count, ok: s.ok, failed: s.failed, latencyUs: s.latencyUs };
  }

  allStepsView(): ThresholdStepView {
    const latencyUs = new Histogram();
    for (const s of this.steps.values()) if (!isRequestGroup(s.name)) latencyUs.merge(s.latencyUs);
    return { ...this.totals, latencyUs };
  }

  metricView(name: string): ThresholdMetricView | undefined {
    const m = this.metrics.get(name);
    if (!m) return undefined;
    return m.kind === 'gauge' ? { kind: 'gauge', value: m.value, min: m.min, max: m.max } : m;
  }

  // ─── Outputs ───

  live(nowMs: number, plannedMs: number | null): LiveWorkflow {
    const totals = this.totals;
    const steps: LiveStepRow[] = [];
    for (const s of this.steps.values()) {
      const empty = s.latencyUs.isEmpty;
      steps.push({
        name: s.name,
        count: s.count,
        ok: s.ok,
        failed: s.failed,
        p50Ms: empty ? null : ms(s.latencyUs.percentile(50)),
        p99Ms: empty ? null : ms(s.latencyUs.percentile(99)),
      });
    }
    const rpsSeries: number[] = [];
    if (this.startedMs !== null) {
      const end = this.endedMs ?? nowMs;
      const complete = Math.floor(Math.max(0, end - this.startedMs) / this.intervalMs);
      // Once ended, the last (partial) interval is shown too; while running only complete ones.
      const available = this.endedMs !== null ? this.series.counts.length : complete;
      const points = Math.min(available, this.series.counts.length, MAX_TIMELINE_POINTS);
      for (let i = 0; i < points; i++) {
        rpsSeries.push((this.series.counts[i]! * 1000) / this.intervalMs);
      }
    }
    return {
      name: this.name,
      status: this.status,
      executor: this.executor.type,
      elapsedMs: this.durationMs(nowMs),
      plannedMs,
      activeVus: this.activeVus,
      allocatedVus: this.allocatedVus,
      rpsNow: this.rpsNow(nowMs),
      count: totals.count,
      ok: totals.ok,
      failed: totals.failed,
      dropped: this.iterations.dropped,
      rpsSeries,
      steps,
    };
  }

  /** The workflow's timeline: counts and failures per `intervalMs` since start. */
  timeline(): Timeline {
    return {
      intervalMs: this.intervalMs,
      counts: [...this.series.counts],
      failures: [...this.series.failures],
    };
  }

  /** The `salvo.results/v1` record of this workflow, with `thresholds` evaluated now. */
  toResult(thresholds: readonly ParsedThreshold[] = [], nowMs?: number): WorkflowResult {
    const durationMs = this.durationMs(nowMs);
    const seconds = durationMs / 1000;
    const perSecond = (n: number): number =>
      seconds > 0 ? Math.round((n / seconds) * 1000) / 1000 : 0;
    const points = this.series.counts.length;
    const steps: StepResult[] = [];
    for (const s of this.steps.values()) {
      steps.push({
        name: s.name,
        count: s.count,
        ok: s.ok,
        failed: s.failed,
        rps: perSecond(s.count),
        errors: toRecord(s.errors),
        errorSamples: toRecord(s.errorSamples),
        statuses: toRecord(s.statuses),
        latencyMs: summarize(s.latencyUs, 1000),
        timeline: {
          intervalMs: this.intervalMs,
          counts: padded(s.series.counts, points),
          failures: padded(s.series.failures, points),
        },
        histogram: s.latencyUs.toSparse(),
      });
    }
    const checks: CheckResult[] = [];
    for (const [step, byName] of this.checks) {
      for (const [name, c] of byName) checks.push({ step, name, passes: c.passes, fails: c.fails });
    }
    const metrics: MetricResult[] = [];
    for (const [name, m] of this.metrics) {
      switch (m.kind) {
        case 'counter':
          metrics.push({
            name,
            kind: 'counter',
            value: m.value,
            ratePerSecond: perSecond(m.value),
          });
          break;
        case 'gauge':
          metrics.push({ name, kind: 'gauge', value: m.value, min: m.min, max: m.max });
          break;
        case 'rate':
          metrics.push({
            name,
            kind: 'rate',
            rate: m.total === 0 ? 0 : m.trues / m.total,
            trues: m.trues,
            total: m.total,
          });
          break;
        case 'trend':
          metrics.push({
            name,
            kind: 'trend',
            summary: summarize(m.scaled, TREND_SCALE),
            count: m.scaled.count,
            histogram: m.scaled.toSparse(),
          });
          break;
      }
    }
    const totals = this.totals;
    const result: WorkflowResult = {
      name: this.name,
      status: resultStatus(this.status),
      executor: { ...this.executor },
      startedAt: this.startedMs === null ? null : new Date(this.startedMs).toISOString(),
      endedAt: this.endedMs === null ? null : new Date(this.endedMs).toISOString(),
      durationMs,
      vus: { max: this.maxActiveVus, allocated: this.maxAllocatedVus },
      iterations: {
        ...this.iterations,
        // Started but never ended: still running when the run's hard end abandoned them.
        interrupted: Math.max(0, this.iterations.started - this.iterations.completed),
      },
      totals: { ...totals, rps: perSecond(totals.count) },
      steps,
      checks,
      metrics,
      thresholds: thresholds.map((t) => evaluateThreshold(t, this, nowMs)),
      timeline: this.timeline(),
    };
    if (this.error !== undefined) result.error = this.error;
    return result;
  }
}

/** A statistics group of named/tagged requests (`http{name:…}`), recorded beside the steps. */
export function isRequestGroup(name: string): boolean {
  return name.startsWith('http{') && name.endsWith('}');
}
