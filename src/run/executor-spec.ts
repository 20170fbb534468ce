// Owns executors as plain data that crosses machines: checking an executor config (or a share
// of one) that came from another process field by field, and splitting a share further over a
// placement's units with open-model phases composed, so arrivals interleave across all units.
import { MAX_VUS, type ExecutorConfig, type Stage } from '../api/executors.js';
import { SalvoError } from '../errors.js';
import { splitExecutor, type ExecutorShare } from '../engine/plan.js';

/** The longest duration a spec may name (a day: longer is a typo, not a test). */
export const MAX_SPEC_DURATION_MS = 24 * 3600 * 1000;
/** Stages of one ramping executor. */
export const MAX_STAGES = 1000;
/** Iterations of one shared-iterations executor. */
export const MAX_ITERATIONS = MAX_VUS * 1000;

/** A spec (plan or executor) from another process is malformed; `field` names where. */
export class PlanSpecError extends SalvoError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super('E_WORKFLOW_CONFIG', `plan spec: ${field} ${problem}`);
    this.field = field;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` as an object with exactly the keys of `required` and possibly `optional`. */
export function record(
  v: unknown,
  field: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  if (!isRecord(v)) throw new PlanSpecError(field, `must be an object, got ${kindOf(v)}`);
  for (const key of required)
    if (!(key in v)) throw new PlanSpecError(`${field}.${key}`, 'is missing');
  for (const key of Object.keys(v))
    if (!required.includes(key) && !optional.includes(key))
      throw new PlanSpecError(`${field}.${key}`, 'is not a known field');
  return v;
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 40))}`;
  if (typeof v === 'number') return String(v);
  return `a ${typeof v}`;
}

export function wholeNumber(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw new PlanSpecError(
      field,
      `must be a whole number from ${min} to ${max}, got ${kindOf(v)}`,
    );
  return v;
}

function realNumber(v: unknown, field: string, min: number, max: number, above = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (above && v === min) || v > max)
    throw new PlanSpecError(
      field,
      `must be a number ${above ? 'above' : 'from'} ${min}${above ? ' and at most' : ' to'} ${max}, got ${kindOf(v)}`,
    );
  return v;
}

function durationMs(v: unknown, field: string, positive = false): number {
  return realNumber(v, field, 0, MAX_SPEC_DURATION_MS, positive);
}

function stagesOf(v: unknown, field: string, rates: boolean): Stage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_STAGES)
    throw new PlanSpecError(field, `must be a list of 1 to ${MAX_STAGES} stages`);
  return v.map((raw: unknown, i) => {
    const at = `${field}[${i}]`;
    const s = record(raw, at, ['durationMs', 'target']);
    return {
      durationMs: durationMs(s['durationMs'], `${at}.durationMs`),
      target: rates
        ? realNumber(s['target'], `${at}.target`, 0, Number.MAX_VALUE)
        : wholeNumber(s['target'], `${at}.target`, 0, MAX_VUS),
    };
  });
}

function vuPool(
  e: Record<string, unknown>,
  field: string,
): { preAllocatedVus: number; maxVus: number } {
  const preAllocatedVus = wholeNumber(e['preAllocatedVus'], `${field}.preAllocatedVus`, 1, MAX_VUS);
  const maxVus = wholeNumber(e['maxVus'], `${field}.maxVus`, preAllocatedVus, MAX_VUS);
  return { preAllocatedVus, maxVus };
}

const COMMON = ['type', 'gracefulStopMs'];

