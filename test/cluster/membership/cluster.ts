// Sim harness for membership tests: boots N membership nodes on a Simulation, records every
// event with its virtual time, checks core invariants after every simulated event, and answers
// "who sees whom as what". Never used by src/.

import type { Simulation } from '../../../src/runtime/sim/index.js';
import { GossipKeyring, MembershipNode } from '../../../src/nodes/membership/index.js';
import type {
  MembershipConfig,
  MembershipEvent,
  MemberStatus,
  Seed,
} from '../../../src/cluster/membership/index.js';

/** Every sim node seals its datagrams, as real nodes do. */
export const SIM_KEYRING = new GossipKeyring([new Uint8Array(32).fill(7)]);

export interface RecordedEvent {
  readonly atMs: number;
  readonly observer: string;
  readonly event: MembershipEvent;
}

export class MembershipCluster {
  readonly nodes = new Map<string, MembershipNode>();
  readonly events: RecordedEvent[] = [];
  readonly ids: string[];
  private readonly seeds: Seed[];

  constructor(
    readonly sim: Simulation,
    count: number,
    readonly config: Partial<MembershipConfig> = {},
    options: { checkInvariants?: boolean } = {},
  ) {
    this.ids = Array.from({ length: count }, (_, i) => `n${i}`);
    this.seeds = [];
    for (const id of this.ids) this.add(id);
    if (options.checkInvariants ?? true) {
      sim.afterEvent(() => {
        for (const [id, node] of this.nodes) if (this.up(id)) node.swim.checkInvariants();
      });
    }
  }

  crash(id: string): void {
    this.sim.crash(id);
    this.nodes.delete(id);
  }

  /** Boots a crashed node again: a fresh process with no memory (incarnation starts at 0). */
  restart(id: string): void {
    this.nodes.delete(id);
    this.sim.restart(id);
  }

  /** Adds (and boots) one more node that joins through the first two nodes. */
  add(id: string): void {
    if (!this.ids.includes(id)) this.ids.push(id);
    const node = this.sim.addNode({ id }, async (rt) => {
      const m = await MembershipNode.start(rt, {
        config: this.config,
        seeds: this.seeds,
        gossip: { keyring: SIM_KEYRING },
      });
      this.nodes.set(id, m);
      m.onEvent((event) => this.events.push({ atMs: this.sim.nowMs, observer: id, event }));
    });
    if (this.seeds.length < 2) this.seeds.push({ address: node.address });
  }

  up(id: string): boolean {
    return this.sim.node(id).up && this.nodes.has(id);
  }

  live(): string[] {
    return this.ids.filter((id) => this.up(id));
  }

  statusOf(observer: string, id: string): MemberStatus | undefined {
    return this.nodes.get(observer)?.member(id)?.status;
  }

  /** Every live observer (other than `id`) sees `id` with a status in `statuses`. */
  allSee(
    id: string,
    statuses: readonly (MemberStatus | undefined)[],
    observers = this.live(),
  ): boolean {
    return observers.filter((o) => o !== id).every((o) => statuses.includes(this.statusOf(o, id)));
  }

  /** Every live node sees every other live node alive. */
  converged(): boolean {
    const live = this.live();
    return live.every((o) => live.every((id) => id === o || this.statusOf(o, id) === 'alive'));
  }

  eventsOf(type: MembershipEvent['type'], about?: string): RecordedEvent[] {
    return this.events.filter(
      (e) =>
        e.event.type === type && (about === undefined || ('id' in e.event && e.event.id === about)),
    );
  }

  async formOrFail(maxMs = 60_000): Promise<void> {
    const ok = await this.sim.runUntil(() => this.converged(), { maxMs });
    if (!ok) throw new Error(`cluster did not converge within ${maxMs} ms`);
  }
}
