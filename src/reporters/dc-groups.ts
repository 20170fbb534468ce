// Owns a distributed run's per-datacenter statistics for reporting: one WorkflowAggregate per
// (DC, workflow), fed the windows the owner gate merged, as sampling sources and as the per-DC
// groups of the final report; and the results document's `distributed` section (each DC's and
// worker's share, each DC's step latencies and series). Pure: the caller gives the times; no
// clock, no I/O.
import { recordHandled } from '../handled-errors.js';
import { WorkflowAggregate, type ExecutorDescription } from '../stats/aggregate.js';
import { buildRunResults } from '../stats/results.js';
import type {
  DistributedResult,
  RunResults,
  SeriesWindow,
  SourceShare,
  StatsWindow,
  WorkflowResult,
} from '../stats/types.js';
import type { RunSource } from './session.js';
import type { BreakdownGroup } from './types.js';

/** Datacenters one job is reported by (the wire allows no more target DCs). */
export const MAX_DC_GROUPS = 64;

export interface GroupWorkflow {
  readonly name: string;
  readonly executor: ExecutorDescription;
  readonly steps: readonly string[];
}

interface Dc {
  readonly name: string;
  readonly workflows: Map<string, WorkflowAggregate>;
  /** Busy VUs per workflow, from each source's newest window. */
  readonly vus: Map<string, Map<string, number>>;
}

export class DcGroups {
  private readonly dcs = new Map<string, Dc>();
  private readonly plan: ReadonlyMap<string, GroupWorkflow>;
  /** Windows not taken (unknown workflow, too many DCs, malformed). */
  refused = 0;

  /**
   * `startOf(workflow)`: when the run started that workflow (epoch ms), so a DC's rates are
   * over the same span as the whole run's.
   */
  constructor(
    workflows: readonly GroupWorkflow[],
    private readonly startOf: (workflow: string) => number,
  ) {
    this.plan = new Map(workflows.map((w) => [w.name, w]));
  }

  /** The DCs seen so far, in order of their first window. */
  names(): string[] {
    return [...this.dcs.keys()];
  }

  /**
   * Merges one window the gate took from `dc` (`source`: the worker thread it came from).
   * Returns the DC when this window is its first (the caller adds it as a group), else null.
   */
  apply(dc: string, source: string, window: StatsWindow): { dc: string; isNew: boolean } | null {
    const spec = this.plan.get(window.workflow);
    if (spec === undefined) {
      this.refused++;
      return null;
    }
    let group = this.dcs.get(dc);
    const isNew = group === undefined;
    if (group === undefined) {
      if (this.dcs.size >= MAX_DC_GROUPS) {
        this.refused++;
        return null;
      }
      group = { name: dc, workflows: new Map(), vus: new Map() };
      this.dcs.set(dc, group);
    }
    let agg = group.workflows.get(spec.name);
    if (agg === undefined) {
      agg = new WorkflowAggregate(spec.name, { ...spec.executor });
      agg.declareSteps(spec.steps);
      agg.markStarted(this.startOf(spec.name));
      group.workflows.set(spec.name, agg);
    }
    try {
      if (agg.applyWindow(source, window)) {
        let vus = group.vus.get(spec.name);
        if (vus === undefined) group.vus.set(spec.name, (vus = new Map()));
        vus.set(source, window.activeVus);
      }
    } catch (error) {
      // The run counts a malformed window itself (and notes it); here it is only not taken.
      recordHandled('reporting: a window not taken into its datacenter group', error);
      this.refused++;
    }
    return { dc, isNew };
  }

  /** One DC's workflows as they stand, in the plan's order (those it has reported on). */
  private results(dc: Dc, nowMs?: number): WorkflowResult[] {
    const out: WorkflowResult[] = [];
    for (const name of this.plan.keys()) {
      const agg = dc.workflows.get(name);
      if (agg !== undefined) out.push(agg.toResult([], nowMs));
    }
    return out;
  }

  /** A DC as a sampling source for the report session. */
  source(dc: string, startedAtMs: number): RunSource {
    return {
      startedAtMs,
      workflowResults: () => {
        const group = this.dcs.get(dc);
        return group === undefined ? [] : this.results(group);
      },
      vus: () => {
        const out = new Map<string, number>();
        for (const [wf, bySource] of this.dcs.get(dc)?.vus ?? []) {
          let n = 0;
          for (const v of bySource.values()) n += v;
          out.set(wf, n);
        }
        return out;
      },
    };
  }

