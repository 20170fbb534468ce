// Owns what a manager's coordinators share: the Runtime, the DC's replicated state and Raft
// node, the worker registry, the current leadership (and its dispatcher), the links to gates,
// and the small helpers every coordinator uses to answer (structured errors, role checks).

import type { CancelFanout } from '../../cluster/jobs/cancel-fanout.js';
import type { DcDispatcher, Part } from '../../cluster/jobs/dc-dispatch.js';
import type { DcApplyResult, DcCommand, DcJobState } from '../../cluster/jobs/dc-state.js';
import { encodeDcCommand } from '../../cluster/jobs/dc-state.js';
import type { ExecutorShare } from '../../engine/plan.js';
import type { WindowRelay } from '../../cluster/jobs/window-relay.js';
import type { WorkerRegistry } from '../../cluster/jobs/worker-registry.js';
import type {
  ErrorMessage,
  MessageOf,
  RequestContext,
  Role,
  RpcConnection,
} from '../../protocol/index.js';
import type { Logger, NodeAddress, Runtime } from '../../runtime/types.js';
import type { RaftNode } from '../consensus/raft-node.js';
import type { DcDispatchDef } from '../jobs/dc-wire.js';
import type { PeerLinks } from '../jobs/peer-links.js';

export function fail(
  code: string,
  message: string,
  details?: Record<string, unknown>,
): ErrorMessage {
  return details === undefined
    ? { t: 'error', code, message }
    : { t: 'error', code, message, details };
}

/** Refuses a sender whose role may not send this message (null when it may). */
export function roleProblem(
  ctx: RequestContext,
  roles: readonly Role[],
  type: string,
): ErrorMessage | null {
  if (roles.includes(ctx.session.remoteRole)) return null;
  return fail('E_FORBIDDEN', `a ${ctx.session.remoteRole} may not send ${type}`);
}

/**
 * Why the leader refuses a gate's fenced request about a job (wrong role, not the leader, an
 * older fence than the DC has seen), or null when it may go on.
 */
export function gateRequestProblem(
  ctx: ManagerContext,
  rc: RequestContext,
  m: { readonly t: string; readonly job: string; readonly fence: number },
): ErrorMessage | null {
  const bad = roleProblem(rc, ['gate'], m.t);
  if (bad) return bad;
  if (!ctx.leadership.isLeader()) return ctx.leadership.notLeader();
  const fence = ctx.state.checkFence(m.job, m.fence);
  return fence.ok ? null : fail(fence.code, fence.message);
}

/** Per-part facts the shell keeps beside the dispatcher's part (who runs it, for which gate). */
export interface PartInfo {
  readonly dispatchId: string;
  readonly job: string;
  readonly workflow: string;
  readonly worker: string;
  readonly incarnation: number;
  readonly firstThread: number;
  /** Threads of the part on its worker. */
  readonly threads: number;
  /** Iterations each thread's windows counted so far (what a replacement need not run again). */
  readonly iterations?: number[];
  readonly report?: {
    failure?: string;
    published: Record<string, { value: unknown; atMs: number }>;
    network: { requests: number; bytesSent: number; bytesReceived: number };
    interrupted: number;
    notes: string[];
  };
}

export interface Leadership {
  /** This node leads the DC's Raft group now. */
  isLeader(): boolean;
  /** The leader this node knows of, with its address. */
  leader(): { nodeId: string; address: NodeAddress } | null;
  /** The dispatcher of the current (or last) term this node led, if any. */
  dispatcher(): DcDispatcher | null;
  /** The term of that dispatcher (-1 before this node ever led). */
  readonly term: number;
  notLeader(): ErrorMessage;
}

