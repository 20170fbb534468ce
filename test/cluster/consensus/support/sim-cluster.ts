// Test support: Raft nodes (the real node shell + KV register) on the simulated runtime, a
// client that proposes to whoever leads, and the Raft safety invariants checked after every
// simulator event: election safety, log matching, leader completeness, state-machine safety.

import { WAN_RAFT_CONFIG, type RaftConfig } from '../../../../src/cluster/consensus/config.js';
import type { Entry, NodeId } from '../../../../src/cluster/consensus/types.js';
import {
  KvRegister,
  encodeKvCommand,
  type KvResult,
} from '../../../../src/nodes/consensus/kv-register.js';
import {
  RaftNode,
  type ProposalOutcome,
  type RaftNodeEvent,
} from '../../../../src/nodes/consensus/raft-node.js';
import type { Simulation } from '../../../../src/runtime/sim/index.js';
import type { NodeAddress } from '../../../../src/runtime/types.js';

/** Sim tests use 10 ms ticks: heartbeat 50 ms, election 300–600 ms. */
export const SIM_RAFT_CONFIG: RaftConfig = {
  ...WAN_RAFT_CONFIG,
  tickMs: 10,
  heartbeatTicks: 5,
  electionTicks: 30,
  transferTimeoutTicks: 30,
};

export interface SimClusterOptions {
  readonly ids: readonly NodeId[];
  readonly config?: Partial<RaftConfig>;
  readonly snapshotEveryEntries?: number;
  readonly proposalTimeoutMs?: number;
  /** Check the invariants after every event (default true). */
  readonly checkInvariants?: boolean;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export class SimRaftCluster {
  readonly nodes = new Map<NodeId, RaftNode<KvResult>>();
  readonly machines = new Map<NodeId, KvRegister>();
  readonly members = new Map<NodeId, NodeAddress>();
  /** Violations found inside events (thrown from afterEvent so the sim stops at once). */
  private readonly violations: string[] = [];
  /** term → the node that led it. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** index → what was applied there (first applier) and the lowest term any applier was in. */
  readonly appliedAt = new Map<number, { term: number; hash: number; seenInTerm: number }>();
  /** `${index}:${term}` → (prevTerm, data hash): log matching, inductively. */
  private readonly logFacts = new Map<string, { prevTerm: number; hash: number }>();
  /** Per node: how far its log was verified, and the term there (to notice truncation). */
  private readonly verified = new Map<NodeId, { index: number; term: number }>();
  /** Per leader incarnation (`id@term`): how far leader completeness was verified. */
  private readonly completeness = new Map<string, number>();
  private maxAppliedIndex = 0;
  readonly config: RaftConfig;
  private clientSeq = 0;
  /** Snapshots installed from a leader, over all nodes (shows the interleaving was exercised). */
  snapshotsInstalled = 0;
  readonly acknowledged = new Map<string, { index: number; value: string }>();

  constructor(
    readonly sim: Simulation,
    readonly opts: SimClusterOptions,
  ) {
    this.config = { ...SIM_RAFT_CONFIG, ...opts.config };
    for (const id of opts.ids) {
      this.members.set(id, { host: `dc1/${id}`, port: 7000 });
    }
    for (const id of opts.ids) {
      sim.addNode({ id, dc: 'dc1' }, async (rt) => {
        this.nodes.delete(id);
        const machine = new KvRegister();
        this.machines.set(id, machine);
        const node = await RaftNode.start<KvResult>({
          runtime: rt,
          members: this.members,
          config: this.config,
          stateMachine: machine,
          snapshotEveryEntries: opts.snapshotEveryEntries ?? 100,
          proposalTimeoutMs: opts.proposalTimeoutMs ?? 3_000,
          onEvent: (ev) => this.onEvent(id, ev),
        });
        // A crash during the awaits above leaves a stale node behind: only keep a live one.
        if (sim.node(id).up && sim.node(id).runtime === rt) this.nodes.set(id, node);
      });
    }
    if (opts.checkInvariants !== false) sim.afterEvent(() => this.checkInvariants());
  }

  node(id: NodeId): RaftNode<KvResult> | undefined {
    return this.sim.node(id).up ? this.nodes.get(id) : undefined;
  }

  liveNodes(): [NodeId, RaftNode<KvResult>][] {
    return [...this.nodes].filter(([id]) => this.sim.node(id).up);
  }

  /** Nodes that currently believe they lead, with their terms. */
  leaders(): { id: NodeId; term: number }[] {
    return this.liveNodes()
      .map(([id, n]) => ({ id, st: n.status() }))
      .filter((x) => x.st.role === 'leader')
      .map((x) => ({ id: x.id, term: x.st.term }));
  }

  /** The leader of the highest term among live nodes, if any. */
  leader(): NodeId | null {
    const ls = this.leaders().sort((a, b) => b.term - a.term);
    return ls[0]?.id ?? null;
  }

  async waitForLeader(maxMs = 10_000, among?: readonly NodeId[]): Promise<NodeId> {
    const ok = await this.sim.runUntil(
      () => {
        const l = this.leader();
        return l !== null && (among === undefined || among.includes(l));
      },
      { maxMs },
    );
    const l = this.leader();
    if (!ok || l === null) throw new Error(`no leader within ${maxMs} ms`);
    return l;
  }

  /** Proposes a KV put through node `id` (a fresh command id unless `seq` is given). */
  propose(
    id: NodeId,
    key: string,
    value: string,
    client = 'test-client',
    seq?: number,
  ): Promise<ProposalOutcome<KvResult>> {
    const node = this.node(id);
    const s = seq ?? ++this.clientSeq;
    if (node === undefined) {
      return Promise.resolve({
        ok: false,
        code: 'stopped',
        leaderHint: null,
        term: 0,
        detail: 'node down',
      });
    }
    return node.propose(encodeKvCommand({ client, seq: s, op: 'put', key, value })).then((o) => {
      if (o.ok && o.result.ok) this.acknowledged.set(key, { index: o.index, value });
      return o;
    });
  }

  /** Runs until every live node has applied at least `index` (or the time runs out). */
  async waitForApplied(index: number, maxMs = 10_000, ids?: readonly NodeId[]): Promise<boolean> {
    return this.sim.runUntil(
      () => {
        const targets = ids ?? this.opts.ids;
        return targets.every((id) => (this.node(id)?.status().appliedIndex ?? -1) >= index);
      },
      { maxMs },
    );
  }

  private onEvent(id: NodeId, ev: RaftNodeEvent): void {
    if (ev.type === 'snapshot-installed') this.snapshotsInstalled++;
    if (ev.type !== 'applied') return;
    const node = this.nodes.get(id);
    const term = node?.status().term ?? 0;
    this.recordApplied(id, ev.entry, term);
  }

  private recordApplied(id: NodeId, e: Entry, applierTerm: number): void {
    const hash = fnv1a(e.data);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) {
      this.appliedAt.set(e.index, { term: e.term, hash, seenInTerm: applierTerm });
      this.maxAppliedIndex = Math.max(this.maxAppliedIndex, e.index);
      return;
    }
    if (seen.term !== e.term || seen.hash !== hash) {
      this.violations.push(
        `state-machine safety: ${id} applied (${e.index}, term ${e.term}) but another node applied term ${seen.term} there`,
      );
    }
    if (applierTerm > 0 && applierTerm < seen.seenInTerm) seen.seenInTerm = applierTerm;
  }

