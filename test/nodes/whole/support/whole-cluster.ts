// Test support: a whole cluster in the simulator — three real gates (GateNode, one Raft ledger)
// over two datacenters, each datacenter with three real managers (ManagerNode, a Raft group) and
// two real workers (WorkerNode) whose synthetic executors count exactly what they produce — and
// a client that submits and watches jobs. Used by the whole-cluster chaos test.

import type { Simulation } from '../../../../src/runtime/sim/index.js';
import type { NodeAddress } from '../../../../src/runtime/types.js';
import { GateNode } from '../../../../src/nodes/gate/gate-node.js';
import { ManagerNode } from '../../../../src/nodes/manager/manager-node.js';
import { SyntheticExecutor } from '../../../../src/nodes/worker/synthetic-executor.js';
import { WorkerNode } from '../../../../src/nodes/worker/worker-node.js';
import { SIM_RAFT_CONFIG } from '../../../cluster/consensus/support/sim-cluster.js';
import { SimClient } from '../../gate/support/gate-cluster.js';

const PORT = 7000;
export const DCS = ['a', 'b'] as const;
export const GATES: Readonly<Record<string, string>> = { g1: 'a', g2: 'b', g3: 'a' };

const address = (dc: string, id: string): NodeAddress => ({ host: `${dc}/${id}`, port: PORT });

export interface WholeClusterSpec {
  /** Length of every part the synthetic workers run (virtual ms). */
  readonly partMs: number;
}

export class WholeCluster {
  readonly gates = new Map<string, GateNode>();
  readonly managers = new Map<string, ManagerNode>();
  readonly workers = new Map<string, WorkerNode>();
  readonly gateAddresses = new Map<string, NodeAddress>();
  readonly managerIds: Record<string, string[]> = {};
  readonly workerIds: string[] = [];
  readonly client: SimClient;
  /** Each executor a worker ever ran (restarts start a new one): what the workers produced. */
  private readonly executors: SyntheticExecutor[] = [];

  constructor(
    readonly sim: Simulation,
    spec: WholeClusterSpec,
  ) {
    const dcs: Record<string, NodeAddress[]> = {};
    for (const dc of DCS) {
      const ids = [1, 2, 3].map((i) => `${dc}-m${i}`);
      this.managerIds[dc] = ids;
      dcs[dc] = ids.map((id) => address(dc, id));
      const peers = new Map(ids.map((id) => [id, address(dc, id)]));
      for (const id of ids) {
        sim.addNode({ id, dc }, async (rt) => {
          this.managers.delete(id);
          const node = await ManagerNode.start(rt, {
            dc,
            id,
            peers,
            raftConfig: SIM_RAFT_CONFIG,
            heartbeatMs: 200,
            registry: { suspectAfterMs: 1_000, reapAfterMs: 3_000 },
            maxWaitMs: 2_000,
            workerTimeoutMs: 1_000,
          });
          if (sim.node(id).runtime === rt) this.managers.set(id, node);
        });
      }
      for (const i of [1, 2]) {
        const id = `${dc}-w${i}`;
        this.workerIds.push(id);
        sim.addNode({ id, dc }, async (rt) => {
          this.workers.delete(id);
          const executor = new SyntheticExecutor(rt, { durationMs: spec.partMs });
          this.executors.push(executor);
          const node = await WorkerNode.start(rt, {
            dc,
            id,
            managers: peers,
            cores: 2,
            executor,
            heartbeatMs: 200,
            resendMs: 200,
          });
          if (sim.node(id).runtime === rt) this.workers.set(id, node);
        });
      }
    }
    for (const [id, dc] of Object.entries(GATES)) this.gateAddresses.set(id, address(dc, id));
    for (const [id, dc] of Object.entries(GATES)) {
      sim.addNode({ id, dc }, async (rt) => {
        this.gates.delete(id);
        const gate = await GateNode.start(rt, {
          datacenter: dc,
          id,
          gates: this.gateAddresses,
          dcs,
          raftConfig: SIM_RAFT_CONFIG,
          allowUnauthenticated: true,
          cancelTimeoutMs: 2_000,
        });
        if (sim.node(id).runtime === rt) this.gates.set(id, gate);
      });
    }
    this.client = new SimClient(sim, this, 'client', 'a');
  }

  /** Gates that are up and started. */
  upGates(): [string, GateNode][] {
    return [...this.gates].filter(([id]) => this.sim.node(id).up);
  }

  /** Requests every executor (restarted ones included) produced. */
  producedRequests(): number {
    return this.executors.reduce((n, e) => n + e.counters.requests, 0);
  }

  /** Until a gate leads the ledger and each DC has a manager leader that knows both workers. */
  async ready(maxMs = 30_000): Promise<void> {
    const ok = await this.sim.runUntil(
      () =>
        this.upGates().some(([, g]) => g.isLeader) &&
        DCS.every((dc) =>
          (this.managerIds[dc] ?? []).some((id) => {
            const m = this.managers.get(id);
            return m !== undefined && m.isLeader() && this.workers.size === this.workerIds.length;
          }),
        ),
      { maxMs },
    );
    if (!ok) throw new Error(`the whole cluster was not ready within ${maxMs} ms`);
  }
}
