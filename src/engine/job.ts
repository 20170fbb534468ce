// One workflow's share of VUs on one thread: runs the executor, executes each iteration's
// step DAG on a VU, records every step into the thread's WorkflowRecorder, ships a statistics
// window every second, and supports stop → drain → finalize. Never touches MessagePort.
import { setImmediate as immediate } from 'node:timers/promises';
import { parseDuration, type Duration } from '../api/duration.js';
import type { StepContext, WorkflowDefinition, Metrics } from '../api/workflow.js';
import { HttpClient, HttpError, HttpResponse } from '../clients/http1/index.js';
import { SalvoError, WorkflowConfigError, describeError } from '../errors.js';
import { WorkflowRecorder } from '../stats/recorder.js';
import type { StatsWindow } from '../stats/types.js';
import { startExecutor, type ExecutorHost } from './executors/index.js';
import type { ExecutorShare, StepGraph } from './plan.js';

export interface JobSpec {
  share: ExecutorShare;
  /** This thread's index and the number of threads, so VU ids are unique across the run. */
  thread: number;
  threads: number;
  data: unknown;
  context: Record<string, unknown>;
  /** Overrides the workflow's baseUrl (salvo run --target). */
  baseUrl: string | undefined;
  windowMs: number;
}

export interface PublishedValue {
  value: unknown;
  atMs: number;
}

export interface JobOutcome {
  published: Record<string, PublishedValue>;
  /** Iterations still running when the graceful-stop period ran out. */
  interrupted: number;
  notes: string[];
}

class StepTimeoutError extends SalvoError {
  constructor(step: string, timeoutMs: number) {
    super('E_INTERNAL', `step '${step}' did not finish within ${timeoutMs}ms`);
  }
}

interface PendingStep {
  deadline: number;
  reject: (error: Error) => void;
}

class Vu {
  retire = false;
  iteration = 0;
  readonly info: { id: number; iteration: number };
  constructor(
    readonly id: number,
    readonly http: HttpClient,
  ) {
    this.info = { id, iteration: 0 };
  }
}

const SWEEP_INTERVAL_MS = 250;
const MAX_NOTES = 20;

/** Classifies a thrown value into an error kind and a message for the statistics. */
export function classifyFailure(error: unknown): { kind: string; message: string } {
  if (error instanceof HttpError) return { kind: error.kind, message: describeError(error) };
  if (error instanceof StepTimeoutError) return { kind: 'timeout', message: error.message };
  if (error instanceof SalvoError)
    return { kind: error.code.toLowerCase().replace(/^e_/, ''), message: error.message };
  return { kind: 'exception', message: describeError(error) };
}

