// Turns the bench's samples into figures: per tool and scenario the median and the spread
// (min, max) across rounds, the top-level ratios, the goals (met or missed), the printed table
// and the latest.json document.
import type { Sample, Tool, WorkflowFigures } from './generators.js';

export interface Figures {
  rps: number;
  requests: number;
  cpuS: number | null;
  cpuPer100k: number | null;
  rssMiB: number | null;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Open model: iterations dropped for lack of a free VU (Salvo); null for other tools. */
  dropped: number | null;
  /** Salvo: its own event-loop delay p99 and max over the run, ms; null for other tools. */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
}

export interface ToolResult {
  median: Figures;
  /** The spread across rounds: each figure's smallest and largest value. */
  min: Figures;
  max: Figures;
  samples: SampleFigures[];
}

export type ByTool = Partial<Record<Tool, ToolResult>>;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? hi) + hi) / 2;
}

export interface SampleFigures extends Figures {
  durationS: number;
  /** CPU seconds other processes took on the generator core during this run (noise). */
  coreOtherS: number | null;
  /** Interrupt, softirq and steal seconds on the generator core during this run. */
  coreIrqS: number | null;
  wallS: number | null;
}

export function figuresOf(sample: Sample): SampleFigures {
  const cpuS = sample.usage ? sample.usage.userS + sample.usage.sysS : null;
  return {
    rps: sample.rps,
    requests: sample.requests,
    durationS: sample.durationS,
    cpuS,
    cpuPer100k: cpuS !== null && sample.requests > 0 ? (cpuS / sample.requests) * 100_000 : null,
    rssMiB: sample.usage ? sample.usage.maxRssKb / 1024 : null,
    p50Ms: sample.latencyMs.p50,
    p99Ms: sample.latencyMs.p99,
    errors: sample.errors,
    dropped: sample.dropped ?? null,
    loopDelayP99Ms: sample.loopDelayMs?.p99 ?? null,
    loopDelayMaxMs: sample.loopDelayMs?.max ?? null,
    coreOtherS: sample.usage?.coreOtherS ?? null,
    coreIrqS: sample.usage?.coreIrqS ?? null,
    wallS: sample.usage?.wallS ?? null,
  };
}

/** Share of the generator core's wall time that other processes took, over all samples. */
export function contention(samples: readonly SampleFigures[]): number | null {
  let other = 0;
  let wall = 0;
  for (const s of samples) {
    if (s.coreOtherS === null || s.wallS === null) continue;
    other += s.coreOtherS;
    wall += s.wallS;
  }
  return wall > 0 ? Math.round((other / wall) * 1000) / 1000 : null;
}

type Reduce = (values: readonly number[]) => number;

function reduceOrNull(values: readonly (number | null)[], f: Reduce): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : f(present);
}

function figuresBy(figures: readonly SampleFigures[], f: Reduce): Figures {
  const of = (pick: (x: SampleFigures) => number): number => f(figures.map(pick));
  const orNull = (pick: (x: SampleFigures) => number | null): number | null =>
    reduceOrNull(figures.map(pick), f);
  return {
    rps: of((x) => x.rps),
    requests: of((x) => x.requests),
    cpuS: orNull((x) => x.cpuS),
    cpuPer100k: orNull((x) => x.cpuPer100k),
    rssMiB: orNull((x) => x.rssMiB),
    p50Ms: of((x) => x.p50Ms),
    p99Ms: of((x) => x.p99Ms),
    errors: of((x) => x.errors),
    dropped: orNull((x) => x.dropped),
    loopDelayP99Ms: orNull((x) => x.loopDelayP99Ms),
    loopDelayMaxMs: orNull((x) => x.loopDelayMaxMs),
  };
}

export function summarize(samples: readonly Sample[]): ToolResult {
  const figures = samples.map(figuresOf);
  return {
    samples: figures,
    median: figuresBy(figures, median),
    min: figuresBy(figures, (v) => Math.min(...v)),
    max: figuresBy(figures, (v) => Math.max(...v)),
  };
}

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

export interface Goal {
  name: string;
  key: string;
  value: number | null;
  goal: string;
  /** null when the figure could not be measured in this run. */
  met: boolean | null;
  /** Aims are reported but are not part of "Done means". */
  aim?: boolean;
}

export function goal(
  name: string,
  key: string,
  value: number | null,
  op: '>=' | '<=',
  bound: number,
  aim = false,
): Goal {
  const met = value === null ? null : op === '>=' ? value >= bound : value <= bound;
  return { name, key, value, goal: `${op} ${bound}`, met, ...(aim ? { aim } : {}) };
}

export interface CoWorkflow extends WorkflowFigures {
  passed: boolean;
}

// ---- printing ---------------------------------------------------------------------------------

function fmt(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `median (min–max)`, or just the value when every round gave the same. */
function spread(r: ToolResult, pick: (f: Figures) => number | null, digits: number): string {
  const mid = pick(r.median);
  const lo = pick(r.min);
  const hi = pick(r.max);
  if (mid === null) return '—';
  if (r.samples.length < 2 || (lo === hi && lo === mid)) return fmt(mid, digits);
  return `${fmt(mid, digits)} (${fmt(lo, digits)}–${fmt(hi, digits)})`;
}

export function closedRows(scenario: string, byTool: ByTool, open = false): string[][] {
  const rows: string[][] = [];
  for (const [tool, result] of Object.entries(byTool)) {
    if (!result) continue;
    const m = result.median;
    rows.push([
      scenario,
      tool,
      spread(result, (f) => f.rps, 0),
      spread(result, (f) => f.cpuPer100k, 2),
      fmt(m.rssMiB, 1),
      fmt(m.p50Ms, 2),
      spread(result, (f) => f.p99Ms, 2),
      fmt(m.errors),
      open && result.samples.some((x) => x.dropped !== null)
        ? result.samples.map((x) => fmt(x.dropped)).join(' / ')
        : '—',
      spread(result, (f) => f.loopDelayP99Ms, 2),
      fmt(result.max.loopDelayMaxMs, 1),
    ]);
  }
  return rows;
}

export const HEADER = [
  'scenario',
  'tool',
  'req/s (min–max)',
  'CPU s/100k (min–max)',
  'peak RSS MiB',
  'p50 ms',
  'p99 ms (min–max)',
  'errors',
  'dropped per round',
  'loop delay p99 ms',
  'loop delay max ms',
];

export function goalLines(goals: readonly Goal[]): string[] {
  return goals.map((g) => {
    const verdict = g.met === null ? 'not measured' : g.met ? 'met' : 'MISSED';
    return `  ${g.name.padEnd(48)} ${fmt(g.value, 3).padStart(8)}  goal ${g.goal.padEnd(7)} ${verdict}${g.aim ? ' (aim)' : ''}`;
  });
}

export { fmt };
