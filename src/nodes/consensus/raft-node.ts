// Owns one Raft member running on a Runtime: drives the core with timer ticks and transport
// messages, performs each Ready in order (persist + sync, send, apply, advance), snapshots the
// state machine to keep the log bounded, and resolves proposals once applied (or fails them
// with a not-leader/timeout result). Fail-stop: a throw from step, tick or a Ready (a broken
// invariant, a failed write) stops the node for good and reports it through `onFatal`; it never
// runs on half-applied. Never decides anything Raft decides; never touches the world except
// through the Runtime.

import { LOCAL_RAFT_CONFIG, type RaftConfig } from '../../cluster/consensus/config.js';
import { Raft } from '../../cluster/consensus/raft.js';
import type {
  ConfigChange,
  Entry,
  Message,
  NodeId,
  RaftStatus,
  Ready,
  SoftState,
  TransferResult,
} from '../../cluster/consensus/types.js';
import type { LocalIdentity } from '../../protocol/index.js';
import type { NodeAddress, Runtime, TimerHandle } from '../../runtime/types.js';
import { Supervisor, type SupervisedLoop } from '../supervisor.js';
import { DurableRaftLog, type RecoveredState } from './durable-log.js';
import type { StateMachine } from './state-machine.js';
import { ProtocolRaftTransport, type RaftTransport } from './transport.js';

/** Take a snapshot (and compact the log) after this many applied entries. */
export const DEFAULT_SNAPSHOT_EVERY_ENTRIES = 1_000;
/** A proposal not applied within this long resolves with `timeout` (outcome unknown). */
export const DEFAULT_PROPOSAL_TIMEOUT_MS = 5_000;
/** Proposals waiting for their commit at once; more are refused with `overloaded`. */
export const DEFAULT_MAX_PENDING_PROPOSALS = 10_000;
/** A graceful stop waits this long for the leadership transfer to complete. */
export const DEFAULT_TRANSFER_WAIT_MS = 2_000;

export type ProposalOutcome<R = unknown> =
  | { readonly ok: true; readonly index: number; readonly term: number; readonly result: R }
  | {
      readonly ok: false;
      /**
       * not-leader: this node does not lead (or stopped leading before the entry was applied;
       *   then the entry may still commit — retry with the same command id, the state machine
       *   deduplicates); leaderHint says where to go when known.
       * timeout: not applied in time (outcome unknown; retry with the same id).
       * overloaded / rejected: refused before anything was appended.
       * stopped: the node shut down.
       */
      readonly code: 'not-leader' | 'timeout' | 'overloaded' | 'rejected' | 'stopped';
      readonly leaderHint: NodeId | null;
      readonly term: number;
      readonly detail: string;
    };

export type RaftNodeEvent =
  | { readonly type: 'soft-state'; readonly state: SoftState }
  | { readonly type: 'applied'; readonly entry: Entry; readonly result: unknown }
  | { readonly type: 'snapshot-installed'; readonly index: number }
  | { readonly type: 'recovered'; readonly recovered: RecoveredState };

export interface RaftNodeOptions<R> {
  readonly runtime: Runtime;
  /** Every member's stream address (this node's included), by node id. */
  readonly members: ReadonlyMap<NodeId, NodeAddress>;
  /** The founding voters (default: every member). A node joining later passes []. */
  readonly bootstrapVoters?: readonly NodeId[];
  readonly config?: RaftConfig;
  readonly stateMachine: StateMachine<R>;
  readonly snapshotEveryEntries?: number;
  readonly proposalTimeoutMs?: number;
  readonly maxPendingProposals?: number;
  /** Default: Raft over the protocol (src/protocol) on the Runtime's stream transport. */
  readonly transport?: RaftTransport;
  readonly identity?: Omit<LocalIdentity, 'nodeId'>;
  readonly onEvent?: (event: RaftNodeEvent) => void;
  /**
   * The node stopped itself (fail-stop): its state may be half-changed, so the process should
   * exit non-zero and recover from disk. Called once, after the node has stopped.
   */
  readonly onFatal?: (error: unknown) => void;
}

interface Pending<R> {
  readonly term: number;
  readonly resolve: (o: ProposalOutcome<R>) => void;
  readonly timer: TimerHandle;
}

