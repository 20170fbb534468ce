// Turns workflow definitions into a validated run plan: the step DAG of each workflow and
// the workflow DAG of the file (cycles rejected with the cycle named), CLI overrides applied,
// thresholds parsed, and executors split into per-thread shares.
import { isOpenModel, MAX_VUS, type ExecutorConfig, type Stage } from '../api/executors.js';
import { isWorkflow, type AnyWorkflow, type WorkflowDefinition } from '../api/workflow.js';
import { VITAL_METRICS } from '../clients/browser/vitals.js';
import { StepCycleError, WorkflowConfigError, WorkflowCycleError } from '../errors.js';
import { parseThreshold, type ParsedThreshold } from '../stats/thresholds.js';

/** Metrics clients record by themselves (thresholds may name them without the file doing so). */
const CLIENT_METRIC_NAMES: ReadonlySet<string> = new Set(Object.values(VITAL_METRICS));

export interface StepGraph {
  /** Step indexes in an order where every step comes after its dependencies. */
  readonly order: readonly number[];
  /** deps[i]: indexes of the steps step i runs after. */
  readonly deps: readonly (readonly number[])[];
}

export interface WorkflowPlan {
  readonly definition: WorkflowDefinition;
  readonly name: string;
  readonly graph: StepGraph;
  readonly thresholds: readonly ParsedThreshold[];
  /** Names of the workflows this one runs after. */
  readonly dependsOn: readonly string[];
}

export interface RunPlan {
  /** Workflows in an order where each comes after those it depends on. */
  readonly workflows: readonly WorkflowPlan[];
}

/** What the command line may override in every workflow of the file. */
export interface ExecutorOverrides {
  vus?: number;
  durationMs?: number;
  rate?: number;
}

/** Finds every workflow a module exports (default, named, or in arrays), plus their dependencies. */
export function collectWorkflows(moduleExports: Record<string, unknown>): AnyWorkflow[] {
  const found: AnyWorkflow[] = [];
  const visit = (value: unknown): void => {
    if (isWorkflow(value)) {
      if (found.includes(value)) return;
      found.push(value);
      for (const dep of value.definition.dependsOn) visit(dep);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item);
    }
  };
  for (const value of Object.values(moduleExports)) visit(value);
  return found;
}

