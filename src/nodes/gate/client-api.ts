// Owns a gate's answers to clients (`job.*`) and to gates handing a client request on
// (`gate.forward`): authentication and the per-client rate limit first, then status and lists
// from the replicated ledger, the live stream from the owner, and cancels routed to the owner
// (forwarded with bounded hops and loop detection, or answered E_NOT_OWNER with its address).

import { authenticate } from '../../cluster/jobs/submission-check.js';
import type { JobView } from '../../cluster/jobs/ledger-types.js';
import type { ErrorMessage, HandlerResult, RequestContext } from '../../protocol/index.js';
import {
  clientError,
  MAX_LISTED_JOBS,
  type JobCancelAck,
  type JobResult,
  type JobSnapshot,
  type JobSubmit,
  type JobViewWire,
} from '../jobs/client-wire.js';
import type { GateState } from './gate-context.js';
import { MAX_FORWARD_HOPS, type GateForward } from './gate-wire.js';
import { handleSubmit } from './submissions.js';

type Reply = HandlerResult | Promise<HandlerResult>;

/** Authenticates and rate-limits a client request; the client's identity or the refusal. */
export function admit(
  state: GateState,
  ctx: RequestContext,
  token: string | undefined,
): { client: string } | ErrorMessage {
  const a = authenticate(
    {
      authenticated: ctx.session.authenticated,
      nodeId: ctx.session.remoteNodeId,
      role: ctx.session.remoteRole,
    },
    token,
    {
      tokens: state.opts.tokens ?? new Map(),
      allowUnauthenticated: state.opts.allowUnauthenticated === true,
    },
  );
  if (!a.ok) return clientError('E_UNAUTHENTICATED', a.message);
  const rate = state.limiter.take(a.client, state.runtime.clock.monotonicMs());
  if (!rate.ok) {
    return clientError('E_RATE_LIMITED', `too many requests; retry in ${rate.retryAfterMs} ms`, {
      retryAfterMs: rate.retryAfterMs,
    });
  }
  return { client: a.client };
}

export function viewToWire(v: JobView): JobViewWire {
  return {
    job: v.jobId,
    client: v.client,
    status: v.status,
    ownerGate: v.ownerGate,
    fence: v.fence,
    submittedAtMs: v.submittedAtMs,
    endedAtMs: v.endedAtMs,
    cancelReason: v.cancelReason,
    targetDcs: [...v.targetDcs],
    dcs: { ...v.dcs },
    deadlineMs: v.deadlineMs,
    endReason: v.endReason,
  };
}

function notOwner(state: GateState, v: JobView): ErrorMessage {
  const address = state.gates.get(v.ownerGate);
  return clientError('E_NOT_OWNER', `job '${v.jobId}' is owned by gate ${v.ownerGate}; ask it`, {
    owner: { nodeId: v.ownerGate, address: address ?? null },
  });
}

/** A job this gate's ledger does not hold: unknown, or not applied yet while it catches up. */
function unknownJob(state: GateState, job: string): ErrorMessage {
  if (!state.caughtUp()) {
    return clientError(
      'E_UNAVAILABLE',
      `gate ${state.selfId} is catching up with the ledger; ask again about '${job}'`,
      { retryAfterMs: 1_000 },
    );
  }
  return clientError('E_JOB_UNKNOWN', `no job '${job}' (never submitted, or its record expired)`);
}

/** The job as `client` may see it: its own jobs only (others' are unknown to it). */
function visible(state: GateState, client: string, job: string): JobView | undefined {
  const v = state.machine.ledger.job(job);
  return v !== undefined && v.client === client ? v : undefined;
}

/**
 * Hands a request to another gate (the job's owner, or the ledger leader for a job this gate
 * has not seen yet). Null when it cannot go further (a loop, too many hops, or nobody to ask).
 */
