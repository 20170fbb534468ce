// The load generators under comparison, each run as its own measured process pinned to the
// generator core: Salvo (a workflow file through the CLI, one worker thread), autocannon 9
// (its CLI, --json) and wrk. Each returns throughput from the tool's own report plus usage.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { measured, which, type Usage } from './proc.js';

export type Tool = 'salvo' | 'autocannon' | 'wrk';
export const TOOLS: readonly Tool[] = ['salvo', 'autocannon', 'wrk'];

export interface Sample {
  tool: Tool;
  requests: number;
  /** Seconds the tool itself says it generated load for (the divisor of `rps`). */
  durationS: number;
  rps: number;
  errors: number;
  /** Open model: iterations the executor could not start for lack of a free VU (Salvo). */
  dropped?: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Salvo: its own event-loop delay over the worker threads (results.generator), ms. */
  loopDelayMs?: { p50: number; p99: number; max: number };
  usage: Usage | null;
  /** For Salvo's multi-workflow runs: the same figures per workflow. */
  workflows?: WorkflowFigures[];
}

export interface WorkflowFigures {
  name: string;
  executor: string;
  requests: number;
  failed: number;
  dropped: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface Context {
  root: string;
  scratch: string;
  cpu: number | undefined;
  env: NodeJS.ProcessEnv;
}

let seq = 0;
function scratchFile(ctx: Context, name: string): string {
  const file = join(ctx.scratch, `${++seq}-${name}`);
  rmSync(file, { force: true });
  return file;
}

function timeout(durationS: number): number {
  return (durationS + 45) * 1000;
}

function failure(tool: string, done: { code: number | null; stderr: string; timedOut: boolean }) {
  const why = done.timedOut ? 'timed out and was killed' : `exited with ${done.code}`;
  const tail = done.stderr.trim().split('\n').slice(-5).join('\n');
  return new Error(`${tool} ${why}${tail ? `:\n${tail}` : ''}`);
}

interface SalvoResults {
  workflows: {
    name: string;
    executor: { type: string };
    durationMs: number;
    iterations: { dropped: number };
    totals: { count: number; ok: number; failed: number };
    steps: { latencyMs: { p50: number; p99: number; max: number } }[];
  }[];
  generator?: { eventLoopDelay: { merged: { p50: number; p99: number; max: number } } };
}

export interface SalvoLoad {
  workflow: string;
  durationS: number;
  vus?: number;
  rate?: number;
  /** More `salvo run` arguments, e.g. `-e WS_URL=…`. */
  extra?: string[];
}

export async function runSalvo(ctx: Context, target: string, load: SalvoLoad): Promise<Sample> {
  const out = scratchFile(ctx, 'salvo.json');
  const args = [
    join(ctx.root, 'bin', 'salvo.js'),
    'run',
    join(ctx.root, 'bench', 'workflows', load.workflow),
    '--workers',
    '1',
    '--no-check',
    '-q',
    '--target',
    target,
    '--out',
    out,
  ];
  if (load.vus !== undefined) args.push('--vus', String(load.vus));
  if (load.rate !== undefined) args.push('--rate', String(load.rate));
  args.push('--duration', `${load.durationS}s`, ...(load.extra ?? []));
  const done = await measured(
    process.execPath,
    args,
    timeout(load.durationS),
    scratchFile(ctx, 'usage'),
    { cpu: ctx.cpu, cwd: ctx.root, env: ctx.env },
  );
  // 0: completed; 3: a threshold failed (the bench workflows have none). Anything else failed.
  if ((done.code !== 0 && done.code !== 3) || !existsSync(out)) throw failure('salvo', done);
  const results = JSON.parse(readFileSync(out, 'utf8')) as SalvoResults;
  const workflows: WorkflowFigures[] = results.workflows.map((w) => {
    const latency = w.steps[0]?.latencyMs ?? { p50: 0, p99: 0, max: 0 };
    const durationS = w.durationMs / 1000;
    return {
      name: w.name,
      executor: w.executor.type,
      requests: w.totals.count,
      failed: w.totals.failed,
      dropped: w.iterations.dropped,
      durationS,
      rps: durationS > 0 ? w.totals.count / durationS : 0,
      latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    };
  });
  const first = workflows[0];
  if (!first) throw new Error('salvo wrote results without workflows');
  const requests = workflows.reduce((t, w) => t + w.requests, 0);
  const eld = results.generator?.eventLoopDelay.merged;
  return {
    ...(eld ? { loopDelayMs: { p50: eld.p50, p99: eld.p99, max: eld.max } } : {}),
    tool: 'salvo',
    requests,
    durationS: first.durationS,
    rps: workflows.reduce((t, w) => t + w.rps, 0),
    errors: workflows.reduce((t, w) => t + w.failed, 0),
    dropped: workflows.reduce((t, w) => t + w.dropped, 0),
    latencyMs: first.latencyMs,
    usage: done.usage,
    workflows,
  };
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number; max: number };
  requests: { total: number };
}

