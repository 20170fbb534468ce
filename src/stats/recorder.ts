// Owns the worker-thread side of statistics: per-step and custom-metric recording into a window
// that `takeWindow` ships and resets. Hot path: never allocates per sample, never reads a clock;
// HTTP statuses are counted in an array indexed by code (no Map lookup per sample).

import { Histogram } from './histogram.js';
import type { CheckWindow, MetricWindow, StatsWindow, StepWindow } from './types.js';
import { InternalError } from '../errors.js';

/** Distinct error kinds kept per step per window; further kinds are counted as `other`. */
export const MAX_ERROR_KINDS_PER_WINDOW = 100;
/** The kind that absorbs error kinds beyond MAX_ERROR_KINDS_PER_WINDOW. */
export const OVERFLOW_ERROR_KIND = 'other';
/** Sample error messages are cut to this many characters. */
export const MAX_ERROR_MESSAGE_CHARS = 500;
/** Custom metrics per workflow recorder. */
export const MAX_CUSTOM_METRICS = 1000;
/** Distinct (step, check) pairs per workflow recorder. */
export const MAX_CHECKS = 1000;
/** Distinct steps per workflow recorder. */
export const MAX_STEPS = 1000;
/** Distinct HTTP statuses kept per step per window; others are counted under "other". */
export const MAX_STATUSES_PER_WINDOW = 100;
/** Statuses 100–599 are counted in an array; anything else (never from the client) in a Map. */
const STATUS_ARRAY_MIN = 100;
const STATUS_ARRAY_MAX = 599;
/** Trend values are stored as Math.round(value · TREND_SCALE) in a Histogram. */
export const TREND_SCALE = 1000;

export type MetricKind = MetricWindow['kind'];

function truncateMessage(message: string): string {
  return message.length > MAX_ERROR_MESSAGE_CHARS
    ? `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…`
    : message;
}

function mapToRecord<V>(map: Map<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of map) out[k] = v;
  return out;
}

/** One step's window state. Created once per step; the engine keeps the reference. */
export class StepRecorder {
  readonly name: string;
  private readonly latency = new Histogram();
  private okCount = 0;
  private failedCount = 0;
  private readonly errors = new Map<string, number>();
  private readonly errorSamples = new Map<string, string>();
  /** Counts of statuses 100–599 in this window, by code − 100; `seenCodes` lists the non-zero. */
  private readonly statusCounts = new Float64Array(STATUS_ARRAY_MAX - STATUS_ARRAY_MIN + 1);
  private readonly seenCodes: number[] = [];
  /** Other statuses, and -1 for those beyond MAX_STATUSES_PER_WINDOW distinct ones. */
  private readonly otherStatuses = new Map<number, number>();
  private readonly owner: WorkflowRecorder;
  /** True until the step has appeared in one window, so the receiver learns its name. */
  reported = false;

  /** @internal use `WorkflowRecorder.step(name)`. */
  constructor(owner: WorkflowRecorder, name: string) {
    this.owner = owner;
    this.name = name;
  }

  /** A successful execution that took `latencyUs` microseconds. */
  ok(latencyUs: number, status?: number): void {
    this.latency.record(latencyUs);
    this.okCount++;
    if (status !== undefined) this.countStatus(status);
  }

  /**
   * A failed execution. `kind` is a stable label (`timeout`, `status_503`, `check:<name>`…);
   * the first message of each kind in the window is kept as its sample.
   */
  fail(latencyUs: number, kind: string, message: string, status?: number): void {
    this.latency.record(latencyUs);
    this.failedCount++;
    if (status !== undefined) this.countStatus(status);
    const seen = this.errors.get(kind);
    if (seen !== undefined) {
      this.errors.set(kind, seen + 1);
      return;
    }
    const key = this.errors.size < MAX_ERROR_KINDS_PER_WINDOW ? kind : OVERFLOW_ERROR_KIND;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    if (!this.errorSamples.has(key)) {
      this.errorSamples.set(
        key,
        key === kind ? truncateMessage(message) : truncateMessage(`${kind}: ${message}`),
      );
    }
  }

