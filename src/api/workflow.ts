// The authoring API: `workflow(name)` returns a typed builder. Steps form a DAG inside a
// workflow; workflows form a DAG in a file (`after`), passing published values along. This
// module only records definitions; validation of the whole graph is in src/engine/plan.ts.
import type { HttpClient, HttpResponse } from '../clients/http1/index.js';
import type { StepClients } from '../clients/registry.js';
import { WorkflowConfigError } from '../errors.js';
import { parseDuration, type Duration } from './duration.js';
import { constantVus, type ExecutorConfig } from './executors.js';
import type { ReporterSpec } from '../reporters/config.js';

/** Custom metrics a step or hook may record; merged across threads like built-in statistics. */
export interface Metrics {
  /** A running total; thresholds: `count`, `rate` (per second). */
  counter(name: string): { add(value?: number): void };
  /** The latest value (with min and max); thresholds: `value`, `min`, `max`. */
  gauge(name: string): { set(value: number): void };
  /** The fraction of `true`; thresholds: `rate`. */
  rate(name: string): { add(value: boolean): void };
  /** A distribution of non-negative numbers; thresholds: `p95`, `mean`, `max`… */
  trend(name: string): { add(value: number): void };
}

export interface VuInfo {
  /** 1-based VU number, unique across all threads of the run for this workflow. */
  readonly id: number;
  /** 0-based count of iterations this VU has started. */
  readonly iteration: number;
}

/**
 * What a step function receives: `http` (HTTP/1.1) and every registered protocol client
 * (`http2`, …; see StepClients), each created on first use and kept for the VU's life.
 */
export interface StepContext<Deps, Data, Ctx> extends StepClients {
  /** This virtual user's HTTP/1.1 client (keep-alive connections are reused across iterations). */
  readonly http: HttpClient;
  /** Results of the steps this step runs after, by step name. */
  readonly results: Deps;
  /** What the workflow's `setup` hook returned. */
  readonly data: Data;
  /** Values published by the workflows this one runs after, by workflow name. */
  readonly context: Ctx;
  readonly metrics: Metrics;
  readonly vu: VuInfo;
  /** Think time: resolves after the duration, or early when the run stops. */
  sleep(duration: Duration): Promise<void>;
}

export interface SetupContext<Ctx> extends StepClients {
  readonly http: HttpClient;
  readonly context: Ctx;
}

export interface TeardownContext<Data, Ctx> extends SetupContext<Ctx> {
  readonly data: Data;
}

export interface StepOptions<D extends string> {
  /** Steps that must succeed, in the same iteration, before this one starts. */
  after?: readonly D[];
  /** Give up on the step after this long (default 60s); counted as a `timeout` failure. */
  timeout?: Duration;
  /**
   * Which HTTP statuses count as success when the step returns a response.
   * Default: 200–399. A list of codes or a predicate.
   */
  expectStatus?: readonly number[] | ((status: number) => boolean);
}

export interface HookOptions {
  /** Default 30s. A hook that runs longer fails the workflow with a timeout error. */
  timeout?: Duration;
}

export interface WorkflowOptions {
  executor?: ExecutorConfig;
  /** Relative URLs in steps and hooks resolve against it. `salvo run --target` overrides it. */
  baseUrl?: string;
  /** Headers sent with every request of this workflow. */
  headers?: Record<string, string>;
  /** Per-request timeout of the workflow's HTTP clients (default 30s). */
  requestTimeout?: Duration;
  /**
   * HTTP/2 sessions shared by the VUs of each worker thread, like h2load's `-c` and `-m`:
   * `connections` sessions per origin with streams spread over them, at most `maxStreams`
   * concurrent streams each (default: the server's limit). Without it each VU opens its own.
   * E.g. `{ connections: 4 }`.
   */
  http2?: { connections: number; maxStreams?: number };
  /**
   * Pass/fail criteria, by target: a step name, `*` (all steps), `errors` (the failure rate)
   * or a custom metric name. E.g. `{ home: ['p99 < 250ms'], errors: ['rate < 1%'] }`.
   */
  thresholds?: Record<string, readonly ThresholdSpec[]>;
  /**
   * Where results go besides the results file: built-in sinks by kind, or custom objects with
   * `name` and any of `start`, `windows`, `final`, `close`. `salvo run --report` adds more.
   * E.g. `[{ kind: 'prometheus', port: 9464 }, { kind: 'junit', path: 'junit.xml' }]`.
   */
  reporters?: readonly ReporterSpec[];
}

