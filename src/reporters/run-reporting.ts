// The glue between `salvo run` and the reporters: gathers the run's reporters (workflow file,
// `--report`, the dashboard), starts a report session on the local run, and at the end delivers
// the final report, notes failed reporters in the results and returns the summary line.
import type { AnyWorkflow } from '../api/workflow.js';
import type { RunResults } from '../stats/types.js';
import type { ReporterConfig } from './config.js';
import { gatherReporters } from './registry.js';
import type { ReporterEntry, ReporterPolicy } from './runner.js';
import { describeOutcomes, ReportSession } from './session.js';

export interface RunReportingOptions {
  workflows: readonly AnyWorkflow[];
  reports: readonly ReporterConfig[];
  windowMs: number;
  policy?: Partial<ReporterPolicy>;
}

/** Throws ReporterConfigError (exit 2) before the run starts when a reporter is misconfigured. */
export function createRunReporting(options: RunReportingOptions): ReportSession {
  const entries: ReporterEntry[] = gatherReporters(options.workflows, options.reports);
  return new ReportSession(entries, { windowMs: options.windowMs, policy: options.policy });
}

export interface LocalRunLike {
  readonly id: string;
  readonly startedAtMs: number;
  workflowResults(): RunResults['workflows'];
  snapshot(): { file: string; workflows: { name: string; activeVus: number }[] };
}

export function startRunReporting(session: ReportSession, run: LocalRunLike): void {
  const snap = run.snapshot();
  session.start(
    {
      runId: run.id,
      file: snap.file,
      startedAtMs: run.startedAtMs,
      workflows: snap.workflows.map((w) => w.name),
    },
    {
      startedAtMs: run.startedAtMs,
      workflowResults: () => run.workflowResults(),
      vus: () => new Map(run.snapshot().workflows.map((w) => [w.name, w.activeVus])),
    },
  );
}

/**
 * Delivers the final report; adds the series and a note per failed reporter to `results`
 * (in place). Returns the summary line, or undefined when the run had no reporter.
 */
export async function finishRunReporting(
  session: ReportSession,
  results: RunResults,
  save: () => void,
): Promise<string | undefined> {
  session.stop();
  results.series = session.series().map(({ labels, ...point }) => (void labels, point));
  // Saved before the reporters get their turn, so a slow reporter never delays the file.
  save();
  const outcomes = await session.finish(results);
  const notes = results.run.notes.length;
  for (const problem of session.problems) results.run.notes.push(`reporting: ${problem}`);
  for (const o of outcomes) {
    if (o.state === 'failed')
      results.run.notes.push(`reporter '${o.name}' failed: ${o.error ?? 'unknown error'}`);
  }
  if (results.run.notes.length !== notes) save();
  return outcomes.length > 0 ? `reporters: ${describeOutcomes(outcomes)}` : undefined;
}