  /** Shorthand for `WorkflowRecorder.check(this.name, checkName, passed)`. */
  check(checkName: string, passed: boolean): void {
    this.owner.check(this.name, checkName, passed);
  }

  private countStatus(status: number): void {
    const slot = status - STATUS_ARRAY_MIN;
    if (Number.isInteger(status) && slot >= 0 && status <= STATUS_ARRAY_MAX) {
      const n = this.statusCounts[slot] ?? 0;
      if (n > 0) {
        this.statusCounts[slot] = n + 1;
        return;
      }
      if (this.distinctStatuses() < MAX_STATUSES_PER_WINDOW) {
        this.statusCounts[slot] = 1;
        this.seenCodes.push(status);
        return;
      }
    } else {
      const seen = this.otherStatuses.get(status);
      if (seen !== undefined) {
        this.otherStatuses.set(status, seen + 1);
        return;
      }
      if (this.distinctStatuses() < MAX_STATUSES_PER_WINDOW) {
        this.otherStatuses.set(status, 1);
        return;
      }
    }
    this.otherStatuses.set(-1, (this.otherStatuses.get(-1) ?? 0) + 1);
  }

  /** Distinct statuses kept in this window (the overflow bucket not counted). */
  private distinctStatuses(): number {
    const others = this.otherStatuses.size - (this.otherStatuses.has(-1) ? 1 : 0);
    return this.seenCodes.length + others;
  }

  get hasData(): boolean {
    return this.okCount + this.failedCount > 0;
  }

  /** @internal the window's content; `resetWindow` must follow. */
  toWindow(): StepWindow {
    const statuses: Record<string, number> = {};
    for (const code of this.seenCodes) {
      statuses[String(code)] = this.statusCounts[code - STATUS_ARRAY_MIN] ?? 0;
    }
    for (const [code, n] of this.otherStatuses) {
      if (code !== -1) statuses[String(code)] = n;
    }
    const overflow = this.otherStatuses.get(-1);
    if (overflow !== undefined) statuses['other'] = overflow;
    return {
      count: this.okCount + this.failedCount,
      ok: this.okCount,
      failed: this.failedCount,
      errors: mapToRecord(this.errors),
      errorSamples: mapToRecord(this.errorSamples),
      statuses,
      latency: this.latency.toSparse(),
    };
  }

  /** @internal */
  resetWindow(): void {
    this.latency.reset();
    this.okCount = 0;
    this.failedCount = 0;
    this.errors.clear();
    this.errorSamples.clear();
    for (const code of this.seenCodes) this.statusCounts[code - STATUS_ARRAY_MIN] = 0;
    this.seenCodes.length = 0;
    this.otherStatuses.clear();
    this.reported = true;
  }
}

abstract class MetricRecorder {
  abstract readonly kind: MetricKind;
  readonly name: string;
  reported = false;
  protected touched = false;
  constructor(name: string) {
    this.name = name;
  }
  /** Whether the metric goes into the next window (touched, or never reported yet). */
  get due(): boolean {
    return this.touched || !this.reported;
  }
  abstract toWindow(endMs: number): MetricWindow | null;
  resetWindow(): void {
    this.touched = false;
    this.reported = true;
    this.clear();
  }
  protected abstract clear(): void;
}

function assertFinite(metric: string, what: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InternalError(`metric '${metric}': ${what} must be a finite number, got ${value}`);
  }
}

/** Sums what is added (per window; the aggregate sums windows). */
export class CounterRecorder extends MetricRecorder {
  readonly kind = 'counter' as const;
  private value = 0;
  add(n = 1): void {
    assertFinite(this.name, 'counter increment', n);
    this.value += n;
    this.touched = true;
  }
  toWindow(): MetricWindow {
    return { kind: 'counter', value: this.value };
  }
  protected clear(): void {
    this.value = 0;
  }
}