/**
 * A threshold with options, beside the plain expression string:
 * `{ threshold: 'p99 < 500ms', abortOnFail: true, delayAbortEval: '10s' }`.
 */
export interface ThresholdOptions {
  /** The expression, as in the plain form: `'p99 < 500ms'`. */
  threshold: string;
  /**
   * Stop the whole run as soon as this threshold fails, checked on every statistics window
   * (about once a second). The results name it; the exit code is that of failed thresholds.
   */
  abortOnFail?: boolean;
  /** With `abortOnFail`: do not abort before this long after the workflow started (default 0). */
  delayAbortEval?: Duration;
}

/** One threshold: an expression such as `'p99 < 250ms'`, or one with options. */
export type ThresholdSpec = string | ThresholdOptions;

/** A threshold marked `abortOnFail`, as recorded (read by the plan). */
export interface AbortOnFailDefinition {
  readonly target: string;
  readonly expression: string;
  readonly delayMs: number;
}

// ─── Internal definition records (read by the engine) ───

export interface StepDefinition {
  readonly name: string;
  readonly after: readonly string[];
  readonly run: (ctx: StepContext<unknown, unknown, unknown>) => unknown;
  readonly timeoutMs: number;
  readonly expectStatus: (status: number) => boolean;
  /** `file:line` of the `.step()` call, for error samples. */
  readonly definedAt?: string | undefined;
}

export interface CheckDefinition {
  readonly step: string;
  readonly name: string;
  readonly test: (result: unknown) => unknown;
}

export interface HookDefinition<F> {
  readonly run: F;
  readonly timeoutMs: number;
}

export interface PublishDefinition {
  readonly key: string;
  readonly from: (results: Record<string, unknown>, data: unknown) => unknown;
}

export interface WorkflowDefinition {
  readonly name: string;
  executor: ExecutorConfig;
  readonly steps: StepDefinition[];
  readonly checks: CheckDefinition[];
  readonly thresholds: Map<string, string[]>;
  /** The thresholds marked `abortOnFail` (also listed in `thresholds`). */
  readonly abortOnFail: AbortOnFailDefinition[];
  readonly dependsOn: AnyWorkflow[];
  readonly publishes: PublishDefinition[];
  setup: HookDefinition<(ctx: SetupContext<unknown>) => unknown> | undefined;
  teardown: HookDefinition<(ctx: TeardownContext<unknown, unknown>) => unknown> | undefined;
  baseUrl: string | undefined;
  headers: Record<string, string>;
  requestTimeoutMs: number;
  /** The `http2` option, checked: sessions shared by the thread's VUs. */
  http2?: { readonly connections: number; readonly maxStreams?: number } | undefined;
  /** The workflow's reporters, as given (validated when the run starts). */
  readonly reporters: readonly ReporterSpec[];
  /** `file:line` of the `workflow()` call, for messages. */
  readonly definedAt: string | undefined;
}

export const DEFAULT_STEP_TIMEOUT_MS = 60_000;
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_NAME_LENGTH = 100;
const WORKFLOW_BRAND = Symbol.for('salvo.workflow/v1');

export type AnyWorkflow = Workflow<string, object, unknown, object, object>;

function defaultExpectStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new WorkflowConfigError(
      `${kind} name must be a non-empty string, got ${JSON.stringify(name)}`,
    );
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new WorkflowConfigError(
      `${kind} name '${name.slice(0, 20)}…' is longer than ${MAX_NAME_LENGTH} characters`,
    );
  }
  return name;
}

function checkReporters(workflow: string, reporters: unknown): ReporterSpec[] {
  if (reporters === undefined) return [];
  if (!Array.isArray(reporters)) {
    throw new WorkflowConfigError(
      `workflow '${workflow}': reporters must be a list, e.g. [{ kind: 'junit', path: 'junit.xml' }]`,
    );
  }
  return [...(reporters as ReporterSpec[])];
}

