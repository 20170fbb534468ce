// Ingest of statistics by one manager leader (issue 9, LT-21.1.1: "1000 VUs, each completing ~100
// requests/s; the manager handles 100K stats/s ingest"). Real loopback sockets, the real runtime,
// no TLS (--insecure): the manager runs alone in its own child process (`node bin/salvo.js manager
// --insecure`, a 1-member Raft group, so it leads); this process holds a fake owner gate (sends
// the dc.dispatch, acknowledges dc.windows and dc.workflow-done, counts each window once by
// (source, workflow, seq)) and N real WorkerNodes whose executor is synthetic: every thread emits
// windows with realistic content (several steps, each with a sparse latency histogram, statuses,
// checks and metrics).
// Two rows, one run:
// - paced (the catalog's scenario): the threads carry 1,000 VUs at 100 requests/s each, one window
//   per thread per second as a real run sends them; the goal is the request statistics reaching
//   the gate per second (≥ 100,000), with the manager CPU it took and whether it kept up;
// - saturating: windows as fast as the manager acknowledges them, so the row shows the most
//   windows per second (and per manager CPU-second) one manager takes, and the request
//   statistics per second those windows carried.
// At the end of each row the gate's count must equal what the workers produced, with the same
// totals of iterations and requests: nothing lost, nothing counted twice (exit 1 if not).
// Prints a table and writes bench/results/cluster-ingest.json. Not part of npm test.
//   npm run bench:cluster-ingest [-- --workers 8 --threads 16 --duration-s 10 --steps 4
//     --vus 1000 --vu-rate 100 --rows paced,saturating]
//   add --cpu-prof to write a V8 CPU profile of the manager (its path is printed).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encode } from '@msgpack/msgpack';
import { createRealRuntime, type RealRuntime } from '../src/runtime/real/index.js';
import { weigh } from '../src/cluster/jobs/window-relay.js';
import { MAX_DECODE_VALUES } from '../src/protocol/codec.js';
import { MAX_WORK_WINDOWS } from '../src/nodes/jobs/work-wire.js';
import { WorkerNode } from '../src/nodes/worker/worker-node.js';
import {
  DC,
  FakeGate,
  FastExecutor,
  READY_WAIT_MS,
  makeTemplate,
  procCpuSeconds,
  selfCpuSeconds,
  startManager,
  windowOf,
  type ManagerProcess,
} from './lib/ingest-parts.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOAL_STATS_PER_SEC = 100_000;
const JOB = 'job-ingest-bench';
const WORKFLOW = 'ingest';
const WINDOW_MS = 1_000;
/** Window templates (content differs between threads; built once, so the workers stay light). */
const TEMPLATES = 16;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  ms: number,
  ok: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

// ─── one row ─────────────────────────────────────────────────────────────────────────────────

interface Sample {
  atMs: number;
  acked: number;
  gateUnique: number;
  gateRequests: number;
  managerCpuS: number;
  selfCpuS: number;
}

interface RowSpec {
  readonly mode: 'paced' | 'saturating';
  readonly workers: number;
  readonly threads: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly steps: number;
  readonly perStep: number;
  readonly profileDir: string | null;
  readonly verbose: boolean;
}

