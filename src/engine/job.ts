// One workflow's share of VUs on one thread: runs the executor, executes each iteration's
// step DAG on a VU, records every step into the thread's WorkflowRecorder, ships a statistics
// window every second, and supports stop → drain → finalize. Never touches MessagePort.
// Hot path: a single-step workflow runs each iteration with no per-iteration allocation of its
// own (per-VU context and promise handlers; step deadlines checked by one sweeper per job).
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import { parseDuration, type Duration } from '../api/duration.js';
import { plannedDurationMs } from '../api/executors.js';
import type { StepContext, WorkflowDefinition, Metrics } from '../api/workflow.js';
import { HttpClient, HttpError, HttpResponse } from '../clients/http1/index.js';
import { ClientError, statusOfResult } from '../clients/client.js';
import { closeClients, openClients, withClients, type ClientSet } from '../clients/registry.js';
import { SalvoError, WorkflowConfigError, describeError } from '../errors.js';
import { threadLoopDelay } from '../stats/loop-delay.js';
import { WorkflowRecorder } from '../stats/recorder.js';
import type { StatsWindow } from '../stats/types.js';
import { startExecutor, type ExecutorHost } from './executors/index.js';
import { display, userLocation } from './loader.js';
import { RequestGroups, httpDebugEnabled } from './request-groups.js';
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
  /** The workflow file (absolute), to name the line a step threw at in error samples. */
  source?: string;
}

export interface PublishedValue {
  value: unknown;
  atMs: number;
}