export interface AutocannonLoad {
  connections: number;
  durationS: number;
  overallRate?: number;
}

export async function runAutocannon(
  ctx: Context,
  target: string,
  load: AutocannonLoad,
): Promise<Sample> {
  const args = [
    join(ctx.root, 'node_modules', 'autocannon', 'autocannon.js'),
    '-c',
    String(load.connections),
    '-d',
    String(load.durationS),
    '-p',
    '1',
    '--json',
  ];
  if (load.overallRate !== undefined) args.push('--overallRate', String(load.overallRate));
  args.push(`${target}/`);
  const done = await measured(
    process.execPath,
    args,
    timeout(load.durationS),
    scratchFile(ctx, 'usage'),
    { cpu: ctx.cpu, cwd: ctx.root, env: ctx.env },
  );
  const line = done.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (done.code !== 0 || line === undefined) throw failure('autocannon', done);
  const j = JSON.parse(line) as AutocannonJson;
  return {
    tool: 'autocannon',
    requests: j.requests.total,
    durationS: j.duration,
    rps: j.duration > 0 ? j.requests.total / j.duration : 0,
    errors: j.errors + j.timeouts + j.non2xx,
    latencyMs: { p50: j.latency.p50, p99: j.latency.p99, max: j.latency.max },
    usage: done.usage,
  };
}

/** wrk's latency figures ("1.23ms", "850.00us", "1.02s") in milliseconds. */
function wrkMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!match) return 0;
  const v = Number(match[1]);
  const unit = match[2];
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : v * 60_000;
}

export async function runWrk(
  ctx: Context,
  target: string,
  load: { connections: number; durationS: number },
): Promise<Sample> {
  const wrk = which('wrk');
  if (wrk === null) throw new Error('wrk is not installed');
  const args = [
    '-t1',
    `-c${load.connections}`,
    `-d${load.durationS}s`,
    '--latency',
    '--timeout',
    '10s',
    `${target}/`,
  ];
  const done = await measured(wrk, args, timeout(load.durationS), scratchFile(ctx, 'usage'), {
    cpu: ctx.cpu,
    env: ctx.env,
  });
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(done.stdout);
  if (done.code !== 0 || !total) throw failure('wrk', done);
  const requests = Number(total[1]);
  const durationS = wrkMs(`${total[2]}${total[3]}`) / 1000;
  const errorsLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    done.stdout,
  );
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(done.stdout);
  const errors =
    (errorsLine ? errorsLine.slice(1).reduce((t, v) => t + Number(v), 0) : 0) +
    (non2xx ? Number(non2xx[1]) : 0);
  return {
    tool: 'wrk',
    requests,
    durationS,
    rps: durationS > 0 ? requests / durationS : 0,
    errors,
    latencyMs: {
      p50: wrkMs(/ 50%\s+(\S+)/.exec(done.stdout)?.[1]),
      p99: wrkMs(/ 99%\s+(\S+)/.exec(done.stdout)?.[1]),
      max: wrkMs(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(done.stdout)?.[1]),
    },
    usage: done.usage,
  };
}
