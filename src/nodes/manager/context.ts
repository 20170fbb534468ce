// Owns what a manager's coordinators share: the Runtime, the DC's replicated state and Raft
// node, the worker registry, the current leadership (and its dispatcher), the links to gates,
// and the small helpers every coordinator uses to answer (structured errors, role checks).

import type { CancelFanout } from '../../cluster/jobs/cancel-fanout.js';
import type { DcDispatcher } from '../../cluster/jobs/dc-dispatch.js';
import type { DcApplyResult, DcCommand, DcJobState } from '../../cluster/jobs/dc-state.js';
import { encodeDcCommand } from '../../cluster/jobs/dc-state.js';
import type { WindowRelay } from '../../cluster/jobs/window-relay.js';
import type { WorkerRegistry } from '../../cluster/jobs/worker-registry.js';
import type { ErrorMessage, RequestContext, Role, RpcConnection } from '../../protocol/index.js';
import type { Logger, NodeAddress, Runtime } from '../../runtime/types.js';
import type { RaftNode } from '../consensus/raft-node.js';
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
  /** Dispatch ids given up (a failed dispatch): their windows are acknowledged, not relayed. */
  readonly abandoned: Set<string>;
  /** Set by the relay coordinator: a workflow's parts all ended (report it up when flushed). */
  workflowEnded: (
    job: string,
    workflow: string,
    outcome: 'completed' | 'failed' | 'cancelled',
  ) => void;
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

export const MAX_ABANDONED = 10_000;

export function abandon(ctx: ManagerContext, dispatchId: string): void {
  ctx.abandoned.add(dispatchId);
  if (ctx.abandoned.size > MAX_ABANDONED) {
    const first = ctx.abandoned.values().next();
    if (!first.done) ctx.abandoned.delete(first.value);
  }
}