/** The `http2` option: integers ≥ 1, or an error naming the option. */
function checkHttp2(
  workflow: string,
  http2: unknown,
): { connections: number; maxStreams?: number } | undefined {
  if (http2 === undefined) return undefined;
  const o = (typeof http2 === 'object' && http2 !== null ? http2 : {}) as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new WorkflowConfigError(
      `workflow '${workflow}': http2.${what} must be an integer ≥ 1, e.g. http2: { connections: 4, maxStreams: 100 }`,
    );
  };
  const whole = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
  for (const key of Object.keys(o)) {
    if (key !== 'connections' && key !== 'maxStreams') {
      throw new WorkflowConfigError(
        `workflow '${workflow}': unknown http2 option '${key}' (allowed: connections, maxStreams)`,
      );
    }
  }
  if (!whole(o['connections'])) bad('connections');
  const connections = o['connections'] as number;
  if (o['maxStreams'] === undefined) return { connections };
  if (!whole(o['maxStreams'])) bad('maxStreams');
  return { connections, maxStreams: o['maxStreams'] as number };
}

function hookTimeout(workflow: string, hook: string, options: HookOptions | undefined): number {
  return parseDuration(
    options?.timeout ?? DEFAULT_HOOK_TIMEOUT_MS,
    `workflow '${workflow}': ${hook} timeout`,
    (m) => new WorkflowConfigError(m),
  );
}

/** The first stack frame outside Salvo itself: where the user called us. */
function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    if (frame.includes('/dist/src/') || frame.includes('/src/api/') || frame.includes('node:'))
      continue;
    const match = /\(?((?:file:\/\/)?[^()\s]+:\d+):\d+\)?\s*$/.exec(frame);
    if (match?.[1]) return match[1].replace(/^file:\/\//, '');
  }
  return undefined;
}

/**
 * Makes `after: ['x']` naming a step not declared yet a readable type error: the step's
 * results are typed from the steps declared before it, so `x` must come first.
 */
type AfterDeclared<D extends string, Results> = [Exclude<D, keyof Results>] extends [never]
  ? unknown
  : {
      [
        K in `step '${Exclude<D, keyof Results> & string}' must be declared (with .step) before the steps that run after it`
      ]: true;
    };

/**
 * A workflow under construction. Each method records a definition and returns the builder
 * with its type extended, so step results, setup data and context are typed without casts.
 *
 * @example
 * export default workflow('browse', { executor: constantVus({ vus: 10, duration: '30s' }) })
 *   .step('home', ({ http }) => http.get('/'))
 *   .check('home', 'status is 200', (res) => res.status === 200)
 *   .step('item', { after: ['home'] }, ({ http, results }) => http.get(`/items/${results.home.json<{ id: number }>().id}`))
 *   .thresholds({ home: ['p99 < 250ms'], errors: ['rate < 1%'] });
 */
export class Workflow<
  Name extends string,
  Results extends object,
  Data,
  Ctx extends object,
  Pub extends object,
