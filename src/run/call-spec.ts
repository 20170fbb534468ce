// Owns the check of a placement call that came from another process (a worker receiving its
// share of a workflow or a hook): each field against its type and bounds, nothing trusted.
// Returns a fresh typed call or throws a PlanSpecError naming the field.
import { MAX_HOOK_TIMEOUT_MS, MAX_SPEC_NAME_CHARS } from './plan-spec.js';
import {
  PlanSpecError,
  isRecord,
  kindOf,
  record,
  validateExecutorShare,
  wholeNumber,
} from './executor-spec.js';
import type { BundleRef, HookCall, WorkflowCall } from './placement.js';

/** Longest bundle source path or base URL. */
export const MAX_CALL_TEXT_CHARS = 4096;
/** Units of one workflow across all machines. */
export const MAX_LANES = 1_000_000;
export const MIN_WINDOW_MS = 10;
export const MAX_WINDOW_MS = 60_000;
export const MAX_CANCEL_GRACE_MS = 3_600_000;

function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_CALL_TEXT_CHARS)
    throw new PlanSpecError(
      field,
      `must be a non-empty string of at most ${MAX_CALL_TEXT_CHARS} characters, got ${kindOf(v)}`,
    );
  return v;
}

function bundleRef(v: unknown, field: string): BundleRef {
  const b = record(v, field, ['hash', 'source']);
  const hash = b['hash'];
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash))
    throw new PlanSpecError(`${field}.hash`, `must be a SHA-256 in hex, got ${kindOf(hash)}`);
  return { hash, source: text(b['source'], `${field}.source`) };
}

function workflowName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_SPEC_NAME_CHARS)
    throw new PlanSpecError(field, `must be a workflow name, got ${kindOf(v)}`);
  return v;
}

function baseUrl(v: unknown, field: string): string | null {
  return v === null ? null : text(v, field);
}

function context(v: unknown, field: string): Record<string, unknown> {
  if (!isRecord(v)) throw new PlanSpecError(field, `must be an object, got ${kindOf(v)}`);
  return v;
}

const CALL = ['bundle', 'workflow', 'context', 'baseUrl'];

/** Checks a WorkflowCall from another process. */
export function validateWorkflowCall(v: unknown, field = 'call'): WorkflowCall {
  const c = record(v, field, [...CALL, 'share', 'lanes', 'windowMs', 'cancelGraceMs'], ['data']);
  let lanes: WorkflowCall['lanes'] = null;
  if (c['lanes'] !== null) {
    const l = record(c['lanes'], `${field}.lanes`, ['first', 'total']);
    const total = wholeNumber(l['total'], `${field}.lanes.total`, 1, MAX_LANES);
    lanes = { first: wholeNumber(l['first'], `${field}.lanes.first`, 0, total - 1), total };
  }
  const call: WorkflowCall = {
    bundle: bundleRef(c['bundle'], `${field}.bundle`),
    workflow: workflowName(c['workflow'], `${field}.workflow`),
    share: validateExecutorShare(c['share'], `${field}.share`),
    lanes,
    context: context(c['context'], `${field}.context`),
    baseUrl: baseUrl(c['baseUrl'], `${field}.baseUrl`),
    windowMs: wholeNumber(c['windowMs'], `${field}.windowMs`, MIN_WINDOW_MS, MAX_WINDOW_MS),
    cancelGraceMs: wholeNumber(
      c['cancelGraceMs'],
      `${field}.cancelGraceMs`,
      0,
      MAX_CANCEL_GRACE_MS,
    ),
  };
  if (c['data'] !== undefined) call.data = c['data'];
  return call;
}

/** Checks a HookCall from another process. */
export function validateHookCall(v: unknown, field = 'call'): HookCall {
  const c = record(v, field, [...CALL, 'hook', 'timeoutMs'], ['data']);
  const hook = c['hook'];
  if (hook !== 'setup' && hook !== 'teardown')
    throw new PlanSpecError(`${field}.hook`, `must be setup or teardown, got ${kindOf(hook)}`);
  const call: HookCall = {
    bundle: bundleRef(c['bundle'], `${field}.bundle`),
    workflow: workflowName(c['workflow'], `${field}.workflow`),
    hook,
    timeoutMs: wholeNumber(c['timeoutMs'], `${field}.timeoutMs`, 1, MAX_HOOK_TIMEOUT_MS),
    context: context(c['context'], `${field}.context`),
    baseUrl: baseUrl(c['baseUrl'], `${field}.baseUrl`),
  };
  if (c['data'] !== undefined) call.data = c['data'];
  return call;
}
