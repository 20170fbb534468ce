// Reporter test support: one real `salvo run` against the embedded target to get a results
// document (with its per-window series), and a replay of that run into a reporter through the
// real runner, so each sink is checked against the results JSON.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ReporterRunner } from '../../src/reporters/runner.js';
import type { Reporter, ReporterOutcome } from '../../src/reporters/types.js';
import type { RunResults } from '../../src/stats/types.js';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, runCli, tempDir } from '../support/cli.js';

/** Runs test/fixtures/workflows/reporters.ts once with `extra` CLI args; returns the results. */
export async function producedResults(
  extra: string[] = [],
  dir = tempDir('salvo-rep-'),
): Promise<{
  results: RunResults;
  out: string;
  stdout: string;
  stderr: string;
  code: number | null;
}> {
  const target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  try {
    const out = join(dir, 'results.json');
    const r = await runCli([
      'run',
      fixture('reporters.ts'),
      '--target',
      target.url,
      '--workers',
      '2',
      '--out',
      out,
      '--no-check',
      ...extra,
    ]);
    assert.ok(r.code === 0 || r.code === 3, `salvo run exited ${r.code}: ${r.stderr}\n${r.stdout}`);
    return { results: readResults(out), out, stdout: r.stdout, stderr: r.stderr, code: r.code };
  } finally {
    await target.close();
  }
}

/** Delivers a saved run (start, its series as windows, final) to `reporter` via the runner. */
export async function replay(
  reporter: Reporter,
  results: RunResults,
  policy: ConstructorParameters<typeof ReporterRunner>[1] = {},
): Promise<ReporterOutcome> {
  const runner = new ReporterRunner([{ reporter }], {
    maxAttempts: 3,
    backoffBaseMs: 100,
    ...policy,
  });
  const labels = {};
  runner.start({
    runId: results.run.id,
    file: results.run.file,
    startedAtMs: Date.parse(results.run.startedAt),
    workflows: results.workflows.map((w) => w.name),
    labels,
  });
  for (const w of results.series ?? []) runner.push({ ...w, labels });
  const [outcome] = await runner.finish({ results, series: results.series ?? [], labels });
  assert.ok(outcome);
  return outcome;
}

/** Sum of the series' window counts per step, which must equal the step's total. */
export function windowSums(results: RunResults): Map<string, number> {
  const sums = new Map<string, number>();
  for (const w of results.series ?? [])
    for (const wf of w.workflows)
      for (const s of wf.steps) sums.set(s.name, (sums.get(s.name) ?? 0) + s.count);
  return sums;
}

export function steps(
  results: RunResults,
): { name: string; count: number; failed: number; p99: number; p50: number }[] {
  const wf = results.workflows[0];
  assert.ok(wf);
  return wf.steps.map((s) => ({
    name: s.name,
    count: s.count,
    failed: s.failed,
    p99: s.latencyMs.p99,
    p50: s.latencyMs.p50,
  }));
}
