// `salvo run FILE`: load and check the workflow file, start the pool, run with the live view,
// handle Ctrl-C (first: graceful stop with partial results; second: write and quit at once),
// then print the summary, write results JSON/CSV and return the documented exit code.
import { availableParallelism } from 'node:os';
import { accessSync, constants, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflow, importWorkflows, typecheckWorkflow } from '../engine/loader.js';
import { buildPlan, literalMetricNames } from '../engine/plan.js';
import { EXIT, OptionError, describeError } from '../errors.js';
import { ThreadPool } from '../pool/pool.js';
import { planSpecOf } from '../run/plan-spec.js';
import { Run } from '../run/run.js';
import { ThreadPlacement, oneBundle } from '../run/thread-placement.js';
import { defaultResultsPath, resultsToCsv } from '../stats/results.js';
import type { RunResults } from '../stats/types.js';
import type { ReporterConfig } from '../reporters/config.js';
import {
  createRunReporting,
  finishRunReporting,
  startRunReporting,
} from '../reporters/run-reporting.js';
import { startDashboard } from '../reporters/dashboard/server.js';
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
  report?: ReporterConfig[];
  reportTimeout?: number;
  dashboard?: boolean;
  dashboardPort?: number;
}

const WINDOW_MS = 1000;
const FINALIZE_SLACK_MS = 1500;
const RESULTS_DIR = 'salvo-results';

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/** The HTML report beside the results file: `x.json` → `x.html`. */
/** Where `--dashboard` writes its page: the results path with `.html`. */
export function htmlPathFor(out: string): string {
  return `${out.replace(/\.json$/i, '')}.html`;
}

function writeAtomicSync(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    // A device or pipe (/dev/null, a FIFO) is written into, never replaced by a file.
    writeFileSync(path, text);
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Checks, before the run, that `path` (given as `option`) can take a results file: not a
 * directory, its directory creatable and writable. Throws an OptionError naming the option.
 */
export function checkOutputPath(option: string, path: string): void {
  const fail = (why: string): never => {
    throw new OptionError(`${option} ${path}: ${why}`);
  };
  const existing = statSync(path, { throwIfNoEntry: false });
  if (path.endsWith('/') || existing?.isDirectory())
    fail(`is a directory; give a file name, e.g. ${join(path, 'results.json')}`);
  if (existing && !existing.isFile()) return; // a device or pipe: written into in place
  const dir = dirname(resolve(path));
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    fail(`cannot write there (${describeError(error)})`);
  }
}

/**
 * Writes results synchronously (temp file, then rename), so a second Ctrl-C, which cannot
 * wait for anything, still leaves whole files behind. Returns the paths written (a fallback
 * in the temp directory for a file that could not be written where asked).
 */
export function writeResultsSync(
  results: RunResults,
  out: string,
  csv: string | undefined,
  say: (line: string) => void,
): string[] {
  const files: [string, () => string][] = [[out, () => `${JSON.stringify(results, null, 2)}\n`]];
  if (csv) files.push([csv, () => resultsToCsv(results)]);
  const written: string[] = [];
  for (const [path, text] of files) {
    try {
      writeAtomicSync(path, text());
      written.push(path);
    } catch (error) {
      // The run's results are never lost: they go to a fallback file, and the user is told.
      const fallback = join(tmpdir(), `salvo-${results.run.id}-${path.split('/').pop() ?? 'out'}`);
      writeAtomicSync(fallback, text());
      written.push(fallback);
      say(
        `salvo: could not write ${path} (${describeError(error)}); wrote it to ${fallback} instead`,
      );
    }
  }
  return written;
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

  if (opts.out !== undefined) checkOutputPath('--out', opts.out);
  if (opts.csv !== undefined) checkOutputPath('--csv', opts.csv);
  if (opts.out !== undefined && opts.csv !== undefined && resolve(opts.out) === resolve(opts.csv))
    throw new OptionError(
      `--out and --csv name the same file (${opts.out}); give them different names`,
    );
  const bundle = await bundleWorkflow(file);
  if (opts.check !== false) {
    say(`checking ${display(bundle.source)}…`);
    await typecheckWorkflow(bundle);
  }
  const workflows = await importWorkflows(bundle);
  applyIterations(workflows, merged);
  const plan = buildPlan(
    workflows,
    { vus: opts.vus, durationMs: opts.duration, rate: opts.rate },
    literalMetricNames(await readFile(bundle.path, 'utf8')),
  );
  const reporting = createRunReporting({
    workflows,
    reports: opts.report ?? [],
    windowMs: WINDOW_MS,
    policy: opts.reportTimeout === undefined ? {} : { finishTimeoutMs: opts.reportTimeout },
  });
  const size = opts.workers ?? availableParallelism();
  const diagnostics: string[] = [];
  const grace = opts.grace ?? 3000;
  const pool = await ThreadPool.start({
    size,
    // A worker that has not finalized a cancelled job a moment after the grace is not
    // yielding (a step in a busy loop): it is terminated rather than waited for.
    finalizeSlackMs: grace + FINALIZE_SLACK_MS,
    onDiagnostic: (worker, level, message) => {
      if (diagnostics.length < 100) diagnostics.push(`worker ${worker} ${level}: ${message}`);
    },
  });
  const local = { path: bundle.path, hash: bundle.hash, source: bundle.source };
  const run = new Run({
    file: display(bundle.source),
    bundle: { hash: bundle.hash, source: bundle.source },
    plan: planSpecOf(plan),
    placement: new ThreadPlacement({ pool, bundles: oneBundle(local) }),
    baseUrl: opts.target,
    cancelGraceMs: grace,
    windowMs: WINDOW_MS,
  });
  const firstName = plan.workflows[plan.workflows.length - 1]?.name ?? 'run';
  const out = opts.out ?? defaultResultsPath(RESULTS_DIR, firstName, new Date());
  const dashboard = opts.dashboard
    ? await startDashboard({ port: opts.dashboardPort ?? 0, htmlPath: htmlPathFor(out) })
    : undefined;
  if (dashboard) {
    reporting.runner.add({ reporter: dashboard.reporter });
    say(`dashboard: ${dashboard.url}`);
  }

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
    writeResultsSync(partial, out, opts.csv, (line) => io.stderr.write(`${line}\n`));
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
    startRunReporting(reporting, run);
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
  let written: string[] = [];
  const reportLine = await finishRunReporting(reporting, results, () => {
    written = writeResultsSync(results, out, opts.csv, (line) => io.stderr.write(`${line}\n`));
  });
  if (!quiet) {
    io.stdout.write(
      `${renderSummary(results, { width: io.stdout.columns ?? 100, color: color && io.stdout.isTTY === true })}\n`,
    );
    if (reportLine) io.stdout.write(`${reportLine}\n`);
    if (dashboard) io.stdout.write(`report: ${display(dashboard.htmlPath)}\n`);
    io.stdout.write(`results: ${written.map(display).join(', ')}\n`);
  }
  return results.run.exitCode;
}
