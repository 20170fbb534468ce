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

/** Below this many samples a step's "p99" is just its slowest sample, not a percentile. */
const MIN_P99_SAMPLES = 100;

/**
 * The p99 the line shows: the worst step p99 among the running workflows (all workflows once
 * none runs), counting only steps with at least MIN_P99_SAMPLES samples when any has that many,
 * so one slow login request in a finished workflow does not stand for the whole run.
 */
function headlineP99(workflows: readonly LiveWorkflow[]): number | null {
  const running = workflows.filter(isActive);
  const steps = (running.length > 0 ? running : workflows).flatMap((wf) => wf.steps);
  const measured = steps.filter((s) => s.p99Ms !== null);
  const sampled = measured.filter((s) => s.count >= MIN_P99_SAMPLES);
  let worst: number | null = null;
  for (const step of sampled.length > 0 ? sampled : measured) {
    if (step.p99Ms !== null && (worst === null || step.p99Ms > worst)) worst = step.p99Ms;
  }
  return worst;
}

/**
 * One plain line summing the whole run, e.g.
 * `[00:12 / 00:30] running  vus 10  4,210 req/s  total 50,511  errors 0 (0.00%)  p99 3.10ms`.
 * VUs and rate add up the running workflows, totals add up all of them, and p99 is the worst
 * well-sampled step p99 of the running workflows (see headlineP99). Dropped iterations
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
  const worstP99 = headlineP99(workflows);
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
