// The one-line progress report for output that is not a terminal (CI logs, pipes): plain text,
// no ANSI, no cursor movement, one self-contained line per report.

import {
  formatClock,
  formatCount,
  formatLatency,
  formatPercent,
  formatRate,
  ratio,
  sanitize,
} from './format.js';
import type { LiveSnapshot, LiveWorkflow } from './snapshot.js';

const FIELD_GAP = '  ';

function isActive(wf: LiveWorkflow): boolean {
  return wf.status === 'running' || wf.status === 'stopping';
}

function workflowCounts(workflows: readonly LiveWorkflow[]): string {
  const active = workflows.filter(isActive).length;
  const waiting = workflows.filter((wf) => wf.status === 'waiting').length;
  const done = workflows.length - active - waiting;
  const parts = [
    active > 0 ? `${active} running` : '',
    done > 0 ? `${done} done` : '',
    waiting > 0 ? `${waiting} waiting` : '',
  ].filter((part) => part !== '');
  return `workflows ${parts.join(', ')}`;
}

/**
 * One plain line summing the whole run, e.g.
 * `[00:12 / 00:30] running  vus 10  4,210 req/s  total 50,511  errors 0 (0.00%)  p99 3.10ms`.
 * VUs and rate add up the running workflows, totals add up all of them, and p99 is the worst
 * step p99 of the run (the step the user most likely needs to hear about). Dropped iterations
 * appear only when there are some; the workflow breakdown only when there are several.
 */
export function renderProgressLine(snapshot: LiveSnapshot): string {
  const workflows = snapshot.workflows;
  const active = workflows.filter(isActive);
  const vus = active.reduce((sum, wf) => sum + wf.activeVus, 0);
  const rps = active.reduce((sum, wf) => sum + wf.rpsNow, 0);
  const total = workflows.reduce((sum, wf) => sum + wf.count, 0);
  const failed = workflows.reduce((sum, wf) => sum + wf.failed, 0);
  const dropped = workflows.reduce((sum, wf) => sum + wf.dropped, 0);
  let worstP99: number | null = null;
  for (const wf of workflows) {
    for (const step of wf.steps) {
      if (step.p99Ms !== null && (worstP99 === null || step.p99Ms > worstP99))
        worstP99 = step.p99Ms;
    }
  }
  const clock =
    snapshot.plannedMs === null
      ? formatClock(snapshot.elapsedMs)
      : `${formatClock(snapshot.elapsedMs)} / ${formatClock(snapshot.plannedMs)}`;
  const fields = [
    `[${clock}] ${sanitize(snapshot.phase)}`,
    workflows.length > 1 ? workflowCounts(workflows) : '',
    `vus ${formatCount(vus)}`,
    formatRate(rps, { unit: 'req' }),
    `total ${formatCount(total)}`,
    `errors ${formatCount(failed)} (${formatPercent(ratio(failed, total))})`,
    dropped > 0 ? `dropped ${formatCount(dropped)}` : '',
    `p99 ${formatLatency(worstP99)}`,
  ];
  return fields.filter((field) => field !== '').join(FIELD_GAP);
}
