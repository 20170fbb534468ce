// Flattens a window or a final result into named numeric samples with labels: the one
// vocabulary the metric sinks (Prometheus, StatsD, InfluxDB, OTLP, Graphite, Redis) share, so
// every sink reports the same names and values.
import type { RunResults } from '../stats/types.js';
import type { FinalReport, Labels, ReportWindow } from './types.js';

export interface Sample {
  /** Without prefix, snake_case, e.g. `step_p99_ms`. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** `counter` samples are window increments; `gauge` samples are levels. */
  type: 'counter' | 'gauge';
}

/** Samples of one window: increments of counts, window percentiles, VUs and throughput. */
export function windowSamples(w: ReportWindow): Sample[] {
  const out: Sample[] = [];
  for (const wf of w.workflows) {
    const base = { ...w.labels, workflow: wf.name };
    out.push({ name: 'vus', labels: base, value: wf.vus, type: 'gauge' });
    out.push({ name: 'rps', labels: base, value: wf.rps, type: 'gauge' });
    out.push({ name: 'requests', labels: base, value: wf.count, type: 'counter' });
    out.push({ name: 'failures', labels: base, value: wf.failed, type: 'counter' });
    for (const [kind, n] of Object.entries(wf.errors)) {
      out.push({ name: 'errors', labels: { ...base, kind }, value: n, type: 'counter' });
    }
    for (const s of wf.steps) {
      const labels = { ...base, step: s.name };
      out.push({ name: 'step_requests', labels, value: s.count, type: 'counter' });
      out.push({ name: 'step_failures', labels, value: s.failed, type: 'counter' });
      if (s.p50Ms !== null)
        out.push({ name: 'step_p50_ms', labels, value: s.p50Ms, type: 'gauge' });
      if (s.p90Ms !== null)
        out.push({ name: 'step_p90_ms', labels, value: s.p90Ms, type: 'gauge' });
      if (s.p99Ms !== null)
        out.push({ name: 'step_p99_ms', labels, value: s.p99Ms, type: 'gauge' });
      if (s.maxMs !== null)
        out.push({ name: 'step_max_ms', labels, value: s.maxMs, type: 'gauge' });
    }
  }
  return out;
}

/** Samples of the final result: totals and whole-run percentiles per step, threshold verdicts. */
export function finalSamples(results: RunResults, labels: Labels): Sample[] {
  const out: Sample[] = [];
  const g = (name: string, l: Record<string, string>, value: number): void =>
    void out.push({ name, labels: l, value, type: 'gauge' });
  g('thresholds_failed', { ...labels }, results.thresholds.failed);
  g('exit_code', { ...labels }, results.run.exitCode);
  for (const wf of results.workflows) {
    const base = { ...labels, workflow: wf.name };
    g('total_requests', base, wf.totals.count);
    g('total_failures', base, wf.totals.failed);
    g('total_rps', base, wf.totals.rps);
    for (const s of wf.steps) {
      const l = { ...base, step: s.name };
      g('total_step_requests', l, s.count);
      g('total_step_failures', l, s.failed);
      g('total_step_p50_ms', l, s.latencyMs.p50);
      g('total_step_p90_ms', l, s.latencyMs.p90);
      g('total_step_p95_ms', l, s.latencyMs.p95);
      g('total_step_p99_ms', l, s.latencyMs.p99);
      g('total_step_max_ms', l, s.latencyMs.max);
    }
    for (const t of wf.thresholds) {
      g(
        'threshold_passed',
        { ...base, target: t.target, expression: t.expression },
        t.passed ? 1 : 0,
      );
    }
  }
  return out;
}

/**
 * Samples of a final report: the merged result, then each breakdown group (a datacenter, a
 * worker) with its labels. When there is a breakdown, the merged samples carry every breakdown
 * label key with the value `*`, so each metric has one label set (Prometheus requires it).
 */
export function reportSamples(report: FinalReport): Sample[] {
  const groups = report.breakdown ?? [];
  const keys = new Set(groups.flatMap((g) => Object.keys(g.labels)));
  const merged: Record<string, string> = { ...report.labels };
  for (const k of keys) merged[k] ??= '*';
  const out = finalSamples(report.results, merged);
  for (const g of groups) {
    const labels: Record<string, string> = { ...report.labels };
    for (const k of keys) labels[k] = g.labels[k] ?? '*';
    out.push(...finalSamples(g.results, labels));
  }
  return out;
}

/** A dotted-path-safe token: letters, digits, '_' and '-'. */
export function pathToken(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_');
}
