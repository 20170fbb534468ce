// Owns the client commands of a Salvo cluster: `salvo submit`, `jobs`, `status`, `watch` and
// `cancel`. Submit bundles and type-checks the workflow file here (errors name file:line before
// anything is uploaded) and sends the plan the run module computes; watch shows the same live view
// as `salvo run` (and, with --dashboard, the same live web page, per datacenter), writes the same
// results file and exits with the job's exit code.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { bundleWorkflow, importWorkflows, typecheckWorkflow } from '../engine/loader.js';
import { buildPlan, literalMetricNames } from '../engine/plan.js';
import { EXIT, OptionError, describeError } from '../errors.js';
import type {
  JobAccepted,
  JobCancelAck,
  JobResult,
  JobViewWire,
} from '../nodes/jobs/client-wire.js';
import { formatMs } from '../api/duration.js';
import { defaultJobTimeoutMs } from '../cluster/jobs/job-timeouts.js';
import { plannedJobMs, planSpecOf } from '../run/plan-spec.js';
import {
  isCustomReporter,
  validateReporterConfig,
  type ReporterConfig,
} from '../reporters/config.js';
import { distributedSection } from '../reporters/dc-groups.js';
import { ReporterConfigError } from '../reporters/errors.js';
import { MAX_JOB_REPORTERS, validateJobReporters } from '../reporters/job-config.js';
import { describeOutcomes } from '../reporters/session.js';
import type { ReporterOutcome } from '../reporters/types.js';
import type { AnyWorkflow } from '../api/workflow.js';
import { defaultResultsPath } from '../stats/results.js';
import type { DistributedResult, RunResults } from '../stats/types.js';
import { renderSummary } from '../ui/summary.js';
import {
  durationOption,
  jobTimeoutOption,
  positiveIntOption,
  portOption,
  positiveNumberOption,
  urlOption,
} from './options.js';
import { addClientOptions, connectionOptions, JobClient, type ClientFlags } from './job-client.js';
import type { CliIo } from './main.js';
import { reportOption } from './report.js';
import { checkOutputPath, htmlPathFor, writeResultsSync } from './run.js';
import { startJobDashboard, type JobDashboard } from './job-dashboard.js';
import { dcLine, followJob, type Watched } from './job-follow.js';

const RESULTS_DIR = 'salvo-results';
interface SubmitFlags extends WatchFlags {
  target?: string;
  vus?: number;
  duration?: number;
  rate?: number;
  dcs?: string;
  dcCount?: number;
  idempotencyKey?: string;
  timeout?: number;
  report?: ReporterConfig[];
  watch?: boolean;
  check?: boolean;
}

interface WatchFlags extends ClientFlags {
  out?: string;
  quiet?: boolean;
  color?: boolean;
  dashboard?: boolean;
  dashboardPort?: number;
}

function say(io: CliIo, quiet: boolean | undefined, line: string): void {
  if (quiet !== true) io.stderr.write(`${line}\n`);
}

async function withClient<T>(
  flags: ClientFlags,
  body: (c: JobClient, token: string | undefined) => Promise<T>,
): Promise<T> {
  const options = connectionOptions(flags);
  const client = await JobClient.open(options);
  try {
    return await body(client, options.token);
  } finally {
    await client.close();
  }
}

function tokenField(token: string | undefined): { token?: string } {
  return token === undefined ? {} : { token };
}

/** The datacenter names of --dcs, checked. */
export function parseDcs(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const dcs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (dcs.length === 0)
    throw new OptionError('--dcs: name at least one datacenter, e.g. --dcs dc1,dc2');
  const bad = dcs.find((d) => !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(d));
  if (bad !== undefined) {
    throw new OptionError(`--dcs: "${bad}" is not a datacenter name (letters, digits, . _ -)`);
  }
  return [...new Set(dcs)];
}

/** One line per job, as `salvo jobs` and `salvo status` print it. */
export function describeJob(view: JobViewWire): string {
  const dcs = Object.entries(view.dcs)
    .map(([dc, state]) => `${dc}:${state}`)
    .join(' ');
  const ended = view.endedAtMs === null ? '' : ` ended ${new Date(view.endedAtMs).toISOString()}`;
  const reason = view.cancelReason === null ? '' : ` (${view.cancelReason})`;
  return `${view.job}  ${view.status}${reason}  owner ${view.ownerGate}  submitted ${new Date(view.submittedAtMs).toISOString()}${ended}  ${dcs}`;
}