  /**
   * Each DC as a final-report group labelled `dc`: its workflows with the whole run's header,
   * ended when the run's workflows ended and with their status.
   */
  breakdown(whole: RunResults): BreakdownGroup[] {
    const ends = new Map(whole.workflows.map((w) => [w.name, w]));
    const out: BreakdownGroup[] = [];
    for (const group of this.dcs.values()) {
      for (const [name, agg] of group.workflows) {
        const w = ends.get(name);
        if (w?.endedAt) agg.markEnded(Date.parse(w.endedAt));
        if (w !== undefined) agg.setStatus(w.status);
      }
      const results = buildRunResults(
        { ...whole.run, host: { ...whole.run.host }, notes: [] },
        this.results(group),
      );
      out.push({ labels: { dc: group.name }, results });
    }
    return out;
  }
}

const SHARE_KEYS = [
  'windows',
  'requests',
  'ok',
  'failed',
  'iterationsCompleted',
  'iterationsFailed',
] as const;

/** A share from untrusted input: each count a non-negative safe integer, else 0. */
export function shareOf(raw: unknown): SourceShare {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const share = {} as SourceShare;
  for (const key of SHARE_KEYS) {
    const v = r[key];
    share[key] = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
  }
  return share;
}

/**
 * The results' `distributed` section: each target DC's status and merged share, and each of
 * its workers' (`totals` as the gate's window merger counted them, per DC and per worker).
 */
export function distributedSection(
  job: string,
  statuses: Readonly<Record<string, string>>,
  totals: Readonly<Record<string, unknown>>,
): DistributedResult {
  const dcs: DistributedResult['dcs'] = {};
  for (const [dc, status] of Object.entries(statuses)) {
    const raw = (totals[dc] ?? {}) as { workers?: Record<string, unknown> };
    const workers: Record<string, SourceShare> = {};
    for (const [worker, w] of Object.entries(raw.workers ?? {})) workers[worker] = shareOf(w);
    dcs[dc] = { status, ...shareOf(raw), workers };
  }
  return { job, dcs };
}

/** Bytes (as JSON) all DCs' series may take in a job's results; past it they are thinned. */
export const DC_SERIES_BUDGET_BYTES = 256 * 1024;

/** Every other point of `series`, the newest kept. */
function halve<T>(series: readonly T[]): T[] {
  const last = series.length - 1;
  return series.filter((_, i) => (last - i) % 2 === 0);
}

/** Adds each DC's step count and latency (from its breakdown group) to `distributed`. */
export function addDcSteps(
  distributed: DistributedResult,
  breakdown: readonly BreakdownGroup[],
): void {
  for (const group of breakdown) {
    const dc = group.labels['dc'];
    const entry = dc === undefined ? undefined : distributed.dcs[dc];
    if (entry === undefined) continue;
    entry.steps = group.results.workflows.flatMap((w) =>
      w.steps.map((s) => ({
        workflow: w.name,
        step: s.name,
        count: s.count,
        failed: s.failed,
        latencyMs: { ...s.latencyMs },
      })),
    );
  }
}

/**
 * Adds each DC's kept series to `distributed`, the series thinned together (the newest point
 * kept) until they fit `budgetBytes`; left out when even 2 points each do not.
 */
export function addDcSeries(
  distributed: DistributedResult,
  seriesByDc: ReadonlyMap<string, readonly SeriesWindow[]>,
  budgetBytes = DC_SERIES_BUDGET_BYTES,
): void {
  const kept = new Map<string, SeriesWindow[]>();
  for (const [dc, series] of seriesByDc) {
    if (distributed.dcs[dc] !== undefined) kept.set(dc, [...series]);
  }
  const size = (): number => {
    let n = 0;
    for (const s of kept.values()) n += JSON.stringify(s).length;
    return n;
  };
  while (size() > budgetBytes && [...kept.values()].some((s) => s.length > 2)) {
    for (const [dc, s] of kept) kept.set(dc, halve(s));
  }
  if (size() > budgetBytes) return;
  for (const [dc, series] of kept) {
    const entry = distributed.dcs[dc];
    if (entry !== undefined) entry.series = series;
  }
}
