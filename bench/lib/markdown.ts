// Renders bench/results/latest.json as the Markdown table and machine line of the README's
// "Performance" section (`node dist/bench/run.js --markdown`).
import type { Goal, ToolResult } from './report.js';
import type { Machine } from './machine.js';
import { fmt } from './report.js';

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
  open: { rate: number; durationS?: number; byTool: Record<string, ToolResult> };
  coordinatedOmission: {
    passed: boolean | null;
    salvo: { executor: string; latencyMs: { p50: number; p99: number } }[];
    autocannonClosedC100: { p50Ms: number; p99Ms: number } | null;
  };
}

export function markdown(doc: Latest): string {
  const out: string[] = [];
  out.push('| scenario | generator | req/s | CPU s / 100k req | peak RSS | p99 |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: |');
  const section = (label: string, byTool: Record<string, ToolResult>): void => {
    for (const [tool, r] of Object.entries(byTool)) {
      const m = r.median;
      out.push(
        `| ${label} | ${tool} | ${fmt(m.rps)} | ${fmt(m.cpuPer100k, 2)} | ${fmt(m.rssMiB, 0)} MiB | ${fmt(m.p99Ms, 1)} ms |`,
      );
    }
  };
  section('closed, 100 connections', doc.closed.c100);
  section('closed, 1000 connections', doc.closed.c1000);
  section(`open, ${fmt(doc.open.rate)} req/s`, doc.open.byTool);
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
    const dropped = openSalvo.samples.map((x) => x.dropped ?? 0).sort((a, b) => a - b);
    const mid = dropped[Math.floor(dropped.length / 2)] ?? 0;
    if (mid > 0) {
      const planned = doc.open.rate * (doc.open.durationS ?? doc.durationS);
      out.push('');
      out.push(
        `In the open-model row Salvo dropped a median of ${fmt(mid)} of ${fmt(planned)} scheduled iterations (${fmt((mid / planned) * 100, 1)}%): no VU was free when they were due (see \`iterations.dropped\`); its CPU figure is per request actually sent.`,
      );
    }
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
      `median of ${doc.rounds} round(s) × ${doc.durationS} s (open model ${doc.open.durationS ?? doc.durationS} s), ${doc.date.slice(0, 10)}.`,
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