> {
  readonly [WORKFLOW_BRAND] = true;
  /** The recorded definition; read by the engine, not meant for workflow authors. */
  readonly definition: WorkflowDefinition;
  declare readonly __types?: {
    name: Name;
    results: Results;
    data: Data;
    context: Ctx;
    published: Pub;
  };

  constructor(name: Name, options: WorkflowOptions = {}) {
    checkName('workflow', name);
    this.definition = {
      name,
      executor: options.executor ?? constantVus({ vus: 1, duration: '10s' }),
      steps: [],
      checks: [],
      thresholds: new Map(),
      abortOnFail: [],
      dependsOn: [],
      publishes: [],
      setup: undefined,
      teardown: undefined,
      baseUrl: options.baseUrl,
      headers: { ...(options.headers ?? {}) },
      requestTimeoutMs: parseDuration(
        options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
        `workflow '${name}': requestTimeout`,
        (m) => new WorkflowConfigError(m),
      ),
      http2: checkHttp2(name, options.http2),
      reporters: checkReporters(name, options.reporters),
      definedAt: callerLocation(),
    };
    if (options.thresholds) this.addThresholds(options.thresholds);
  }

  get name(): Name {
    return this.definition.name as Name;
  }

  /** Sets how iterations are started: `constantVus`, `rampingVus`, `constantArrivalRate`… */
  executor(config: ExecutorConfig): this {
    this.definition.executor = config;
    return this;
  }

  /** Adds a step that runs as soon as an iteration starts (or after the steps in `after`). */
  step<N extends string, R>(
    name: N,
    run: (ctx: StepContext<Record<never, never>, Data, Ctx>) => R | Promise<R>,
  ): Workflow<Name, Results & { [K in N]: Awaited<R> }, Data, Ctx, Pub>;
  step<N extends string, R, D extends string = never>(
    name: N,
    options: StepOptions<D> & NoInfer<AfterDeclared<D, Results>>,
    run: (ctx: StepContext<Pick<Results, D & keyof Results>, Data, Ctx>) => R | Promise<R>,
  ): Workflow<Name, Results & { [K in N]: Awaited<R> }, Data, Ctx, Pub>;
  step(name: string, a: unknown, b?: unknown): unknown {
    const run = (typeof a === 'function' ? a : b) as StepDefinition['run'];
    const options = (typeof a === 'function' ? {} : (a ?? {})) as StepOptions<string>;
    checkName('step', name);
    if (typeof run !== 'function') {
      throw new WorkflowConfigError(
        `workflow '${this.definition.name}': step '${name}' needs a function`,
      );
    }
    if (this.definition.steps.some((s) => s.name === name)) {
      throw new WorkflowConfigError(
        `workflow '${this.definition.name}': step '${name}' is defined twice`,
      );
    }
    const expect = options.expectStatus;
    this.definition.steps.push({
      name,
      after: [...(options.after ?? [])],
      run,
      timeoutMs: parseDuration(
        options.timeout ?? DEFAULT_STEP_TIMEOUT_MS,
        `workflow '${this.definition.name}': step '${name}' timeout`,
        (m) => new WorkflowConfigError(m),
      ),
      expectStatus:
        expect === undefined
          ? defaultExpectStatus
          : typeof expect === 'function'
            ? expect
            : (status: number) => expect.includes(status),
      definedAt: callerLocation(),
    });
    return this;
  }

  /**
   * A named assertion on a step's result. A check that returns false (or throws) fails the
   * step with kind `check:<name>`; every check's passes and fails are counted.
   */
  check<S extends keyof Results & string>(
    step: S,
    name: string,
    test: (result: Results[S]) => boolean,
  ): this {
    checkName('check', name);
    this.definition.checks.push({ step, name, test: test as (result: unknown) => unknown });
    return this;
  }

  /**
   * Adds thresholds, e.g. `{ home: ['p99 < 250ms'], errors: ['rate < 1%'] }`; an entry may
   * carry options: `{ threshold: 'rate < 5%', abortOnFail: true, delayAbortEval: '10s' }`.
   */
  thresholds(map: {
    [K in (keyof Results & string) | '*' | 'errors' | (string & {})]?: readonly ThresholdSpec[];
  }): this {
    this.addThresholds(map);
    return this;
  }

  private addThresholds(map: Record<string, readonly ThresholdSpec[] | undefined>): void {
    for (const [target, specs] of Object.entries(map)) {
      if (specs === undefined) continue;
      if (!Array.isArray(specs)) {
        throw new WorkflowConfigError(
          `workflow '${this.definition.name}': thresholds for '${target}' must be a list of expressions such as ['p99 < 250ms']`,
        );
      }
      const list = this.definition.thresholds.get(target) ?? [];
      for (const spec of specs as unknown[]) list.push(this.thresholdEntry(target, spec));
      this.definition.thresholds.set(target, list);
    }
  }

  /** The expression of one list entry; records `abortOnFail`. Throws on a malformed entry. */
  private thresholdEntry(target: string, spec: unknown): string {
    if (typeof spec === 'string') return spec;
    const where = `workflow '${this.definition.name}': a threshold for '${target}'`;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw new WorkflowConfigError(
        `${where} must be an expression such as 'p99 < 250ms' or { threshold: 'p99 < 250ms', abortOnFail: true }`,
      );
    }
    const o = spec as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!['threshold', 'abortOnFail', 'delayAbortEval'].includes(key)) {
        throw new WorkflowConfigError(
          `${where} has an unknown option '${key}'; known: threshold, abortOnFail, delayAbortEval`,
        );
      }
    }
    if (typeof o['threshold'] !== 'string') {
      throw new WorkflowConfigError(
        `${where} needs 'threshold', an expression such as 'p99 < 250ms'`,
      );
    }
    if (o['abortOnFail'] !== undefined && typeof o['abortOnFail'] !== 'boolean') {
      throw new WorkflowConfigError(`${where}: abortOnFail must be true or false`);
    }
    const delayMs =
      o['delayAbortEval'] === undefined
        ? 0
        : parseDuration(
            o['delayAbortEval'] as Duration,
            `${where}: delayAbortEval`,
            (m) => new WorkflowConfigError(m),
          );
    if (o['delayAbortEval'] !== undefined && o['abortOnFail'] !== true) {
      throw new WorkflowConfigError(`${where}: delayAbortEval applies only with abortOnFail: true`);
    }
    if (o['abortOnFail'] === true) {
      this.definition.abortOnFail.push({ target, expression: o['threshold'], delayMs });
    }
    return o['threshold'];
  }

  /** Runs once before any VU starts; what it returns is `data` in every step. */
  setup<D>(
    run: (ctx: SetupContext<Ctx>) => D | Promise<D>,
    options?: HookOptions,
  ): Workflow<Name, Results, Awaited<D>, Ctx, Pub> {
    this.definition.setup = {
      run: run as (ctx: SetupContext<unknown>) => unknown,
      timeoutMs: hookTimeout(this.definition.name, 'setup', options),
    };
    return this as unknown as Workflow<Name, Results, Awaited<D>, Ctx, Pub>;
  }

  /** Runs once after the last iteration (also after a failed or interrupted run). */
  teardown(run: (ctx: TeardownContext<Data, Ctx>) => unknown, options?: HookOptions): this {
    this.definition.teardown = {
      run: run as (ctx: TeardownContext<unknown, unknown>) => unknown,
      timeoutMs: hookTimeout(this.definition.name, 'teardown', options),
    };
    return this;
  }

  /**
   * Runs this workflow after `other` completes; what `other` published is then
   * `context[other.name]` in every step and hook of this one.
   */
  after<N2 extends string, P2 extends object>(
    other: Workflow<N2, object, unknown, object, P2>,
  ): Workflow<Name, Results, Data, Ctx & { [K in N2]: P2 }, Pub> {
    if (!isWorkflow(other)) {
      throw new WorkflowConfigError(
        `workflow '${this.definition.name}': after() needs a workflow, got ${typeof other}`,
      );
    }
    if (!this.definition.dependsOn.includes(other)) this.definition.dependsOn.push(other);
    return this as unknown as Workflow<Name, Results, Data, Ctx & { [K in N2]: P2 }, Pub>;
  }

  /**
   * Publishes a value for the workflows that run after this one. `from` runs after every
   * iteration whose steps all succeeded; the latest value wins.
   */
  publish<K extends string, V>(
    key: K,
    from: (results: Results, data: Data) => V,
  ): Workflow<Name, Results, Data, Ctx, Pub & { [P in K]: V }> {
    checkName('published key', key);
    if (this.definition.publishes.some((p) => p.key === key)) {
      throw new WorkflowConfigError(
        `workflow '${this.definition.name}': '${key}' is published twice`,
      );
    }
    this.definition.publishes.push({ key, from: from as PublishDefinition['from'] });
    return this as unknown as Workflow<Name, Results, Data, Ctx, Pub & { [P in K]: V }>;
  }
}

/** Starts a workflow definition. */
export function workflow<Name extends string>(
  name: Name,
  options?: WorkflowOptions,
): Workflow<Name, Record<never, never>, undefined, Record<never, never>, Record<never, never>> {
  return new Workflow(name, options);
}

export function isWorkflow(value: unknown): value is AnyWorkflow {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[WORKFLOW_BRAND] === true
  );
}

/** Convenience for steps: the type of a step's result in a workflow. */
export type ResultOf<W, S extends string> =
  W extends Workflow<string, infer R, unknown, object, object>
    ? S extends keyof R
      ? R[S]
      : never
    : never;

export type { HttpResponse };
