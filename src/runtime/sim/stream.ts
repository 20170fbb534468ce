// Simulated stream connections: TCP-like, in order per direction, whole frames or a closed
// connection. Loss on the link resets the connection; a cut direction stalls its data (a cut
// way back leaves data unacknowledged) and closes the connection after the stall timeout.
// Never reorders frames within one connection and never reads a real clock.

import type {
  FrameError,
  NodeAddress,
  StreamConnection,
  StreamListener,
  StreamTransport,
} from '../types.js';
import { addressKey } from '../types.js';
import { SimNetworkError } from './errors.js';
import {
  ANY_INCARNATION,
  NodeLifeBound,
  type Kernel,
  type NodeState,
  type SimEvent,
} from './kernel.js';
import { hashBytes } from './rng.js';
import { InternalError } from '../../errors.js';

/**
 * Frames (and frame errors) that arrive before a handler for them is set are held, up to this
 * many; one more resets the connection (as the real runtime does).
 */
export const MAX_BUFFERED_FRAMES = 1024;

type Unclaimed = { kind: 'frame'; frame: Uint8Array } | { kind: 'error'; error: FrameError };

type Packet =
  | { kind: 'synack'; onArrive: () => void }
  | { kind: 'frame'; data: Uint8Array; corrupt: boolean }
  | { kind: 'fin' }
  | { kind: 'rst'; reason: string };

interface InFlight {
  packet: Packet;
  event: SimEvent | undefined;
}

function describe(packet: Packet): string {
  return packet.kind === 'frame'
    ? `frame ${packet.data.length}B h=${hashBytes(packet.data).toString(16)}${packet.corrupt ? ' corrupt' : ''}`
    : packet.kind;
}

