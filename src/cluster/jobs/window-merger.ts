// Owns the merge of statistics windows from many machines into one job's statistics: each
// window is keyed by (job, DC, worker, workflow, seq) and counted exactly once whatever the
// order or the number of copies it arrives in. Never reads a clock or does I/O, and never
// throws on a bad window: it answers with a typed rejection and changes nothing.
//
// Contract:
// - Idempotent: a (job, DC, worker, workflow, seq) already merged is answered `merged: false`.
// - Commutative: for windows within the bounds, the merged statistics are the same for every
//   order of arrival. Counts add; histograms merge exactly (the stats module's layout);
//   min/max/span take extremes; VUs are each source's newest window summed over sources; a
//   gauge keeps the value with the latest `atMs` (ties: the larger origin); an error sample
//   is the one from the smallest origin (dc, worker, seq); past `MAX_KINDS_PER_STEP` distinct
//   error kinds (or statuses) per step, the smallest kinds are kept and the rest add up in
//   `other`. Float sums (histogram `sum`/`sumSquares` beyond 2^53, fractional custom counter
//   increments) are order-independent only up to IEEE-754 rounding.
// - Bounded memory per job: a source (DC, worker, workflow) remembers the seqs it merged as a
//   contiguous-prefix watermark plus the seqs above it; a window more than
//   `maxOutOfOrderPerSource` ahead of its watermark is refused with E_WINDOW_AHEAD (the sender
//   retransmits it later, so nothing is lost and the set stays bounded). Sources, workflows,
//   steps, checks and metrics per job, and jobs, each have a bound; a window that would pass
//   one is refused whole (E_WINDOW_BOUND), so results stay order-independent only below them.
// - A sealed job (its result was taken) refuses late windows with E_JOB_SEALED; a dropped job
//   leaves a bounded tombstone so stragglers cannot recreate it. `expire(nowMs)` drops jobs
//   sealed longer than `sealedRetentionMs` and jobs that received no window for
//   `idleJobTimeoutMs` (their owner is gone), so a forgotten job cannot hold memory forever.
//   Time comes in as `nowMs` with each call; the merger never reads a clock.
//
// Why by hand: the local aggregate (src/stats/aggregate.ts) keeps first-seen samples, a start
// anchored on the first window and a give-up policy for gaps, which are order-dependent; this
// merge must not be. It reuses the exact histogram merge of src/stats/histogram.ts.

import { Histogram } from '../../stats/histogram.js';
import {
  MAX_AGGREGATE_CHECKS,
  MAX_AGGREGATE_METRICS,
  MAX_AGGREGATE_STEPS,
  MAX_KINDS_PER_STEP,
} from '../../stats/aggregate.js';
import { OVERFLOW_ERROR_KIND } from '../../stats/recorder.js';
import type { MetricWindow, StatsWindow, StepWindow } from '../../stats/types.js';
import { checkConfigIntegers, jobsInvariant, reject, type Rejection } from './errors.js';
import { windowProblem } from './window-check.js';

export interface WindowMergerConfig {
  /** Jobs merged at once (sealed ones included until dropped). */
  readonly maxJobs: number;
  /** (DC, worker, workflow) sources per job. */
  readonly maxSourcesPerJob: number;
  readonly maxWorkflowsPerJob: number;
  /** How far past its contiguous prefix a source's window may run before it is refused. */
  readonly maxOutOfOrderPerSource: number;
  /** Dropped job ids remembered so late windows cannot bring a job back. */
  readonly maxTombstones: number;
  /** Longest job, DC or worker id, in UTF-16 units. */
  readonly maxIdChars: number;
  /** A sealed job stays readable this long, then `expire` drops it. */
  readonly sealedRetentionMs: number;
  /** A job that received no window for this long is dropped by `expire`. */
  readonly idleJobTimeoutMs: number;
}