/** Checks an executor config from another process; returns a fresh copy or throws PlanSpecError. */
export function validateExecutorConfig(v: unknown, field: string): ExecutorConfig {
  const type = isRecord(v) ? v['type'] : undefined;
  const stop = (e: Record<string, unknown>): number =>
    durationMs(e['gracefulStopMs'], `${field}.gracefulStopMs`);
  switch (type) {
    case 'constant-vus': {
      const e = record(v, field, [...COMMON, 'vus', 'durationMs']);
      return {
        type,
        vus: wholeNumber(e['vus'], `${field}.vus`, 1, MAX_VUS),
        durationMs: durationMs(e['durationMs'], `${field}.durationMs`, true),
        gracefulStopMs: stop(e),
      };
    }
    case 'ramping-vus': {
      const e = record(v, field, [...COMMON, 'startVus', 'stages']);
      return {
        type,
        startVus: wholeNumber(e['startVus'], `${field}.startVus`, 0, MAX_VUS),
        stages: stagesOf(e['stages'], `${field}.stages`, false),
        gracefulStopMs: stop(e),
      };
    }
    case 'shared-iterations': {
      const e = record(v, field, [...COMMON, 'vus', 'iterations', 'maxDurationMs']);
      return {
        type,
        vus: wholeNumber(e['vus'], `${field}.vus`, 1, MAX_VUS),
        iterations: wholeNumber(e['iterations'], `${field}.iterations`, 1, MAX_ITERATIONS),
        maxDurationMs: durationMs(e['maxDurationMs'], `${field}.maxDurationMs`, true),
        gracefulStopMs: stop(e),
      };
    }
    case 'constant-arrival-rate': {
      const keys = [...COMMON, 'rate', 'timeUnitMs', 'durationMs', 'preAllocatedVus', 'maxVus'];
      const e = record(v, field, keys);
      return {
        type,
        rate: realNumber(e['rate'], `${field}.rate`, 0, Number.MAX_VALUE, true),
        timeUnitMs: durationMs(e['timeUnitMs'], `${field}.timeUnitMs`, true),
        durationMs: durationMs(e['durationMs'], `${field}.durationMs`, true),
        ...vuPool(e, field),
        gracefulStopMs: stop(e),
      };
    }
    case 'ramping-arrival-rate': {
      const keys = [...COMMON, 'startRate', 'timeUnitMs', 'stages', 'preAllocatedVus', 'maxVus'];
      const e = record(v, field, keys);
      return {
        type,
        startRate: realNumber(e['startRate'], `${field}.startRate`, 0, Number.MAX_VALUE),
        timeUnitMs: durationMs(e['timeUnitMs'], `${field}.timeUnitMs`, true),
        stages: stagesOf(e['stages'], `${field}.stages`, true),
        ...vuPool(e, field),
        gracefulStopMs: stop(e),
      };
    }
    default:
      if (!isRecord(v)) throw new PlanSpecError(field, `must be an object, got ${kindOf(v)}`);
      throw new PlanSpecError(
        `${field}.type`,
        `must be one of constant-vus, ramping-vus, shared-iterations, constant-arrival-rate, ramping-arrival-rate; got ${kindOf(type)}`,
      );
  }
}

/** Checks an executor share (config and open-model phase) from another process. */
export function validateExecutorShare(v: unknown, field: string): ExecutorShare {
  const e = record(v, field, ['config', 'phase']);
  const phase = e['phase'];
  if (typeof phase !== 'number' || !Number.isFinite(phase) || phase < 0 || phase >= 1)
    throw new PlanSpecError(
      `${field}.phase`,
      `must be a number from 0 up to 1, got ${kindOf(phase)}`,
    );
  return { config: validateExecutorConfig(e['config'], `${field}.config`), phase };
}

/** The whole executor as one share: what a run hands a placement. */
export function wholeShare(config: ExecutorConfig): ExecutorShare {
  return { config: { ...config }, phase: 0 };
}

/**
 * Splits `share` over `n` units (null for a unit with nothing to do). Counts split as
 * splitExecutor does; an open-model unit's phase is its slot among `n` offset by the share's
 * own phase, so the schedules of all units of all shares interleave evenly.
 */
export function splitShare(share: ExecutorShare, n: number): (ExecutorShare | null)[] {
  return splitExecutor(share.config, n).map((part, i) =>
    part && isOpen(part.config) ? { ...part, phase: (i + share.phase) / n } : part,
  );
}

function isOpen(config: ExecutorConfig): boolean {
  return config.type === 'constant-arrival-rate' || config.type === 'ramping-arrival-rate';
}