async function forward(
  state: GateState,
  to: string,
  client: string,
  request: Record<string, unknown>,
  via: readonly string[],
): Promise<HandlerResult | null> {
  const address = state.gates.get(to);
  if (address === undefined || to === state.selfId || via.includes(to)) return null;
  if (via.length >= MAX_FORWARD_HOPS) return null;
  const reply = await state.links.request(
    address,
    { t: 'gate.forward', client, request, via: [...via, state.selfId] },
    state.cfg.proposeTimeoutMs,
  );
  if (reply.ok) {
    const { id: _id, re: _re, ...message } = reply.message;
    return message;
  }
  // A client-level answer from the other gate is the answer; a transport failure is not.
  if (reply.error.code.startsWith('E_')) return { ...reply.error, re: undefined };
  return null;
}

/** For a job unknown here: the leader (whose ledger has every commit) may know it. */
function leaderToAsk(state: GateState): string | null {
  const leader = state.leader();
  return leader !== null && leader !== state.selfId ? leader : null;
}

export async function jobStatus(
  state: GateState,
  client: string,
  job: string,
  via: readonly string[],
): Promise<HandlerResult> {
  const v = visible(state, client, job);
  if (v !== undefined) return { t: 'job.view', view: viewToWire(v) };
  const leader = leaderToAsk(state);
  if (leader !== null) {
    const answer = await forward(state, leader, client, { t: 'job.status', job }, via);
    if (answer !== null) return answer;
  }
  return unknownJob(state, job);
}

export function jobList(
  state: GateState,
  client: string,
  status: readonly string[] | undefined,
  limit: number | undefined,
): HandlerResult {
  const max = Math.min(limit ?? MAX_LISTED_JOBS, MAX_LISTED_JOBS);
  const jobs: JobViewWire[] = [];
  let truncated = false;
  for (const v of state.machine.ledger.views()) {
    if (v.client !== client) continue;
    if (status !== undefined && !status.includes(v.status)) continue;
    if (jobs.length >= max) {
      truncated = true;
      break;
    }
    jobs.push(viewToWire(v));
  }
  return { t: 'job.views', jobs, truncated };
}

export function jobWatch(
  state: GateState,
  client: string,
  job: string,
  ctx: RequestContext,
): HandlerResult {
  const v = visible(state, client, job);
  if (v === undefined) return unknownJob(state, job);
  if (v.ownerGate !== state.selfId) return notOwner(state, v);
  const kept = state.results.get(job);
  if (kept !== undefined) return kept;
  const owned = state.owned.get(job);
  if (owned !== undefined && !owned.ended) {
    if (!owned.watch(ctx.peer)) {
      return clientError('E_UNAVAILABLE', `job '${job}' has as many watchers as it may`, {
        retryAfterMs: 5_000,
      });
    }
    return owned.snapshot(v.status, { ...v.dcs }, true);
  }
  if (
    v.endedAtMs !== null &&
    v.status !== 'submitted' &&
    v.status !== 'running' &&
    v.status !== 'cancelling'
  ) {
    const result: JobResult = {
      t: 'job.result',
      job,
      status: v.status,
      exitCode: v.status === 'completed' ? 0 : v.status === 'failed' ? 4 : 130,
      dcs: Object.fromEntries(
        Object.entries(v.dcs).filter(
          (e): e is [string, 'completed' | 'failed' | 'cancelled' | 'timed-out'] =>
            e[1] !== 'pending' && e[1] !== 'accepted',
        ),
      ),
      results: null,
      failure:
        v.endReason === null
          ? 'the detailed result of this job is no longer kept'
          : `${v.endReason} (the detailed result of this job is no longer kept)`,
      endedAtMs: v.endedAtMs,
    };
    return result;
  }
  const snap: JobSnapshot = {
    t: 'job.snapshot',
    job,
    status: v.status,
    seq: 1,
    elapsedMs: Math.max(0, state.runtime.clock.wallMs() - v.submittedAtMs),
    dcs: { ...v.dcs },
    stats: null,
  };
  return snap;
}

