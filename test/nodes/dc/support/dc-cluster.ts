// Test support: one DC in the simulator — real ManagerNodes (a Raft group) and real WorkerNodes
// with synthetic executors — and a small fake gate speaking dc-wire: it dispatches, cancels,
// runs hooks and asks for capacity, and merges the windows it receives with the real
// WindowMerger, so a test can compare what reached the gate with what the workers produced.

import { WindowMerger } from '../../../../src/cluster/jobs/window-merger.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
  type RpcReply,
} from '../../../../src/protocol/index.js';
import type { Simulation } from '../../../../src/runtime/sim/index.js';
import type { NodeAddress, Runtime } from '../../../../src/runtime/types.js';
import { DC_MESSAGES } from '../../../../src/nodes/jobs/dc-wire.js';
import { PeerLinks } from '../../../../src/nodes/jobs/peer-links.js';
import {
  ManagerNode,
  type ManagerNodeOptions,
} from '../../../../src/nodes/manager/manager-node.js';
import {
  SyntheticExecutor,
  type SyntheticExecutorOptions,
} from '../../../../src/nodes/worker/synthetic-executor.js';
import { WorkerNode, type WorkerNodeOptions } from '../../../../src/nodes/worker/worker-node.js';
import { SIM_RAFT_CONFIG } from '../../../cluster/consensus/support/sim-cluster.js';

export const DC = 'a';
export const GATE_ADDRESS: NodeAddress = { host: 'g/g1', port: 7000 };
export const BUNDLE = { hash: 'a'.repeat(64), sizeBytes: 10, file: 'flow.ts' };

export interface ClusterSpec {
  readonly managers?: number;
  readonly workers?: readonly {
    id: string;
    cores: number;
    synthetic?: SyntheticExecutorOptions;
    worker?: Partial<WorkerNodeOptions>;
  }[];
  readonly manager?: Partial<ManagerNodeOptions>;
  /** The fake gate refuses `dc.windows` while this returns true (to exercise retries). */
  readonly gateRefusesWindows?: () => boolean;
}

export interface GateRecord {
  windows: number;
  batches: number;
  merged: number;
  duplicates: number;
  refusedBatches: number;
  done: AnyMessage[];
  doneMessages: number;
  /** Ends of a workflow that contradict its first end (another outcome): never expected. */
  conflictingDone: number;
}

export class DcCluster {
  readonly managerIds: string[];
  readonly managers = new Map<string, ManagerNode>();
  readonly workers = new Map<string, WorkerNode>();
  readonly executors = new Map<string, SyntheticExecutor>();
  readonly peers = new Map<string, NodeAddress>();
  readonly merger = new WindowMerger();
  readonly gate: GateRecord = {
    windows: 0,
    batches: 0,
    merged: 0,
    duplicates: 0,
    refusedBatches: 0,
    done: [],
    doneMessages: 0,
    conflictingDone: 0,
  };
  /** Requests counted by executors that a restart replaced. */
  private retiredRequests = 0;
  private links: PeerLinks | null = null;
  gateRuntime: Runtime | null = null;

  constructor(
    readonly sim: Simulation,
    readonly spec: ClusterSpec = {},
  ) {
    const n = spec.managers ?? 3;
    this.managerIds = Array.from({ length: n }, (_, i) => `m${i + 1}`);
    for (const id of this.managerIds) this.peers.set(id, { host: `${DC}/${id}`, port: 7000 });
    for (const id of this.managerIds) {
      sim.addNode({ id, dc: DC }, async (rt) => {
        this.managers.delete(id);
        const node = await ManagerNode.start(rt, {
          dc: DC,
          id,
          peers: this.peers,
          raftConfig: SIM_RAFT_CONFIG,
          heartbeatMs: 200,
          registry: { suspectAfterMs: 1_000, reapAfterMs: 3_000 },
          maxWaitMs: 2_000,
          workerTimeoutMs: 1_000,
          ...spec.manager,
        });
        if (sim.node(id).runtime === rt) this.managers.set(id, node);
      });
    }
    for (const w of spec.workers ?? [
      { id: 'w1', cores: 2 },
      { id: 'w2', cores: 2 },
    ]) {
      this.addWorker(w.id, w.cores, w.synthetic, w.worker);
    }
    sim.addNode({ id: 'g1', dc: 'g', address: GATE_ADDRESS }, async (rt) => {
      this.gateRuntime = rt;
      await this.startGate(rt);
    });
  }

  addWorker(
    id: string,
    cores: number,
    synthetic: SyntheticExecutorOptions = {},
    extra: Partial<WorkerNodeOptions> = {},
  ): void {
    this.sim.addNode({ id, dc: DC }, async (rt) => {
      this.workers.delete(id);
      const executor = new SyntheticExecutor(rt, { durationMs: 3_000, ...synthetic });
      this.retiredRequests += this.executors.get(id)?.counters.requests ?? 0;
      this.executors.set(id, executor);
      const node = await WorkerNode.start(rt, {
        dc: DC,
        id,
        managers: this.peers,
        cores,
        executor,
        heartbeatMs: 200,
        resendMs: 200,
        ...extra,
      });
      if (this.sim.node(id).runtime === rt) this.workers.set(id, node);
    });
  }

