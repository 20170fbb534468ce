// Ingest of statistics windows by one manager leader (issue 9, LT-21.1.1: goal ≥ 100,000
// updates/s, an update = one statistics window from one worker thread). Real loopback sockets,
// the real runtime, no TLS (--insecure): the manager runs alone in its own child process
// (`node bin/salvo.js manager --insecure`, a 1-member Raft group, so it leads), and this
// process holds a fake owner gate (a ProtocolServer that sends the dc.dispatch, acknowledges
// dc.windows and dc.workflow-done, and counts each window once by (source, workflow, seq)) and N
// real WorkerNode instances whose executor is a fast synthetic one: every thread streams windows
// with realistic content (several steps, each with a sparse latency histogram, statuses, checks
// and metrics) as fast as the manager acknowledges them. Each worker holds at most one
// work.windows frame's worth unacknowledged (MAX_DECODE_VALUES): the worker batches up to 256
// windows whatever their weight, and a frame over the codec's value limit is refused and resent
// forever, so with heavier windows the worker would never deliver (a worker-side bug, not fixed
// here); the load on the manager comes from several workers at once instead.
// Measured over the steady part of the run: windows the manager acknowledged to workers per
// second, windows that reached the gate per second, the manager process's CPU (from /proc) and
// this process's. At the end the gate's count must equal what the workers produced, with the
// same totals of iterations and requests: nothing lost, nothing counted twice (exit 1 if not).
// Prints a table and writes bench/results/cluster-ingest.json. Not part of npm test.
//   npm run bench:cluster-ingest [-- --workers 8 --threads 16 --duration-s 10 --steps 4]
//   add --cpu-prof to write a V8 CPU profile of the manager (its path is printed).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encode } from '@msgpack/msgpack';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type LocalIdentity,
  type OutgoingMessage,
} from '../src/protocol/index.js';
import { createRealRuntime, type RealRuntime } from '../src/runtime/real/index.js';
import type { NodeAddress } from '../src/runtime/types.js';
import { weigh } from '../src/cluster/jobs/window-relay.js';
import { MAX_DECODE_VALUES } from '../src/protocol/codec.js';
import { DC_MESSAGES } from '../src/nodes/jobs/dc-wire.js';
import { MAX_WORK_WINDOWS } from '../src/nodes/jobs/work-wire.js';
import { PeerLinks } from '../src/nodes/jobs/peer-links.js';
import type {
  HookSpec,
  RunningHookCall,
  RunningWork,
  WorkExecutor,
  WorkReport,
  WorkSpec,
} from '../src/nodes/worker/executor.js';
import { WorkerNode } from '../src/nodes/worker/worker-node.js';
import { Histogram } from '../src/stats/histogram.js';
import type { MetricWindow, StatsWindow, StepWindow } from '../src/stats/types.js';
import { freePort } from '../test/support/raft-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOAL_PER_SEC = 100_000;
const DC = 'a';
const JOB = 'job-ingest-bench';
const WORKFLOW = 'ingest';
const READY_WAIT_MS = 30_000;
/** How often a full executor looks again whether the manager acknowledged. */
const PUMP_IDLE_MS = 1;
/** Window templates (content differs between threads; built once, so the workers stay light). */
const TEMPLATES = 16;

// ─── the fast synthetic executor ────────────────────────────────────────────────────────────

interface Template {
  readonly steps: Record<string, StepWindow>;
  readonly checks: StatsWindow['checks'];
  readonly metrics: Record<string, MetricWindow>;
  readonly iterations: number;
  readonly requests: number;
}

/** Realistic content: `steps` steps, latencies over 1–400 ms, a few errors and statuses. */
function makeTemplate(k: number, steps: number, requestsPerStep: number): Template {
  const out: Record<string, StepWindow> = {};
  let requests = 0;
  for (let s = 0; s < steps; s++) {
    const h = new Histogram();
    const n = requestsPerStep + ((k * 7 + s * 3) % 11);
    let failed = 0;
    for (let i = 0; i < n; i++) {
      // A long-tailed spread: most under 20 ms, some up to ~400 ms.
      const base = 1_000 + ((i * 7919 + k * 104_729 + s * 1_299_709) % 19_000);
      h.record(i % 17 === 0 ? base * 20 : base);
      if (i % 53 === k % 53) failed++;
    }
    requests += n;
    out[`step-${s}`] = {
      count: n,
      ok: n - failed,
      failed,
      errors: failed > 0 ? { status_503: failed } : {},
      errorSamples: failed > 0 ? { status_503: 'HTTP 503 Service Unavailable' } : {},
      statuses: failed > 0 ? { '200': n - failed, '503': failed } : { '200': n },
      latency: h.toSparse(),
    };
  }
  const trend = new Histogram();
  for (let i = 0; i < 40; i++) trend.record(500 + ((i * 31 + k) % 40) * 250);
  return {
    steps: out,
    checks: { 'step-0': { 'status is 200': { passes: requestsPerStep, fails: 0 } } },
    metrics: {
      'orders.created': { kind: 'counter', value: requestsPerStep },
      'cart.size': { kind: 'trend', values: trend.toSparse() },
    },
    iterations: requestsPerStep,
    requests,
  };
}

