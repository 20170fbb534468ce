// Owns the part of a submission the ledger replicates so another gate can run the job when its
// owner is lost: the plan, the bundle (reference and source) and the reporters, as one value in
// the `submit` entry (at most the ledger's `maxResumeChars` as JSON), and reading it back.

import { DEFAULT_LEDGER_CONFIG } from '../../cluster/jobs/ledger-types.js';
import { checkBundle } from '../../cluster/jobs/submission-check.js';
import { describeError } from '../../errors.js';
import { validateJobReporters } from '../../reporters/job-config.js';
import type { GateState, PendingSubmission } from './gate-context.js';

/** The `resume` value of a submit, or null when it is too large for a ledger entry (logged). */
export function resumePayload(
  state: GateState,
  p: PendingSubmission,
): Record<string, unknown> | null {
  const value = { plan: p.plan, bundle: p.bundle, source: p.source, reports: p.reports };
  const chars = JSON.stringify(value).length;
  const max = state.opts.ledger?.maxResumeChars ?? DEFAULT_LEDGER_CONFIG.maxResumeChars;
  if (chars <= max) return value;
  state.runtime.log.log('info', 'job too large to replicate: it cannot move to another gate', {
    job: p.job,
    chars,
    max,
  });
  return null;
}

/** The submission a `resume` value describes, checked again; a string says what is wrong. */
export function pendingFromResume(
  state: GateState,
  job: string,
  value: unknown,
): PendingSubmission | string {
  if (typeof value !== 'object' || value === null) {
    return 'it was submitted without what another gate needs to run it (too large to replicate)';
  }
  const r = value as Record<string, unknown>;
  const bundle = r.bundle as { hash?: unknown; sizeBytes?: unknown; file?: unknown } | undefined;
  if (
    typeof r.source !== 'string' ||
    typeof bundle?.hash !== 'string' ||
    typeof bundle.sizeBytes !== 'number' ||
    typeof bundle.file !== 'string'
  ) {
    return 'its replicated submission is malformed (bundle or source missing)';
  }
  const ref = { hash: bundle.hash, sizeBytes: bundle.sizeBytes, file: bundle.file };
  const checked = checkBundle(ref, r.source, { maxBundleBytes: Number.MAX_SAFE_INTEGER });
  if (!checked.ok) return `its replicated bundle does not check: ${checked.message}`;
  const problem = state.program.validate(r.plan);
  if (problem !== null) return `its replicated plan does not check: ${problem.message}`;
  let reports;
  try {
    reports = validateJobReporters(r.reports ?? []);
  } catch (error) {
    return `its replicated reporters do not check: ${describeError(error)}`;
  }
  return {
    job,
    plan: r.plan,
    bundle: ref,
    source: r.source,
    reports,
    untilMs: Number.POSITIVE_INFINITY,
  };
}