export class RaftNode<R = unknown> {
  readonly id: NodeId;
  private readonly raft: Raft;
  private readonly pending = new Map<number, Pending<R>>();
  private processing = false;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private readonly supervisor: Supervisor;
  /** Every step of the core (tick or message) runs here; a throw escalates to fatal(). */
  private readonly driver: SupervisedLoop;
  private appliedIndex: number;
  private lastSnapshotIndex: number;
  private softState: SoftState;
  private readonly snapshotEvery: number;
  private readonly proposalTimeoutMs: number;
  private readonly maxPending: number;
  /** Committed entries of a stale Ready not applied because a newer snapshot covered them. */
  private staleEntriesSkipped = 0;
  /** Set when the node stopped itself because a Ready could not be performed. */
  fatalError: unknown = null;

  private constructor(
    private readonly runtime: Runtime,
    private readonly opts: RaftNodeOptions<R>,
    private readonly store: DurableRaftLog,
    private readonly transport: RaftTransport,
    recovered: RecoveredState,
  ) {
    this.id = runtime.nodeId;
    const config = opts.config ?? LOCAL_RAFT_CONFIG;
    this.raft = new Raft({
      id: this.id,
      config,
      bootstrapVoters: opts.bootstrapVoters ?? [...opts.members.keys()],
      random: runtime.rng.fork('raft'),
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      entries: recovered.entries,
    });
    if (recovered.snapshot) opts.stateMachine.restore(recovered.snapshot.data);
    this.appliedIndex = recovered.snapshot?.meta.index ?? 0;
    this.lastSnapshotIndex = this.appliedIndex;
    this.softState = { role: 'follower', leader: null, term: this.raft.status().term };
    this.snapshotEvery = opts.snapshotEveryEntries ?? DEFAULT_SNAPSHOT_EVERY_ENTRIES;
    this.proposalTimeoutMs = opts.proposalTimeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS;
    this.maxPending = opts.maxPendingProposals ?? DEFAULT_MAX_PENDING_PROPOSALS;
    this.supervisor = new Supervisor({
      timers: runtime.timers,
      rng: runtime.rng.fork('raft-supervisor'),
      log: runtime.log.child({ component: 'raft' }),
      onEscalate: (_loop, error) => this.fatal(error, 'a step of the core failed'),
    });
    this.driver = this.supervisor.loop('raft', { policy: 'escalate' });
  }

  /** Recovers durable state, starts the transport and the tick timer. */
  static async start<R>(opts: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const rt = opts.runtime;
    const log = rt.log.child({ component: 'raft' });
    const { store, recovered } = await DurableRaftLog.open(rt.storage, log);
    const transport =
      opts.transport ??
      new ProtocolRaftTransport(rt, rt.nodeId, opts.members, {
        nodeId: rt.nodeId,
        role: 'manager',
        clusterId: 'salvo',
        environment: 'default',
        capabilities: ['raft'],
        ...opts.identity,
      });
    const node = new RaftNode(rt, opts, store, transport, recovered);
    opts.onEvent?.({ type: 'recovered', recovered });
    log.log('info', 'raft node recovered', {
      term: recovered.hardState?.term ?? 0,
      entries: recovered.entries.length,
      snapshotIndex: recovered.snapshot?.meta.index ?? 0,
      truncatedBytes: recovered.truncatedBytes,
    });
    await transport.start((m) => node.onMessage(m));
    const tickMs = (opts.config ?? LOCAL_RAFT_CONFIG).tickMs;
    node.driver.every(tickMs, () => node.onTick());
    node.kick();
    return node;
  }

  // ---------------------------------------------------------------- public API