function windowOf(t: Template, workflow: string, now: number, windowMs: number): StatsWindow {
  return {
    workflow,
    seq: 0, // numbered by the worker
    startMs: now - windowMs,
    endMs: now,
    activeVus: 4,
    allocatedVus: 4,
    iterations: { started: t.iterations, completed: t.iterations, failed: 0, dropped: 0 },
    steps: t.steps,
    checks: t.checks,
    metrics: t.metrics,
  };
}

interface ExecutorTotals {
  windows: number;
  iterations: number;
  requests: number;
}

/**
 * Streams windows on every thread of a part as fast as the worker's backlog allows, for
 * `durationMs` of wall time; then completes. `backlog()` is the worker's unacknowledged count.
 */
class FastExecutor implements WorkExecutor {
  readonly totals: ExecutorTotals = { windows: 0, iterations: 0, requests: 0 };
  private readonly stops = new Set<() => void>();
  backlog: () => number = () => 0;

  /** `maxBacklog`: unacknowledged windows a worker may hold before its executor waits. */
  constructor(
    private readonly templates: readonly Template[],
    private readonly durationMs: number,
    private readonly maxBacklog: number,
  ) {}

  run(spec: WorkSpec, onWindow: (thread: number, window: StatsWindow) => void): RunningWork {
    const started = Date.now();
    let ended = false;
    let timer: NodeJS.Timeout | null = null;
    let settle: (r: WorkReport) => void = () => undefined;
    const done = new Promise<WorkReport>((resolve) => (settle = resolve));
    const finish = (outcome: WorkReport['outcome']): void => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      this.stops.delete(stop);
      settle({
        outcome,
        published: {},
        network: { requests: this.totals.requests, bytesSent: 0, bytesReceived: 0 },
        interrupted: 0,
        notes: [],
      });
    };
    const stop = (): void => finish('cancelled');
    this.stops.add(stop);
    const threads = spec.shares.length;
    let next = 0;
    const pump = (): void => {
      timer = null;
      if (ended) return;
      const now = Date.now();
      if (now - started >= this.durationMs) return finish('completed');
      // One window at a time, threads in turn, so the backlog bound is exact.
      while (this.backlog() < this.maxBacklog) {
        const thread = next;
        next = (next + 1) % threads;
        const t = this.templates[(spec.firstThread + thread) % this.templates.length]!;
        this.totals.windows++;
        this.totals.iterations += t.iterations;
        this.totals.requests += t.requests;
        onWindow(thread, windowOf(t, spec.workflow, now, spec.windowMs));
      }
      timer = setTimeout(pump, PUMP_IDLE_MS);
    };
    timer = setTimeout(pump, 0);
    return { done, cancel: () => finish('cancelled') };
  }

  runHook(spec: HookSpec): RunningHookCall {
    return {
      result: Promise.reject(new Error(`the ingest bench runs no hooks (${spec.hook})`)),
      stop: () => undefined,
    };
  }

  close(): Promise<void> {
    for (const s of [...this.stops]) s();
    return Promise.resolve();
  }
}

// ─── the fake owner gate ─────────────────────────────────────────────────────────────────────

interface GateCounts {
  batches: number;
  windows: number;
  unique: number;
  duplicates: number;
  iterations: number;
  requests: number;
  done: boolean;
  doneOutcome: string | null;
}

interface SeqTrack {
  prefix: number;
  above: Set<number>;
}

class FakeGate {
  readonly counts: GateCounts = {
    batches: 0,
    windows: 0,
    unique: 0,
    duplicates: 0,
    iterations: 0,
    requests: 0,
    done: false,
    doneOutcome: null,
  };
  /** Seqs seen per (source, workflow): each window is counted once. */
  private readonly seen = new Map<string, SeqTrack>();
  readonly server: ProtocolServer;
  readonly links: PeerLinks;

  constructor(readonly runtime: RealRuntime) {
    const registry = new MessageRegistry(CORE_MESSAGES).register(...DC_MESSAGES);
    const identity: LocalIdentity = {
      nodeId: 'g1',
      role: 'gate',
      clusterId: 'salvo',
      environment: 'default',
      datacenter: 'g',
      capabilities: ['jobs'],
    };
    this.server = new ProtocolServer({
      stream: runtime.stream,
      timers: runtime.timers,
      registry,
      identity,
      log: runtime.log,
    });
    this.server.handle('dc.windows', (m) => this.onWindows(m));
    this.server.handle('dc.workflow-done', (m) => {
      this.counts.done = true;
      this.counts.doneOutcome = String(m.outcome);
      return { t: 'dc.workflow-done-ack', job: m.job, workflow: m.workflow };
    });
    this.links = new PeerLinks(runtime, { registry, identity, handlers: new Map() });
  }

