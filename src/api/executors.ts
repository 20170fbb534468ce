// Executors: how a workflow's iterations are started. Closed model (constant-vus,
// ramping-vus, shared-iterations): a fixed set of virtual users loop. Open model
// (constant-arrival-rate, ramping-arrival-rate): iterations start on a schedule whatever the
// service does. Validated here, at definition time; the engine runs them.
import { WorkflowConfigError } from '../errors.js';
import { parseDuration, type Duration } from './duration.js';

export interface Stage {
  durationMs: number;
  target: number;
}

interface Common {
  /** How long in-flight iterations may finish after the executor stops starting new ones. */
  gracefulStopMs: number;
}

export type ExecutorConfig =
  | (Common & { type: 'constant-vus'; vus: number; durationMs: number })
  | (Common & { type: 'ramping-vus'; startVus: number; stages: Stage[] })
  | (Common & { type: 'shared-iterations'; vus: number; iterations: number; maxDurationMs: number })
  | (Common & {
      type: 'constant-arrival-rate';
      rate: number;
      timeUnitMs: number;
      durationMs: number;
      preAllocatedVus: number;
      maxVus: number;
    })
  | (Common & {
      type: 'ramping-arrival-rate';
      startRate: number;
      timeUnitMs: number;
      stages: Stage[];
      preAllocatedVus: number;
      maxVus: number;
    });

export type ExecutorType = ExecutorConfig['type'];
export const EXECUTOR_TYPES: readonly ExecutorType[] = [
  'constant-vus',
  'ramping-vus',
  'shared-iterations',
  'constant-arrival-rate',
  'ramping-arrival-rate',
];

/** A limit on VUs per workflow, so a typo cannot ask for a billion sockets. */
export const MAX_VUS = 1_000_000;
const DEFAULT_GRACEFUL_STOP: Duration = '30s';

export interface StageInput {
  duration: Duration;
  target: number;
}

function fail(executor: string, message: string): never {
  throw new WorkflowConfigError(`${executor}: ${message}`);
}

function duration(
  executor: string,
  field: string,
  value: Duration | undefined,
  fallback?: Duration,
): number {
  if (value === undefined) {
    if (fallback === undefined) fail(executor, `'${field}' is required (a duration such as '30s')`);
    value = fallback;
  }
  return parseDuration(value, `${executor}: '${field}'`, (m) => new WorkflowConfigError(m));
}

function positiveDuration(
  executor: string,
  field: string,
  value: Duration | undefined,
  fallback?: Duration,
): number {
  const ms = duration(executor, field, value, fallback);
  if (ms <= 0) fail(executor, `'${field}' must be longer than zero`);
  return ms;
}