/** One direction of a connection. Arrival times never decrease, so packets arrive in order. */
class Pipe {
  private inflight: InFlight[] = [];
  private stalled: Packet[] = [];
  private stallTimer: SimEvent | undefined;
  private lastArrivalMs = 0;
  private broken = false;
  /** Sent while the reverse direction was cut: unacknowledged until it heals. */
  private awaitingAck = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly from: SimStreamEndpoint,
    private readonly to: SimStreamEndpoint,
  ) {}

  private countDropped(packets: readonly Packet[]): void {
    for (const p of packets) {
      if (p.kind === 'frame') {
        this.kernel.stats.messagesDropped++;
      }
    }
  }

  transmit(packet: Packet): void {
    const k = this.kernel;
    if (this.broken) {
      this.countDropped([packet]);
      return;
    }
    if (this.stalled.length > 0) {
      this.stalled.push(packet);
      return;
    }
    const fromId = this.from.node.id;
    const toId = this.to.node.id;
    if (k.net.blocked(fromId, toId)) {
      this.stall([...this.pullBack(), packet]);
      return;
    }
    const model = k.net.link(fromId, toId);
    const delayMs = k.net.sampleDelayMs(model, k.netRng, false);
    const arrivalMs = Math.max(k.nowMs + delayMs, this.lastArrivalMs);
    this.lastArrivalMs = arrivalMs;
    if (packet.kind === 'frame' && k.netRng.chance(model.streamBreak ?? model.loss)) {
      this.broken = true;
      this.countDropped([packet, ...this.stalled]);
      k.schedule(
        arrivalMs - k.nowMs,
        undefined,
        ANY_INCARNATION,
        'stream-break',
        k.tracing ? `c${this.from.id} ${fromId}->${toId} link loss` : '',
        () => {
          const reason = `connection ${this.from.id} reset: frame lost on ${fromId}->${toId}`;
          this.from.abort(new SimNetworkError('ECONNRESET', reason));
          this.to.abort(new SimNetworkError('ECONNRESET', reason));
        },
      );
      return;
    }
    if (packet.kind === 'frame' && k.netRng.chance(model.corrupt)) {
      packet.corrupt = true;
    }
    if (packet.kind !== 'synack' && k.net.blocked(toId, fromId)) {
      // The data gets through but no acknowledgement comes back: TCP keeps retransmitting
      // and gives up at the stall timeout unless the way back opens first.
      this.awaitingAck = true;
      this.armStallTimer();
    }
    const entry: InFlight = { packet, event: undefined };
    entry.event = k.schedule(
      arrivalMs - k.nowMs,
      this.to.node,
      ANY_INCARNATION,
      'stream-deliver',
      k.tracing ? `c${this.to.id} ${fromId}->${toId} ${describe(packet)}` : '',
      () => this.arrive(entry),
    );
    this.inflight.push(entry);
  }

  private pullBack(): Packet[] {
    const packets = this.inflight.map((e) => {
      if (e.event !== undefined) {
        e.event.cancelled = true;
      }
      return e.packet;
    });
    this.inflight = [];
    return packets;
  }

  private arrive(entry: InFlight): void {
    let head = this.inflight.shift();
    // Packets whose delivery died with a crash of the receiver (held while it was paused) are
    // lost, not late.
    while (head !== undefined && head !== entry && head.event?.cancelled === true) {
      this.countDropped([head.packet]);
      head = this.inflight.shift();
    }
    if (head !== entry) {
      throw new InternalError(
        `stream pipe c${this.from.id}: packets arrived out of order (sim bug)`,
      );
    }
    if (this.broken) {
      this.countDropped([entry.packet]);
      return;
    }
    if (this.kernel.net.blocked(this.from.node.id, this.to.node.id)) {
      this.stall([entry.packet, ...this.pullBack()]);
      return;
    }
    this.to.receive(entry.packet);
  }

  /** Holds `packets` (in order) until the link heals; closes the connection at the stall timeout. */
  private stall(packets: Packet[]): void {
    this.stalled.push(...packets);
    this.armStallTimer();
  }

  private armStallTimer(): void {
    const k = this.kernel;
    k.stalledPipes.add(this);
    if (this.stallTimer !== undefined) {
      return;
    }
    this.stallTimer = k.schedule(
      k.streamStallTimeoutMs,
      undefined,
      ANY_INCARNATION,
      'stream-stall-timeout',
      k.tracing ? `c${this.from.id} ${this.from.node.id}->${this.to.node.id}` : '',
      () => {
        this.stallTimer = undefined;
        if (this.stalled.length === 0 && !this.awaitingAck) {
          return;
        }
        this.broken = true;
        this.countDropped(this.stalled);
        this.stalled = [];
        this.awaitingAck = false;
        k.stalledPipes.delete(this);
        const reason = `connection ${this.from.id} timed out: no progress between ${this.from.node.id} and ${this.to.node.id} for ${k.streamStallTimeoutMs}ms`;
        this.from.abort(new SimNetworkError('ETIMEDOUT', reason));
        this.to.abort(new SimNetworkError('ETIMEDOUT', reason));
      },
    );
  }

  /** Called when the network changes: retransmits stalled packets if the way is open again. */
  resume(): void {
    const k = this.kernel;
    const fromId = this.from.node.id;
    const toId = this.to.node.id;
    if (this.awaitingAck && !k.net.blocked(toId, fromId)) {
      this.awaitingAck = false;
    }
    if (this.stalled.length > 0 && !k.net.blocked(fromId, toId)) {
      const packets = this.stalled;
      this.stalled = [];
      for (const p of packets) {
        this.transmit(p);
      }
    }
    if (this.stalled.length === 0 && !this.awaitingAck) {
      k.stalledPipes.delete(this);
      if (this.stallTimer !== undefined) {
        this.stallTimer.cancelled = true;
        this.stallTimer = undefined;
      }
    }
  }
}

type EndpointState = 'connecting' | 'open' | 'closed';

export class SimStreamEndpoint implements StreamConnection {
  out!: Pipe;
  state: EndpointState;
  private closeReason: Error | undefined;
  private closeNotified = false;
  private readonly frameHandlers: Array<(frame: Uint8Array) => void> = [];
  private readonly errorHandlers: Array<(error: FrameError) => void> = [];
  private readonly closeHandlers: Array<(reason: Error | undefined) => void> = [];
  /** Arrivals not yet handed to a handler, in arrival order. */
  private unclaimed: Unclaimed[] = [];