export interface ManagerContext {
  readonly runtime: Runtime;
  readonly log: Logger;
  readonly dc: string;
  readonly id: string;
  readonly state: DcJobState;
  readonly raft: () => RaftNode<DcApplyResult> | null;
  readonly registry: WorkerRegistry;
  readonly relay: WindowRelay;
  readonly cancels: CancelFanout;
  readonly leadership: Leadership;
  readonly gateLinks: PeerLinks;
  /** Each registered worker's current connection (the one it registered on). */
  readonly workerConns: Map<string, RpcConnection>;
  /** Dispatch id → what the shell knows of the part. */
  readonly parts: Map<string, PartInfo>;
  /**
   * The `dc.dispatch` each live workflow was accepted with and when, by `originalKey`: what a
   * lost worker's part is re-dispatched from (the original share, bundle, data and context).
   */
  readonly originals: Map<string, OriginalDispatch>;
  /** Dispatch ids given up (a failed dispatch): their windows are acknowledged, not relayed. */
  readonly abandoned: Set<string>;
  /** Set by the relay coordinator: a workflow's parts all ended (report it up when flushed). */
  workflowEnded: (
    job: string,
    workflow: string,
    outcome: 'completed' | 'failed' | 'cancelled',
  ) => void;
  /** Set by the recovery coordinator: what happened to a workflow's lost parts on this DC. */
  recoveryNotes: (job: string, workflow: string) => readonly string[];
  /** Called once a workflow's end reached its gate and its state here is dropped. */
  workflowForgotten: (job: string, workflow: string) => void;
  /**
   * Set by the relay coordinator: a dispatch of `job` was recorded in this leader's term
   * (`first`: the job had no workflow on this DC before), to know whose windows it holds whole.
   */
  dispatchRecorded: (job: string, first: boolean) => void;
  /**
   * Set by the owner handover: the job moved to `to` (a higher fence); what this DC sent the old
   * owner is sent again. Resolves with the windows queued again, or the refusal.
   */
  ownerMoved: (to: {
    readonly job: string;
    readonly fence: number;
    readonly ownerGate: string;
    readonly ownerAddress: NodeAddress;
  }) => Promise<{ requeued: number; complete: boolean } | ErrorMessage>;
  readonly now: () => number;
}

/** Proposes a DC command; resolves with the state machine's answer or a not-leader error. */
export async function propose(
  ctx: ManagerContext,
  c: DcCommand,
): Promise<DcApplyResult | ErrorMessage> {
  const raft = ctx.raft();
  if (raft === null) return ctx.leadership.notLeader();
  const o = await raft.propose(encodeDcCommand(c));
  if (!o.ok) {
    if (o.code === 'not-leader') return ctx.leadership.notLeader();
    return fail('E_UNAVAILABLE', `the DC state did not take the command: ${o.code} (${o.detail})`);
  }
  return o.result;
}

export interface OriginalDispatch {
  readonly message: MessageOf<typeof DcDispatchDef>;
  readonly acceptedAtMs: number;
}

/** The `work.dispatch` a worker gets for `part` of the gate's dispatch `m`, with its shares. */
export function workDispatch(
  part: Part,
  incarnation: number,
  m: MessageOf<typeof DcDispatchDef>,
  shares: readonly ExecutorShare[],
): { readonly t: 'work.dispatch' } & Record<string, unknown> {
  return {
    t: 'work.dispatch',
    dispatchId: part.dispatchId,
    job: part.job,
    workflow: part.workflow,
    fence: part.fence,
    incarnation,
    bundle: m.bundle,
    shares,
    firstThread: part.firstThread,
    threads: part.threads,
    data: m.data,
    context: m.context,
    ...(m.baseUrl !== undefined ? { baseUrl: m.baseUrl } : {}),
    windowMs: m.windowMs,
    cancelGraceMs: m.cancelGraceMs,
  };
}

export const originalKey = (job: string, workflow: string): string =>
  JSON.stringify([job, workflow]);

/** Workflows whose original dispatch a manager keeps at most (the oldest go first). */
export const MAX_ORIGINALS = 10_000;

export function keepOriginal(ctx: ManagerContext, o: OriginalDispatch): void {
  const k = originalKey(o.message.job, o.message.workflow);
  ctx.originals.delete(k);
  ctx.originals.set(k, o);
  if (ctx.originals.size > MAX_ORIGINALS) {
    const first = ctx.originals.keys().next();
    if (!first.done) ctx.originals.delete(first.value);
  }
}

export const MAX_ABANDONED = 10_000;

export function abandon(ctx: ManagerContext, dispatchId: string): void {
  ctx.abandoned.add(dispatchId);
  if (ctx.abandoned.size > MAX_ABANDONED) {
    const first = ctx.abandoned.values().next();
    if (!first.done) ctx.abandoned.delete(first.value);
  }
}