/** Each datacenter's status and share, and each worker's, for the results file. */
export function distributedOf(result: JobResult): DistributedResult {
  return distributedSection(result.job, result.dcs, result.breakdown ?? {});
}

/**
 * The reporters a job carries: each workflow's built-in reporter configs, then `--report`.
 * Custom reporter objects (code, not data) run only with `salvo run`: they are left out, with a
 * warning. Throws OptionError past MAX_JOB_REPORTERS or on a config the gate would refuse.
 */
export function jobReports(
  workflows: readonly AnyWorkflow[],
  fromCli: readonly ReporterConfig[],
  warn: (line: string) => void,
): ReporterConfig[] {
  const out: ReporterConfig[] = [];
  const seen = new Set<unknown>();
  for (const wf of workflows) {
    for (const spec of wf.definition.reporters) {
      if (seen.has(spec)) continue;
      seen.add(spec);
      if (isCustomReporter(spec)) {
        warn(
          `salvo: workflow '${wf.name}': custom reporter '${spec.name}' is not sent to the cluster (only built-in kinds run on the gate; custom ones run with salvo run)`,
        );
        continue;
      }
      try {
        out.push(validateReporterConfig(spec));
      } catch (error) {
        if (error instanceof ReporterConfigError)
          throw new OptionError(`workflow '${wf.name}': ${error.message}`);
        throw error;
      }
    }
  }
  out.push(...fromCli);
  if (out.length > MAX_JOB_REPORTERS) {
    throw new OptionError(
      `a job carries at most ${MAX_JOB_REPORTERS} reporters (workflow reporters and --report together), got ${out.length}`,
    );
  }
  try {
    return validateJobReporters(out);
  } catch (error) {
    if (error instanceof ReporterConfigError) throw new OptionError(error.message);
    throw error;
  }
}

async function finishWatch(
  result: JobResult,
  out: string | undefined,
  io: CliIo,
  flags: WatchFlags,
  name: string,
  dashboard?: JobDashboard,
): Promise<number> {
  const results = result.results as RunResults | null;
  if (results === null || typeof results !== 'object' || results.run === undefined) {
    io.stderr.write(
      `salvo: job ${result.job} ended ${result.status} without results${result.failure ? `: ${result.failure}` : ''}\n`,
    );
    return result.exitCode === 0 ? EXIT.runFailed : result.exitCode;
  }
  // The gate writes the section itself; a result from an older gate gets it here.
  results.distributed ??= distributedOf(result);
  const path = out ?? defaultResultsPath(RESULTS_DIR, name, new Date());
  const written = writeResultsSync(results, path, undefined, (line) =>
    io.stderr.write(`${line}\n`),
  );
  // The page shows the final results, then is written beside them (as salvo run does); like a
  // reporter there, a page that cannot be written changes neither the results nor the exit code.
  let report = dashboard?.htmlPath;
  try {
    await dashboard?.finish(results);
  } catch (error) {
    report = undefined;
    io.stderr.write(`salvo: the dashboard report was not written: ${describeError(error)}\n`);
  }
  if (flags.quiet !== true) {
    const color = flags.color !== false && !process.env['NO_COLOR'] && io.stdout.isTTY === true;
    io.stdout.write(`${renderSummary(results, { width: io.stdout.columns ?? 100, color })}\n`);
    io.stdout.write(`job ${result.job}: ${result.status} (${dcLine(result.dcs)})\n`);
    const reporters = (result.reporters ?? []) as ReporterOutcome[];
    if (reporters.length > 0)
      io.stdout.write(`reporters (on the gate): ${describeOutcomes(reporters)}\n`);
    if (report !== undefined) io.stdout.write(`report: ${report}\n`);
    io.stdout.write(`results: ${written.join(', ')}\n`);
  }
  return result.exitCode;
}

/**
 * Follows `job` to its end (with the live web page when --dashboard is given), then writes its
 * results (and the page as HTML) and returns its exit code.
 */
async function watchJob(watched: Watched<WatchFlags>, name: string): Promise<number> {
  const { job, io, flags } = watched;
  const out = flags.out ?? defaultResultsPath(RESULTS_DIR, name, new Date());
  const dashboard =
    flags.dashboard === true
      ? await startJobDashboard({ job, port: flags.dashboardPort ?? 0, htmlPath: htmlPathFor(out) })
      : undefined;
  try {
    if (dashboard) say(io, flags.quiet, `dashboard: ${dashboard.url}`);
    const result = await followJob(watched, dashboard);
    return await finishWatch(result, out, io, flags, name, dashboard);
  } finally {
    await dashboard?.close();
  }
}