  constructor(
    private readonly kernel: Kernel,
    readonly node: NodeState,
    readonly incarnation: number,
    readonly id: number,
    readonly local: NodeAddress,
    readonly remote: NodeAddress,
    state: EndpointState,
  ) {
    this.state = state;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  private alive(): boolean {
    return this.node.up && this.node.incarnation === this.incarnation;
  }

  send(frame: Uint8Array): boolean {
    if (this.state !== 'open' || !this.alive()) {
      this.kernel.stats.messagesDropped++;
      return false;
    }
    this.kernel.stats.messagesSent++;
    this.out.transmit({ kind: 'frame', data: frame.slice(), corrupt: false });
    return true;
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandlers.push(handler);
    this.drainUnclaimed();
  }

  onFrameError(handler: (error: FrameError) => void): void {
    this.errorHandlers.push(handler);
    this.drainUnclaimed();
  }

  onClose(handler: (reason: Error | undefined) => void): void {
    this.closeHandlers.push(handler);
    if (this.closeNotified && this.alive()) {
      this.onThisNode('stream-closed', () => handler(this.closeReason));
    }
  }

  close(): void {
    if (this.state === 'closed') {
      return;
    }
    this.state = 'closed';
    this.node.endpoints.delete(this);
    if (this.alive()) {
      this.out.transmit({ kind: 'fin' });
      this.onThisNode('stream-closed', () => this.notifyClose());
    }
  }

  private onThisNode(kind: string, fire: () => void): void {
    const k = this.kernel;
    k.schedule(0, this.node, this.incarnation, kind, k.tracing ? `c${this.id}` : '', fire);
  }

  private notifyClose(): void {
    if (this.closeNotified) {
      return;
    }
    this.closeNotified = true;
    for (const h of this.closeHandlers) {
      h(this.closeReason);
    }
  }

  private closeNow(reason: Error | undefined): void {
    if (this.state === 'closed') {
      return;
    }
    this.state = 'closed';
    this.closeReason = reason;
    this.unclaimed = [];
    this.node.endpoints.delete(this);
    this.notifyClose();
  }

  /** Closes this side with `reason` at the current time on this node (deferred if paused). */
  abort(reason: Error): void {
    if (this.state === 'closed') {
      return;
    }
    this.kernel.stats.connectionsReset++;
    this.onThisNode('stream-reset', () => this.closeNow(reason));
  }

  /** The node crashed: this side vanishes without callbacks; the peer is reset. */
  crash(): void {
    if (this.state === 'closed') {
      return;
    }
    this.state = 'closed';
    this.closeNotified = true;
    this.out.transmit({ kind: 'rst', reason: `${this.node.id} crashed` });
  }

  receive(packet: Packet): void {
    switch (packet.kind) {
      case 'synack':
        packet.onArrive();
        return;
      case 'fin':
        this.closeNow(undefined);
        return;
      case 'rst':
        if (this.state !== 'closed') {
          this.kernel.stats.connectionsReset++;
        }
        this.closeNow(new SimNetworkError('ECONNRESET', `connection ${this.id}: ${packet.reason}`));
        return;
      case 'frame':
        break;
    }
    if (this.state === 'closed' || !this.alive()) {
      this.kernel.stats.messagesDropped++;
      return;
    }
    const sizeBytes = packet.data.length;
    if (sizeBytes > this.kernel.maxFrameBytes) {
      this.frameError({
        kind: 'oversized',
        sizeBytes,
        limitBytes: this.kernel.maxFrameBytes,
        message: `frame of ${sizeBytes} bytes exceeds the limit of ${this.kernel.maxFrameBytes} bytes`,
      });
      return;
    }
    if (packet.corrupt) {
      this.kernel.stats.framesCorrupted++;
      this.frameError({
        kind: 'checksum',
        sizeBytes,
        message: `frame of ${sizeBytes} bytes failed its checksum (simulated corruption)`,
      });
      return;
    }
    this.deliver(packet.data);
  }

  private frameError(error: FrameError): void {
    this.kernel.stats.messagesDropped++;
    this.arrived({ kind: 'error', error });
  }

  private deliver(frame: Uint8Array): void {
    this.arrived({ kind: 'frame', frame });
  }

  private hasHandlerFor(u: Unclaimed): boolean {
    return u.kind === 'frame' ? this.frameHandlers.length > 0 : this.errorHandlers.length > 0;
  }

  private arrived(u: Unclaimed): void {
    if (this.unclaimed.length === 0 && this.hasHandlerFor(u)) {
      this.dispatch(u);
      return;
    }
    if (this.unclaimed.length >= MAX_BUFFERED_FRAMES) {
      this.kernel.stats.messagesDropped++;
      const reason = `connection ${this.id}: ${MAX_BUFFERED_FRAMES} frames arrived with no handler registered`;
      this.kernel.stats.connectionsReset++;
      this.out.transmit({ kind: 'rst', reason });
      this.closeNow(new SimNetworkError('ECONNRESET', reason));
      return;
    }
    this.unclaimed.push(u);
  }

  /** Hands held arrivals to handlers in order, stopping at the first one nobody handles yet. */
  private drainUnclaimed(): void {
    while (this.unclaimed.length > 0) {
      const u = this.unclaimed[0] as Unclaimed;
      if (!this.hasHandlerFor(u)) {
        return;
      }
      this.unclaimed.shift();
      this.dispatch(u);
    }
  }

  private dispatch(u: Unclaimed): void {
    if (u.kind === 'frame') {
      for (const h of this.frameHandlers) {
        h(u.frame);
      }
    } else {
      for (const h of this.errorHandlers) {
        h(u.error);
      }
    }
  }

  static pair(
    kernel: Kernel,
    client: { node: NodeState; incarnation: number },
    server: { node: NodeState; incarnation: number },
  ): { client: SimStreamEndpoint; server: SimStreamEndpoint } {
    const id = kernel.nextConnectionId();
    const c = new SimStreamEndpoint(
      kernel,
      client.node,
      client.incarnation,
      id,
      client.node.address,
      server.node.address,
      'connecting',
    );
    const s = new SimStreamEndpoint(
      kernel,
      server.node,
      server.incarnation,
      id,
      server.node.address,
      client.node.address,
      'open',
    );
    c.out = new Pipe(kernel, c, s);
    s.out = new Pipe(kernel, s, c);
    return { client: c, server: s };
  }
}

/** The Runtime's stream transport for one incarnation of one node. */
export class SimStreamTransport extends NodeLifeBound implements StreamTransport {
  async listen(onConnection: (connection: StreamConnection) => void): Promise<StreamListener> {
    if (!this.alive()) {
      throw new SimNetworkError('ENOTCONN', `${this.node.id} is down`);
    }
    if (this.node.listener !== undefined) {
      throw new SimNetworkError('EADDRINUSE', `${addressKey(this.node.address)} already listening`);
    }
    const node = this.node;
    node.listener = onConnection;
    this.kernel.note(node, 'stream-listen', addressKey(node.address));
    return {
      address: node.address,
      close: async () => {
        if (node.listener === onConnection && this.alive()) {
          node.listener = undefined;
        }
      },
    };
  }

