// Owns a manager node on a Runtime: one protocol server shared by the DC's Raft group and the
// job path (`dc.*` from gates, `worker.*`/`work.*` from workers), the DC state replicated in
// Raft, and the coordinators that do the work: worker directory, dispatch, result relay,
// cancellation and hooks. A thin shell: it wires them and starts and stops them.

import { LOCAL_RAFT_CONFIG, type RaftConfig } from '../../cluster/consensus/config.js';
import { CancelFanout } from '../../cluster/jobs/cancel-fanout.js';
import { DcJobState, type DcApplyResult } from '../../cluster/jobs/dc-state.js';
import { WindowRelay, type WindowRelayConfig } from '../../cluster/jobs/window-relay.js';
import { WorkerRegistry, type WorkerRegistryConfig } from '../../cluster/jobs/worker-registry.js';
import type { Handler, LocalIdentity, MessageOf, RequestContext } from '../../protocol/index.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import { RaftNode } from '../consensus/raft-node.js';
import { ProtocolRaftTransport } from '../consensus/transport.js';
import {
  BundleGetDef,
  DC_MESSAGES,
  DcAdoptDef,
  DcCancelDef,
  DcCapacityDef,
  DcDispatchDef,
  DcHookDef,
  DcReleaseDef,
} from '../jobs/dc-wire.js';
import { PeerLinks } from '../jobs/peer-links.js';
import { BundleRelay } from './bundle-relay.js';
import {
  WORK_MESSAGES,
  WorkDoneDef,
  WorkerHeartbeatDef,
  WorkerLeavingDef,
  WorkerRegisterDef,
  WorkWindowsDef,
  type WorkVersion,
} from '../jobs/work-wire.js';
import { CancelCoordinator } from './cancel-coordinator.js';
import type { ManagerContext } from './context.js';
import { DispatchCoordinator } from './dispatch-coordinator.js';
import { HookCoordinator } from './hook-coordinator.js';
import { RaftLeadership } from './leadership.js';
import { DEFAULT_RECOVERY, PartRecovery, type RecoveryOptions } from './part-recovery.js';
import { OwnerHandover } from './owner-handover.js';
import {
  DEFAULT_PART_DEADLINE_OPTIONS,
  PartDeadlineWatch,
  type PartDeadlineOptions,
} from './part-deadline-watch.js';
import { ResultRelay } from './result-relay.js';
import { TakeoverCoordinator } from './takeover.js';
import { WorkerDirectory } from './worker-directory.js';

export interface ManagerNodeOptions {
  readonly dc: string;
  readonly id: string;
  /** Every manager of the DC (this one included) by node id: the DC's Raft group. */
  readonly peers: ReadonlyMap<string, NodeAddress>;
  /** Gates by node id (informational: each dispatch names its owner gate's address). */
  readonly gates?: ReadonlyMap<string, NodeAddress>;
  readonly raftConfig?: RaftConfig;
  /** The DC state is snapshotted (and the Raft log compacted) every this many applied entries. */
  readonly snapshotEveryEntries?: number;
  readonly registry?: Partial<WorkerRegistryConfig>;
  readonly relay?: Partial<WindowRelayConfig>;
  /** How long a share may wait for free cores before E_INSUFFICIENT_CAPACITY. */
  readonly maxWaitMs?: number;
  readonly workerTimeoutMs?: number;
  readonly dispatchAttempts?: number;
  /** Re-dispatch of lost workers' parts: budgets and waits (DEFAULT_RECOVERY). */
  readonly recovery?: Partial<RecoveryOptions>;
  /** Parts' deadlines and their extensions (DEFAULT_PART_DEADLINE_OPTIONS). */
  readonly deadlines?: Partial<PartDeadlineOptions>;
  /** Period workers are told to heartbeat at. */
  readonly heartbeatMs?: number;
  readonly relayTickMs?: number;
  readonly gateTimeoutMs?: number;
  readonly version?: WorkVersion;
  readonly capabilities?: readonly string[];
  readonly identity?: Partial<Pick<LocalIdentity, 'clusterId' | 'environment' | 'protocol'>>;
  readonly onFatal?: (error: unknown) => void;
}