/** Defaults: the per-workflow bounds are those of the local aggregate (src/stats/aggregate.ts). */
export const DEFAULT_WINDOW_MERGER_CONFIG: WindowMergerConfig = {
  maxJobs: 1000,
  maxSourcesPerJob: 10_000,
  maxWorkflowsPerJob: 100,
  maxOutOfOrderPerSource: 256,
  maxTombstones: 10_000,
  maxIdChars: 256,
  sealedRetentionMs: 60_000,
  /** As long as REFERENCE §4.1 keeps dead workers before reaping them (900 s). */
  idleJobTimeoutMs: 900_000,
};

/** A window as it travels up: who sent it, and the window itself (untrusted). */
export interface WindowEnvelope {
  readonly job: string;
  readonly dc: string;
  /**
   * The sending worker's incarnation (e.g. `id#session`), not only its id: a source numbers its
   * windows 1, 2, 3… without gaps, and a restarted worker starts again from 1.
   */
  readonly worker: string;
  readonly window: unknown;
}

export type MergeErrorCode =
  | 'E_WINDOW_INVALID'
  /** Too far ahead of the source's contiguous prefix: retransmit later. */
  | 'E_WINDOW_AHEAD'
  | 'E_WINDOW_BOUND'
  | 'E_JOB_SEALED'
  | 'E_TOO_MANY_JOBS';

export type MergeResult =
  { readonly ok: true; readonly merged: boolean } | Rejection<MergeErrorCode>;

/** Counts of one DC or one worker. */
export interface SourceTotals {
  windows: number;
  requests: number;
  ok: number;
  failed: number;
  iterationsCompleted: number;
  iterationsFailed: number;
}

export interface DcTotals extends SourceTotals {
  readonly workers: Record<string, SourceTotals>;
}

/** One job's merged statistics: per workflow a cumulative window (seq = windows merged). */
export interface MergedJobStats {
  readonly job: string;
  readonly sealed: boolean;
  readonly workflows: Record<string, StatsWindow>;
  readonly dcs: Record<string, DcTotals>;
}

/** Where a window came from, ordered (dc, worker, seq) for deterministic tie-breaks. */
type Origin = readonly [dc: string, worker: string, seq: number];

function originBefore(a: Origin, b: Origin): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

interface SourceState {
  watermark: number;
  readonly above: Set<number>;
  latestSeq: number;
  activeVus: number;
  allocatedVus: number;
}

/** Counts by kind keeping the MAX_KINDS_PER_STEP smallest kinds; the rest add up in overflow. */
class BoundedKinds {
  readonly kinds = new Map<string, number>();
  overflow = 0;

  /** Adds `n` to `kind`; returns the kind evicted to make room, if any. */
  add(kind: string, n: number): { kept: boolean; evicted: string | null } {
    if (kind === OVERFLOW_ERROR_KIND) {
      this.overflow += n;
      return { kept: false, evicted: null };
    }
    const seen = this.kinds.get(kind);
    if (seen !== undefined) {
      this.kinds.set(kind, seen + n);
      return { kept: true, evicted: null };
    }
    if (this.kinds.size < MAX_KINDS_PER_STEP) {
      this.kinds.set(kind, n);
      return { kept: true, evicted: null };
    }
    let largest = '';
    for (const k of this.kinds.keys()) if (k > largest) largest = k;
    if (kind > largest) {
      this.overflow += n;
      return { kept: false, evicted: null };
    }
    this.overflow += this.kinds.get(largest) ?? 0;
    this.kinds.delete(largest);
    this.kinds.set(kind, n);
    return { kept: true, evicted: largest };
  }

  toRecord(): Record<string, number> {
    const out = sortedRecord(this.kinds);
    if (this.overflow > 0) out[OVERFLOW_ERROR_KIND] = this.overflow;
    return out;
  }
}

interface StepState {
  count: number;
  ok: number;
  failed: number;
  readonly latency: Histogram;
  readonly errors: BoundedKinds;
  readonly statuses: BoundedKinds;
  readonly samples: Map<string, { origin: Origin; text: string }>;
}

type MetricState =
  | { kind: 'counter'; value: number }
  | { kind: 'gauge'; value: number; atMs: number; origin: Origin; min: number; max: number }
  | { kind: 'rate'; trues: number; total: number }
  | { kind: 'trend'; values: Histogram };