  connect(to: NodeAddress, timeoutMs: number): Promise<StreamConnection> {
    const k = this.kernel;
    const me = this.node;
    const inc = this.incarnation;
    if (!this.alive()) {
      return Promise.reject(new SimNetworkError('ENOTCONN', `${me.id} is down`));
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new InternalError(`connect timeoutMs must be > 0, got ${timeoutMs}`));
    }
    const target = k.nodeByAddress(to);
    const where = `${me.id}->${addressKey(to)}`;
    return new Promise<StreamConnection>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) {
          return;
        }
        settled = true;
        timeout.cancelled = true;
        reject(error);
      };
      const timeout = k.schedule(timeoutMs, me, inc, 'connect-timeout', where, () =>
        fail(new SimNetworkError('ETIMEDOUT', `connect ${where} timed out after ${timeoutMs}ms`)),
      );
      if (target === undefined) {
        k.schedule(0, me, inc, 'connect-unreachable', where, () =>
          fail(new SimNetworkError('EHOSTUNREACH', `connect ${where}: no such address`)),
        );
        return;
      }
      if (k.net.blocked(me.id, target.id)) {
        k.note(me, 'connect-syn-lost', where);
        return;
      }
      const synDelayMs = k.net.sampleDelayMs(k.net.link(me.id, target.id), k.netRng, false);
      k.schedule(synDelayMs, target, ANY_INCARNATION, 'stream-syn', where, () => {
        if (settled || k.net.blocked(me.id, target.id)) {
          return;
        }
        if (!target.up || target.listener === undefined) {
          if (k.net.blocked(target.id, me.id)) {
            return;
          }
          const rstDelayMs = k.net.sampleDelayMs(k.net.link(target.id, me.id), k.netRng, false);
          k.schedule(rstDelayMs, me, inc, 'stream-refused', where, () => {
            k.stats.connectionsRefused++;
            fail(new SimNetworkError('ECONNREFUSED', `connect ${where} refused`));
          });
          return;
        }
        const { client, server } = SimStreamEndpoint.pair(
          k,
          { node: me, incarnation: inc },
          { node: target, incarnation: target.incarnation },
        );
        target.endpoints.add(server);
        k.stats.connectionsOpened++;
        server.out.transmit({
          kind: 'synack',
          onArrive: () => {
            if (settled || !this.alive()) {
              client.crash();
              return;
            }
            settled = true;
            timeout.cancelled = true;
            client.state = 'open';
            me.endpoints.add(client);
            resolve(client);
          },
        });
        target.listener(server);
      });
    });
  }
}
