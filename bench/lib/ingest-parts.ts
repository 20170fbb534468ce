// The parts of the manager-ingest bench (bench/cluster-ingest.ts): synthetic windows, a worker
// executor that streams them (as fast as acknowledged, or paced like real VUs), a fake owner gate
// that counts each window once, and the manager in its own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type LocalIdentity,
  type OutgoingMessage,
} from '../../src/protocol/index.js';
import type { RealRuntime } from '../../src/runtime/real/index.js';
import type { NodeAddress } from '../../src/runtime/types.js';
import { DC_MESSAGES } from '../../src/nodes/jobs/dc-wire.js';
import { PeerLinks } from '../../src/nodes/jobs/peer-links.js';
import type {
  HookSpec,
  RunningHookCall,
  RunningWork,
  WorkExecutor,
  WorkReport,
  WorkSpec,
} from '../../src/nodes/worker/executor.js';
import { Histogram } from '../../src/stats/histogram.js';
import type { MetricWindow, StatsWindow, StepWindow } from '../../src/stats/types.js';
import { freePort } from '../../test/support/raft-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DC = 'a';
export const READY_WAIT_MS = 30_000;
/** How often a full executor looks again whether the manager acknowledged. */
const PUMP_IDLE_MS = 1;

// ─── the fast synthetic executor ────────────────────────────────────────────────────────────

export interface Template {
  readonly steps: Record<string, StepWindow>;
  readonly checks: StatsWindow['checks'];
  readonly metrics: Record<string, MetricWindow>;
  readonly iterations: number;
  readonly requests: number;
}

/** Realistic content: `steps` steps, latencies over 1–400 ms, a few errors and statuses. */
export function makeTemplate(k: number, steps: number, requestsPerStep: number): Template {
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

export function windowOf(
  t: Template,
  workflow: string,
  now: number,
  windowMs: number,
): StatsWindow {
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

export interface ExecutorTotals {
  windows: number;
  iterations: number;
  requests: number;
}

/**
 * Streams windows on every thread of a part for `durationMs` of wall time, then completes.
 * Saturating (`paced` false): as fast as the worker's backlog allows (`backlog()` is its
 * unacknowledged count). Paced: one window per thread every `spec.windowMs`, as real VUs
 * produce them, whatever the backlog; the largest backlog seen tells whether the manager kept up.
 */
export class FastExecutor implements WorkExecutor {
  readonly totals: ExecutorTotals = { windows: 0, iterations: 0, requests: 0 };
  private readonly stops = new Set<() => void>();
  backlog: () => number = () => 0;
  /** Paced mode: the most windows the worker held unacknowledged at a tick. */
  maxBacklogSeen = 0;

  /** `maxBacklog`: unacknowledged windows a worker may hold before a saturating executor waits. */
  constructor(
    private readonly templates: readonly Template[],
    private readonly durationMs: number,
    private readonly maxBacklog: number,
    private readonly paced = false,
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
    let ticks = 0; // paced: windows emitted per thread so far
    const pump = (): void => {
      timer = null;
      if (ended) return;
      const now = Date.now();
      if (now - started >= this.durationMs) return finish('completed');
      if (this.paced) {
        this.maxBacklogSeen = Math.max(this.maxBacklogSeen, this.backlog());
        for (let thread = 0; thread < threads; thread++) emit(thread, now);
        ticks++;
        timer = setTimeout(pump, Math.max(0, started + (ticks + 1) * spec.windowMs - Date.now()));
        return;
      }
      // One window at a time, threads in turn, so the backlog bound is exact.
      while (this.backlog() < this.maxBacklog) {
        const thread = next;
        next = (next + 1) % threads;
        emit(thread, now);
      }
      timer = setTimeout(pump, PUMP_IDLE_MS);
    };
    const emit = (thread: number, now: number): void => {
      const t = this.templates[(spec.firstThread + thread) % this.templates.length]!;
      this.totals.windows++;
      this.totals.iterations += t.iterations;
      this.totals.requests += t.requests;
      onWindow(thread, windowOf(t, spec.workflow, now, spec.windowMs));
    };
    timer = setTimeout(pump, this.paced ? spec.windowMs : 0);
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

export class FakeGate {
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

export interface ManagerProcess {
  readonly child: ChildProcess;
  readonly address: NodeAddress;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

export async function startManager(
  dataDir: string,
  profileDir: string | null,
): Promise<ManagerProcess> {
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
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm) ": state is [0]; utime is field 14 overall → [11], stime → [12].
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