interface WorkflowState {
  windows: number;
  startMs: number;
  endMs: number;
  readonly iterations: { started: number; completed: number; failed: number; dropped: number };
  readonly steps: Map<string, StepState>;
  readonly checks: Map<string, Map<string, { passes: number; fails: number }>>;
  checkCount: number;
  readonly metrics: Map<string, MetricState>;
  readonly sources: Map<string, SourceState>;
}

interface JobState {
  sealed: boolean;
  /** When the job was sealed, or when its last window arrived (the later of the two). */
  lastActivityMs: number;
  sourceCount: number;
  readonly workflows: Map<string, WorkflowState>;
  readonly dcs: Map<string, { totals: SourceTotals; workers: Map<string, SourceTotals> }>;
}

function sortedRecord<V>(map: Map<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of [...map.keys()].sort()) out[k] = map.get(k) as V;
  return out;
}

function emptyTotals(): SourceTotals {
  return { windows: 0, requests: 0, ok: 0, failed: 0, iterationsCompleted: 0, iterationsFailed: 0 };
}

export class WindowMerger {
  private readonly cfg: WindowMergerConfig;
  private readonly jobs = new Map<string, JobState>();
  private readonly tombstones = new Set<string>();
  /** Counters for observability. */
  readonly counters = { merged: 0, duplicates: 0, rejected: 0 };