async function runRow(
  spec: RowSpec,
): Promise<{ row: Record<string, unknown>; problems: string[] }> {
  const { workers, threads, durationMs, warmupMs, steps, perStep, profileDir } = spec;
  const paced = spec.mode === 'paced';
  const templates = Array.from({ length: TEMPLATES }, (_, k) => makeTemplate(k, steps, perStep));
  const sampleWindow = { ...windowOf(templates[0]!, WORKFLOW, Date.now(), WINDOW_MS), seq: 1 };
  const windowBytes = encode(sampleWindow).byteLength;
  const weight = { values: 0, bytes: 0 };
  weigh(sampleWindow, weight);
  // A saturating executor holds at most one work.windows frame's worth unacknowledged.
  const perFrame = Math.min(
    MAX_WORK_WINDOWS,
    Math.floor((MAX_DECODE_VALUES - 1024) / (weight.values + 6)),
  );
  const dir = mkdtempSync(join(tmpdir(), 'salvo-ingest-bench-'));
  const runtimes: RealRuntime[] = [];
  const nodes: WorkerNode[] = [];
  const executors: FastExecutor[] = [];
  let manager: ManagerProcess | null = null;
  const problems: string[] = [];
  const samples: Sample[] = [];
  let gate: FakeGate | null = null;
  try {
    const gateRt = createRealRuntime({
      nodeId: 'g1',
      streamAddress: { host: '127.0.0.1', port: 0 },
      dataDir: join(dir, 'g1'),
      logLevel: 'warn',
    });
    runtimes.push(gateRt);
    gate = new FakeGate(gateRt);
    const gateAddress = (await gate.server.start()).address;
    manager = await startManager(join(dir, 'm1'), profileDir);
    const managerPid = manager.child.pid!;

    for (let i = 1; i <= workers; i++) {
      const id = `w${i}`;
      const rt = createRealRuntime({
        nodeId: id,
        streamAddress: { host: '127.0.0.1', port: 0 },
        dataDir: join(dir, id),
        logLevel: spec.verbose ? 'debug' : 'warn',
      });
      runtimes.push(rt);
      const ex = new FastExecutor(templates, durationMs, perFrame, paced);
      const node = await WorkerNode.start(rt, {
        dc: DC,
        id,
        managers: new Map([['m1', manager.address]]),
        cores: threads,
        executor: ex,
        heartbeatMs: 1_000,
        resendMs: 20,
      });
      // Produced but not yet acknowledged by the manager (queued or in flight).
      ex.backlog = () => ex.totals.windows - node.counters.windowsAcked;
      executors.push(ex);
      nodes.push(node);
    }

    const conn = await gate.links.get(manager.address, 'm1');
    await waitFor('a leader that knows every worker', READY_WAIT_MS, async () => {
      const r = await conn.request({ t: 'dc.capacity' }, { timeoutMs: 2_000 });
      return r.ok && r.message.leader !== null && r.message.workers === workers;
    });
    const accepted = await conn.request(
      {
        t: 'dc.dispatch',
        job: JOB,
        fence: 1,
        ownerGate: 'g1',
        ownerAddress: gateAddress,
        workflow: WORKFLOW,
        attempt: 1,
        bundle: { hash: 'b'.repeat(64), sizeBytes: 10, file: 'ingest.ts' },
        share: {
          config: {
            type: 'constant-vus',
            vus: workers * threads * 4,
            durationMs,
            gracefulStopMs: 0,
          },
          phase: 0,
        },
        data: null,
        context: {},
        windowMs: WINDOW_MS,
        cancelGraceMs: 500,
      },
      { timeoutMs: 10_000 },
    );
    if (!accepted.ok) throw new Error(`dc.dispatch refused: ${JSON.stringify(accepted.error)}`);

    const sample = (): Sample => ({
      atMs: performance.now(),
      acked: nodes.reduce((n, w) => n + w.counters.windowsAcked, 0),
      gateUnique: gate!.counts.unique,
      gateRequests: gate!.counts.requests,
      managerCpuS: procCpuSeconds(managerPid),
      selfCpuS: selfCpuSeconds(),
    });
    const t0 = performance.now();
    while (!gate.counts.done) {
      if (performance.now() - t0 > durationMs + 60_000) throw new Error('the workflow did not end');
      if (manager.child.exitCode !== null)
        throw new Error(`the manager exited:\n${manager.stderr()}`);
      const now = sample();
      samples.push(now);
      if (spec.verbose && samples.length % 4 === 0) {
        console.error(
          `${spec.mode} t=${((now.atMs - t0) / 1000).toFixed(1)}s acked=${now.acked} ` +
            `gate=${now.gateUnique} batches=${gate.counts.batches} ` +
            `managerCpuS=${now.managerCpuS.toFixed(1)}`,
        );
      }
      await sleep(250);
    }
    samples.push(sample());
  } finally {
    for (const n of nodes) await n.stop();
    if (manager && manager.child.exitCode === null) {
      manager.child.kill('SIGINT');
      const code = await Promise.race([manager.exited, sleep(10_000).then(() => 'timeout')]);
      if (code === 'timeout') manager.child.kill('SIGKILL');
    }
    if (gate) {
      gate.links.close();
      await gate.server.close();
    }
    for (const rt of runtimes) await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // Steady state: from the end of the warm-up to the last sample before the executors stopped.
  const first = samples.find((s) => s.atMs - samples[0]!.atMs >= warmupMs) ?? samples[0]!;
  const steady = samples.filter(
    (s) => s.atMs >= first.atMs && s.atMs - samples[0]!.atMs <= durationMs,
  );
  const last = steady[steady.length - 1] ?? samples[samples.length - 1]!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const ingestPerSec = (last.acked - first.acked) / seconds;
  const gatePerSec = (last.gateUnique - first.gateUnique) / seconds;
  const managerCpu = (last.managerCpuS - first.managerCpuS) / seconds;
  const selfCpu = (last.selfCpuS - first.selfCpuS) / seconds;

  const fakeGate: FakeGate | null = gate;
  if (fakeGate === null) throw new Error('the gate did not start');
  const g = fakeGate.counts;
  const produced = executors.reduce(
    (t, e) => ({
      windows: t.windows + e.totals.windows,
      iterations: t.iterations + e.totals.iterations,
      requests: t.requests + e.totals.requests,
    }),
    { windows: 0, iterations: 0, requests: 0 },
  );
  const dropped = nodes.reduce((n, w) => n + w.counters.windowsDropped, 0);
  const tag = `${spec.mode}: `;
  if (g.doneOutcome !== 'completed') problems.push(`${tag}workflow ended ${g.doneOutcome}`);
  if (dropped > 0) problems.push(`${tag}workers dropped ${dropped} windows (outbox full)`);
  if (g.unique !== produced.windows)
    problems.push(`${tag}gate counted ${g.unique} windows; workers produced ${produced.windows}`);
  if (g.iterations !== produced.iterations)
    problems.push(`${tag}gate iterations ${g.iterations} ≠ produced ${produced.iterations}`);
  if (g.requests !== produced.requests)
    problems.push(`${tag}gate requests ${g.requests} ≠ produced ${produced.requests}`);
  if (fakeGate.gaps() > 0) problems.push(`${tag}${fakeGate.gaps()} sources have gaps in seqs`);
  if (fakeGate.sources !== workers * threads)
    problems.push(`${tag}gate saw ${fakeGate.sources} sources, expected ${workers * threads}`);
  const requestsPerWindow = produced.requests / Math.max(1, produced.windows);
  // Paced: every thread emits one window a second, so the run lasted `ticks` seconds of
  // statistics; with nothing left unacknowledged at any tick, the gate took them at this rate
  // (a rate over sampled instants would alias against the one-second ticks).
  const ticks = produced.windows / (workers * threads);
  const statsPerSec = paced
    ? g.requests / (ticks * (WINDOW_MS / 1000))
    : (last.gateRequests - first.gateRequests) / seconds;
  const row = {
    mode: spec.mode,
    workers,
    threadsPerWorker: threads,
    sources: workers * threads,
    steps,
    windowBytes,
    windowValues: weight.values,
    requestsPerWindow: Math.round(requestsPerWindow),
    steadySeconds: Number(seconds.toFixed(2)),
    windowsPerSec: Math.round(ingestPerSec),
    windowsAtGatePerSec: Math.round(gatePerSec),
    requestStatsAtGatePerSec: Math.round(statsPerSec),
    managerCpu: Number(managerCpu.toFixed(3)),
    windowsPerManagerCpuSec: Math.round(ingestPerSec / Math.max(managerCpu, 1e-9)),
    benchProcessCpu: Number(selfCpu.toFixed(3)),
    ...(paced
      ? {
          maxWorkerBacklog: Math.max(...executors.map((e) => e.maxBacklogSeen)),
          // Every window was acknowledged before its thread's next one was due.
          keptPace: executors.every((e) => e.maxBacklogSeen === 0),
        }
      : { windowsPerWorkFrame: perFrame }),
    produced: produced.windows,
    reachedGate: g.unique,
    gateDuplicates: g.duplicates,
    lost: produced.windows - g.unique,
  };
  return { row, problems };
}

// ─── the run ─────────────────────────────────────────────────────────────────────────────────

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer (got ${v})`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '8' },
      threads: { type: 'string', default: '16' },
      'duration-s': { type: 'string', default: '10' },
      'warmup-s': { type: 'string', default: '2' },
      steps: { type: 'string', default: '4' },
      vus: { type: 'string', default: '1000' },
      'vu-rate': { type: 'string', default: '100' },
      'requests-per-step': { type: 'string', default: '50' },
      rows: { type: 'string', default: 'paced,saturating' },
      'cpu-prof': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const workers = positive('workers', values.workers);
  const threads = positive('threads', values.threads);
  const durationMs = positive('duration-s', values['duration-s']) * 1000;
  const warmupMs = Number(values['warmup-s']) * 1000;
  const steps = positive('steps', values.steps);
  const vus = positive('vus', values.vus);
  const vuRate = positive('vu-rate', values['vu-rate']);
  const saturatingPerStep = positive('requests-per-step', values['requests-per-step']);
  const rows = (values.rows ?? '').split(',').filter((r) => r !== '');
  const unknown = rows.filter((r) => r !== 'paced' && r !== 'saturating');
  if (rows.length === 0 || unknown.length > 0)
    throw new Error(`--rows: a list of paced, saturating (got ${values.rows})`);
  if (!(warmupMs >= 0 && warmupMs < durationMs))
    throw new Error('--warmup-s must be below --duration-s');
  const sources = workers * threads;
  // Paced: each thread's window carries its share of vus × vuRate requests for one second
  // (the template adds 0–10 requests per step, so the figure lands a little above the target).
  const pacedPerStep = Math.max(1, Math.ceil((vus * vuRate) / sources / steps) - 5);
  const profileDir = values['cpu-prof'] ? join(tmpdir(), 'salvo-ingest-profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const profilesBefore = profileDir ? new Set(readdirSync(profileDir)) : new Set<string>();

  const results: Record<string, unknown>[] = [];
  const problems: string[] = [];
  for (const mode of rows as ('paced' | 'saturating')[]) {
    const perStep = mode === 'paced' ? pacedPerStep : saturatingPerStep;
    const r = await runRow({
      mode,
      workers,
      threads,
      durationMs,
      warmupMs,
      steps,
      perStep,
      profileDir,
      verbose: values.verbose ?? false,
    });
    results.push(r.row);
    problems.push(...r.problems);
  }
  const paced = results.find((r) => r.mode === 'paced');
  const saturating = results.find((r) => r.mode === 'saturating');
  // The rate counts only when the manager kept pace (else the statistics arrived late).
  const pacedStats =
    paced && paced.keptPace === true ? Number(paced.requestStatsAtGatePerSec) : null;
  if (paced && paced.keptPace !== true)
    problems.push(`paced: the manager fell behind (max backlog ${String(paced.maxWorkerBacklog)})`);
  console.log(
    `One manager leader (own process, 1-member Raft, --insecure loopback); ${workers} workers × ` +
      `${threads} threads in this process with the fake gate. Paced: ${vus} VUs × ${vuRate} req/s.`,
  );
  console.log(
    '| row | window B | req/window | windows/s | request stats/s at gate | manager CPU | windows per manager CPU-s | max backlog | lost | dup |\n' +
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    console.log(
      `| ${String(r.mode)} | ${String(r.windowBytes)} | ${String(r.requestsPerWindow)} | ${String(r.windowsPerSec)} | ${String(r.requestStatsAtGatePerSec)} | ${(Number(r.managerCpu) * 100).toFixed(0)}% | ${String(r.windowsPerManagerCpuSec)} | ${typeof r.maxWorkerBacklog === 'number' ? r.maxWorkerBacklog : '–'} | ${String(r.lost)} | ${String(r.gateDuplicates)} |`,
    );
  }
  if (pacedStats !== null)
    console.log(
      `goal (LT-21.1.1): ≥ ${GOAL_STATS_PER_SEC} request stats/s; paced ${pacedStats} ` +
        `(× ${(pacedStats / GOAL_STATS_PER_SEC).toFixed(2)})` +
        (saturating
          ? `; saturating (smaller windows, as fast as acknowledged) ${String(saturating.requestStatsAtGatePerSec)}`
          : ''),
    );
  if (profileDir) {
    const fresh = readdirSync(profileDir).filter((f) => !profilesBefore.has(f));
    console.log(
      `manager CPU profiles: ${fresh.map((f) => join(profileDir, f)).join(', ') || 'none'}`,
    );
  }
  const out = join(ROOT, 'bench', 'results', 'cluster-ingest.json');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        scenario: 'LT-21.1.1',
        goal: `>= ${GOAL_STATS_PER_SEC} request statistics per second reaching the gate through one manager leader, from ${vus} VUs at ${vuRate} requests/s`,
        goalStatsPerSec: GOAL_STATS_PER_SEC,
        pacedStatsPerSec: pacedStats,
        ratioToGoal:
          pacedStats !== null ? Number((pacedStats / GOAL_STATS_PER_SEC).toFixed(3)) : null,
        saturatingStatsPerSec: saturating ? saturating.requestStatsAtGatePerSec : null,
        transport: 'loopback TCP without TLS, salvo wire protocol (msgpack, crc32c frames)',
        layout:
          'manager: own process (salvo manager --insecure, 1-member Raft); fake gate and real WorkerNodes with a synthetic executor: the bench process',
        rows: results,
        note:
          'windowsPerSec is bounded by the CPU the manager got on this machine (managerCpu, of one core); ' +
          'windowsPerManagerCpuSec is the figure least affected by other load (see loadavg1m)',
        problems,
        node: process.version,
        cpus: cpus().length,
        loadavg1m: Number(loadavg()[0]!.toFixed(2)),
        date: new Date().toISOString(),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
  if (problems.length > 0) {
    console.error(`FAILED: windows lost or counted twice:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
