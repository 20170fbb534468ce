// Owns how a run's merged results turn into a verdict: the work that "completed" but did nothing
// useful, the notes that explain a run where every request failed, and the exit code by the
// documented precedence (interrupted, run failed, thresholds failed, ok). Pure functions.
import { EXIT, type ExitCode } from '../errors.js';
import type { RunResults, WorkflowResult } from '../stats/types.js';

/** Error kinds that mean the target could not be reached at all. */
const UNREACHABLE_KINDS = new Set([
  'connect_refused',
  'dns',
  'connect_timeout',
  'connection_reset',
  'tls',
]);

/**
 * What makes a run that "completed" a failed one all the same: a step that failed in every
 * execution, or a workflow none of whose iterations finished (all abandoned at the end).
 */
export function brokenWork(workflows: readonly WorkflowResult[]): string[] {
  const problems: string[] = [];
  for (const w of workflows) {
    if (w.status === 'skipped' || w.status === 'failed') continue;
    const it = w.iterations;
    if (it.started > 0 && it.completed === 0 && (it.interrupted ?? 0) > 0) {
      problems.push(
        `workflow '${w.name}': no iteration finished; all ${it.interrupted} were still running at its end (duration + gracefulStop) and were interrupted`,
      );
    }
    for (const s of w.steps) {
      if (s.count === 0 || s.ok > 0) continue;
      const top = Object.entries(s.errors).sort((a, b) => b[1] - a[1])[0];
      const sample = top ? s.errorSamples[top[0]] : undefined;
      problems.push(
        `workflow '${w.name}': step '${s.name}' failed in all ${s.count} executions${top ? `, mostly ${top[0]}` : ''}${sample ? `: ${sample}` : ''}`,
      );
    }
  }
  return problems;
}

/** A note for each workflow whose every step execution failed, naming the commonest error. */
export function allFailedNotes(workflows: readonly WorkflowResult[]): string[] {
  const notes: string[] = [];
  for (const w of workflows) {
    if (w.totals.count === 0 || w.totals.ok > 0) continue;
    const kinds = new Map<string, number>();
    for (const s of w.steps)
      for (const [k, n] of Object.entries(s.errors)) kinds.set(k, (kinds.get(k) ?? 0) + n);
    const top = [...kinds.entries()].sort((a, b) => b[1] - a[1])[0];
    if (top && UNREACHABLE_KINDS.has(top[0])) {
      notes.push(
        `workflow '${w.name}': every request failed, mostly ${top[0]} — is the target reachable?`,
      );
    } else if (top) {
      notes.push(`workflow '${w.name}': every step execution failed (mostly ${top[0]})`);
    }
  }
  return notes;
}

/** The run's exit code by the documented precedence: interrupted, run failed, thresholds. */
export function exitCodeOf(results: RunResults, interrupted: boolean): ExitCode {
  if (interrupted) return EXIT.interrupted;
  const failed = results.workflows.some((w) => w.status === 'failed' || w.status === 'skipped');
  const totals = results.workflows.reduce(
    (t, w) => ({ count: t.count + w.totals.count, ok: t.ok + w.totals.ok }),
    { count: 0, ok: 0 },
  );
  if (failed || (totals.count > 0 && totals.ok === 0) || brokenWork(results.workflows).length > 0)
    return EXIT.runFailed;
  if (results.thresholds.failed > 0) return EXIT.thresholdsFailed;
  return EXIT.ok;
}