/** HTTP requests actually written, and bytes on the wire, over all of a job's VUs. */
export interface NetworkTotals {
  requests: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface JobOutcome {
  published: Record<string, PublishedValue>;
  /** Iterations still running when the graceful-stop period ran out. */
  interrupted: number;
  notes: string[];
  /** Counted when the job is finalized (its connections closed); absent before. */
  network?: NetworkTotals;
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

type IterationDone = (vu: Vu) => void;

class Vu {
  retire = false;
  iteration = 0;
  readonly info: { id: number; iteration: number };
  /** The context every step of this VU receives on the single-step fast path. */
  ctx: StepContext<unknown, unknown, unknown> | undefined = undefined;
  /** Fast path: the running iteration's start, its step deadline and its end callback. */
  stepStart = 0;
  deadline = Number.POSITIVE_INFINITY;
  done: IterationDone | null = null;
  /** Fast path: the handlers attached to the running step's promise. */
  attempt: StepAttempt | undefined = undefined;
  constructor(
    readonly id: number,
    readonly http: HttpClient,
    readonly clients: ClientSet,
  ) {
    this.info = { id, iteration: 0 };
  }
}

/**
 * The settle handlers of one VU's step promise on the fast path. Reused iteration after
 * iteration; replaced (and this one disarmed) only when a step is abandoned on timeout or
 * finalize, so a late settlement of the abandoned promise is ignored.
 */
class StepAttempt {
  live = true;
  readonly onValue: (value: unknown) => void;
  readonly onError: (error: unknown) => void;
  constructor(job: WorkflowJob, vu: Vu) {
    this.onValue = (value) => {
      if (this.live) job.fastSettled(vu, value, false);
    };
    this.onError = (error) => {
      if (this.live) {
        job.fastSettled(vu, error instanceof Error ? error : new Error(describeError(error)), true);
      }
    };
  }
}

const SWEEP_INTERVAL_MS = 250;
/** Longest wait for pre-allocated VUs to connect before an open-model schedule starts anyway. */
const WARM_UP_MAX_MS = 2000;
const MAX_NOTES = 20;

/** Classifies a thrown value into an error kind and a message for the statistics. */
export function classifyFailure(error: unknown): { kind: string; message: string } {
  if (error instanceof HttpError) return { kind: error.kind, message: describeError(error) };
  if (error instanceof ClientError) return { kind: error.kind, message: describeError(error) };
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
  /** A single step and no DAG: iterations take the allocation-free fast path. */
  private readonly fast: boolean;
  private readonly sleepFn = (d: Duration): Promise<void> => this.sleep(d);
  /** Starts the planned-duration clock of `run` (once). */
  private armEnd: (() => void) | undefined = undefined;
  private readonly requestGroups: RequestGroups;
  private readonly httpDebug = httpDebugEnabled();
  /** What this workflow's VU clients share on this thread (e.g. HTTP/2 sessions). */
  private readonly sharedClientState = new Map<string, unknown>();

  /** The thread's event-loop delay sampler: it runs while the job does; windows carry it. */
  private readonly loopDelay = threadLoopDelay();

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
    this.requestGroups = new RequestGroups(this.recorder, (m) => this.note(m));
    this.stepRecorders = def.steps.map((s) => this.recorder.step(s.name));
    this.checksByStep = def.steps.map((s) => def.checks.filter((c) => c.step === s.name));
    this.fast = graph.order.length === 1 && def.steps.length === 1;
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

  /**
   * Runs the executor to its end (or until stop) and waits for in-flight iterations within
   * gracefulStop. The executor's planned duration is a hard end: an iteration still running
   * then (a step waiting on a slow or silent service) does not hold the job open; it gets the
   * graceful-stop period and is then left to `finalize`, which abandons it as interrupted.
   */
  async run(): Promise<JobOutcome> {
    this.loopDelay?.acquire();
    this.windowTimer = setInterval(() => this.flushWindow(), this.spec.windowMs);
    this.sweepTimer = setInterval(() => this.sweepTimeouts(), SWEEP_INTERVAL_MS);
    const config = this.spec.share.config;
    let endTimer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => {
      this.armEnd = () => {
        this.armEnd = undefined;
        endTimer = setTimeout(resolve, plannedDurationMs(config));
      };
    });
    // An open-model schedule's clock starts after warm-up (see host().warmUp); a closed one now.
    if (config.type !== 'constant-arrival-rate' && config.type !== 'ramping-arrival-rate')
      this.armEnd?.();
    const host = this.host();
    const execution = startExecutor(host, config, this.spec.share.phase);
    await Promise.race([execution.scheduled, ended]);
    clearTimeout(endTimer);
    this.stoppingFlag = true;
    this.wakeSleepers();
    const interrupted = await this.waitInflight(config.gracefulStopMs);
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
      if (this.windowTimer !== undefined) this.loopDelay?.release();
      this.requestGroups.close();
      // A finalized job starts no more iterations, whatever ends the abandoned ones.
      this.stoppingFlag = true;
      clearInterval(this.windowTimer);
      clearInterval(this.sweepTimer);
      for (const p of this.pending) p.reject(new StepTimeoutError('(finalize)', 0));
      this.pending.clear();
      for (const vu of this.allVus) {
        if (vu.done !== null) this.abandon(vu, new StepTimeoutError('(finalize)', 0));
      }
      for (const vu of this.allVus) {
        vu.http.close();
        closeClients(vu.clients);
      }
    }
    const network: NetworkTotals = { requests: 0, bytesSent: 0, bytesReceived: 0 };
    for (const vu of this.allVus) {
      network.requests += vu.http.stats.requestsSent;
      network.bytesSent += vu.http.stats.bytesSent;
      network.bytesReceived += vu.http.stats.bytesReceived;
    }
    return {
      published: { ...this.published },
      interrupted: this.inflight,
      notes: [...this.notes],
      network,
    };
  }