function integer(
  executor: string,
  field: string,
  value: unknown,
  min: number,
  fallback?: number,
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_VUS * 1000) {
    fail(executor, `'${field}' must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return v;
}

function rate(executor: string, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(executor, `'${field}' must be a number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function stages(executor: string, input: unknown, isRate: boolean): Stage[] {
  if (!Array.isArray(input) || input.length === 0) {
    fail(executor, `'stages' must be a non-empty list of { duration, target }`);
  }
  return input.map((raw: unknown, i) => {
    const s = (raw ?? {}) as Partial<StageInput>;
    const durationMs = duration(executor, `stages[${i}].duration`, s.duration);
    const target = isRate
      ? rate(executor, `stages[${i}].target`, s.target, 0)
      : integer(executor, `stages[${i}].target`, s.target, 0);
    if (!isRate && target > MAX_VUS) fail(executor, `stages[${i}].target exceeds ${MAX_VUS} VUs`);
    return { durationMs, target };
  });
}

function vus(
  executor: string,
  field: string,
  value: unknown,
  min: number,
  fallback?: number,
): number {
  const n = integer(executor, field, value, min, fallback);
  if (n > MAX_VUS) fail(executor, `'${field}' is ${n}; at most ${MAX_VUS} VUs per workflow`);
  return n;
}

/** The open model's VU pool: pre-allocated, growing up to maxVus (default: no growth). */
function vuPool(
  executor: string,
  options: { preAllocatedVus: number; maxVus?: number },
): { preAllocatedVus: number; maxVus: number } {
  const preAllocatedVus = vus(executor, 'preAllocatedVus', options.preAllocatedVus, 1);
  const maxVus = vus(executor, 'maxVus', options.maxVus, 1, preAllocatedVus);
  if (maxVus < preAllocatedVus) {
    fail(executor, `'maxVus' (${maxVus}) is below 'preAllocatedVus' (${preAllocatedVus})`);
  }
  return { preAllocatedVus, maxVus };
}

/** `vus` virtual users each loop over the workflow's steps for `duration`. */
export function constantVus(options: {
  vus: number;
  duration: Duration;
  gracefulStop?: Duration;
}): ExecutorConfig {
  const name = 'constant-vus';
  return {
    type: name,
    vus: vus(name, 'vus', options.vus, 1),
    durationMs: positiveDuration(name, 'duration', options.duration),
    gracefulStopMs: duration(name, 'gracefulStop', options.gracefulStop, DEFAULT_GRACEFUL_STOP),
  };
}

/** Virtual users ramp linearly from `startVus` through each stage's `target` over its `duration`. */
export function rampingVus(options: {
  startVus?: number;
  stages: StageInput[];
  gracefulStop?: Duration;
}): ExecutorConfig {
  const name = 'ramping-vus';
  return {
    type: name,
    startVus: vus(name, 'startVus', options.startVus, 0, 0),
    stages: stages(name, options.stages, false),
    gracefulStopMs: duration(name, 'gracefulStop', options.gracefulStop, DEFAULT_GRACEFUL_STOP),
  };
}

/** `iterations` iterations in total, shared by `vus` virtual users, stopped after `maxDuration`. */
export function sharedIterations(options: {
  vus?: number;
  iterations: number;
  maxDuration?: Duration;
  gracefulStop?: Duration;
}): ExecutorConfig {
  const name = 'shared-iterations';
  return {
    type: name,
    vus: vus(name, 'vus', options.vus, 1, 1),
    iterations: integer(name, 'iterations', options.iterations, 1),
    maxDurationMs: positiveDuration(name, 'maxDuration', options.maxDuration, '10m'),
    gracefulStopMs: duration(name, 'gracefulStop', options.gracefulStop, DEFAULT_GRACEFUL_STOP),
  };
}

/** Starts `rate` iterations per `timeUnit` for `duration`, whatever the service does (open model). */
export function constantArrivalRate(options: {
  rate: number;
  timeUnit?: Duration;
  duration: Duration;
  preAllocatedVus: number;
  maxVus?: number;
  gracefulStop?: Duration;
}): ExecutorConfig {
  const name = 'constant-arrival-rate';
  const { preAllocatedVus, maxVus } = vuPool(name, options);
  const r = rate(name, 'rate', options.rate, Number.MIN_VALUE);
  return {
    type: name,
    rate: r,
    timeUnitMs: positiveDuration(name, 'timeUnit', options.timeUnit, '1s'),
    durationMs: positiveDuration(name, 'duration', options.duration),
    preAllocatedVus,
    maxVus,
    gracefulStopMs: duration(name, 'gracefulStop', options.gracefulStop, DEFAULT_GRACEFUL_STOP),
  };
}

/** The arrival rate changes linearly from `startRate` through each stage's `target` (open model). */
export function rampingArrivalRate(options: {
  startRate?: number;
  timeUnit?: Duration;
  stages: StageInput[];
  preAllocatedVus: number;
  maxVus?: number;
  gracefulStop?: Duration;
}): ExecutorConfig {
  const name = 'ramping-arrival-rate';
  const { preAllocatedVus, maxVus } = vuPool(name, options);
  return {
    type: name,
    startRate: rate(name, 'startRate', options.startRate ?? 0, 0),
    timeUnitMs: positiveDuration(name, 'timeUnit', options.timeUnit, '1s'),
    stages: stages(name, options.stages, true),
    preAllocatedVus,
    maxVus,
    gracefulStopMs: duration(name, 'gracefulStop', options.gracefulStop, DEFAULT_GRACEFUL_STOP),
  };
}

/** Planned length of an executor's active phase (without graceful stop). */
export function plannedDurationMs(config: ExecutorConfig): number {
  switch (config.type) {
    case 'constant-vus':
    case 'constant-arrival-rate':
      return config.durationMs;
    case 'ramping-vus':
    case 'ramping-arrival-rate':
      return config.stages.reduce((sum, s) => sum + s.durationMs, 0);
    case 'shared-iterations':
      return config.maxDurationMs;
  }
}

/** The most VUs an executor may run at once. */
export function maxVusOf(config: ExecutorConfig): number {
  switch (config.type) {
    case 'constant-vus':
    case 'shared-iterations':
      return config.vus;
    case 'ramping-vus':
      return Math.max(config.startVus, ...config.stages.map((s) => s.target));
    case 'constant-arrival-rate':
    case 'ramping-arrival-rate':
      return config.maxVus;
  }
}

/** Whether the executor is an open model (iterations started on a schedule). */
export function isOpenModel(config: ExecutorConfig): boolean {
  return config.type === 'constant-arrival-rate' || config.type === 'ramping-arrival-rate';
}