export class WorkflowJob {
  readonly recorder: WorkflowRecorder;
  private readonly graph: StepGraph;
  private readonly def: WorkflowDefinition;
  private readonly spec: JobSpec;
  private readonly onWindow: (window: StatsWindow) => void;
  private readonly checksByStep: { name: string; test: (r: unknown) => unknown }[][];
  private readonly stepRecorders: ReturnType<WorkflowRecorder['step']>[];
  private readonly metrics: Metrics;
  private readonly idle: Vu[] = [];
  private readonly allVus: Vu[] = [];
  private readonly pending = new Set<PendingStep>();
  private readonly sleepers = new Set<() => void>();
  private readonly published: Record<string, PublishedValue> = {};
  private readonly notes: string[] = [];
  private inflight = 0;
  private active = 0;
  /** Most VUs busy at once since the last window: what the window reports as active. */
  private peakActive = 0;
  private stoppingFlag = false;
  private closed = false;
  private windowTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    def: WorkflowDefinition,
    graph: StepGraph,
    spec: JobSpec,
    onWindow: (window: StatsWindow) => void,
  ) {
    this.def = def;
    this.graph = graph;
    this.spec = spec;
    this.onWindow = onWindow;
    this.recorder = new WorkflowRecorder(def.name);
    this.stepRecorders = def.steps.map((s) => this.recorder.step(s.name));
    this.checksByStep = def.steps.map((s) => def.checks.filter((c) => c.step === s.name));
    const r = this.recorder;
    this.metrics = {
      counter: (name) => r.counter(name),
      gauge: (name) => r.gauge(name),
      rate: (name) => r.rate(name),
      trend: (name) => r.trend(name),
    };
  }

  get stopping(): boolean {
    return this.stoppingFlag;
  }

  /** Runs the executor to its end (or until stop) and waits for in-flight iterations within gracefulStop. */
  async run(): Promise<JobOutcome> {
    this.windowTimer = setInterval(() => this.flushWindow(), this.spec.windowMs);
    this.sweepTimer = setInterval(() => this.sweepTimeouts(), SWEEP_INTERVAL_MS);
    const host = this.host();
    const execution = startExecutor(host, this.spec.share.config, this.spec.share.phase);
    await execution.scheduled;
    this.stoppingFlag = true;
    this.wakeSleepers();
    const interrupted = await this.waitInflight(this.spec.share.config.gracefulStopMs);
    return { published: { ...this.published }, interrupted, notes: [...this.notes] };
  }

  /** Stop starting iterations (cancel). In-flight iterations continue until drained. */
  stop(): void {
    this.stoppingFlag = true;
    this.wakeSleepers();
  }

  /** Waits for in-flight iterations for at most `graceMs`; returns how many were still running. */
  async drain(graceMs: number): Promise<number> {
    this.stop();
    return this.waitInflight(graceMs);
  }

  /** Ships the last window, closes every VU's connections; later recordings are ignored. */
  finalize(): JobOutcome {
    if (!this.closed) {
      this.flushWindow();
      this.closed = true;
      clearInterval(this.windowTimer);
      clearInterval(this.sweepTimer);
      for (const p of this.pending) p.reject(new StepTimeoutError('(finalize)', 0));
      this.pending.clear();
      for (const vu of this.allVus) vu.http.close();
    }
    return { published: { ...this.published }, interrupted: this.inflight, notes: [...this.notes] };
  }

  private flushWindow(): void {
    if (this.closed) return;
    this.recorder.setVus(this.peakActive, this.allVus.length);
    this.peakActive = this.active;
    this.onWindow(this.recorder.takeWindow(Date.now()));
  }

  private note(message: string): void {
    if (this.notes.length < MAX_NOTES && !this.notes.includes(message)) this.notes.push(message);
  }

  private waitInflight(graceMs: number): Promise<number> {
    if (this.inflight === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.inflight), graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(0);
      });
    });
  }

  private wakeSleepers(): void {
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
  }

  private sweepTimeouts(): void {
    if (this.pending.size === 0) return;
    const now = performance.now();
    for (const p of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(p);
        p.reject(new StepTimeoutError('', 0));
      }
    }
  }

  private newVu(): Vu {
    const local = this.allVus.length;
    const id = local * this.spec.threads + this.spec.thread + 1;
    const def = this.def;
    const http = new HttpClient({
      baseUrl: this.spec.baseUrl ?? def.baseUrl,
      headers: def.headers,
      timeoutMs: def.requestTimeoutMs,
    });
    const vu = new Vu(id, http);
    this.allVus.push(vu);
    return vu;
  }

  private host(): ExecutorHost<Vu> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below needs the job
    const job = this;
    return {
      now: () => performance.now(),
      get stopping(): boolean {
        return job.stoppingFlag;
      },
      newVu: () => this.newVu(),
      acquireVu: (maxVus) => this.idle.pop() ?? (this.allVus.length < maxVus ? this.newVu() : null),
      releaseVu: (vu) => {
        this.idle.push(vu);
      },
      iterate: (vu, scheduledStart) => this.iterate(vu, scheduledStart),
      dropped: () => this.recorder.iterationDropped(),
      setTimer: (fn, ms) => {
        if (!this.closed) setTimeout(fn, ms);
      },
      yieldNow: () => immediate(),
    };
  }

  private async iterate(vu: Vu, rootStart: number): Promise<void> {
    this.inflight++;
    if (++this.active > this.peakActive) this.peakActive = this.active;
    vu.info.iteration = vu.iteration++;
    this.recorder.iterationStarted();
    let ok = false;
    const results: Record<string, unknown> = {};
    try {
      ok = await this.runSteps(vu, rootStart, results);
      if (ok && this.def.publishes.length > 0) this.publish(results);
    } catch (error) {
      // runSteps records step failures itself; reaching here is a bug in the engine.
      this.note(`internal error in iteration: ${describeError(error)}`);
    }
    if (!this.closed) this.recorder.iterationCompleted(ok);
    this.active--;
    if (--this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private publish(results: Record<string, unknown>): void {
    for (const p of this.def.publishes) {
      try {
        this.published[p.key] = { value: p.from(results, this.spec.data), atMs: Date.now() };
      } catch (error) {
        this.note(`publish '${p.key}' failed: ${describeError(error)}`);
      }
    }
  }

  private runSteps(vu: Vu, rootStart: number, results: Record<string, unknown>): Promise<boolean> {
    const { order, deps } = this.graph;
    const ctx = this.context(vu, results);
    if (order.length === 1) return this.runStep(0, rootStart, ctx, results);
    const done: Promise<boolean>[] = new Array<Promise<boolean>>(order.length);
    for (const i of order) {
      const d = deps[i] ?? [];
      if (d.length === 0) done[i] = this.runStep(i, rootStart, ctx, results);
      else {
        done[i] = Promise.all(d.map((j) => done[j] as Promise<boolean>)).then((oks) =>
          oks.every(Boolean) && !this.closed
            ? this.runStep(i, performance.now(), ctx, results)
            : false,
        );
      }
    }
    return Promise.all(done).then((oks) => oks.every(Boolean));
  }

  private context(
    vu: Vu,
    results: Record<string, unknown>,
  ): StepContext<unknown, unknown, unknown> {
    return {
      http: vu.http,
      results,
      data: this.spec.data,
      context: this.spec.context,
      metrics: this.metrics,
      vu: vu.info,
      sleep: (d: Duration) => this.sleep(d),
    };
  }

  private sleep(d: Duration): Promise<void> {
    const ms = parseDuration(d, 'sleep()', (m) => new WorkflowConfigError(m));
    if (this.stoppingFlag || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private guard(value: unknown, timeoutMs: number): unknown {
    if (!(value instanceof Promise)) return value;
    return new Promise((resolve, reject) => {
      const entry: PendingStep = { deadline: performance.now() + timeoutMs, reject };
      this.pending.add(entry);
      value.then(
        (v) => {
          this.pending.delete(entry);
          resolve(v);
        },
        (e: unknown) => {
          this.pending.delete(entry);
          reject(e instanceof Error ? e : new Error(describeError(e)));
        },
      );
    });
  }

  private async runStep(
    index: number,
    start: number,
    ctx: StepContext<unknown, unknown, unknown>,
    results: Record<string, unknown>,
  ): Promise<boolean> {
    const step = this.def.steps[index];
    const rec = this.stepRecorders[index];
    if (!step || !rec) return false;
    let value: unknown;
    try {
      value = await this.guard(step.run(ctx), step.timeoutMs);
    } catch (error) {
      if (this.closed) return false;
      const latencyUs = (performance.now() - start) * 1000;
      const failure =
        error instanceof StepTimeoutError
          ? {
              kind: 'timeout',
              message: `step '${step.name}' did not finish within ${step.timeoutMs}ms`,
            }
          : classifyFailure(error);
      rec.fail(latencyUs, failure.kind, failure.message);
      return false;
    }
    if (this.closed) return false;
    const latencyUs = (performance.now() - start) * 1000;
    const status = value instanceof HttpResponse ? value.status : undefined;
    let failure: { kind: string; message: string } | undefined;
    if (status !== undefined && !step.expectStatus(status)) {
      failure = {
        kind: `status_${status}`,
        message: `${(value as HttpResponse).method} ${(value as HttpResponse).url} → ${status}`,
      };
    }
    const checks = this.checksByStep[index];
    if (checks && checks.length > 0) {
      for (const check of checks) {
        let passed: boolean;
        let why = '';
        try {
          passed = Boolean(check.test(value));
        } catch (error) {
          passed = false;
          why = `: threw ${describeError(error)}`;
        }
        this.recorder.check(step.name, check.name, passed);
        if (!passed && !failure)
          failure = { kind: `check:${check.name}`, message: `check '${check.name}' failed${why}` };
      }
    }
    results[step.name] = value;
    if (failure) {
      rec.fail(latencyUs, failure.kind, failure.message, status);
      return false;
    }
    rec.ok(latencyUs, status);
    return true;
  }
}