/** Depth-first search for a cycle; returns it as a path that starts and ends on the same node. */
function findCycle(count: number, edges: (i: number) => readonly number[]): number[] | null {
  const state = new Uint8Array(count); // 0 new, 1 on stack, 2 done
  const stack: number[] = [];
  const dfs = (node: number): number[] | null => {
    state[node] = 1;
    stack.push(node);
    for (const next of edges(node)) {
      if (state[next] === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (state[next] === 0) {
        const cycle = dfs(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state[node] = 2;
    return null;
  };
  for (let i = 0; i < count; i++) {
    if (state[i] === 0) {
      const cycle = dfs(i);
      if (cycle) return cycle;
    }
  }
  return null;
}

function topoOrder(count: number, edges: (i: number) => readonly number[]): number[] {
  const order: number[] = [];
  const seen = new Uint8Array(count);
  const visit = (node: number): void => {
    if (seen[node]) return;
    seen[node] = 1;
    for (const dep of edges(node)) visit(dep);
    order.push(node);
  };
  for (let i = 0; i < count; i++) visit(i);
  return order;
}

export function buildStepGraph(def: WorkflowDefinition): StepGraph {
  if (def.steps.length === 0) {
    throw new WorkflowConfigError(
      `workflow '${def.name}' has no steps; add one with .step(name, fn)`,
    );
  }
  const index = new Map(def.steps.map((s, i) => [s.name, i]));
  const deps = def.steps.map((step) =>
    step.after.map((dep) => {
      const i = index.get(dep);
      if (i === undefined) {
        throw new WorkflowConfigError(
          `workflow '${def.name}': step '${step.name}' runs after '${dep}', which is not a step of this workflow (steps: ${def.steps.map((s) => s.name).join(', ')})`,
        );
      }
      return i;
    }),
  );
  const cycle = findCycle(deps.length, (i) => deps[i] ?? []);
  if (cycle) {
    throw new StepCycleError(
      def.name,
      cycle.reverse().map((i) => def.steps[i]?.name ?? String(i)),
    );
  }
  for (const check of def.checks) {
    if (!index.has(check.step)) {
      throw new WorkflowConfigError(
        `workflow '${def.name}': check '${check.name}' is on '${check.step}', which is not a step`,
      );
    }
  }
  return { order: topoOrder(deps.length, (i) => deps[i] ?? []), deps };
}

/** Custom metric names a workflow file creates with a literal name: `metrics.counter('orders')`. */
export function literalMetricNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/\.(?:counter|gauge|rate|trend)\(\s*(['"`])([^'"`\\$]+)\1\s*\)/g)) {
    if (m[2] !== undefined) names.add(m[2]);
  }
  return names;
}

/**
 * Rejects a threshold whose target is neither a step, `*`, `errors`, a request group
 * (`http{name:…}`: named at request time, so any is accepted) nor a custom metric the file
 * creates with a literal name, naming the targets it knows.
 */
function checkThresholdTargets(def: AnyWorkflow['definition'], metrics: ReadonlySet<string>): void {
  const steps = def.steps.map((s) => s.name);
  for (const target of def.thresholds.keys()) {
    if (target === '*' || target === 'errors' || steps.includes(target) || metrics.has(target))
      continue;
    if (CLIENT_METRIC_NAMES.has(target)) continue; // recorded by a client, e.g. browser_lcp
    if (/^[a-z0-9]+\{.+\}$/.test(target)) continue; // a request group such as http{name:GET /}
    const known = [
      "'*' (all steps)",
      "'errors'",
      ...steps.map((s) => `step '${s}'`),
      ...[...metrics].map((m) => `metric '${m}'`),
      "request groups 'http{name:…}'",
    ];
    throw new WorkflowConfigError(
      `workflow '${def.name}'${def.definedAt ? ` (${def.definedAt})` : ''}: a threshold names '${target}', which is no step or custom metric of this workflow; known targets: ${known.join(', ')}. A custom metric is known when the file creates it with a literal name, e.g. metrics.counter('${target}')`,
    );
  }
}

export function buildPlan(
  workflows: readonly AnyWorkflow[],
  overrides: ExecutorOverrides = {},
  /** Custom metric names the file uses (see literalMetricNames); unchecked when absent. */
  metricNames?: ReadonlySet<string>,
): RunPlan {
  if (workflows.length === 0) {
    throw new WorkflowConfigError(
      "the file exports no workflow; export one, e.g. `export default workflow('name').step('home', ({ http }) => http.get('/'))`",
    );
  }
  const names = new Map<string, number>();
  workflows.forEach((w, i) => {
    const name = w.definition.name;
    if (names.has(name))
      throw new WorkflowConfigError(`two workflows are named '${name}'; names must be unique`);
    names.set(name, i);
  });
  const deps = workflows.map((w) =>
    w.definition.dependsOn.map((d) => names.get(d.definition.name) ?? -1),
  );
  const cycle = findCycle(workflows.length, (i) => deps[i] ?? []);
  if (cycle)
    throw new WorkflowCycleError(
      cycle.reverse().map((i) => workflows[i]?.definition.name ?? String(i)),
    );
  const order = topoOrder(workflows.length, (i) => deps[i] ?? []);
  const plans = order.map((i): WorkflowPlan => {
    const def = (workflows[i] as AnyWorkflow).definition;
    def.executor = applyOverrides(def.name, def.executor, overrides);
    if (metricNames) checkThresholdTargets(def, metricNames);
    const thresholds: ParsedThreshold[] = [];
    for (const [target, expressions] of def.thresholds) {
      for (const expression of expressions) {
        const parsed = parseThreshold(target, expression);
        const abort = def.abortOnFail.find(
          (a) => a.target === target && a.expression === expression,
        );
        thresholds.push(abort ? { ...parsed, abortOnFail: { delayMs: abort.delayMs } } : parsed);
      }
    }
    return {
      definition: def,
      name: def.name,
      graph: buildStepGraph(def),
      thresholds,
      dependsOn: def.dependsOn.map((d) => d.definition.name),
    };
  });
  return { workflows: plans };
}

function scaleStages(stages: readonly Stage[], factor: number, round: boolean): Stage[] {
  return stages.map((s) => ({
    durationMs: s.durationMs,
    target: round ? Math.round(s.target * factor) : s.target * factor,
  }));
}

function stretchStages(stages: readonly Stage[], totalMs: number): Stage[] {
  const current = stages.reduce((sum, s) => sum + s.durationMs, 0);
  const factor = current > 0 ? totalMs / current : 1;
  return stages.map((s) => ({ durationMs: s.durationMs * factor, target: s.target }));
}

/**
 * Applies `--vus`, `--duration` and `--rate` to an executor: constant executors take them as
 * they are; ramping ones are scaled so their peak equals the value and their stages stretch
 * to the duration; arrival-rate executors take `--vus` as their pre-allocated VU pool.
 */
export function applyOverrides(
  workflow: string,
  config: ExecutorConfig,
  o: ExecutorOverrides,
): ExecutorConfig {
  if (o.vus === undefined && o.durationMs === undefined && o.rate === undefined) return config;
  if (o.vus !== undefined && (o.vus < 1 || o.vus > MAX_VUS)) {
    throw new WorkflowConfigError(`--vus must be between 1 and ${MAX_VUS}`);
  }
  if (o.rate !== undefined && !isOpenModel(config)) {
    throw new WorkflowConfigError(
      `--rate applies to arrival-rate executors, but workflow '${workflow}' uses ${config.type}; use --vus for closed-model executors`,
    );
  }
  switch (config.type) {
    case 'constant-vus':
      return { ...config, vus: o.vus ?? config.vus, durationMs: o.durationMs ?? config.durationMs };
    case 'ramping-vus': {
      const peak = Math.max(config.startVus, ...config.stages.map((s) => s.target));
      const factor = o.vus !== undefined && peak > 0 ? o.vus / peak : 1;
      let stages = scaleStages(config.stages, factor, true);
      if (o.durationMs !== undefined) stages = stretchStages(stages, o.durationMs);
      return { ...config, startVus: Math.round(config.startVus * factor), stages };
    }
    case 'shared-iterations':
      return {
        ...config,
        vus: o.vus ?? config.vus,
        maxDurationMs: o.durationMs ?? config.maxDurationMs,
      };
    case 'constant-arrival-rate': {
      const pre = o.vus ?? config.preAllocatedVus;
      return {
        ...config,
        rate: o.rate ?? config.rate,
        durationMs: o.durationMs ?? config.durationMs,
        preAllocatedVus: pre,
        maxVus: Math.max(pre, config.maxVus),
      };
    }
    case 'ramping-arrival-rate': {
      const peak = Math.max(config.startRate, ...config.stages.map((s) => s.target));
      const factor = o.rate !== undefined && peak > 0 ? o.rate / peak : 1;
      let stages = scaleStages(config.stages, factor, false);
      if (o.durationMs !== undefined) stages = stretchStages(stages, o.durationMs);
      const pre = o.vus ?? config.preAllocatedVus;
      return {
        ...config,
        startRate: config.startRate * factor,
        stages,
        preAllocatedVus: pre,
        maxVus: Math.max(pre, config.maxVus),
      };
    }
  }
}

/** Share `i` of `total` split `n` ways: shares differ by at most one and sum to `total`. */
export function shareOf(total: number, i: number, n: number): number {
  return Math.floor((total * (i + 1)) / n) - Math.floor((total * i) / n);
}

export interface ExecutorShare {
  config: ExecutorConfig;
  /** Fraction of the schedule interval by which this thread's open-model schedule is offset. */
  phase: number;
}

/**
 * Splits an executor across `n` threads; a thread whose share is empty gets null. VUs and
 * iterations split into integer shares summing to the total; rates split evenly with
 * staggered phases so arrivals interleave.
 */
export function splitExecutor(config: ExecutorConfig, n: number): (ExecutorShare | null)[] {
  return Array.from({ length: n }, (_, i): ExecutorShare | null => {
    switch (config.type) {
      case 'constant-vus': {
        const vus = shareOf(config.vus, i, n);
        return vus > 0 ? { config: { ...config, vus }, phase: 0 } : null;
      }
      case 'ramping-vus': {
        const stages = config.stages.map((s) => ({
          durationMs: s.durationMs,
          target: shareOf(s.target, i, n),
        }));
        const startVus = shareOf(config.startVus, i, n);
        const peak = Math.max(startVus, ...stages.map((s) => s.target));
        return peak > 0 ? { config: { ...config, startVus, stages }, phase: 0 } : null;
      }
      case 'shared-iterations': {
        const iterations = shareOf(config.iterations, i, n);
        const vus = Math.max(1, Math.min(shareOf(config.vus, i, n), iterations));
        return iterations > 0 ? { config: { ...config, vus, iterations }, phase: 0 } : null;
      }
      case 'constant-arrival-rate':
      case 'ramping-arrival-rate': {
        const preAllocatedVus = Math.max(1, shareOf(config.preAllocatedVus, i, n));
        const maxVus = Math.max(preAllocatedVus, shareOf(config.maxVus, i, n));
        const phase = i / n;
        if (config.type === 'constant-arrival-rate') {
          return { config: { ...config, rate: config.rate / n, preAllocatedVus, maxVus }, phase };
        }
        return {
          config: {
            ...config,
            startRate: config.startRate / n,
            stages: config.stages.map((s) => ({ durationMs: s.durationMs, target: s.target / n })),
            preAllocatedVus,
            maxVus,
          },
          phase,
        };
      }
    }
  });
}