  /** The four safety properties; throws on the first violation. */
  checkInvariants(): void {
    if (this.violations.length > 0) throw new Error(this.violations.join('\n'));
    for (const [id, node] of this.liveNodes()) {
      // Fail-stop is for bugs: no node of a correct cluster ever stops itself.
      if (node.fatalError !== null) {
        throw new Error(
          `${id} stopped on an internal error: ${node.fatalError instanceof Error ? node.fatalError.message : JSON.stringify(node.fatalError)}`,
        );
      }
      const core = node.core;
      const st = core.status();
      // Election safety: at most one leader per term, ever.
      if (st.role === 'leader') {
        const prev = this.leaderOfTerm.get(st.term);
        if (prev === undefined) this.leaderOfTerm.set(st.term, id);
        else if (prev !== id) {
          throw new Error(`election safety: ${prev} and ${id} both led term ${st.term}`);
        }
      }
      this.checkLogMatching(id, node);
      if (st.role === 'leader') this.checkLeaderCompleteness(id, node);
    }
  }

  private checkLogMatching(id: NodeId, node: RaftNode<KvResult>): void {
    const core = node.core;
    const st = core.status();
    let v = this.verified.get(id) ?? { index: 0, term: 0 };
    if (v.index > st.lastIndex || (v.index >= st.firstIndex && core.termAt(v.index) !== v.term)) {
      // Truncated (or restarted with a shorter log): re-verify from the commit point.
      const from = Math.max(st.firstIndex - 1, Math.min(st.commit, st.lastIndex));
      v = { index: from, term: core.termAt(from) ?? 0 };
    }
    if (v.index < st.firstIndex - 1)
      v = { index: st.firstIndex - 1, term: core.termAt(st.firstIndex - 1) ?? 0 };
    for (let i = v.index + 1; i <= st.lastIndex; i++) {
      const e = core.entryAt(i);
      const prevTerm = core.termAt(i - 1);
      if (e === undefined || prevTerm === undefined) break;
      const fact = { prevTerm, hash: fnv1a(e.data) };
      const key = `${i}:${e.term}`;
      const known = this.logFacts.get(key);
      if (known === undefined) this.logFacts.set(key, fact);
      else if (known.prevTerm !== fact.prevTerm || known.hash !== fact.hash) {
        throw new Error(
          `log matching: ${id} has (${i}, term ${e.term}) with prev term ${prevTerm}; another log has prev term ${known.prevTerm}${known.hash !== fact.hash ? ' and other data' : ''}`,
        );
      }
      v = { index: i, term: e.term };
    }
    this.verified.set(id, v);
  }

  private checkLeaderCompleteness(id: NodeId, node: RaftNode<KvResult>): void {
    const core = node.core;
    const st = core.status();
    const key = `${id}@${st.term}`;
    let from = this.completeness.get(key) ?? 0;
    for (let i = from + 1; i <= this.maxAppliedIndex; i++) {
      const a = this.appliedAt.get(i);
      from = i;
      if (a === undefined || a.seenInTerm >= st.term) continue;
      if (i < st.firstIndex) continue; // compacted into the leader's snapshot
      const t = core.termAt(i);
      if (t !== a.term) {
        throw new Error(
          `leader completeness: ${id} leads term ${st.term} but has term ${t} at ${i}, where term ${a.term} was committed (seen in term ${a.seenInTerm})`,
        );
      }
    }
    this.completeness.set(key, from);
    if (this.completeness.size > 10_000) this.completeness.clear();
  }

  /** Every live node that applied index i applied the same thing (final, full check). */
  assertConverged(): void {
    const machines = this.liveNodes().map(([id]) => ({ id, m: this.machines.get(id) }));
    const first = machines[0];
    if (first?.m === undefined) return;
    const ref = JSON.stringify(first.m.entries().sort());
    for (const { id, m } of machines) {
      const got = JSON.stringify(m?.entries().sort());
      if (got !== ref) throw new Error(`state of ${id} differs from ${first.id}`);
    }
  }
}
