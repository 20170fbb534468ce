// Owns the plan of a run as plain, versioned data (`PlanSpec` v1): what a run needs to know of
// each workflow without its code (executor, step names, published keys, thresholds, hooks,
// dependencies). `planSpecOf` computes it from a built plan; `validatePlanSpec` checks one that
// came from another process, field by field, and never trusts it.
import { plannedDurationMs, type ExecutorConfig } from '../api/executors.js';
import type { RunPlan } from '../engine/plan.js';
import { describeError } from '../errors.js';
import { parseThreshold, type ParsedThreshold } from '../stats/thresholds.js';
import {
  PlanSpecError,
  isRecord,
  kindOf,
  MAX_SPEC_DURATION_MS,
  record,
  validateExecutorConfig,
  wholeNumber,
} from './executor-spec.js';

export { PlanSpecError } from './executor-spec.js';

export const PLAN_SPEC_VERSION = 1;
/** Workflows in one plan. */
export const MAX_SPEC_WORKFLOWS = 256;
/** Steps, published keys or thresholds of one workflow. */
export const MAX_SPEC_ITEMS = 1000;
/** Longest workflow, step or published-key name (as the workflow API allows). */
export const MAX_SPEC_NAME_CHARS = 100;
/** Longest threshold target or expression. */
export const MAX_SPEC_EXPRESSION_CHARS = 1000;
/** Longest hook timeout. */
export const MAX_HOOK_TIMEOUT_MS = 3_600_000;

export interface ThresholdSpec {
  /** A step name, `*`, `errors`, a request group or a custom metric. */
  target: string;
  /** As written, e.g. `p(95) < 300ms`. */
  expression: string;
  /** Stops the run as soon as it fails, once the workflow has run `delayMs`. */
  abortOnFail?: { delayMs: number };
}

export interface WorkflowSpec {
  name: string;
  /** Workflows this one runs after; each comes earlier in `PlanSpec.workflows`. */
  dependsOn: string[];
  executor: ExecutorConfig;
  /** Step names, in declaration order. */
  steps: string[];
  /** Keys the workflow publishes to its dependents. */
  publishes: string[];
  thresholds: ThresholdSpec[];
  /** The hooks it has, with their timeouts; null when it has none. */
  setup: { timeoutMs: number } | null;
  teardown: { timeoutMs: number } | null;
}

export interface PlanSpec {
  version: typeof PLAN_SPEC_VERSION;
  /** In dependency order: each after those it depends on. */
  workflows: WorkflowSpec[];
  /** The run's target override (`--target`): every workflow's base URL. */
  baseUrl?: string;
}

/** The serialisable plan of `plan` (built by buildPlan, overrides applied). */
export function planSpecOf(plan: RunPlan): PlanSpec {
  return {
    version: PLAN_SPEC_VERSION,
    workflows: plan.workflows.map((w) => {
      const def = w.definition;
      return {
        name: w.name,
        dependsOn: [...w.dependsOn],
        executor: structuredClone(def.executor),
        steps: def.steps.map((s) => s.name),
        publishes: def.publishes.map((p) => p.key),
        thresholds: w.thresholds.map((t) => ({
          target: t.target,
          expression: t.expression,
          ...(t.abortOnFail !== undefined
            ? { abortOnFail: { delayMs: t.abortOnFail.delayMs } }
            : {}),
        })),
        setup: def.setup ? { timeoutMs: def.setup.timeoutMs } : null,
        teardown: def.teardown ? { timeoutMs: def.teardown.timeoutMs } : null,
      };
    }),
  };
}

/**
 * Planned length of a whole job: along the longest chain of dependent workflows, each its
 * executor's planned duration plus its graceful stop (hooks not counted).
 */
export function plannedJobMs(spec: PlanSpec): number {
  const byName = new Map(spec.workflows.map((w) => [w.name, w]));
  const memo = new Map<string, number>();
  const chain = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const w = byName.get(name);
    if (w === undefined) return 0;
    memo.set(name, 0); // a (never valid) cycle ends here instead of recursing
    const own = plannedDurationMs(w.executor) + w.executor.gracefulStopMs;
    const value = own + Math.max(0, ...w.dependsOn.map(chain));
    memo.set(name, value);
    return value;
  };
  return Math.max(0, ...spec.workflows.map((w) => chain(w.name)));
}

/** The thresholds of `w`, parsed (a validated spec's always parse). */
export function thresholdsOf(w: WorkflowSpec): ParsedThreshold[] {
  return w.thresholds.map((t) => {
    const parsed = parseThreshold(t.target, t.expression);
    return t.abortOnFail === undefined ? parsed : { ...parsed, abortOnFail: { ...t.abortOnFail } };
  });
}

function name(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_SPEC_NAME_CHARS)
    throw new PlanSpecError(
      field,
      `must be a non-empty name of at most ${MAX_SPEC_NAME_CHARS} characters, got ${kindOf(v)}`,
    );
  return v;
}

function list(v: unknown, field: string, min = 0): unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > MAX_SPEC_ITEMS)
    throw new PlanSpecError(
      field,
      `must be a list of ${min} to ${MAX_SPEC_ITEMS} items, got ${kindOf(v)}`,
    );
  return v;
}

