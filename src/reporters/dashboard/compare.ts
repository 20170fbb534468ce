// `salvo compare base.json new.json`: per step, p50/p99, throughput and error rate of two
// results files, the change, and a verdict (regressed / improved / unchanged) by fixed,
// documented tolerances. Pure: takes two results documents, returns rows; rendering is separate.
import type { RunResults, StepResult } from '../../stats/types.js';

/** A latency change counts only past both: +10 % and +1 ms (noise on fast steps). */
export const LATENCY_TOLERANCE_PCT = 10;
export const LATENCY_TOLERANCE_MS = 1;
/** A throughput drop of more than 10 % regresses. */
export const THROUGHPUT_TOLERANCE_PCT = 10;
/** An error-rate rise of more than 1 percentage point regresses. */
export const ERROR_RATE_TOLERANCE_PP = 1;

export type Verdict = 'regressed' | 'improved' | 'unchanged' | 'added' | 'removed';

export interface StepFigures {
  p50Ms: number;
  p99Ms: number;
  rps: number;
  errorRatePct: number;
}

export interface ComparisonRow {
  workflow: string;
  step: string;
  base: StepFigures | null;
  next: StepFigures | null;
  change: {
    p50Pct: number | null;
    p99Pct: number | null;
    rpsPct: number | null;
    errorRatePp: number | null;
  };
  verdict: Verdict;
  /** Why the verdict, e.g. "p99 +35.2 %". */
  reasons: string[];
}

export interface Comparison {
  base: string;
  next: string;
  rows: ComparisonRow[];
  verdict: 'regressed' | 'no regression';
}

function figures(s: StepResult): StepFigures {
  return {
    p50Ms: s.latencyMs.p50,
    p99Ms: s.latencyMs.p99,
    rps: s.rps,
    errorRatePct: s.count > 0 ? (s.failed / s.count) * 100 : 0,
  };
}

const changePct = (a: number, b: number): number | null =>
  a === 0 ? (b === 0 ? 0 : null) : Math.round(((b - a) / a) * 1000) / 10;

function verdictOf(a: StepFigures, b: StepFigures): { verdict: Verdict; reasons: string[] } {
  const worse: string[] = [];
  const better: string[] = [];
  for (const key of ['p50Ms', 'p99Ms'] as const) {
    const d = b[key] - a[key];
    const pct = a[key] > 0 ? (d / a[key]) * 100 : d > 0 ? Infinity : 0;
    const label = key.slice(0, 3);
    if (d > LATENCY_TOLERANCE_MS && pct > LATENCY_TOLERANCE_PCT)
      worse.push(`${label} +${pct.toFixed(1)} %`);
    if (-d > LATENCY_TOLERANCE_MS && -pct > LATENCY_TOLERANCE_PCT)
      better.push(`${label} ${pct.toFixed(1)} %`);
  }
  const rpsPct = a.rps > 0 ? ((b.rps - a.rps) / a.rps) * 100 : 0;
  if (rpsPct < -THROUGHPUT_TOLERANCE_PCT) worse.push(`throughput ${rpsPct.toFixed(1)} %`);
  if (rpsPct > THROUGHPUT_TOLERANCE_PCT) better.push(`throughput +${rpsPct.toFixed(1)} %`);
  const errPp = b.errorRatePct - a.errorRatePct;
  if (errPp > ERROR_RATE_TOLERANCE_PP) worse.push(`errors +${errPp.toFixed(2)} pp`);
  if (-errPp > ERROR_RATE_TOLERANCE_PP) better.push(`errors ${errPp.toFixed(2)} pp`);
  if (worse.length > 0) return { verdict: 'regressed', reasons: worse };
  if (better.length > 0) return { verdict: 'improved', reasons: better };
  return { verdict: 'unchanged', reasons: [] };
}

export function compareResults(
  base: RunResults,
  next: RunResults,
  names = { base: 'base', next: 'new' },
): Comparison {
  const rows: ComparisonRow[] = [];
  const index = (r: RunResults): Map<string, StepResult> => {
    const m = new Map<string, StepResult>();
    for (const w of r.workflows) for (const s of w.steps) m.set(`${w.name}\u0000${s.name}`, s);
    return m;
  };
  const a = index(base);
  const b = index(next);
  const keys = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  for (const key of keys) {
    const [workflow = '', step = ''] = key.split('\u0000');
    const sa = a.get(key);
    const sb = b.get(key);
    const fa = sa ? figures(sa) : null;
    const fb = sb ? figures(sb) : null;
    let v: { verdict: Verdict; reasons: string[] };
    if (fa && fb) v = verdictOf(fa, fb);
    else v = { verdict: fa ? 'removed' : 'added', reasons: [] };
    rows.push({
      workflow,
      step,
      base: fa,
      next: fb,
      change: {
        p50Pct: fa && fb ? changePct(fa.p50Ms, fb.p50Ms) : null,
        p99Pct: fa && fb ? changePct(fa.p99Ms, fb.p99Ms) : null,
        rpsPct: fa && fb ? changePct(fa.rps, fb.rps) : null,
        errorRatePp: fa && fb ? Math.round((fb.errorRatePct - fa.errorRatePct) * 100) / 100 : null,
      },
      verdict: v.verdict,
      reasons: v.reasons,
    });
  }
  return {
    base: names.base,
    next: names.next,
    rows,
    verdict: rows.some((r) => r.verdict === 'regressed') ? 'regressed' : 'no regression',
  };
}

const num = (n: number | null | undefined, d = 2): string =>
  n === null || n === undefined ? '–' : String(Math.round(n * 10 ** d) / 10 ** d);
const signed = (n: number | null, unit: string): string =>
  n === null ? '–' : `${n > 0 ? '+' : ''}${num(n, 1)}${unit}`;

/** A plain-text table for the terminal. */
export function comparisonTable(c: Comparison): string {
  const header = [
    'step',
    'p50 ms',
    'p99 ms',
    'p99 Δ',
    'req/s',
    'req/s Δ',
    'err %',
    'err Δ',
    'verdict',
  ];
  const lines = c.rows.map((r) => [
    `${r.workflow}/${r.step}`,
    `${num(r.base?.p50Ms)} → ${num(r.next?.p50Ms)}`,
    `${num(r.base?.p99Ms)} → ${num(r.next?.p99Ms)}`,
    signed(r.change.p99Pct, '%'),
    `${num(r.base?.rps, 1)} → ${num(r.next?.rps, 1)}`,
    signed(r.change.rpsPct, '%'),
    `${num(r.base?.errorRatePct)} → ${num(r.next?.errorRatePct)}`,
    signed(r.change.errorRatePp, 'pp'),
    r.verdict + (r.reasons.length ? ` (${r.reasons.join(', ')})` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ')
      .trimEnd();
  return (
    [`${c.base} → ${c.next}`, row(header), ...lines.map(row), `overall: ${c.verdict}`].join('\n') +
    '\n'
  );
}