async function submit(file: string, flags: SubmitFlags, io: CliIo): Promise<number> {
  const dcs = parseDcs(flags.dcs);
  if (flags.out !== undefined) checkOutputPath('--out', flags.out);
  if (flags.dashboard === true && flags.watch !== true)
    throw new OptionError(
      '--dashboard needs --watch (or follow the job with salvo watch JOB --dashboard)',
    );
  const bundle = await bundleWorkflow(file);
  if (flags.check !== false) {
    say(io, flags.quiet, `checking ${file}…`);
    await typecheckWorkflow(bundle);
  }
  const workflows = await importWorkflows(bundle);
  const plan = buildPlan(
    workflows,
    { vus: flags.vus, durationMs: flags.duration, rate: flags.rate },
    literalMetricNames(await readFile(bundle.path, 'utf8')),
  );
  const spec = planSpecOf(plan);
  if (flags.target !== undefined) spec.baseUrl = flags.target;
  const timeoutMs = flags.timeout ?? defaultJobTimeoutMs(plannedJobMs(spec));
  const reports = jobReports(workflows, flags.report ?? [], (line) => say(io, flags.quiet, line));
  const source = await readFile(bundle.path, 'utf8'); // the bundled JavaScript workers import
  return withClient(flags, async (client, token) => {
    const accepted = (await client.request(
      {
        t: 'job.submit',
        bundle: { hash: bundle.hash, sizeBytes: Buffer.byteLength(source), file },
        source,
        plan: spec,
        ...(dcs !== undefined ? { dcs } : {}),
        ...(flags.dcCount !== undefined ? { dcCount: flags.dcCount } : {}),
        ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
        timeoutMs,
        ...(reports.length > 0 ? { reports } : {}),
        ...tokenField(token),
      },
      'job.accepted',
    )) as unknown as JobAccepted;
    const again = accepted.duplicate
      ? ' (the same key was submitted before: this is that job)'
      : '';
    io.stdout.write(
      `job ${accepted.job} accepted by ${accepted.ownerGate} for ${accepted.targetDcs.join(', ')}${again}; times out after ${formatMs(timeoutMs)}\n`,
    );
    if (flags.watch !== true) return EXIT.ok;
    const owner = `${accepted.ownerAddress.host}:${accepted.ownerAddress.port}`;
    if (owner !== client.gateAddress) await client.moveTo(owner);
    const name = plan.workflows[plan.workflows.length - 1]?.name ?? 'job';
    return watchJob({ client, job: accepted.job, token, file, io, flags }, name);
  });
}