/** Latest value plus min/max within the window. Sent only in windows where it was set. */
export class GaugeRecorder extends MetricRecorder {
  readonly kind = 'gauge' as const;
  private value = 0;
  private min = 0;
  private max = 0;
  private atMs: number | null = null;
  /** Sets the gauge; `atMs` (epoch ms) defaults to the end of the window it is shipped in. */
  set(v: number, atMs?: number): void {
    assertFinite(this.name, 'gauge value', v);
    if (!this.touched) {
      this.min = v;
      this.max = v;
    } else {
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
    }
    this.value = v;
    this.atMs = atMs ?? null;
    this.touched = true;
  }
  override get due(): boolean {
    return this.touched;
  }
  toWindow(endMs: number): MetricWindow | null {
    if (!this.touched) return null;
    return {
      kind: 'gauge',
      value: this.value,
      min: this.min,
      max: this.max,
      atMs: this.atMs ?? endMs,
    };
  }
  protected clear(): void {
    this.atMs = null;
  }
}

/** Fraction of `true` among added booleans. */
export class RateRecorder extends MetricRecorder {
  readonly kind = 'rate' as const;
  private trues = 0;
  private total = 0;
  add(value: boolean): void {
    if (value) this.trues++;
    this.total++;
    this.touched = true;
  }
  toWindow(): MetricWindow {
    return { kind: 'rate', trues: this.trues, total: this.total };
  }
  protected clear(): void {
    this.trues = 0;
    this.total = 0;
  }
}

/** Distribution of non-negative numbers, kept at 1/1000 of the trend's unit in a Histogram. */
export class TrendRecorder extends MetricRecorder {
  readonly kind = 'trend' as const;
  private readonly values = new Histogram();
  add(value: number): void {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new InternalError(
        `trend '${this.name}': values must be finite non-negative numbers, got ${value}`,
      );
    }
    this.values.record(Math.round(value * TREND_SCALE));
    this.touched = true;
  }
  toWindow(): MetricWindow {
    return { kind: 'trend', values: this.values.toSparse() };
  }
  protected clear(): void {
    this.values.reset();
  }
}

type AnyMetricRecorder = CounterRecorder | GaugeRecorder | RateRecorder | TrendRecorder;

/**
 * All statistics one thread keeps for one workflow. `takeWindow(nowMs)` returns everything
 * since the previous take and resets.
 *
 * What a window contains: a step appears if it executed in the window, or if it was created
 * since the previous window and has never been shipped (then with zeros), so the receiver
 * learns every step name. Counters, rates and trends follow the same rule; a gauge appears
 * only in windows where it was set. Checks appear only with outcomes in the window.
 */
export class WorkflowRecorder {
  readonly workflowName: string;
  private readonly steps = new Map<string, StepRecorder>();
  private readonly metrics = new Map<string, AnyMetricRecorder>();
  private readonly checks = new Map<string, Map<string, CheckWindow>>();
  private checkCount = 0;
  private seq = 0;
  private windowStartMs: number;
  private started = 0;
  private completed = 0;
  private failed = 0;
  private dropped = 0;
  private activeVus = 0;
  private allocatedVus = 0;

  /** @param createdAtMs epoch ms the first window starts at (default: now). */
  constructor(workflowName: string, createdAtMs: number = Date.now()) {
    this.workflowName = workflowName;
    this.windowStartMs = createdAtMs;
  }

  /** The recorder of step `name`, created on first request. Keep the reference. */
  step(name: string): StepRecorder {
    const existing = this.steps.get(name);
    if (existing) return existing;
    if (this.steps.size >= MAX_STEPS) {
      throw new InternalError(
        `workflow '${this.workflowName}': too many steps (limit ${MAX_STEPS}); cannot add '${name}'`,
      );
    }
    const created = new StepRecorder(this, name);
    this.steps.set(name, created);
    return created;
  }

