// Test support: a cluster of Raft cores wired by an in-memory, fully controlled network, for
// message-by-message unit tests. Each node's "disk" is a plain object; Readies are processed
// synchronously in the documented order (persist, send, apply, advance). No clocks, no I/O.

import { LOCAL_RAFT_CONFIG, type RaftConfig } from '../../../../src/cluster/consensus/config.js';
import { Raft, type RaftRandom } from '../../../../src/cluster/consensus/raft.js';
import type {
  Entry,
  HardState,
  Message,
  NodeId,
  Snapshot,
} from '../../../../src/cluster/consensus/types.js';

/** mulberry32: a tiny seeded PRNG for tests. */
export function seededRandom(seed: number): RaftRandom & { next(): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (max: number) => Math.floor(next() * max) };
}

export interface Disk {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export interface MemNode {
  readonly id: NodeId;
  raft: Raft;
  disk: Disk;
  /** Applied commands (index, data as text), in order, rebuilt from snapshots on restart. */
  applied: { index: number; term: number; text: string }[];
  up: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function text(s: string): Uint8Array {
  return enc.encode(s);
}

export class MemCluster {
  readonly nodes = new Map<NodeId, MemNode>();
  /** Messages in flight, FIFO. */
  queue: Message[] = [];
  /** Directed links that drop everything: "from>to". */
  private readonly cut = new Set<string>();
  /** Every message ever delivered, for assertions. */
  readonly delivered: Message[] = [];
  readonly config: RaftConfig;
  private seed: number;

  constructor(
    readonly ids: readonly NodeId[],
    config: Partial<RaftConfig> = {},
    seed = 1,
    /** Voters the cluster bootstraps with (defaults to all ids). */
    readonly bootstrapVoters: readonly NodeId[] = ids,
  ) {
    this.config = { ...LOCAL_RAFT_CONFIG, ...config };
    this.seed = seed;
    for (const id of ids) {
      const disk: Disk = { hardState: null, snapshot: null, entries: [] };
      this.nodes.set(id, {
        id,
        raft: this.makeRaft(id, disk),
        disk,
        applied: [],
        up: true,
      });
    }
  }

  addNode(id: NodeId, bootstrapVoters: readonly NodeId[] = []): MemNode {
    const disk: Disk = { hardState: null, snapshot: null, entries: [] };
    const node: MemNode = {
      id,
      raft: this.makeRaft(id, disk, bootstrapVoters),
      disk,
      applied: [],
      up: true,
    };
    this.nodes.set(id, node);
    return node;
  }

  private makeRaft(id: NodeId, disk: Disk, bootstrap = this.bootstrapVoters): Raft {
    this.seed++;
    return new Raft({
      id,
      config: this.config,
      bootstrapVoters: bootstrap,
      random: seededRandom(this.seed * 7919),
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: disk.entries,
    });
  }

  node(id: NodeId): MemNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  /** Processes one node's Ready: persist, queue messages, apply, advance. */
  process(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    while (n.raft.hasReady()) {
      const rd = n.raft.ready();
      if (rd.snapshot) {
        n.disk.snapshot = rd.snapshot;
        n.disk.entries = [];
        n.applied = decodeApplied(rd.snapshot.data);
      }
      if (rd.entries.length > 0) {
        const first = rd.entries[0]!.index;
        n.disk.entries = n.disk.entries.filter((e) => e.index < first).concat(rd.entries);
      }
      if (rd.hardState) n.disk.hardState = rd.hardState;
      for (const m of rd.messages) this.queue.push(m);
      for (const e of rd.committedEntries) {
        if (e.kind === 'normal')
          n.applied.push({ index: e.index, term: e.term, text: dec.decode(e.data) });
      }
      n.raft.advance();
    }
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.process(id);
  }

  /** Delivers one queued message (or drops it on a cut link / down node). */
  deliverOne(): Message | undefined {
    const m = this.queue.shift();
    if (!m) return undefined;
    const to = this.nodes.get(m.to);
    if (!to || !to.up || !this.node(m.from).up || this.cut.has(`${m.from}>${m.to}`)) return m;
    this.delivered.push(m);
    to.raft.step(m);
    this.process(m.to);
    return m;
  }

  /** Delivers until nothing is in flight (bounded). */
  deliverAll(maxMessages = 100_000): number {
    this.processAll();
    let n = 0;
    while (this.queue.length > 0) {
      if (++n > maxMessages) throw new Error('message storm: deliverAll did not settle');
      this.deliverOne();
    }
    return n;
  }

  /** Ticks every live node once, then delivers everything. */
  tick(times = 1, ids: readonly NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) {
        const n = this.node(id);
        if (!n.up) continue;
        n.raft.tick();
        this.process(id);
      }
      this.deliverAll();
    }
  }

  /** Ticks `id` until it campaigns, then delivers: a deterministic election. */
  elect(id: NodeId): void {
    const r = this.raft(id);
    for (let i = 0; i < 10 * this.config.electionTicks && r.status().role !== 'leader'; i++) {
      r.tick();
      this.process(id);
      this.deliverAll();
    }
    if (r.status().role !== 'leader') throw new Error(`${id} did not become leader`);
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()]
      .filter((n) => n.up && n.raft.status().role === 'leader')
      .map((n) => n.id);
  }

  /** Cuts every link between the groups (both directions). */
  partition(...groups: NodeId[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
      }
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  crash(id: NodeId): void {
    this.node(id).up = false;
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  /** Restarts from the node's disk only (memory lost). */
  restart(id: NodeId): void {
    const n = this.node(id);
    n.raft = this.makeRaft(id, n.disk, this.bootstrapVoters);
    n.applied = n.disk.snapshot ? decodeApplied(n.disk.snapshot.data) : [];
    n.up = true;
    this.process(id);
  }

  propose(id: NodeId, s: string): ReturnType<Raft['propose']> {
    const r = this.raft(id).propose(text(s));
    this.deliverAll();
    return r;
  }

  /** Snapshot of node `id`'s applied list at its applied index; compacts its log. */
  snapshotNode(id: NodeId): Snapshot {
    const n = this.node(id);
    const applied = n.raft.status().applied;
    return n.raft.compact(applied, encodeApplied(n.applied.filter((a) => a.index <= applied)));
  }
}

export function encodeApplied(list: MemNode['applied']): Uint8Array {
  return enc.encode(JSON.stringify(list));
}

export function decodeApplied(data: Uint8Array): MemNode['applied'] {
  return JSON.parse(dec.decode(data)) as MemNode['applied'];
}