/** Registers the client commands on `program`. */
export function registerJobCommands(
  program: Command,
  io: CliIo,
  setExit: (code: number) => void,
): void {
  addClientOptions(
    program
      .command('submit')
      .argument('<file>', 'the workflow file (.ts or .js), the same one `salvo run` takes')
      .description('Submit a workflow file to a Salvo cluster as a job.')
      .option('--dcs <a,b>', 'run in these datacenters (default: the gates pick by capacity)')
      .option('--dc-count <n>', 'how many datacenters the gates pick when --dcs is absent', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 64)
          throw new OptionError(`--dc-count must be 1 to 64, got "${v}"`);
        return n;
      })
      .option(
        '--target <url>',
        "base URL for the workflows' relative requests (overrides baseUrl in the file)",
        urlOption,
      )
      .option(
        '--vus <n>',
        'virtual users over the whole job (as salvo run --vus), split over datacenters and workers',
        positiveIntOption(1_000_000),
      )
      .option('--duration <duration>', 'how long each workflow runs, e.g. 30s', durationOption)
      .option(
        '--rate <n>',
        'iterations per time unit for arrival-rate executors',
        positiveNumberOption,
      )
      .option('--idempotency-key <key>', 'resubmitting with the same key returns the same job')
      .option(
        '--timeout <duration>',
        'end the job as failed (timed out) if it has not finished this long after it was accepted, e.g. 90s or 10m; 1s to 24h (default: its planned duration plus max(60s, 50%), at most 24h)',
        jobTimeoutOption,
      )
      .option(
        '--report <kind[:options]>',
        `a reporter the owner gate runs on the merged job (repeatable, at most ${MAX_JOB_REPORTERS} with the workflows' own; kinds as salvo run --report). File paths are relative to the gate's <data dir>/reports/<job>/. Custom reporter objects run only with salvo run and are not sent`,
        reportOption,
      )
      .option('--watch', 'follow the job live, write its results and exit with its exit code')
      .option(
        '-o, --out <file>',
        'results JSON with --watch (default: salvo-results/<workflow>-<time>.json)',
      )
      .option(
        '--dashboard',
        'with --watch: serve the live dashboard (totals and each datacenter), then write it as <out>.html',
      )
      .option('--dashboard-port <port>', 'dashboard port (default: a free one)', portOption)
      .option('--no-check', 'skip the TypeScript type check before upload')
      .option('-q, --quiet', 'no live view or summary')
      .option('--no-color', 'no colours'),
  ).action(async (file: string, flags: SubmitFlags) => setExit(await submit(file, flags, io)));

  addClientOptions(program.command('jobs').description('List the jobs the cluster knows.'))
    .option(
      '--status <s,…>',
      'only jobs in these states (submitted, running, cancelling, completed, failed, cancelled)',
    )
    .option('--limit <n>', 'at most this many jobs', '100')
    .action(async (flags: ClientFlags & { status?: string; limit: string }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new OptionError(`--limit must be 1 to 1000, got "${flags.limit}"`);
      const states = flags.status?.split(',').map((s) => s.trim());
      const allowed = ['submitted', 'running', 'cancelling', 'completed', 'failed', 'cancelled'];
      const bad = states?.find((s) => !allowed.includes(s));
      if (bad !== undefined)
        throw new OptionError(`--status: "${bad}" is not one of ${allowed.join(', ')}`);
      await withClient(flags, async (client, token) => {
        const reply = (await client.request(
          { t: 'job.list', limit, ...(states ? { status: states } : {}), ...tokenField(token) },
          'job.views',
        )) as unknown as { jobs: JobViewWire[]; truncated: boolean };
        for (const view of reply.jobs) io.stdout.write(`${describeJob(view)}\n`);
        if (reply.jobs.length === 0) io.stdout.write('no jobs\n');
        if (reply.truncated) io.stdout.write(`(more than ${limit}; use --limit or --status)\n`);
      });
    });

  addClientOptions(
    program.command('status').argument('<job>', 'job id').description('Show one job.'),
  )
    .option('--json', 'print the job as JSON')
    .action(async (job: string, flags: ClientFlags & { json?: boolean }) => {
      await withClient(flags, async (client, token) => {
        const reply = (await client.request(
          { t: 'job.status', job, ...tokenField(token) },
          'job.view',
        )) as unknown as { view: JobViewWire };
        io.stdout.write(
          flags.json === true
            ? `${JSON.stringify(reply.view, null, 2)}\n`
            : `${describeJob(reply.view)}\n`,
        );
      });
    });

  addClientOptions(
    program
      .command('watch')
      .argument('<job>', 'job id')
      .description('Follow a job live until it ends; write its results.'),
  )
    .option('-o, --out <file>', 'results JSON (default: salvo-results/<job>-<time>.json)')
    .option('-q, --quiet', 'no live view or summary')
    .option('--no-color', 'no colours')
    .option(
      '--dashboard',
      'serve the live dashboard (totals and each datacenter), then write it as <out>.html',
    )
    .option('--dashboard-port <port>', 'dashboard port (default: a free one)', portOption)
    .action(async (job: string, flags: WatchFlags) => {
      if (flags.out !== undefined) checkOutputPath('--out', flags.out);
      setExit(
        await withClient(flags, (client, token) =>
          watchJob({ client, job, token, file: job, io, flags }, job),
        ),
      );
    });

  addClientOptions(
    program
      .command('cancel')
      .argument('<job>', 'job id')
      .description('Cancel a job; waits for every worker to acknowledge.'),
  )
    .option('--reason <text>', 'why (recorded with the job)')
    .action(async (job: string, flags: ClientFlags & { reason?: string }) => {
      await withClient(flags, async (client, token) => {
        const ack = (await client.request(
          {
            t: 'job.cancel',
            job,
            ...(flags.reason ? { reason: flags.reason } : {}),
            ...tokenField(token),
          },
          'job.cancel-ack',
          120_000,
        )) as unknown as JobCancelAck;
        io.stdout.write(`job ${ack.job}: ${ack.status}\n`);
        let missing = 0;
        for (const [dc, r] of Object.entries(ack.dcs)) {
          missing += r.unanswered.length;
          const gone =
            r.unanswered.length > 0 ? `; did not answer: ${r.unanswered.join(', ')}` : '';
          io.stdout.write(
            `  ${dc}: ${r.acknowledged.length} worker(s) acknowledged${gone}${r.error ? ` (${r.error})` : ''}\n`,
          );
        }
        if (missing > 0) setExit(EXIT.runFailed);
      });
    });
}