  private async startGate(rt: Runtime): Promise<void> {
    const registry = new MessageRegistry(CORE_MESSAGES).register(...DC_MESSAGES);
    const identity = {
      nodeId: 'g1',
      role: 'gate' as const,
      clusterId: 'salvo',
      environment: 'default',
      datacenter: 'g',
      capabilities: ['jobs'],
    };
    const server = new ProtocolServer({
      stream: rt.stream,
      timers: rt.timers,
      registry,
      identity,
      log: rt.log,
    });
    server.handle('dc.windows', (m) => {
      this.gate.batches++;
      if (this.spec.gateRefusesWindows?.() === true) {
        this.gate.refusedBatches++;
        return { t: 'error', code: 'E_BUSY', message: 'the test gate refuses windows now' };
      }
      let merged = 0;
      let duplicates = 0;
      for (const w of m.windows as {
        source: string;
        workflow: string;
        seq: number;
        window: unknown;
      }[]) {
        this.gate.windows++;
        const r = this.merger.apply(
          { job: m.job as string, dc: m.dc as string, worker: w.source, window: w.window },
          rt.clock.monotonicMs(),
        );
        if (r.ok && r.merged) merged++;
        else if (r.ok) duplicates++;
        else throw new Error(`merger refused a window: ${r.code} ${r.message}`);
      }
      this.gate.merged += merged;
      this.gate.duplicates += duplicates;
      return { t: 'dc.windows-ack', job: m.job, merged, duplicates, rejected: 0 };
    });
    server.handle('dc.workflow-done', (m) => {
      this.gate.doneMessages++;
      const first = this.gate.done.find((d) => d.job === m.job && d.workflow === m.workflow);
      if (first === undefined) this.gate.done.push(m);
      else if (first['outcome'] !== m['outcome']) {
        this.gate.conflictingDone++;
        rt.log.log('error', 'test gate: a workflow ended two ways', {
          job: m.job,
          workflow: m.workflow,
          first: first['outcome'],
          then: m['outcome'],
        });
      }
      return { t: 'dc.workflow-done-ack', job: m.job, workflow: m.workflow };
    });
    this.links = new PeerLinks(rt, { registry, identity, handlers: new Map() });
    await server.start();
  }

  /** Sends a request from the fake gate to manager `id`. */
  async ask(
    id: string,
    message: { t: string } & Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<RpcReply> {
    if (!this.links) throw new Error('the gate is not up');
    const conn = await this.links.get(this.peers.get(id)!, id);
    return conn.request(message, { timeoutMs });
  }

  /** Runs `ask` inside the simulation until it resolves. */
  async call(
    id: string,
    message: { t: string } & Record<string, unknown>,
    maxMs = 20_000,
  ): Promise<RpcReply> {
    let out: RpcReply | undefined;
    let err: unknown;
    this.ask(id, message).then(
      (r) => (out = r),
      (e: unknown) => (err = e),
    );
    await this.sim.runUntil(() => out !== undefined || err !== undefined, { maxMs });
    if (err !== undefined) throw err instanceof Error ? err : new Error(JSON.stringify(err));
    if (out === undefined) throw new Error(`no answer to ${message.t} within ${maxMs} ms`);
    return out;
  }

  leaderId(): string | null {
    for (const [id, m] of this.managers) if (this.sim.node(id).up && m.isLeader()) return id;
    return null;
  }

  leader(): ManagerNode {
    const id = this.leaderId();
    if (id === null) throw new Error('no leader');
    return this.managers.get(id)!;
  }

  /** Waits for a leader that knows every listed worker. */
  async ready(
    workers = [...(this.spec.workers ?? [{ id: 'w1' }, { id: 'w2' }])].map((w) => w.id),
    maxMs = 20_000,
  ): Promise<string> {
    const ok = await this.sim.runUntil(
      () => {
        const id = this.leaderId();
        if (id === null || this.gateRuntime === null) return false;
        const m = this.managers.get(id)!;
        return workers.every(
          (w) => m.ctx.registry.get(w, m.ctx.now()) !== undefined && m.ctx.workerConns.has(w),
        );
      },
      { maxMs },
    );
    if (!ok) throw new Error('the DC did not become ready');
    return this.leaderId()!;
  }

  /** A dc.dispatch of `workflow` for `job` with a constant-vus share of `vus`. */
  dispatchMsg(
    job: string,
    workflow: string,
    vus: number,
    over: Record<string, unknown> = {},
  ): { t: string } & Record<string, unknown> {
    return {
      t: 'dc.dispatch',
      job,
      fence: 1,
      ownerGate: 'g1',
      ownerAddress: GATE_ADDRESS,
      workflow,
      attempt: 1,
      bundle: BUNDLE,
      share: {
        config: { type: 'constant-vus', vus, durationMs: 3_000, gracefulStopMs: 0 },
        phase: 0,
      },
      data: null,
      context: {},
      windowMs: 1_000,
      cancelGraceMs: 500,
      ...over,
    };
  }

  /** Requests the workers' executors produced (the ground truth), across restarts. */
  producedRequests(): number {
    let n = this.retiredRequests;
    for (const e of this.executors.values()) n += e.counters.requests;
    return n;
  }

  /** Requests the gate merged for `job` over all workflows. */
  mergedRequests(job: string): number {
    const v = this.merger.view(job);
    if (!v) return 0;
    let n = 0;
    for (const w of Object.values(v.workflows))
      for (const s of Object.values(w.steps)) n += s.count;
    return n;
  }
}

export function errorCode(r: RpcReply): string | null {
  return r.ok ? null : r.error.code;
}