function uniqueNames(v: unknown, field: string, min = 0): string[] {
  const names = list(v, field, min).map((item, i) => name(item, `${field}[${i}]`));
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) throw new PlanSpecError(`${field}[${i}]`, `repeats '${n}'`);
  });
  return names;
}

function hook(v: unknown, field: string): { timeoutMs: number } | null {
  if (v === null) return null;
  const h = record(v, field, ['timeoutMs']);
  return { timeoutMs: wholeNumber(h['timeoutMs'], `${field}.timeoutMs`, 1, MAX_HOOK_TIMEOUT_MS) };
}

function expression(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_SPEC_EXPRESSION_CHARS)
    throw new PlanSpecError(
      field,
      `must be a non-empty string of at most ${MAX_SPEC_EXPRESSION_CHARS} characters, got ${kindOf(v)}`,
    );
  return v;
}

function thresholds(v: unknown, field: string): ThresholdSpec[] {
  return list(v, field).map((raw, i) => {
    const at = `${field}[${i}]`;
    const t = record(raw, at, ['target', 'expression'], ['abortOnFail']);
    const spec: ThresholdSpec = {
      target: expression(t['target'], `${at}.target`),
      expression: expression(t['expression'], `${at}.expression`),
    };
    if (t['abortOnFail'] !== undefined) {
      const abort = record(t['abortOnFail'], `${at}.abortOnFail`, ['delayMs']);
      spec.abortOnFail = {
        delayMs: wholeNumber(
          abort['delayMs'],
          `${at}.abortOnFail.delayMs`,
          0,
          MAX_SPEC_DURATION_MS,
        ),
      };
    }
    try {
      parseThreshold(spec.target, spec.expression);
    } catch (error) {
      throw new PlanSpecError(`${at}.expression`, `does not parse: ${describeError(error)}`);
    }
    return spec;
  });
}

const WORKFLOW_FIELDS = [
  'name',
  'dependsOn',
  'executor',
  'steps',
  'publishes',
  'thresholds',
  'setup',
  'teardown',
];

/**
 * Checks a plan spec from another process: version, bounds, names unique, every dependency an
 * earlier workflow (so the plan is a DAG in order), executors, hooks and threshold expressions.
 * Returns a fresh typed copy, or throws a PlanSpecError naming the field.
 */
export function validatePlanSpec(v: unknown): PlanSpec {
  if (!isRecord(v)) throw new PlanSpecError('(the spec)', `must be an object, got ${kindOf(v)}`);
  if (v['version'] !== PLAN_SPEC_VERSION)
    throw new PlanSpecError(
      'version',
      `must be ${PLAN_SPEC_VERSION} (this Salvo reads plan spec v${PLAN_SPEC_VERSION}), got ${kindOf(v['version'])}`,
    );
  const spec = record(v, '(the spec)', ['version', 'workflows'], ['baseUrl']);
  const baseUrl = spec['baseUrl'] === undefined ? undefined : targetUrl(spec['baseUrl']);
  const raw = spec['workflows'];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SPEC_WORKFLOWS)
    throw new PlanSpecError(
      'workflows',
      `must be a list of 1 to ${MAX_SPEC_WORKFLOWS} workflows, got ${kindOf(raw)}`,
    );
  const seen = new Set<string>();
  const workflows = raw.map((item: unknown, i): WorkflowSpec => {
    const at = `workflows[${i}]`;
    const w = record(item, at, WORKFLOW_FIELDS);
    const workflow = name(w['name'], `${at}.name`);
    if (seen.has(workflow)) throw new PlanSpecError(`${at}.name`, `repeats '${workflow}'`);
    const dependsOn = uniqueNames(w['dependsOn'], `${at}.dependsOn`);
    dependsOn.forEach((dep, j) => {
      if (!seen.has(dep))
        throw new PlanSpecError(
          `${at}.dependsOn[${j}]`,
          `names '${dep}', which is not a workflow listed before '${workflow}'`,
        );
    });
    seen.add(workflow);
    return {
      name: workflow,
      dependsOn,
      executor: validateExecutorConfig(w['executor'], `${at}.executor`),
      steps: uniqueNames(w['steps'], `${at}.steps`, 1),
      publishes: uniqueNames(w['publishes'], `${at}.publishes`),
      thresholds: thresholds(w['thresholds'], `${at}.thresholds`),
      setup: hook(w['setup'], `${at}.setup`),
      teardown: hook(w['teardown'], `${at}.teardown`),
    };
  });
  return { version: PLAN_SPEC_VERSION, workflows, ...(baseUrl !== undefined ? { baseUrl } : {}) };
}

function targetUrl(v: unknown): string {
  if (typeof v === 'string' && v.length <= 2048 && URL.canParse(v)) {
    const { protocol } = new URL(v);
    if (protocol === 'http:' || protocol === 'https:') return v;
  }
  throw new PlanSpecError(
    'baseUrl',
    `must be an http(s) URL of at most 2048 characters, got ${kindOf(v)}`,
  );
}