  constructor(config: Partial<WindowMergerConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'window merger config',
      { ...DEFAULT_WINDOW_MERGER_CONFIG, ...config },
      [
        ['maxJobs', 1],
        ['maxSourcesPerJob', 1],
        ['maxWorkflowsPerJob', 1],
        ['maxOutOfOrderPerSource', 1],
        ['maxTombstones', 0],
        ['maxIdChars', 1],
        ['sealedRetentionMs', 0],
        ['idleJobTimeoutMs', 0],
      ],
    );
  }

  get jobCount(): number {
    return this.jobs.size;
  }

  /** Merges one window unless it was merged before; refuses it whole if it is bad or too much. */
  apply(input: WindowEnvelope, nowMs: number): MergeResult {
    jobsInvariant(Number.isFinite(nowMs), 'nowMs must be finite');
    const r = this.applyChecked(input, nowMs);
    if (!r.ok) this.counters.rejected++;
    else if (r.merged) this.counters.merged++;
    else this.counters.duplicates++;
    return r;
  }

  private applyChecked(input: WindowEnvelope, nowMs: number): MergeResult {
    const idProblem = this.idProblem(input);
    if (idProblem) return reject('E_WINDOW_INVALID', idProblem);
    const problem = windowProblem(input.window);
    if (problem)
      return reject(
        'E_WINDOW_INVALID',
        `window of job '${input.job}' from ${input.dc}/${input.worker}: ${problem}`,
      );
    const w = input.window as StatsWindow;
    const where = `window ${w.seq} of '${w.workflow}' from ${input.dc}/${input.worker}`;
    if (this.tombstones.has(input.job))
      return reject('E_JOB_SEALED', `job '${input.job}' has ended; ${where} is late`);
    const existing = this.jobs.get(input.job);
    if (existing?.sealed)
      return reject('E_JOB_SEALED', `job '${input.job}' is sealed; ${where} is late`);
    if (!existing && this.jobs.size >= this.cfg.maxJobs) {
      return reject('E_TOO_MANY_JOBS', `already merging ${this.cfg.maxJobs} jobs`);
    }
    const wf = existing?.workflows.get(w.workflow);
    const sourceKey = JSON.stringify([input.dc, input.worker]);
    const source = wf?.sources.get(sourceKey);
    if (source && (w.seq <= source.watermark || source.above.has(w.seq)))
      return { ok: true, merged: false };
    const watermark = source?.watermark ?? 0;
    if (w.seq > watermark + this.cfg.maxOutOfOrderPerSource) {
      return reject(
        'E_WINDOW_AHEAD',
        `${where} is more than ${this.cfg.maxOutOfOrderPerSource} ahead of seq ${watermark}; send it again later`,
      );
    }
    const bound = this.boundProblem(existing, wf, source === undefined, w);
    if (bound) return reject('E_WINDOW_BOUND', `${where}: ${bound}`);

    const job = existing ?? this.newJob(input.job, nowMs);
    job.lastActivityMs = Math.max(job.lastActivityMs, nowMs);
    const state = wf ?? this.newWorkflow(job, w);
    const src = source ?? this.newSource(job, state, sourceKey);
    src.above.add(w.seq);
    while (src.above.delete(src.watermark + 1)) src.watermark++;
    jobsInvariant(
      src.above.size < this.cfg.maxOutOfOrderPerSource,
      'out-of-order set above its bound',
    );
    this.merge(job, state, src, [input.dc, input.worker, w.seq], w);
    return { ok: true, merged: true };
  }

  private idProblem(input: WindowEnvelope): string | null {
    if (typeof input !== 'object' || input === null) return 'envelope must be an object';
    for (const f of ['job', 'dc', 'worker'] as const) {
      const v: unknown = input[f];
      if (typeof v !== 'string' || v === '' || v.length > this.cfg.maxIdChars) {
        return `${f} must be a non-empty string of at most ${this.cfg.maxIdChars} characters`;
      }
    }
    return null;
  }

  /** Whether merging `w` would pass a bound (checked before anything changes). */
  private boundProblem(
    job: JobState | undefined,
    wf: WorkflowState | undefined,
    newSource: boolean,
    w: StatsWindow,
  ): string | null {
    if (newSource && job && job.sourceCount >= this.cfg.maxSourcesPerJob) {
      return `too many sources (limit ${this.cfg.maxSourcesPerJob})`;
    }
    if (!wf && job && job.workflows.size >= this.cfg.maxWorkflowsPerJob) {
      return `too many workflows (limit ${this.cfg.maxWorkflowsPerJob})`;
    }
    let newSteps = 0;
    for (const name of Object.keys(w.steps)) if (!wf?.steps.has(name)) newSteps++;
    if ((wf?.steps.size ?? 0) + newSteps > MAX_AGGREGATE_STEPS)
      return `too many steps (limit ${MAX_AGGREGATE_STEPS})`;
    let newChecks = 0;
    for (const [step, byName] of Object.entries(w.checks)) {
      for (const name of Object.keys(byName)) if (!wf?.checks.get(step)?.has(name)) newChecks++;
    }
    if ((wf?.checkCount ?? 0) + newChecks > MAX_AGGREGATE_CHECKS)
      return `too many checks (limit ${MAX_AGGREGATE_CHECKS})`;
    let newMetrics = 0;
    for (const [name, m] of Object.entries(w.metrics)) {
      const known = wf?.metrics.get(name);
      if (!known) newMetrics++;
      else if (known.kind !== m.kind) return `metric '${name}' is a ${known.kind}, not a ${m.kind}`;
    }
    if ((wf?.metrics.size ?? 0) + newMetrics > MAX_AGGREGATE_METRICS)
      return `too many metrics (limit ${MAX_AGGREGATE_METRICS})`;
    return null;
  }

  private newJob(id: string, nowMs: number): JobState {
    const job: JobState = {
      sealed: false,
      lastActivityMs: nowMs,
      sourceCount: 0,
      workflows: new Map(),
      dcs: new Map(),
    };
    this.jobs.set(id, job);
    return job;
  }

  private newWorkflow(job: JobState, w: StatsWindow): WorkflowState {
    const state: WorkflowState = {
      windows: 0,
      startMs: w.startMs,
      endMs: w.endMs,
      iterations: { started: 0, completed: 0, failed: 0, dropped: 0 },
      steps: new Map(),
      checks: new Map(),
      checkCount: 0,
      metrics: new Map(),
      sources: new Map(),
    };
    job.workflows.set(w.workflow, state);
    return state;
  }

  private newSource(job: JobState, wf: WorkflowState, key: string): SourceState {
    const src: SourceState = {
      watermark: 0,
      above: new Set(),
      latestSeq: 0,
      activeVus: 0,
      allocatedVus: 0,
    };
    wf.sources.set(key, src);
    job.sourceCount++;
    return src;
  }

  private merge(
    job: JobState,
    wf: WorkflowState,
    src: SourceState,
    origin: Origin,
    w: StatsWindow,
  ): void {
    wf.windows++;
    wf.startMs = Math.min(wf.startMs, w.startMs);
    wf.endMs = Math.max(wf.endMs, w.endMs);
    for (const k of ['started', 'completed', 'failed', 'dropped'] as const)
      wf.iterations[k] += w.iterations[k];
    if (w.seq > src.latestSeq) {
      src.latestSeq = w.seq;
      src.activeVus = w.activeVus;
      src.allocatedVus = w.allocatedVus;
    }
    const totals = emptyTotals();
    totals.windows = 1;
    totals.iterationsCompleted = w.iterations.completed;
    totals.iterationsFailed = w.iterations.failed;
    for (const [name, sw] of Object.entries(w.steps)) {
      this.mergeStep(wf, name, sw, origin);
      totals.requests += sw.count;
      totals.ok += sw.ok;
      totals.failed += sw.failed;
    }
    for (const [stepName, byName] of Object.entries(w.checks)) {
      let target = wf.checks.get(stepName);
      if (!target) wf.checks.set(stepName, (target = new Map()));
      for (const [name, c] of Object.entries(byName)) {
        const entry = target.get(name);
        if (entry) {
          entry.passes += c.passes;
          entry.fails += c.fails;
        } else {
          target.set(name, { passes: c.passes, fails: c.fails });
          wf.checkCount++;
        }
      }
    }
    for (const [name, m] of Object.entries(w.metrics)) this.mergeMetric(wf, name, m, origin);
    this.addTotals(job, origin[0], origin[1], totals);
  }

  private mergeStep(wf: WorkflowState, name: string, sw: StepWindow, origin: Origin): void {
    let step = wf.steps.get(name);
    if (!step) {
      step = {
        count: 0,
        ok: 0,
        failed: 0,
        latency: new Histogram(),
        errors: new BoundedKinds(),
        statuses: new BoundedKinds(),
        samples: new Map(),
      };
      wf.steps.set(name, step);
    }
    step.count += sw.count;
    step.ok += sw.ok;
    step.failed += sw.failed;
    step.latency.mergeSparse(sw.latency);
    for (const [kind, n] of Object.entries(sw.errors)) {
      const { kept, evicted } = step.errors.add(kind, n);
      if (evicted !== null) step.samples.delete(evicted);
      const text = sw.errorSamples[kind];
      if (!kept || text === undefined) continue;
      const current = step.samples.get(kind);
      if (!current || originBefore(origin, current.origin))
        step.samples.set(kind, { origin, text });
    }
    for (const [status, n] of Object.entries(sw.statuses)) step.statuses.add(status, n);
  }

  private mergeMetric(wf: WorkflowState, name: string, m: MetricWindow, origin: Origin): void {
    const existing = wf.metrics.get(name);
    if (!existing) {
      wf.metrics.set(
        name,
        m.kind === 'trend'
          ? { kind: 'trend', values: Histogram.fromSparse(m.values) }
          : m.kind === 'gauge'
            ? { ...m, origin }
            : { ...m },
      );
      return;
    }
    if (existing.kind === 'counter' && m.kind === 'counter') existing.value += m.value;
    else if (existing.kind === 'rate' && m.kind === 'rate') {
      existing.trues += m.trues;
      existing.total += m.total;
    } else if (existing.kind === 'trend' && m.kind === 'trend')
      existing.values.mergeSparse(m.values);
    else if (existing.kind === 'gauge' && m.kind === 'gauge') {
      if (
        m.atMs > existing.atMs ||
        (m.atMs === existing.atMs && originBefore(existing.origin, origin))
      ) {
        existing.value = m.value;
        existing.atMs = m.atMs;
        existing.origin = origin;
      }
      existing.min = Math.min(existing.min, m.min);
      existing.max = Math.max(existing.max, m.max);
    } else jobsInvariant(false, `metric '${name}' changed kind after the bound check`);
  }

  private addTotals(job: JobState, dc: string, worker: string, t: SourceTotals): void {
    let d = job.dcs.get(dc);
    if (!d) job.dcs.set(dc, (d = { totals: emptyTotals(), workers: new Map() }));
    let wk = d.workers.get(worker);
    if (!wk) d.workers.set(worker, (wk = emptyTotals()));
    for (const target of [d.totals, wk]) {
      for (const k of Object.keys(t) as (keyof SourceTotals)[]) target[k] += t[k];
    }
  }

  /** Refuses every later window of `job` (E_JOB_SEALED); what was merged stays readable. */
  seal(job: string, nowMs: number): void {
    const state = this.jobs.get(job);
    if (!state || state.sealed) return;
    state.sealed = true;
    state.lastActivityMs = Math.max(state.lastActivityMs, nowMs);
  }

  /** Drops jobs sealed or idle for longer than their retention; returns what it dropped, and why. */
  expire(nowMs: number): Array<{ job: string; cause: 'sealed' | 'idle' }> {
    const dropped: Array<{ job: string; cause: 'sealed' | 'idle' }> = [];
    for (const [id, state] of this.jobs) {
      const limit = state.sealed ? this.cfg.sealedRetentionMs : this.cfg.idleJobTimeoutMs;
      if (nowMs - state.lastActivityMs >= limit) {
        dropped.push({ job: id, cause: state.sealed ? 'sealed' : 'idle' });
      }
    }
    for (const d of dropped) this.drop(d.job);
    return dropped;
  }

  /** Frees everything of `job`; late windows of it stay refused (bounded tombstones). */
  drop(job: string): void {
    if (!this.jobs.delete(job)) return;
    this.tombstones.add(job);
    for (const t of this.tombstones) {
      if (this.tombstones.size <= this.cfg.maxTombstones) break;
      this.tombstones.delete(t);
    }
  }

  /** The job's merged statistics (records sorted by key, so equal states print equal). */
  view(job: string): MergedJobStats | undefined {
    const state = this.jobs.get(job);
    if (!state) return undefined;
    const workflows = new Map<string, StatsWindow>();
    for (const [name, wf] of state.workflows) workflows.set(name, workflowWindow(name, wf));
    const dcs = new Map<string, DcTotals>();
    for (const [dc, d] of state.dcs) dcs.set(dc, { ...d.totals, workers: sortedRecord(d.workers) });
    return {
      job,
      sealed: state.sealed,
      workflows: sortedRecord(workflows),
      dcs: sortedRecord(dcs),
    };
  }
}