export class ManagerNode {
  readonly ctx: ManagerContext;
  readonly directory: WorkerDirectory;
  readonly dispatch: DispatchCoordinator;
  readonly relay: ResultRelay;
  readonly cancel: CancelCoordinator;
  readonly hooks: HookCoordinator;
  readonly handover: OwnerHandover;
  /** Bundles for workers, fetched from the owner gates. */
  readonly bundles: BundleRelay;
  readonly takeover: TakeoverCoordinator;
  /** Re-dispatches the parts of lost workers. */
  readonly recovery: PartRecovery;
  /** Ends parts past their deadline; decides workers' requests for more time. */
  readonly deadlines: PartDeadlineWatch;
  private readonly leadership: RaftLeadership;
  private raftNode: RaftNode<DcApplyResult> | null = null;
  private stopped = false;

  private constructor(
    readonly runtime: Runtime,
    readonly opts: ManagerNodeOptions,
    private readonly transport: ProtocolRaftTransport,
    gateLinks: PeerLinks,
  ) {
    const now = (): number => runtime.clock.monotonicMs();
    const registry = new WorkerRegistry(opts.registry);
    this.leadership = new RaftLeadership(opts.peers, registry, runtime.log, now, {
      maxWaitMs: opts.maxWaitMs ?? 30_000,
    });
    this.ctx = {
      runtime,
      log: runtime.log.child({ component: 'manager', dc: opts.dc }),
      dc: opts.dc,
      id: opts.id,
      state: new DcJobState(),
      raft: () => this.raftNode,
      registry,
      relay: new WindowRelay(opts.relay),
      cancels: new CancelFanout(),
      leadership: this.leadership,
      gateLinks,
      workerConns: new Map(),
      parts: new Map(),
      originals: new Map(),
      abandoned: new Set(),
      workflowEnded: () => undefined,
      recoveryNotes: () => [],
      workflowForgotten: () => undefined,
      dispatchRecorded: () => undefined,
      ownerMoved: () => Promise.resolve({ requeued: 0, complete: false }),
      now,
    };
    this.dispatch = new DispatchCoordinator(this.ctx, {
      workerTimeoutMs: opts.workerTimeoutMs ?? 5_000,
      attempts: opts.dispatchAttempts ?? 2,
    });
    this.relay = new ResultRelay(this.ctx, {
      tickMs: opts.relayTickMs ?? 50,
      gateTimeoutMs: opts.gateTimeoutMs ?? 5_000,
    });
    this.relay.onCoresFreed = () => this.dispatch.schedulePump();
    this.directory = new WorkerDirectory(
      this.ctx,
      {
        heartbeatMs: opts.heartbeatMs ?? 1_000,
        sweepMs: Math.max(100, Math.floor((opts.heartbeatMs ?? 1_000) / 2)),
        ...(opts.version ? { version: opts.version } : {}),
        ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
      },
      (worker, why) => this.workerLost(worker, why),
      {
        afterMs: opts.recovery?.lostAfterMs ?? DEFAULT_RECOVERY.lostAfterMs,
        call: (worker, ms) => this.recovery.workerSilent(worker, ms),
      },
    );
    this.recovery = new PartRecovery(
      this.ctx,
      {
        ...DEFAULT_RECOVERY,
        workerTimeoutMs: opts.workerTimeoutMs ?? DEFAULT_RECOVERY.workerTimeoutMs,
        ...opts.recovery,
      },
      (job, workflow, outcome) => this.ctx.workflowEnded(job, workflow, outcome),
    );
    this.deadlines = new PartDeadlineWatch(
      this.ctx,
      { ...DEFAULT_PART_DEADLINE_OPTIONS, ...opts.deadlines },
      (job, workflow, outcome) => this.ctx.workflowEnded(job, workflow, outcome),
    );
    this.directory.heartbeatExtras = (m) => this.deadlines.onHeartbeat(m);
    this.cancel = new CancelCoordinator(this.ctx, this.dispatch);
    this.hooks = new HookCoordinator(this.ctx);
    this.bundles = new BundleRelay(gateLinks);
    this.handover = new OwnerHandover(this.ctx, this.relay, this.bundles);
    this.takeover = new TakeoverCoordinator(
      this.ctx,
      {
        settleMs: 2 * (opts.heartbeatMs ?? 1_000),
        workerTimeoutMs: opts.workerTimeoutMs ?? 5_000,
      },
      this.recovery,
    );
    this.leadership.onNewTerm = (term) => this.takeover.onNewTerm(term);
    const serve = <M>(type: string, h: (m: M, rc: RequestContext) => unknown): void => {
      transport.server.handle(type, ((m, rc) => h(m as M, rc)) as Handler);
    };
    serve(DcCapacityDef.type, (m: never) => this.dispatch.onCapacity(m));
    serve(DcDispatchDef.type, (m: MessageOf<typeof DcDispatchDef>, rc) => {
      this.bundles.noteOwner(m.bundle.hash, m.ownerAddress);
      return this.dispatch.onDispatch(m, rc);
    });
    serve(DcCancelDef.type, (m: never, rc) => this.cancel.onCancel(m, rc));
    serve(DcHookDef.type, (m: MessageOf<typeof DcHookDef>, rc) => {
      this.bundles.noteOwner(m.bundle.hash, m.ownerAddress);
      return this.hooks.onHook(m, rc);
    });
    serve(BundleGetDef.type, (m: { hash: string }, rc) => this.bundles.onGet(m, rc));
    serve(DcAdoptDef.type, (m: never, rc) => this.handover.onAdopt(m, rc));
    serve(DcReleaseDef.type, (m: MessageOf<typeof DcReleaseDef>, rc) => {
      // The hook answers go only with a release the handover took (a stale fence keeps them).
      const answer = this.handover.onRelease(m, rc);
      if ((answer as { t?: unknown }).t === 'dc.released') this.hooks.release(m.job);
      return answer;
    });
    serve(WorkerRegisterDef.type, (m: never, rc) => this.directory.onRegister(m, rc));
    serve(WorkerHeartbeatDef.type, (m: never, rc) => this.directory.onHeartbeat(m, rc));
    serve(WorkerLeavingDef.type, (m: never, rc) => this.directory.onLeaving(m, rc));
    serve(WorkWindowsDef.type, (m: never, rc) => this.relay.onWindows(m, rc));
    serve(WorkDoneDef.type, (m: never, rc) => this.relay.onDone(m, rc));
  }

