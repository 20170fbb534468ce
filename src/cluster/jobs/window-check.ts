// Owns the check of a statistics window that arrived from another machine, before the window
// merger touches anything: shapes, counts and histograms. Returns what is wrong as a string
// (the merger turns it into a typed rejection); never throws and never changes state.

import { validateSparseHistogram } from '../../stats/histogram.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isFiniteNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function histogramProblem(h: unknown, what: string): string | null {
  try {
    validateSparseHistogram(h, what);
    return null;
  } catch (error) {
    // The stats module reports bad histograms by throwing; here that becomes the answer.
    return error instanceof Error ? error.message : String(error);
  }
}

function countsProblem(v: unknown, what: string): string | null {
  if (!isRecord(v)) return `${what} must be an object`;
  for (const [k, n] of Object.entries(v)) {
    if (!isCount(n)) return `${what} '${k}' must be a non-negative integer`;
  }
  return null;
}

function stepProblem(step: unknown, what: string): string | null {
  if (!isRecord(step)) return `${what} must be an object`;
  const { count, ok, failed, errorSamples } = step;
  if (!isCount(count) || !isCount(ok) || !isCount(failed) || ok + failed !== count) {
    return `${what}: count, ok and failed must be non-negative integers with ok + failed = count`;
  }
  const counts =
    countsProblem(step.errors, `${what} errors`) ??
    countsProblem(step.statuses, `${what} statuses`);
  if (counts) return counts;
  if (!isRecord(errorSamples) || Object.values(errorSamples).some((s) => typeof s !== 'string')) {
    return `${what} errorSamples must map kinds to strings`;
  }
  return histogramProblem(step.latency, `${what} latency`);
}

function metricProblem(m: unknown, what: string): string | null {
  if (!isRecord(m)) return `${what} must be an object`;
  switch (m.kind) {
    case 'counter':
      return isFiniteNumber(m.value) ? null : `${what}: counter value must be finite`;
    case 'gauge':
      return [m.value, m.min, m.max, m.atMs].every(isFiniteNumber)
        ? null
        : `${what}: gauge value, min, max and atMs must be finite`;
    case 'rate':
      return isCount(m.trues) && isCount(m.total) && m.trues <= m.total
        ? null
        : `${what}: rate needs integers 0 ≤ trues ≤ total`;
    case 'trend':
      return histogramProblem(m.values, `${what} values`);
    default:
      return `${what}: unknown metric kind ${JSON.stringify(m.kind)}`;
  }
}

/** What is wrong with `w` as a statistics window, or null when it is well formed. */
export function windowProblem(w: unknown): string | null {
  if (!isRecord(w)) return 'window must be an object';
  if (typeof w.workflow !== 'string' || w.workflow === '')
    return 'workflow must be a non-empty string';
  if (!isCount(w.seq) || w.seq < 1) return 'seq must be a positive integer';
  if (!isFiniteNumber(w.startMs) || !isFiniteNumber(w.endMs) || w.endMs < w.startMs) {
    return 'startMs and endMs must be finite with startMs ≤ endMs';
  }
  if (!isCount(w.activeVus) || !isCount(w.allocatedVus)) {
    return 'activeVus and allocatedVus must be non-negative integers';
  }
  const it = w.iterations;
  if (
    !isRecord(it) ||
    !['started', 'completed', 'failed', 'dropped'].every((k) => isCount(it[k]))
  ) {
    return 'iterations must hold started, completed, failed and dropped counts';
  }
  if (!isRecord(w.steps) || !isRecord(w.checks) || !isRecord(w.metrics)) {
    return 'steps, checks and metrics must be objects';
  }
  for (const [name, step] of Object.entries(w.steps)) {
    const p = stepProblem(step, `step '${name}'`);
    if (p) return p;
  }
  for (const [stepName, byName] of Object.entries(w.checks)) {
    if (!isRecord(byName)) return `checks of '${stepName}' must be an object`;
    for (const [name, c] of Object.entries(byName)) {
      if (!isRecord(c) || !isCount(c.passes) || !isCount(c.fails)) {
        return `check '${stepName}/${name}': passes and fails must be non-negative integers`;
      }
    }
  }
  for (const [name, m] of Object.entries(w.metrics)) {
    const p = metricProblem(m, `metric '${name}'`);
    if (p) return p;
  }
  return null;
}