  private flushWindow(): void {
    if (this.closed) return;
    this.recorder.setVus(this.peakActive, this.allVus.length);
    this.peakActive = this.active;
    const window = this.recorder.takeWindow(Date.now());
    const loopDelay = this.loopDelay?.take();
    if (loopDelay) window.loopDelay = loopDelay;
    this.onWindow(window);
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
    const now = performance.now();
    if (this.fast) {
      for (const vu of this.allVus) {
        if (vu.deadline <= now) this.abandon(vu, new StepTimeoutError('', 0));
      }
    }
    if (this.pending.size === 0) return;
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
      observe: this.requestGroups.observe,
      debug: this.httpDebug,
    });
    const clients = openClients({
      baseUrl: this.spec.baseUrl ?? def.baseUrl,
      headers: def.headers,
      timeoutMs: def.requestTimeoutMs,
      vuId: id,
      observe: this.requestGroups.observe,
      debug: this.httpDebug,
      metrics: this.metrics,
      http2: def.http2,
      shared: this.sharedClientState,
    });
    const vu = new Vu(id, http, clients);
    if (this.fast) {
      vu.ctx = withClients(clients, {
        http,
        results: {},
        data: this.spec.data,
        context: this.spec.context,
        metrics: this.metrics,
        vu: vu.info,
        sleep: this.sleepFn,
      });
      vu.attempt = new StepAttempt(this, vu);
    }
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
      iterate: this.fast
        ? (vu, scheduledStart, done) => this.fastIterate(vu, scheduledStart, done)
        : (vu, scheduledStart, done) => {
            void this.iterate(vu, scheduledStart).then(() => done(vu));
          },
      warmUp: (vus, ready) =>
        this.warmUp(vus, () => {
          this.armEnd?.();
          ready();
        }),
      dropped: () => this.recorder.iterationDropped(),
      setTimer: (fn, ms) => (this.closed ? null : setTimeout(fn, ms)),
      clearTimer: (handle) => {
        if (handle !== null) clearTimeout(handle as NodeJS.Timeout);
      },
      defer: (fn) => {
        setImmediate(fn);
      },
    };
  }

  /**
   * With a base URL, each of `vus` preconnects to it (at most WARM_UP_MAX_MS in all); a failure
   * is counted and noted, never fatal: that VU connects on its first request instead.
   */
  private warmUp(vus: readonly Vu[], ready: () => void): void {
    const baseUrl = this.spec.baseUrl ?? this.def.baseUrl;
    if (baseUrl === undefined || vus.length === 0) return ready();
    let waiting = vus.length;
    let failures = 0;
    let firstFailure = '';
    let fired = false;
    const finish = (): void => {
      if (fired) return;
      fired = true;
      clearTimeout(timer);
      if (failures > 0) {
        this.note(
          `warm-up: ${failures} of ${vus.length} VUs could not preconnect (${firstFailure})`,
        );
      } else if (waiting > 0) {
        this.note(
          `warm-up: ${waiting} of ${vus.length} VUs still connecting after ${WARM_UP_MAX_MS}ms`,
        );
      }
      ready();
    };
    const timer = setTimeout(finish, WARM_UP_MAX_MS);
    const settled = (err: HttpError | null): void => {
      if (err !== null && failures++ === 0) firstFailure = err.message;
      if (--waiting === 0) finish();
    };
    for (const vu of vus) vu.http.preconnect('/', settled);
  }

  private beginIteration(vu: Vu): void {
    this.inflight++;
    if (++this.active > this.peakActive) this.peakActive = this.active;
    vu.info.iteration = vu.iteration++;
    this.recorder.iterationStarted();
  }

  private endIteration(ok: boolean): void {
    if (!this.closed) this.recorder.iterationCompleted(ok);
    this.active--;
    if (--this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * The single-step fast path: runs the step with the VU's own context and, when it returns a
   * promise, attaches the VU's reusable handlers; its deadline is checked by the sweeper.
   */
  private fastIterate(vu: Vu, start: number, done: IterationDone): void {
    this.beginIteration(vu);
    const step = this.def.steps[0];
    const ctx = vu.ctx;
    const attempt = vu.attempt;
    if (step === undefined || ctx === undefined || attempt === undefined) {
      this.note('internal error in iteration: fast path without a step or context');
      this.endIteration(false);
      done(vu);
      return;
    }
    vu.stepStart = start;
    vu.done = done;
    let value: unknown;
    try {
      value = step.run(ctx);
    } catch (error) {
      this.fastSettled(vu, error, true);
      return;
    }
    if (value instanceof Promise || isThenable(value)) {
      vu.deadline = start + step.timeoutMs;
      const promise = value instanceof Promise ? value : Promise.resolve(value);
      promise.then(attempt.onValue, attempt.onError);
      return;
    }
    this.fastSettled(vu, value, false);
  }

  /** @internal The fast-path step of `vu` ended: `outcome` is its value, or what it threw. */
  fastSettled(vu: Vu, outcome: unknown, failed: boolean): void {
    const done = vu.done;
    if (done === null) return;
    vu.done = null;
    vu.deadline = Number.POSITIVE_INFINITY;
    let ok = false;
    try {
      ok = failed
        ? this.recordError(0, vu.stepStart, outcome)
        : this.recordValue(0, vu.stepStart, outcome, null);
      if (ok && this.def.publishes.length > 0) {
        const name = this.def.steps[0]?.name ?? '';
        this.publish({ [name]: outcome });
      }
    } catch (internal) {
      this.note(`internal error in iteration: ${describeError(internal)}`);
    }
    this.endIteration(ok);
    done(vu);
  }

  /** Gives up on the fast-path step of `vu` (timeout or finalize); its promise is ignored. */
  private abandon(vu: Vu, reason: StepTimeoutError): void {
    if (vu.attempt !== undefined) vu.attempt.live = false;
    vu.attempt = new StepAttempt(this, vu);
    this.fastSettled(vu, reason, true);
  }

  private async iterate(vu: Vu, rootStart: number): Promise<void> {
    this.beginIteration(vu);
    let ok = false;
    const results: Record<string, unknown> = {};
    try {
      ok = await this.runSteps(vu, rootStart, results);
      if (ok && this.def.publishes.length > 0) this.publish(results);
    } catch (error) {
      // runSteps records step failures itself; reaching here is a bug in the engine.
      this.note(`internal error in iteration: ${describeError(error)}`);
    }
    this.endIteration(ok);
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
    // Every step settles before the iteration ends, even when one of them hit an internal
    // error: ending early would let the VU start its next iteration beside the running ones.
    return Promise.allSettled(done).then((settled) => {
      const failure = settled.find((s) => s.status === 'rejected');
      if (failure) throw failure.reason;
      return settled.every((s) => s.status === 'fulfilled' && s.value);
    });
  }

  private context(
    vu: Vu,
    results: Record<string, unknown>,
  ): StepContext<unknown, unknown, unknown> {
    return withClients(vu.clients, {
      http: vu.http,
      results,
      data: this.spec.data,
      context: this.spec.context,
      metrics: this.metrics,
      vu: vu.info,
      sleep: this.sleepFn,
    });
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
    if (!step) return false;
    let value: unknown;
    try {
      value = await this.guard(step.run(ctx), step.timeoutMs);
    } catch (error) {
      return this.recordError(index, start, error);
    }
    return this.recordValue(index, start, value, results);
  }

  /** Records step `index` failing with `error`; always false. */
  private recordError(index: number, start: number, error: unknown): boolean {
    const step = this.def.steps[index];
    const rec = this.stepRecorders[index];
    if (this.closed || !step || !rec) return false;
    const latencyUs = (performance.now() - start) * 1000;
    const failure =
      error instanceof StepTimeoutError
        ? {
            kind: 'timeout',
            message: `step '${step.name}' did not finish within ${step.timeoutMs}ms`,
          }
        : classifyFailure(error);
    rec.fail(latencyUs, failure.kind, this.located(index, failure.kind, failure.message, error));
    return false;
  }

  /**
   * `message` with where it happened in the workflow file: the line a user exception was
   * thrown at when its stack shows it, else the line the step is defined at.
   */
  private located(index: number, kind: string, message: string, error?: unknown): string {
    const thrownAt =
      kind === 'exception' && this.spec.source !== undefined
        ? userLocation(error, this.spec.source)
        : undefined;
    const stepAt = this.def.steps[index]?.definedAt;
    const where = thrownAt ?? (stepAt === undefined ? undefined : display(stepAt));
    return where === undefined ? message : `${message} (at ${where})`;
  }

  /**
   * Records step `index` returning `value`: its status against `expectStatus`, then its checks.
   * Stores the value in `results` (when given). True when the step succeeded.
   */
  private recordValue(
    index: number,
    start: number,
    value: unknown,
    results: Record<string, unknown> | null,
  ): boolean {
    const step = this.def.steps[index];
    const rec = this.stepRecorders[index];
    if (this.closed || !step || !rec) return false;
    const latencyUs = (performance.now() - start) * 1000;
    const status = value instanceof HttpResponse ? value.status : statusOfResult(value);
    let failure: { kind: string; message: string } | undefined;
    let expected = true;
    try {
      expected = status === undefined || Boolean(step.expectStatus(status));
    } catch (error) {
      failure = { kind: 'exception', message: `expectStatus threw: ${describeError(error)}` };
    }
    if (!failure && !expected && status !== undefined) {
      const v = value as { method?: unknown; url?: unknown };
      const what =
        typeof v.method === 'string' && typeof v.url === 'string' ? `${v.method} ${v.url} ` : '';
      failure = { kind: `status_${status}`, message: `${what}→ ${status}` };
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
    if (results !== null) results[step.name] = value;
    if (failure) {
      rec.fail(latencyUs, failure.kind, this.located(index, failure.kind, failure.message), status);
      return false;
    }
    rec.ok(latencyUs, status);
    return true;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
