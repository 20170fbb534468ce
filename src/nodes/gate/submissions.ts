// Owns the path of a submission through a gate: bundle and plan checks, the payload digest, the
// idempotency answer, the choice of DCs, and the `submit` committed to the ledger before the
// client hears `job.accepted`. The owned job starts when this gate applies the committed submit
// (not when the proposal returns), so a commit whose answer was lost still gets its owner.

import { chooseDcs, type DcCapacity } from '../../cluster/jobs/dc-selection.js';
import {
  defaultJobTimeoutMs,
  MIN_JOB_TIMEOUT_MS,
  timeoutProblem,
} from '../../cluster/jobs/job-timeouts.js';
import {
  DEFAULT_LEDGER_CONFIG,
  type JobView,
  type LedgerConfig,
  type LedgerEvent,
  type SubmitAnswer,
} from '../../cluster/jobs/ledger-types.js';
import { checkBundle, payloadDigest } from '../../cluster/jobs/submission-check.js';
import type { ErrorMessage } from '../../protocol/index.js';
import type { ReporterConfig } from '../../reporters/config.js';
import { validateJobReporters } from '../../reporters/job-config.js';
import { JobReporting } from '../../reporters/job-reporting.js';
import { describeError } from '../../errors.js';
import { clientError, type JobAccepted, type JobSubmit } from '../jobs/client-wire.js';
import type { GateState, PendingSubmission } from './gate-context.js';
import { JOB_WINDOW_MS } from './job-program.js';
import { OwnedJob } from './owned-job.js';
import { background } from './background.js';
import { keepResult } from './kept-results.js';
import { resumePayload } from './resume-payload.js';

/** Fresh job ids tried when one collides with an existing job. */
const MAX_ID_ATTEMPTS = 3;

/** Workflows in a (validated) plan: the fewest cores the job takes on each target DC. */
function planWorkflows(plan: unknown): number {
  const w = (plan as { workflows?: unknown } | null)?.workflows;
  return Array.isArray(w) ? Math.max(1, w.length) : 1;
}

function hex16(state: GateState): string {
  let out = '';
  for (let i = 0; i < 4; i++) out += state.runtime.rng.int(0x10000).toString(16).padStart(4, '0');
  return out;
}

export function acceptedFrom(state: GateState, a: SubmitAnswer, duplicate: boolean): JobAccepted {
  return {
    t: 'job.accepted',
    job: a.jobId,
    ownerGate: a.ownerGate,
    ownerAddress: state.gates.get(a.ownerGate) ?? { host: a.ownerGate, port: 0 },
    fence: a.fence,
    submittedAtMs: a.submittedAtMs,
    targetDcs: [...a.targetDcs],
    duplicate,
  };
}

async function capacities(
  state: GateState,
  dcs: readonly string[],
): Promise<Map<string, DcCapacity>> {
  const now = (): number => state.runtime.clock.monotonicMs();
  const out = new Map<string, DcCapacity>();
  await Promise.all(
    dcs.map(async (dc) => {
      const link = state.dcLinks.get(dc);
      if (link === undefined) return;
      const c =
        link.cachedCapacity(now(), state.cfg.capacityMaxAgeMs) ?? (await link.capacity(now));
      if (c !== null) out.set(dc, c);
    }),
  );
  return out;
}