  /** Proposes a command; resolves once it is applied here (with the state machine's result). */
  propose(data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<ProposalOutcome<R>> {
    const st = this.raft.status();
    const fail = (
      code: Extract<ProposalOutcome, { ok: false }>['code'],
      detail: string,
    ): Promise<ProposalOutcome<R>> =>
      Promise.resolve({ ok: false, code, leaderHint: st.leader, term: st.term, detail });
    if (this.stopped) return fail('stopped', 'node stopped');
    if (this.pending.size >= this.maxPending) {
      return fail(
        'overloaded',
        `${this.pending.size} proposals pending (limit ${this.maxPending})`,
      );
    }
    const r = this.raft.propose(data);
    if (!r.ok) {
      if (r.code === 'not-leader' || r.code === 'transferring') {
        return Promise.resolve({
          ok: false,
          code: 'not-leader',
          leaderHint: r.leaderHint,
          term: r.term,
          detail: r.code === 'transferring' ? 'leadership is being transferred' : 'not the leader',
        });
      }
      return fail('rejected', JSON.stringify(r));
    }
    return this.track(r.index, r.term, options.timeoutMs);
  }

  /** Adds or removes one voter; resolves when the configuration entry is applied. */
  proposeConfigChange(change: ConfigChange): Promise<ProposalOutcome<R>> {
    const r = this.raft.proposeConfigChange(change);
    if (!r.ok) {
      const st = this.raft.status();
      return Promise.resolve({
        ok: false,
        code: r.code === 'not-leader' ? 'not-leader' : 'rejected',
        leaderHint: st.leader,
        term: st.term,
        detail: JSON.stringify(r),
      });
    }
    return this.track(r.index, r.term, undefined);
  }

  transferLeadership(to: NodeId): TransferResult {
    const r = this.raft.transferLeadership(to);
    this.kick();
    return r;
  }

  status(): RaftStatus & {
    appliedIndex: number;
    pendingProposals: number;
    staleEntriesSkipped: number;
  } {
    return {
      ...this.raft.status(),
      appliedIndex: this.appliedIndex,
      pendingProposals: this.pending.size,
      staleEntriesSkipped: this.staleEntriesSkipped,
    };
  }

  /** Read-only access to the core for invariant checks. */
  get core(): Pick<
    Raft,
    'status' | 'termAt' | 'entryAt' | 'fencingToken' | 'voters' | 'stats' | 'peerQuietTicks'
  > {
    return this.raft;
  }

  get transportStats(): RaftTransport['stats'] {
    return this.transport.stats;
  }

  get storeStats(): DurableRaftLog['stats'] {
    return this.store.stats;
  }

  /**
   * Stops the node. With `transfer`, a leader first hands leadership to its most up-to-date
   * follower and waits (bounded) for someone else to lead.
   */
  stop(options: { transfer?: boolean; waitMs?: number } = {}): Promise<void> {
    // Decided and recorded in one synchronous block: a second stop() while the first awaits
    // the transfer or the closes gets the same promise, so nothing is closed twice or left open.
    this.stopping ??= this.doStop(options);
    return this.stopping;
  }

  private async doStop(options: { transfer?: boolean; waitMs?: number }): Promise<void> {
    if (!this.stopped && options.transfer === true && this.raft.status().role === 'leader') {
      const target = this.raft.bestTransferTarget();
      if (target !== null && this.transferLeadership(target).ok) {
        // Done once this node follows someone else (it heard the new leader's first append).
        await this.waitFor(() => {
          const st = this.raft.status();
          return st.role !== 'leader' && st.leader !== null && st.leader !== this.id;
        }, options.waitMs ?? DEFAULT_TRANSFER_WAIT_MS);
      }
    }
    // A node that failed stop (before or during the transfer) already closed its transport.
    const failed = this.stopped;
    this.stopped = true;
    this.supervisor.stop();
    this.failPending('stopped', 'node stopped', () => true);
    if (!failed) await this.transport.close();
    await this.store.close();
  }

  // ---------------------------------------------------------------- driving the core

  private onTick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.kick();
  }

  private onMessage(m: Message): void {
    if (this.stopped) return;
    this.driver.run(() => {
      this.raft.step(m);
      this.kick();
    });
  }

  private track(
    index: number,
    term: number,
    timeoutMs: number | undefined,
  ): Promise<ProposalOutcome<R>> {
    return new Promise((resolve) => {
      const timer = this.runtime.timers.after(timeoutMs ?? this.proposalTimeoutMs, () => {
        const p = this.pending.get(index);
        if (p === undefined || p.timer !== timer) return;
        this.pending.delete(index);
        const st = this.raft.status();
        resolve({
          ok: false,
          code: 'timeout',
          leaderHint: st.leader,
          term: st.term,
          detail: `entry ${index} (term ${term}) not applied within ${timeoutMs ?? this.proposalTimeoutMs} ms`,
        });
      });
      this.pending.set(index, { term, resolve, timer });
      this.kick();
    });
  }

  private kick(): void {
    if (this.processing || this.stopped || !this.raft.hasReady()) return;
    this.processing = true;
    this.processReadies().then(
      () => {
        this.processing = false;
        // Inputs that arrived during the last await may have produced more work.
        this.kick();
      },
      (error: unknown) => {
        this.processing = false;
        this.fatal(error, 'a Ready could not be performed');
      },
    );
  }

  private async processReadies(): Promise<void> {
    while (!this.stopped && this.raft.hasReady()) {
      const rd = this.raft.ready();
      await this.perform(rd);
      if (this.stopped) return;
      this.raft.advance();
      if (this.appliedIndex - this.lastSnapshotIndex >= this.snapshotEvery) {
        await this.takeSnapshot();
      }
    }
  }