function workflowWindow(name: string, wf: WorkflowState): StatsWindow {
  let activeVus = 0;
  let allocatedVus = 0;
  for (const s of wf.sources.values()) {
    activeVus += s.activeVus;
    allocatedVus += s.allocatedVus;
  }
  const steps = new Map<string, StepWindow>();
  for (const [stepName, s] of wf.steps) {
    const samples = new Map<string, string>();
    for (const [kind, sample] of s.samples) samples.set(kind, sample.text);
    steps.set(stepName, {
      count: s.count,
      ok: s.ok,
      failed: s.failed,
      errors: s.errors.toRecord(),
      errorSamples: sortedRecord(samples),
      statuses: s.statuses.toRecord(),
      latency: s.latency.toSparse(),
    });
  }
  const checks = new Map<string, Record<string, { passes: number; fails: number }>>();
  for (const [stepName, byName] of wf.checks) {
    const copy = new Map<string, { passes: number; fails: number }>();
    for (const [k, c] of byName) copy.set(k, { ...c });
    checks.set(stepName, sortedRecord(copy));
  }
  const metrics = new Map<string, MetricWindow>();
  for (const [metricName, m] of wf.metrics) {
    metrics.set(
      metricName,
      m.kind === 'trend'
        ? { kind: 'trend', values: m.values.toSparse() }
        : m.kind === 'gauge'
          ? { kind: 'gauge', value: m.value, min: m.min, max: m.max, atMs: m.atMs }
          : { ...m },
    );
  }
  return {
    workflow: name,
    seq: wf.windows,
    startMs: wf.startMs,
    endMs: wf.endMs,
    activeVus,
    allocatedVus,
    iterations: { ...wf.iterations },
    steps: sortedRecord(steps),
    checks: sortedRecord(checks),
    metrics: sortedRecord(metrics),
  };
}