export async function handleSubmit(
  state: GateState,
  m: JobSubmit,
  client: string,
): Promise<JobAccepted | ErrorMessage> {
  const bundle = checkBundle(m.bundle, m.source, { maxBundleBytes: state.cfg.maxBundleBytes });
  if (!bundle.ok) return clientError(bundle.code, bundle.message);
  const planProblem = state.program.validate(m.plan);
  if (planProblem !== null) return clientError(planProblem.code, planProblem.message);
  const timeoutMs = jobTimeoutMs(state, m);
  if (typeof timeoutMs === 'object') return timeoutMs;
  let reports: ReporterConfig[];
  try {
    reports = validateJobReporters(m.reports);
  } catch (error) {
    return clientError('E_INVALID_SUBMISSION', describeError(error));
  }
  if (reports.length > 0 && (state.opts.reporting?.reportsDir ?? null) === null) {
    return clientError(
      'E_INVALID_SUBMISSION',
      `gate ${state.selfId} runs no reporters (it has no report directory); submit without reports`,
    );
  }
  const named = m.dcs ?? null;
  const digest = payloadDigest({
    bundleHash: m.bundle.hash,
    plan: m.plan,
    dcs: named,
    dcCount: m.dcCount ?? null,
    ...(reports.length > 0 ? { reports } : {}),
  });
  const key = m.idempotencyKey ?? null;
  // A key this gate already knows is answered at once (the ledger stays the arbiter otherwise).
  if (key !== null) {
    const known = state.machine.ledger.jobForKey(client, key);
    const view = known === undefined ? undefined : state.machine.ledger.job(known);
    if (view !== undefined && !expired(state, view))
      return answerForKnown(state, view, digest, key);
  }
  if (named !== null) {
    const unknown = named.find((dc) => !state.dcNames.includes(dc));
    if (unknown !== undefined) {
      return clientError(
        'E_UNKNOWN_DC',
        `datacenter '${unknown}' is not in this cluster (known: ${state.dcNames.join(', ')})`,
      );
    }
  }
  const choice = chooseDcs(
    { named, count: m.dcCount ?? 1 },
    state.dcNames,
    await capacities(state, named ?? state.dcNames),
  );
  if (!choice.ok) return clientError(choice.code, choice.message);
  // Each workflow takes at least one core of each target DC: count them until the next report.
  const demand = planWorkflows(m.plan);
  for (const dc of choice.dcs) state.dcLinks.get(dc)?.reserve(demand);
  if (state.pending.size >= state.cfg.maxPendingSubmissions) {
    return clientError('E_UNAVAILABLE', 'this gate has too many submissions in flight; retry', {
      retryAfterMs: 1_000,
    });
  }
  for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
    const job = `job-${hex16(state)}`;
    const pending: PendingSubmission = {
      job,
      plan: m.plan,
      bundle: {
        hash: m.bundle.hash.toLowerCase(),
        sizeBytes: m.bundle.sizeBytes,
        file: m.bundle.file,
      },
      source: m.source,
      reports,
      untilMs: state.runtime.clock.monotonicMs() + state.cfg.pendingSubmissionTtlMs,
    };
    state.pending.set(job, pending);
    const atMs = state.runtime.clock.wallMs();
    const out = await state.proposer.propose({
      type: 'submit',
      atMs,
      deadlineMs: atMs + timeoutMs,
      jobId: job,
      client,
      idempotencyKey: key,
      payloadDigest: digest,
      ownerGate: state.selfId,
      fence: Math.max(1, state.term()),
      targetDcs: [...choice.dcs],
      resume: resumePayload(state, pending),
    });
    if (!out.ok) {
      // The outcome is unknown: the pending entry stays until its TTL in case it committed.
      return clientError('E_UNAVAILABLE', out.message, { retryAfterMs: 1_000 });
    }
    const r = out.result;
    if (r.ok && r.answer !== undefined) {
      if (r.answer.jobId !== job) state.pending.delete(job);
      return acceptedFrom(state, r.answer, r.duplicate || r.answer.jobId !== job);
    }
    state.pending.delete(job);
    if (r.ok)
      return clientError('E_UNAVAILABLE', 'the ledger took the submission without an answer');
    switch (r.code) {
      case 'E_JOB_EXISTS':
        continue;
      case 'E_IDEMPOTENCY_CONFLICT':
        return clientError('E_IDEMPOTENCY_CONFLICT', r.message);
      case 'E_LEDGER_FULL':
        return clientError('E_UNAVAILABLE', r.message, { retryAfterMs: 5_000 });
      default:
        return clientError('E_INVALID_SUBMISSION', `${r.code}: ${r.message}`);
    }
  }
  return clientError('E_UNAVAILABLE', 'could not find a free job id; retry');
}

/** The ledger configuration every gate of the cluster applies (its defaults filled in). */
export function ledgerConfig(state: GateState): LedgerConfig {
  return { ...DEFAULT_LEDGER_CONFIG, ...state.opts.ledger };
}

/**
 * The job's timeout: the one asked for, or the plan's planned length plus its slack; an error
 * naming the field and its range when it is beyond what the ledger takes.
 */
function jobTimeoutMs(state: GateState, m: JobSubmit): number | ErrorMessage {
  const maxMs = ledgerConfig(state).maxJobTimeoutMs;
  let planned: number | null = null;
  if (m.timeoutMs === undefined && state.program.plannedMs !== undefined) {
    planned = state.program.plannedMs(m.plan);
  }
  const timeoutMs = m.timeoutMs ?? defaultJobTimeoutMs(planned, maxMs);
  const problem = timeoutProblem(timeoutMs, maxMs);
  if (problem === null) return timeoutMs;
  return clientError('E_INVALID_SUBMISSION', problem, {
    field: 'timeoutMs',
    min: MIN_JOB_TIMEOUT_MS,
    max: maxMs,
  });
}

/** An ended job past its retention: the ledger evicts it (and frees its key) on the next command. */
function expired(state: GateState, v: JobView): boolean {
  if (v.endedAtMs === null) return false;
  const cfg = ledgerConfig(state);
  const keep = v.status === 'completed' ? cfg.completedRetentionMs : cfg.unsuccessfulRetentionMs;
  return state.runtime.clock.wallMs() - v.endedAtMs >= keep;
}