  private onWindows(m: Record<string, unknown>): OutgoingMessage {
    this.counts.batches++;
    let merged = 0;
    let duplicates = 0;
    for (const w of m.windows as {
      source: string;
      workflow: string;
      seq: number;
      window: StatsWindow;
    }[]) {
      this.counts.windows++;
      const key = `${w.source}\u0000${w.workflow}`;
      let t = this.seen.get(key);
      if (!t) this.seen.set(key, (t = { prefix: 0, above: new Set() }));
      if (w.seq <= t.prefix || t.above.has(w.seq)) {
        duplicates++;
        continue;
      }
      t.above.add(w.seq);
      while (t.above.delete(t.prefix + 1)) t.prefix++;
      merged++;
      this.counts.iterations += w.window.iterations.completed;
      for (const s of Object.values(w.window.steps)) this.counts.requests += s.count;
    }
    this.counts.unique += merged;
    this.counts.duplicates += duplicates;
    return { t: 'dc.windows-ack', job: m.job, merged, duplicates, rejected: 0 };
  }

  /** Sources whose seqs have a gap (a window missing below the highest received). */
  gaps(): number {
    let n = 0;
    for (const t of this.seen.values()) if (t.above.size > 0) n++;
    return n;
  }

  get sources(): number {
    return this.seen.size;
  }
}

// ─── the manager process ─────────────────────────────────────────────────────────────────────

interface ManagerProcess {
  readonly child: ChildProcess;
  readonly address: NodeAddress;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

async function startManager(dataDir: string, profileDir: string | null): Promise<ManagerProcess> {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      join(ROOT, 'bin', 'salvo.js'),
      'manager',
      '--insecure',
      '--id',
      'm1',
      '--dc',
      DC,
      '--listen',
      listen,
      '--peers',
      `m1=${listen}`,
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the manager did not start within ${READY_WAIT_MS} ms:\n${err}`)),
      READY_WAIT_MS,
    );
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('"event":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the manager exited (${code}) before it was ready:\n${err}`));
    });
  });
  return { child, address: { host: '127.0.0.1', port }, exited, stderr: () => err };
}

/** CPU seconds (user + system) of a process, from /proc (Linux). */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm) ": state is [0]; utime is field 14 overall → [11], stime → [12].
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

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

// ─── the run ─────────────────────────────────────────────────────────────────────────────────