export async function jobCancel(
  state: GateState,
  client: string,
  job: string,
  reason: string,
  via: readonly string[],
): Promise<HandlerResult> {
  const v = visible(state, client, job);
  if (v === undefined) {
    const leader = leaderToAsk(state);
    if (leader !== null) {
      const answer = await forward(state, leader, client, { t: 'job.cancel', job, reason }, via);
      if (answer !== null) return answer;
    }
    return unknownJob(state, job);
  }
  const ack = (status: JobCancelAck['status'], dcs: JobCancelAck['dcs']): JobCancelAck => ({
    t: 'job.cancel-ack',
    job,
    status,
    dcs,
  });
  if (v.endedAtMs !== null) return ack(v.status, {});
  if (v.ownerGate !== state.selfId) {
    const answer = await forward(state, v.ownerGate, client, { t: 'job.cancel', job, reason }, via);
    return answer ?? notOwner(state, v);
  }
  const owned = state.owned.get(job);
  if (owned !== undefined) {
    const dcs = await owned.cancel(reason);
    return ack(state.machine.ledger.job(job)?.status ?? 'cancelling', dcs);
  }
  // Owned here but not running on this gate (its submission was lost): the ledger records it.
  const out = await state.proposer.propose({
    type: 'cancel-requested',
    atMs: state.runtime.clock.wallMs(),
    jobId: job,
    reason,
  });
  if (!out.ok) return clientError('E_UNAVAILABLE', out.message, { retryAfterMs: 1_000 });
  return ack(state.machine.ledger.job(job)?.status ?? 'cancelling', {});
}

/** Registers the `job.*` and `gate.forward` handlers on `handle`. */
export function clientHandlers(
  state: GateState,
): Record<string, (m: never, ctx: RequestContext) => Reply> {
  const admitted = <M extends { token?: string }>(
    fn: (m: M, client: string, ctx: RequestContext) => Reply,
  ) => {
    return (m: M, ctx: RequestContext): Reply => {
      const a = admit(state, ctx, m.token);
      if ('t' in a) return a;
      return fn(m, a.client, ctx);
    };
  };
  return {
    'job.submit': admitted((m: JobSubmit, client) => handleSubmit(state, m, client)),
    'job.status': admitted((m: { job: string; token?: string }, client) =>
      jobStatus(state, client, m.job, []),
    ),
    'job.list': admitted((m: { status?: string[]; limit?: number; token?: string }, client) =>
      jobList(state, client, m.status, m.limit),
    ),
    'job.watch': admitted((m: { job: string; token?: string }, client, ctx) =>
      jobWatch(state, client, m.job, ctx),
    ),
    'job.cancel': admitted((m: { job: string; reason?: string; token?: string }, client) =>
      jobCancel(state, client, m.job, m.reason ?? 'cancelled by the client', []),
    ),
    'gate.forward': (m: GateForward, ctx: RequestContext): Reply => {
      const refused = peerGateProblem(state, ctx);
      if (refused !== null) return refused;
      if (m.via.includes(state.selfId) || m.via.length > MAX_FORWARD_HOPS) {
        return {
          t: 'error',
          code: 'E_FORWARD_LOOP',
          message: `request passed ${m.via.join(' → ')} and came back or went too far`,
        };
      }
      const r = m.request;
      const job = typeof r.job === 'string' ? r.job : '';
      if (r.t === 'job.status') return jobStatus(state, m.client, job, m.via);
      if (r.t === 'job.cancel') {
        const reason = typeof r.reason === 'string' ? r.reason : 'cancelled by the client';
        return jobCancel(state, m.client, job, reason, m.via);
      }
      return clientError('E_INVALID_SUBMISSION', `gate.forward does not carry ${String(r.t)}`);
    },
  };
}

/** Null when the peer is a gate of this cluster (certified when the link is secure). */
export function peerGateProblem(state: GateState, ctx: RequestContext): ErrorMessage | null {
  const s = ctx.session;
  const secure = state.runtime.stream.secure === true;
  if (s.remoteRole === 'gate' && state.gates.has(s.remoteNodeId) && (!secure || s.authenticated)) {
    return null;
  }
  return clientError('E_UNAUTHENTICATED', 'only the gates of this cluster may send this');
}
