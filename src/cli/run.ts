// `salvo run FILE`: load and check the workflow file, start the pool, run with the live view,
// handle Ctrl-C (first: graceful stop with partial results; second: write and quit at once),
// then print the summary, write results JSON/CSV and return the documented exit code.
import { availableParallelism } from 'node:os';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { bundleWorkflow, importWorkflows, typecheckWorkflow } from '../engine/loader.js';
import { buildPlan } from '../engine/plan.js';
import { EXIT } from '../errors.js';
import { LocalRun } from '../pool/local-run.js';
import { ThreadPool } from '../pool/pool.js';
import { defaultResultsPath, resultsToCsv } from '../stats/results.js';
import type { RunResults } from '../stats/types.js';
import { renderSummary } from '../ui/summary.js';
import { createProgressView } from '../ui/terminal.js';
import type { CliIo } from './main.js';
import { applyIterations, prepareRunOptions } from './run-features.js';

export interface RunOptions {
  vus?: number;
  duration?: number;
  rate?: number;
  workers?: number;
  target?: string;
  out?: string;
  csv?: string;
  grace?: number;
  check?: boolean;
  color?: boolean;
  quiet?: boolean;
}

const WINDOW_MS = 1000;
const RESULTS_DIR = 'salvo-results';

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

function writeAtomicSync(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Writes results synchronously (temp file, then rename), so a second Ctrl-C, which cannot
 * wait for anything, still leaves whole files behind.
 */
export function writeResultsSync(results: RunResults, out: string, csv: string | undefined): void {
  writeAtomicSync(out, `${JSON.stringify(results, null, 2)}\n`);
  if (csv) writeAtomicSync(csv, resultsToCsv(results));
}

export async function runCommand(
  file: string,
  raw: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
  const merged = await prepareRunOptions(file, raw);
  const opts = merged as RunOptions;
  const quiet = opts.quiet === true;
  const color = opts.color !== false && !process.env['NO_COLOR'];
  const say = (line: string): void => {
    if (!quiet) io.stderr.write(`${line}\n`);
  };

  const bundle = await bundleWorkflow(file);
  if (opts.check !== false) {
    say(`checking ${display(bundle.source)}…`);
    await typecheckWorkflow(bundle);
  }
  const workflows = await importWorkflows(bundle);
  applyIterations(workflows, merged);
  const plan = buildPlan(workflows, { vus: opts.vus, durationMs: opts.duration, rate: opts.rate });
  const size = opts.workers ?? availableParallelism();
  const diagnostics: string[] = [];
  const pool = await ThreadPool.start({
    size,
    onDiagnostic: (worker, level, message) => {
      if (diagnostics.length < 100) diagnostics.push(`worker ${worker} ${level}: ${message}`);
    },
  });
  const run = new LocalRun({
    file: display(bundle.source),
    bundle: { path: bundle.path, hash: bundle.hash, source: bundle.source },
    plan,
    pool,
    baseUrl: opts.target,
    cancelGraceMs: opts.grace ?? 3000,
    windowMs: WINDOW_MS,
  });
  const firstName = plan.workflows[plan.workflows.length - 1]?.name ?? 'run';
  const out = opts.out ?? defaultResultsPath(RESULTS_DIR, firstName, new Date());

  const view = createProgressView({
    stream: io.stderr,
    quiet,
    color,
    onError: (error) => diagnostics.push(`live view: ${String(error)}`),
  });
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      run.interrupt();
      return;
    }
    view.stop();
    const partial = run.results();
    partial.run.status = 'interrupted';
    partial.run.exitCode = EXIT.interrupted;
    writeResultsSync(partial, out, opts.csv);
    io.stderr.write(`\nsalvo: stopped at once; partial results in ${display(out)}\n`);
    process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(
      `running ${display(bundle.source)} on ${size} worker thread${size === 1 ? '' : 's'}${quiet ? '' : ' (Ctrl-C stops gracefully)'}`,
    );
    view.start(() => run.snapshot());
    await run.run();
    view.stop(run.snapshot());
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pool.shutdown();
  }

  const results = run.results();
  for (const d of diagnostics.slice(0, 20))
    if (!results.run.notes.includes(d)) results.run.notes.push(d);
  writeResultsSync(results, out, opts.csv);
  if (!quiet) {
    io.stdout.write(
      `${renderSummary(results, { width: io.stdout.columns ?? 100, color: color && io.stdout.isTTY === true })}\n`,
    );
    io.stdout.write(`results: ${display(out)}${opts.csv ? `, ${display(opts.csv)}` : ''}\n`);
  }
  return results.run.exitCode;
}