  check(stepName: string, checkName: string, passed: boolean): void {
    let byName = this.checks.get(stepName);
    let entry = byName?.get(checkName);
    if (entry === undefined) {
      if (this.checkCount >= MAX_CHECKS) {
        throw new InternalError(
          `workflow '${this.workflowName}': too many distinct checks (limit ${MAX_CHECKS}); cannot add '${stepName}/${checkName}'`,
        );
      }
      if (byName === undefined) {
        byName = new Map();
        this.checks.set(stepName, byName);
      }
      entry = { passes: 0, fails: 0 };
      byName.set(checkName, entry);
      this.checkCount++;
    }
    if (passed) entry.passes++;
    else entry.fails++;
  }

  counter(name: string): CounterRecorder {
    return this.metric(name, 'counter', () => new CounterRecorder(name));
  }

  gauge(name: string): GaugeRecorder {
    return this.metric(name, 'gauge', () => new GaugeRecorder(name));
  }

  rate(name: string): RateRecorder {
    return this.metric(name, 'rate', () => new RateRecorder(name));
  }

  trend(name: string): TrendRecorder {
    return this.metric(name, 'trend', () => new TrendRecorder(name));
  }

  private metric<M extends AnyMetricRecorder>(name: string, kind: M['kind'], create: () => M): M {
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        throw new InternalError(
          `metric '${name}' is already a ${existing.kind}; it cannot also be used as a ${kind}`,
        );
      }
      return existing as M;
    }
    if (this.metrics.size >= MAX_CUSTOM_METRICS) {
      throw new InternalError(
        `workflow '${this.workflowName}': too many custom metrics (limit ${MAX_CUSTOM_METRICS}); cannot add ${kind} '${name}'`,
      );
    }
    const created = create();
    this.metrics.set(name, created);
    return created;
  }

  iterationStarted(): void {
    this.started++;
  }

  /** An iteration finished; `ok` false counts it in `failed` as well (failed ⊆ completed). */
  iterationCompleted(ok: boolean): void {
    this.completed++;
    if (!ok) this.failed++;
  }

  /** An iteration the executor wanted to start but could not (no free VU). */
  iterationDropped(): void {
    this.dropped++;
  }

  setVus(active: number, allocated: number): void {
    this.activeVus = active;
    this.allocatedVus = allocated;
  }

  /** Everything since the previous take (seq 1, 2, 3…), then resets the window state. */
  takeWindow(nowMs: number): StatsWindow {
    const endMs = Math.max(nowMs, this.windowStartMs);
    const steps: Record<string, StepWindow> = {};
    for (const [name, step] of this.steps) {
      if (step.hasData || !step.reported) steps[name] = step.toWindow();
      step.resetWindow();
    }
    const checks: Record<string, Record<string, CheckWindow>> = {};
    for (const [stepName, byName] of this.checks) {
      for (const [checkName, entry] of byName) {
        if (entry.passes + entry.fails === 0) continue;
        (checks[stepName] ??= {})[checkName] = { passes: entry.passes, fails: entry.fails };
        entry.passes = 0;
        entry.fails = 0;
      }
    }
    const metrics: Record<string, MetricWindow> = {};
    for (const [name, metric] of this.metrics) {
      if (metric.due) {
        const window = metric.toWindow(endMs);
        if (window) metrics[name] = window;
      }
      metric.resetWindow();
    }
    const window: StatsWindow = {
      workflow: this.workflowName,
      seq: ++this.seq,
      startMs: this.windowStartMs,
      endMs,
      activeVus: this.activeVus,
      allocatedVus: this.allocatedVus,
      iterations: {
        started: this.started,
        completed: this.completed,
        failed: this.failed,
        dropped: this.dropped,
      },
      steps,
      checks,
      metrics,
    };
    this.windowStartMs = endMs;
    this.started = 0;
    this.completed = 0;
    this.failed = 0;
    this.dropped = 0;
    return window;
  }
}