  /** Starts the Raft member (which listens for everything) and the coordinators. */
  static async start(runtime: Runtime, opts: ManagerNodeOptions): Promise<ManagerNode> {
    const identity: LocalIdentity = {
      nodeId: opts.id,
      role: 'manager',
      clusterId: opts.identity?.clusterId ?? 'salvo',
      environment: opts.identity?.environment ?? 'default',
      datacenter: opts.dc,
      capabilities: ['raft', 'jobs'],
      ...(opts.identity?.protocol ? { protocol: opts.identity.protocol } : {}),
    };
    const transport = new ProtocolRaftTransport(runtime, opts.id, opts.peers, identity);
    transport.registry.register(...DC_MESSAGES, ...WORK_MESSAGES);
    const gateLinks = new PeerLinks(runtime, {
      registry: transport.registry,
      identity,
      handlers: new Map(),
    });
    const node = new ManagerNode(runtime, opts, transport, gateLinks);
    const state = node.ctx.state;
    node.raftNode = await RaftNode.start<DcApplyResult>({
      runtime,
      members: opts.peers,
      config: opts.raftConfig ?? LOCAL_RAFT_CONFIG,
      transport,
      stateMachine: {
        apply: (e) => state.applyBytes(e.data),
        snapshot: () => state.snapshot(),
        restore: (data) => state.restore(data),
      },
      onEvent: (ev) => {
        if (ev.type === 'soft-state') node.leadership.changed();
      },
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
      ...(opts.snapshotEveryEntries !== undefined
        ? { snapshotEveryEntries: opts.snapshotEveryEntries }
        : {}),
    });
    node.leadership.attach(node.raftNode);
    node.directory.start();
    node.dispatch.start();
    node.relay.start();
    node.deadlines.start();
    node.ctx.log.log('info', 'manager started', { id: opts.id, peers: [...opts.peers.keys()] });
    return node;
  }

  /** The address this manager listens on (gates, workers and peers reach it there). */
  async address(): Promise<NodeAddress> {
    return (await this.transport.server.start()).address;
  }

  get raft(): RaftNode<DcApplyResult> | null {
    return this.raftNode;
  }

  isLeader(): boolean {
    return this.leadership.isLeader();
  }

  private workerLost(worker: string, why: string): void {
    this.recovery.workerLost(worker, why);
    this.dispatch.schedulePump();
  }

  /**
   * A graceful stop: a leader first hands the DC's leadership to its most up-to-date peer (so
   * the next leader takes the running jobs over at once, not after an election timeout) while
   * its own loops still relay; workers follow the new leader and send it again what this one
   * took but had not delivered. Then everything stops.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.raftNode?.stop({ transfer: true });
    this.directory.stop();
    this.dispatch.stop();
    this.relay.stop();
    this.deadlines.stop();
    this.cancel.stop();
    this.takeover.stop();
    this.ctx.gateLinks.close();
  }
}