  private async perform(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState);
    if (rd.snapshot) {
      await this.store.installSnapshot(rd.snapshot);
      this.opts.stateMachine.restore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.opts.onEvent?.({ type: 'snapshot-installed', index: rd.snapshot.meta.index });
    }
    await this.store.append(rd.entries);
    if (rd.hardState) await this.store.saveHardState(rd.hardState, rd.hardStateMustSync);
    if (this.stopped) return;
    for (const m of rd.messages) this.transport.send(m);
    // A snapshot that step() accepted while this Ready was being persisted lies above every
    // entry of it (the core only takes snapshots beyond its commit index) and already holds
    // their effect: they are not applied over it; the next Ready restores the snapshot.
    const covered = this.raft.status().snapshotIndex;
    for (const e of rd.committedEntries) {
      if (e.index > covered) this.apply(e);
      else if (e.index > this.appliedIndex) this.staleEntriesSkipped++;
    }
  }

  private apply(e: Entry): void {
    if (e.index <= this.appliedIndex) return;
    this.appliedIndex = e.index;
    let result: unknown = undefined;
    if (e.kind === 'normal') result = this.opts.stateMachine.apply(e);
    this.opts.onEvent?.({ type: 'applied', entry: e, result });
    const p = this.pending.get(e.index);
    if (p === undefined) return;
    this.pending.delete(e.index);
    p.timer.cancel();
    if (p.term === e.term) {
      p.resolve({ ok: true, index: e.index, term: e.term, result: result as R });
    } else {
      p.resolve({
        ok: false,
        code: 'not-leader',
        leaderHint: this.softState.leader,
        term: this.softState.term,
        detail: `entry ${e.index} of term ${p.term} was replaced by a newer leader; it was not applied`,
      });
    }
  }

  private onSoftState(s: SoftState): void {
    const was = this.softState;
    this.softState = s;
    if (was.role === 'leader' && (s.role !== 'leader' || s.term !== was.term)) {
      // GP-4.2: proposals of a deposed leader fail clearly; their entries may still commit
      // under the new leader, so a retry must reuse the command id (applied once).
      this.failPending(
        'not-leader',
        `leadership of term ${was.term} lost before the entry was applied`,
        (p) => p.term === was.term,
      );
    }
    this.runtime.log.log('info', 'raft role', { role: s.role, leader: s.leader, term: s.term });
    this.opts.onEvent?.({ type: 'soft-state', state: s });
  }

  private failPending(
    code: 'not-leader' | 'stopped',
    detail: string,
    which: (p: Pending<R>) => boolean,
  ): void {
    for (const [index, p] of [...this.pending]) {
      if (!which(p)) continue;
      this.pending.delete(index);
      p.timer.cancel();
      p.resolve({
        ok: false,
        code,
        leaderHint: this.softState.leader,
        term: this.softState.term,
        detail,
      });
    }
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.appliedIndex;
    // Compaction never moves backwards: while a snapshot from the leader waits to be
    // installed, this node's applied index lies below it and there is nothing to compact.
    if (index <= this.raft.status().snapshotIndex) return;
    const snapshot = this.raft.compact(index, this.opts.stateMachine.snapshot());
    const retained = this.raft.persistedEntries(index + 1, Number.MAX_SAFE_INTEGER);
    await this.store.compact(snapshot, retained);
    this.lastSnapshotIndex = index;
  }

  private fatal(error: unknown, what: string): void {
    if (this.stopped) return;
    this.fatalError = error;
    this.runtime.log.log('error', `raft node stopped: ${what}`, {
      error: error instanceof Error ? error.message : String(error),
      code: (error as { code?: unknown } | null)?.code,
    });
    this.stopped = true;
    this.supervisor.stop();
    this.failPending('stopped', 'node failed', () => true);
    this.transport
      .close()
      .then(undefined, (e: unknown) =>
        this.runtime.log.log('error', 'raft transport close failed', { error: String(e) }),
      );
    this.opts.onFatal?.(error);
  }

  private waitFor(pred: () => boolean, maxMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const deadline = this.runtime.clock.monotonicMs() + maxMs;
      const poll = this.runtime.timers.every((this.opts.config ?? LOCAL_RAFT_CONFIG).tickMs, () => {
        if (pred()) {
          poll.cancel();
          resolve(true);
        } else if (this.runtime.clock.monotonicMs() >= deadline) {
          poll.cancel();
          resolve(false);
        }
      });
    });
  }
}
