// Sim harness for membership failure tests: boots real membership nodes (sealed datagrams) in
// named datacenters, with a static bootstrap list or seed addresses, records every event with
// its virtual time and checks the core invariants after every simulated event. Never used by src/.

import type { Simulation } from '../../../../src/runtime/sim/index.js';
import { MembershipNode } from '../../../../src/nodes/membership/index.js';
import type {
  MembershipConfig,
  MembershipEvent,
  MembershipProfile,
  MemberStatus,
  Seed,
} from '../../../../src/cluster/membership/index.js';
import type { NodeAddress } from '../../../../src/runtime/types.js';
import { SIM_KEYRING } from '../../../cluster/membership/cluster.js';

export interface Recorded {
  readonly atMs: number;
  readonly observer: string;
  readonly event: MembershipEvent;
}

export interface NetOptions {
  readonly profile?: MembershipProfile;
  readonly config?: Partial<MembershipConfig>;
}

export class MembershipNet {
  readonly nodes = new Map<string, MembershipNode>();
  readonly events: Recorded[] = [];
  private readonly dcOf = new Map<string, string>();

  constructor(
    readonly sim: Simulation,
    private readonly options: NetOptions = {},
  ) {
    sim.afterEvent(() => {
      for (const [id, node] of this.nodes) if (this.up(id)) node.swim.checkInvariants();
    });
  }

  address(id: string): NodeAddress {
    return { host: `${this.dcOf.get(id) ?? 'dc1'}/${id}`, port: 7000 };
  }

  /** Names where `id` will live (its address), without booting it. */
  place(id: string, dc = 'dc1'): void {
    this.dcOf.set(id, dc);
  }

  /** A bootstrap entry with the id known (the peer starts UNCONFIRMED at whoever lists it). */
  seedOf(id: string): Seed {
    return { id, address: this.address(id) };
  }

  /** An address-only seed (the joiner learns the id from the answer). */
  addressSeed(id: string): Seed {
    return { address: this.address(id) };
  }

  boot(id: string, seeds: readonly Seed[], dc = this.dcOf.get(id) ?? 'dc1'): void {
    this.dcOf.set(id, dc);
    this.sim.addNode({ id, dc, address: this.address(id) }, async (rt) => {
      const node = await MembershipNode.start(rt, {
        ...(this.options.profile !== undefined ? { profile: this.options.profile } : {}),
        config: this.options.config ?? {},
        seeds,
        gossip: { keyring: SIM_KEYRING },
      });
      this.nodes.set(id, node);
      node.onEvent((event) => this.events.push({ atMs: this.sim.nowMs, observer: id, event }));
    });
  }

  up(id: string): boolean {
    return this.nodes.has(id) && this.sim.node(id).up;
  }

  live(): string[] {
    return [...this.nodes.keys()].filter((id) => this.up(id));
  }

  statusOf(observer: string, id: string): MemberStatus | undefined {
    return this.nodes.get(observer)?.member(id)?.status;
  }

  /** Every live node (or those given) sees every other one of them alive. */
  converged(among = this.live()): boolean {
    return among.every((o) => among.every((id) => id === o || this.statusOf(o, id) === 'alive'));
  }

  eventsOf(type: MembershipEvent['type'], about?: string, observer?: string): Recorded[] {
    return this.events.filter(
      (e) =>
        e.event.type === type &&
        (about === undefined || ('id' in e.event && e.event.id === about)) &&
        (observer === undefined || e.observer === observer),
    );
  }

  /** Suspicions and deaths raised by `observers` about `about` (or about anyone). */
  accusations(about?: string, observers?: readonly string[]): Recorded[] {
    return [...this.eventsOf('suspect', about), ...this.eventsOf('dead', about)].filter(
      (e) => observers === undefined || observers.includes(e.observer),
    );
  }
}
