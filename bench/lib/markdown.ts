// Renders bench/results/latest.json as the Markdown table and machine line of the README's
// "Performance" section (`node dist/bench/run.js --markdown`).
import type { Figures, Goal, ToolResult } from './report.js';
import type { Machine } from './machine.js';
import { fmt } from './report.js';
import { MAX_VU_WAIT_MS } from '../../src/engine/executors/index.js';

interface Latest {
  date: string;
  mode: string;
  rounds: number;
  durationS: number;
  target: string | null;
  generatorCoreContention: number | null;
  machine: Machine;
  goals: Goal[];
  closed: { c100: Record<string, ToolResult>; c1000: Record<string, ToolResult> };
  open: {
    rate: number;
    connections?: number;
    /** Present since the open model runs on a fixed pool. */
    pool?: { preAllocatedVus: number; maxVus: number };
    durationS?: number;
    byTool: Record<string, ToolResult>;
  };
  coordinatedOmission: {
    passed: boolean | null;
    salvo: { executor: string; latencyMs: { p50: number; p99: number } }[];
    autocannonClosedC100: { p50Ms: number; p99Ms: number } | null;
  };
}

/** `median (min–max)` across rounds; older documents without the spread give the median. */
function spread(r: ToolResult, pick: (f: Figures) => number | null, digits: number): string {
  const mid = pick(r.median);
  if (mid === null || mid === undefined) return '—';
  const lo = r.min ? pick(r.min) : null;
  const hi = r.max ? pick(r.max) : null;
  if (lo === null || hi === null || lo === undefined || hi === undefined || lo === hi) {
    return fmt(mid, digits);
  }
  return `${fmt(mid, digits)} (${fmt(lo, digits)}–${fmt(hi, digits)})`;
}

export function markdown(doc: Latest): string {
  const out: string[] = [];
  out.push(
    '| scenario | generator | req/s | CPU s / 100k req | peak RSS | p99 | dropped per round | loop delay p99 / max |',
  );
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const section = (label: string, byTool: Record<string, ToolResult>, open = false): void => {
    for (const [tool, r] of Object.entries(byTool)) {
      const m = r.median;
      const dropped =
        open && r.samples.some((x) => x.dropped !== null && x.dropped !== undefined)
          ? r.samples.map((x) => fmt(x.dropped ?? 0)).join(' / ')
          : '—';
      const eld =
        m.loopDelayP99Ms === null || m.loopDelayP99Ms === undefined
          ? '—'
          : `${spread(r, (f) => f.loopDelayP99Ms, 2)} / ${fmt(r.max?.loopDelayMaxMs ?? null, 1)} ms`;
      out.push(
        `| ${label} | ${tool} | ${spread(r, (f) => f.rps, 0)} | ${spread(r, (f) => f.cpuPer100k, 2)} | ${fmt(m.rssMiB, 0)} MiB | ${spread(r, (f) => f.p99Ms, 1)} ms | ${dropped} | ${eld} |`,
      );
    }
  };
  section('closed, 100 connections', doc.closed.c100);
  section('closed, 1000 connections', doc.closed.c1000);
  section(
    `open, ${fmt(doc.open.rate)} req/s${doc.open.pool ? `, ${fmt(doc.open.pool.maxVus)} VUs fixed` : ''}`,
    doc.open.byTool,
    true,
  );
  out.push('');
  out.push('| goal | measured | target | |');
  out.push('| --- | ---: | --- | --- |');
  for (const g of doc.goals) {
    const verdict = g.met === null ? 'not measured' : g.met ? 'met' : 'missed';
    out.push(
      `| ${g.name}${g.aim ? ' (aim)' : ''} | ${fmt(g.value, 2)} | ${g.goal.replace('>=', '≥').replace('<=', '≤')} | ${verdict} |`,
    );
  }
  const openSalvo = doc.open.byTool['salvo'];
  if (openSalvo) {
    const worst = Math.max(0, ...openSalvo.samples.map((x) => x.dropped ?? 0));
    const planned = doc.open.rate * (doc.open.durationS ?? doc.durationS);
    out.push('');
    out.push(
      `Open model: Salvo dropped at most ${fmt(worst)} of ${fmt(planned)} scheduled iterations in a round (${fmt((worst / planned) * 100, 3)}%)${doc.open.pool ? ' on a pool that never grows' : ''}: an iteration is dropped when no VU came free within ${MAX_VU_WAIT_MS} ms of its scheduled start (see \`iterations.dropped\`); its CPU figure is per request actually sent.`,
    );
  }
  const co = doc.coordinatedOmission;
  const parts = co.salvo.map(
    (w) => `${w.executor} p50 ${fmt(w.latencyMs.p50, 1)} ms / p99 ${fmt(w.latencyMs.p99, 0)} ms`,
  );
  out.push('');
  out.push(
    `Coordinated-omission check (${co.passed === null ? 'not run' : co.passed ? 'passed' : 'failed'}): ${parts.join('; ')}` +
      (co.autocannonClosedC100
        ? `; autocannon's closed model against the same target: p99 ${fmt(co.autocannonClosedC100.p99Ms, 0)} ms.`
        : '.'),
  );
  const m = doc.machine;
  out.push('');
  out.push(
    `Machine: ${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ` +
      `target ${doc.target === 'nginx' ? `nginx ${m.nginx ?? ''}` : 'built-in (nginx unavailable)'}, ` +
      `autocannon ${m.autocannon ?? '—'}, wrk ${m.wrk ?? '—'}; ${m.pinning}; ` +
      `median (min–max) of ${doc.rounds} round(s) × ${doc.durationS} s (open model ${doc.open.durationS ?? doc.durationS} s), no warm-up discarded, ${doc.date.slice(0, 10)}.`,
  );
  const busy = doc.generatorCoreContention;
  if (busy !== null && busy >= 0.02) {
    out.push('');
    out.push(
      `Other processes took ${Math.round(busy * 100)}% of the generator core during this run, so absolute figures are low and noisy; compare ratios only.`,
    );
  }
  return out.join('\n');
}