interface Sample {
  atMs: number;
  acked: number;
  gateUnique: number;
  managerCpuS: number;
  selfCpuS: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '8' },
      threads: { type: 'string', default: '16' },
      'duration-s': { type: 'string', default: '10' },
      'warmup-s': { type: 'string', default: '2' },
      steps: { type: 'string', default: '4' },
      'requests-per-step': { type: 'string', default: '50' },
      'cpu-prof': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const workers = Number(values.workers);
  const threads = Number(values.threads);
  const durationMs = Number(values['duration-s']) * 1000;
  const warmupMs = Number(values['warmup-s']) * 1000;
  const steps = Number(values.steps);
  const perStep = Number(values['requests-per-step']);
  if (![workers, threads, durationMs, steps, perStep].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(
      '--workers, --threads, --duration-s, --steps, --requests-per-step: positive integers',
    );
  }
  if (!(warmupMs >= 0 && warmupMs < durationMs))
    throw new Error('--warmup-s must be below --duration-s');

  const templates = Array.from({ length: TEMPLATES }, (_, k) => makeTemplate(k, steps, perStep));
  const sampleWindow = { ...windowOf(templates[0]!, WORKFLOW, Date.now(), 1000), seq: 1 };
  const windowBytes = encode(sampleWindow).byteLength;
  const weight = { values: 0, bytes: 0 };
  weigh(sampleWindow, weight);
  // A worker sends up to MAX_WORK_WINDOWS windows per work.windows, whatever their weight, and
  // the manager's codec refuses a frame over MAX_DECODE_VALUES values (the worker then retries
  // the same batch forever). So the executor holds at most one frame's worth unacknowledged.
  const perFrame = Math.min(
    MAX_WORK_WINDOWS,
    Math.floor((MAX_DECODE_VALUES - 1024) / (weight.values + 6)),
  );
  const dir = mkdtempSync(join(tmpdir(), 'salvo-ingest-bench-'));
  const profileDir = values['cpu-prof'] ? join(tmpdir(), 'salvo-ingest-profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const profilesBefore = profileDir ? new Set(readdirSync(profileDir)) : new Set<string>();

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
        logLevel: values.verbose ? 'debug' : 'warn',
      });
      runtimes.push(rt);
      const ex = new FastExecutor(templates, durationMs, perFrame);
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
        windowMs: 1_000,
        cancelGraceMs: 500,
      },
      { timeoutMs: 10_000 },
    );
    if (!accepted.ok) throw new Error(`dc.dispatch refused: ${JSON.stringify(accepted.error)}`);

    const sample = (): Sample => ({
      atMs: performance.now(),
      acked: nodes.reduce((n, w) => n + w.counters.windowsAcked, 0),
      gateUnique: gate!.counts.unique,
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
      if (values.verbose && samples.length % 4 === 0) {
        console.error(
          `t=${((now.atMs - t0) / 1000).toFixed(1)}s acked=${now.acked} gate=${now.gateUnique} ` +
            `produced=${executors.reduce((n, e) => n + e.totals.windows, 0)} ` +
            `batches=${gate.counts.batches} managerCpuS=${now.managerCpuS.toFixed(1)}`,
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
  if (g.doneOutcome !== 'completed') problems.push(`workflow ended ${g.doneOutcome}`);
  if (dropped > 0) problems.push(`workers dropped ${dropped} windows (outbox full)`);
  if (g.unique !== produced.windows)
    problems.push(
      `gate counted ${g.unique} windows once each; workers produced ${produced.windows}`,
    );
  if (g.iterations !== produced.iterations)
    problems.push(`gate iterations ${g.iterations} ≠ produced ${produced.iterations}`);
  if (g.requests !== produced.requests)
    problems.push(`gate requests ${g.requests} ≠ produced ${produced.requests}`);
  if (fakeGate.gaps() > 0) problems.push(`${fakeGate.gaps()} sources have gaps in their seqs`);
  if (fakeGate.sources !== workers * threads)
    problems.push(`gate saw ${fakeGate.sources} sources, expected ${workers * threads}`);

  const row = {
    workers,
    threadsPerWorker: threads,
    sources: workers * threads,
    steps,
    windowBytes,
    windowValues: weight.values,
    windowsPerWorkFrame: perFrame,
    steadySeconds: Number(seconds.toFixed(2)),
    ingestPerSec: Math.round(ingestPerSec),
    gatePerSec: Math.round(gatePerSec),
    managerCpu: Number(managerCpu.toFixed(3)),
    ingestPerManagerCpuSec: Math.round(ingestPerSec / Math.max(managerCpu, 1e-9)),
    benchProcessCpu: Number(selfCpu.toFixed(3)),
    ratioToGoal: Number((ingestPerSec / GOAL_PER_SEC).toFixed(3)),
    produced: produced.windows,
    reachedGate: g.unique,
    gateDuplicates: g.duplicates,
    gateBatches: g.batches,
    lost: produced.windows - g.unique,
  };
  console.log(
    'One manager leader (own process, 1-member Raft, --insecure loopback) ingesting windows from ' +
      `${workers} workers × ${threads} threads; gate and workers share this process`,
  );
  console.log(
    '| sources | steps | window B | ingest/s | at gate/s | manager CPU | per manager CPU-s | bench CPU | × goal | produced | reached gate | dup at gate |\n' +
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  console.log(
    `| ${row.sources} | ${steps} | ${windowBytes} | ${row.ingestPerSec} | ${row.gatePerSec} | ${(managerCpu * 100).toFixed(0)}% | ${row.ingestPerManagerCpuSec} | ${(selfCpu * 100).toFixed(0)}% | ${row.ratioToGoal} | ${row.produced} | ${row.reachedGate} | ${row.gateDuplicates} |`,
  );
  if (profileDir) {
    const fresh = readdirSync(profileDir).filter((f) => !profilesBefore.has(f));
    console.log(
      `manager CPU profile: ${fresh.map((f) => join(profileDir, f)).join(', ') || 'none written'}`,
    );
  }
  const out = join(ROOT, 'bench', 'results', 'cluster-ingest.json');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        scenario: 'LT-21.1.1',
        goalPerSec: GOAL_PER_SEC,
        update: 'one statistics window from one worker thread',
        transport: 'loopback TCP without TLS, salvo wire protocol (msgpack, crc32c frames)',
        layout:
          'manager: own process (salvo manager --insecure, 1-member Raft); fake gate and real WorkerNodes with a fast synthetic executor: the bench process',
        row,
        note:
          'ingestPerSec is bounded by the CPU the manager got on this machine (managerCpu, of one core); ' +
          'ingestPerManagerCpuSec is the figure least affected by other load (see loadavg1m)',
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