function answerForKnown(
  state: GateState,
  view: JobView,
  digest: string,
  key: string,
): JobAccepted | ErrorMessage {
  if (view.payloadDigest !== digest) {
    return clientError(
      'E_IDEMPOTENCY_CONFLICT',
      `idempotency key '${key}' was used for job '${view.jobId}' with another payload`,
    );
  }
  const answer = state.machine.ledger.answerFor(view.jobId);
  if (answer === undefined) return clientError('E_JOB_UNKNOWN', `job '${view.jobId}' is gone`);
  return acceptedFrom(state, answer, true);
}

/** Reacts to committed ledger changes: starts jobs this gate owns, relays cancels to them. */
export function onLedgerEvents(state: GateState, events: readonly LedgerEvent[]): void {
  for (const e of events) {
    if (e.type === 'job-submitted') {
      const pending = state.pending.get(e.jobId);
      const view = state.machine.ledger.job(e.jobId);
      if (pending === undefined || view === undefined || view.ownerGate !== state.selfId) continue;
      state.pending.delete(e.jobId);
      startOwnedJob(state, view, pending);
    } else if (e.type === 'cancel-requested') {
      const owned = state.owned.get(e.jobId);
      if (owned !== undefined)
        background(state.runtime.log, `cancel of ${e.jobId}`, owned.cancel(e.reason));
    }
  }
}

/** The plan's workflows as the per-DC reporting groups need them (the plan was validated). */
function groupWorkflows(
  plan: unknown,
): { name: string; executor: { type: string }; steps: string[] }[] {
  const list = (plan as { workflows?: unknown } | null)?.workflows;
  if (!Array.isArray(list)) return [];
  return list.flatMap((w: unknown) => {
    const r = (w ?? {}) as { name?: unknown; executor?: unknown; steps?: unknown };
    const executor = r.executor as { type?: unknown } | undefined;
    if (typeof r.name !== 'string' || typeof executor?.type !== 'string') return [];
    const steps = Array.isArray(r.steps) ? r.steps.filter((x) => typeof x === 'string') : [];
    return [{ name: r.name, executor: { ...(executor as { type: string }) }, steps }];
  });
}

/** The job's reporting; a config that cannot run here leaves the job without reporters (logged). */
function jobReporting(state: GateState, job: string, p: PendingSubmission): JobReporting {
  const spec = {
    job,
    file: p.bundle.file,
    workflows: groupWorkflows(p.plan),
    windowMs: JOB_WINDOW_MS,
  };
  const options = state.opts.reporting ?? { reportsDir: null };
  try {
    return new JobReporting({ ...spec, reports: p.reports }, options);
  } catch (error) {
    state.runtime.log.log('error', 'the job runs without its reporters', {
      job,
      error: describeError(error),
    });
    return new JobReporting({ ...spec, reports: [] }, options);
  }
}

/**
 * Runs a job this gate owns: a new submission, or (`resumedFrom`: when it began) a job moved
 * here from a lost owner, whose DCs are told and send everything again.
 */
export function startOwnedJob(
  state: GateState,
  view: JobView,
  p: PendingSubmission,
  resumedFrom?: number,
): void {
  const links = view.targetDcs.map((dc) => state.dcLinks.get(dc)).filter((l) => l !== undefined);
  const bundle = state.bundles.get(p.bundle.hash);
  if (bundle !== undefined) bundle.users++;
  else state.bundles.set(p.bundle.hash, { source: p.source, users: 1 });
  const owned = new OwnedJob({
    runtime: state.runtime,
    job: view.jobId,
    fence: view.fence,
    ownerGate: state.selfId,
    ownerAddress: state.selfAddress,
    submittedAtMs: view.submittedAtMs,
    bundle: p.bundle,
    dcs: links,
    program: state.program.create(
      {
        job: view.jobId,
        plan: p.plan,
        file: p.bundle.file,
        bundleHash: p.bundle.hash,
        ...(resumedFrom !== undefined ? { startedAtMs: resumedFrom } : {}),
      },
      state.runtime,
    ),
    propose: (c) => state.proposer.propose(c),
    ledgerDcs: () => state.machine.ledger.job(view.jobId)?.dcs,
    reporting: jobReporting(state, view.jobId, p),
    onEnded: (result) => keepResult(state, view.jobId, result),
    dispatchTimeoutMs: state.cfg.dispatchTimeoutMs + state.cfg.coreWaitMs,
    cancelTimeoutMs: state.cfg.cancelTimeoutMs,
    ...(resumedFrom !== undefined ? { resumed: true } : {}),
    ...(resumedFrom !== undefined && view.status === 'cancelling' && view.cancelReason !== null
      ? { cancelReason: view.cancelReason }
      : {}),
  });
  state.owned.set(view.jobId, owned);
  background(
    state.runtime.log,
    `job ${view.jobId}`,
    owned.run().then(() => {
      state.owned.delete(view.jobId);
      const b = state.bundles.get(p.bundle.hash);
      if (b !== undefined && --b.users <= 0) state.bundles.delete(p.bundle.hash);
    }),
  );
}
