// Internal plumbing shared by the simulator's parts: the event record, a node's mutable state
// across incarnations, and the kernel interface the transports schedule through. Not exported
// from the package; node code never sees it.

import type { NodeAddress, StreamConnection } from '../types.js';
import type { QueuedEvent } from './event-queue.js';
import type { NetworkModel } from './network.js';
import type { SimRng } from './rng.js';
import type { SimDisk } from './storage.js';

/** Any incarnation: the event is not tied to one life of its node (e.g. a datagram in flight). */
export const ANY_INCARNATION = -1;

export interface SimEvent extends QueuedEvent {
  /** The node the event happens on: deferred while it is paused. */
  node: NodeState | undefined;
  /** Dropped unless the node is still in this incarnation (ANY_INCARNATION: never dropped). */
  incarnation: number;
  kind: string;
  detail: string;
  fire: () => void;
}

export interface MutableSimStats {
  events: number;
  messagesSent: number;
  messagesDropped: number;
  datagramsSent: number;
  datagramsDropped: number;
  datagramsDuplicated: number;
  datagramsCorrupted: number;
  framesCorrupted: number;
  connectionsOpened: number;
  connectionsRefused: number;
  connectionsReset: number;
  eventsDeferred: number;
}

/** Per-node state that lives across crashes and restarts. */
export interface NodeState {
  readonly id: string;
  readonly dc: string;
  readonly address: NodeAddress;
  up: boolean;
  /** Bumped on every crash; events and handles of older incarnations are inert. */
  incarnation: number;
  /** Virtual time until which the node is frozen (<= now: running). */
  pausedUntilMs: number;
  /** Events that came due while paused, in due order. */
  deferred: SimEvent[];
  wallOffsetMs: number;
  readonly disk: SimDisk;
  listener: ((connection: StreamConnection) => void) | undefined;
  datagramHandler: ((from: NodeAddress, data: Uint8Array) => void) | undefined;
  /** Open stream endpoints of the current incarnation (closed on crash). */
  readonly endpoints: Set<{ crash(): void }>;
}

/** What transports and storage need from the simulation. */
export interface Kernel {
  readonly seed: number;
  readonly nowMs: number;
  readonly tracing: boolean;
  readonly net: NetworkModel;
  /** The network's random stream (latency, loss, duplication…). */
  readonly netRng: SimRng;
  readonly stats: MutableSimStats;
  readonly streamStallTimeoutMs: number;
  readonly maxFrameBytes: number;
  schedule(
    delayMs: number,
    node: NodeState | undefined,
    incarnation: number,
    kind: string,
    detail: string,
    fire: () => void,
  ): SimEvent;
  /** Records a trace line at the current time (no-op unless tracing). */
  note(node: NodeState | undefined, kind: string, detail: string): void;
  nodeByAddress(address: NodeAddress): NodeState | undefined;
  nextConnectionId(): number;
  /** Pipes holding stalled packets, resumed when the network changes. */
  readonly stalledPipes: Set<{ resume(): void }>;
}

/**
 * A runtime service bound to one life (incarnation) of one node: after a crash or restart the
 * old life's services go inert, so nothing from a previous life acts or is delivered.
 */
export abstract class NodeLifeBound {
  constructor(
    protected readonly kernel: Kernel,
    protected readonly node: NodeState,
    protected readonly incarnation: number,
  ) {}

  protected alive(): boolean {
    return this.node.up && this.node.incarnation === this.incarnation;
  }
}
