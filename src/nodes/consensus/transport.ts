// Owns how Raft messages travel between nodes: the protocol server (inbound), one outbound
// protocol connection per peer (dialled lazily, redialled with jittered backoff), a bounded
// queue per peer while dialling, and who may speak Raft: only a configured member, certified
// by its TLS certificate (unless the node runs --insecure), speaking for itself (`from` is the
// authenticated peer); a dialled peer must prove it is the member dialled. Never interprets
// Raft messages beyond their wire form; loss is fine (Raft retransmits).

import {
  connectPeer,
  MessageRegistry,
  ProtocolServer,
  type Handler,
  type HandlerTable,
  type LocalIdentity,
  type ProtocolServerOptions,
  type RpcConnection,
} from '../../protocol/index.js';
import type { NodeAddress, Runtime } from '../../runtime/types.js';
import { RAFT_MESSAGES, fromWire, toWire } from '../../cluster/consensus/wire.js';
import type { Message, NodeId } from '../../cluster/consensus/types.js';

/** Messages kept per peer while its connection is being dialled; older ones are dropped. */
export const MAX_QUEUED_PER_PEER = 256;
/** Dial timeout per attempt. */
export const CONNECT_TIMEOUT_MS = 1_000;
/** Redial backoff: base doubling up to the cap, plus up to 50% jitter. */
export const RECONNECT_BASE_MS = 50;
export const RECONNECT_MAX_MS = 1_000;

export interface RaftTransport {
  /** Starts receiving; `onMessage` gets every valid Raft message addressed to this node. */
  start(onMessage: (m: Message) => void): Promise<NodeAddress>;
  /** Best effort: queued or dropped (counted), never throws. */
  send(m: Message): void;
  close(): Promise<void>;
  readonly stats: TransportStats;
}

export interface TransportStats {
  sent: number;
  received: number;
  dropped: number;
  /** Raft messages refused: not from a certified configured member, or `from` not the sender. */
  rejectedSender: number;
  dials: number;
  dialFailures: number;
}

interface PeerLink {
  conn: RpcConnection | null;
  dialling: boolean;
  failures: number;
  nextDialMs: number;
  queue: Message[];
}

export class ProtocolRaftTransport implements RaftTransport {
  readonly registry = new MessageRegistry().register(...RAFT_MESSAGES);
  readonly server: ProtocolServer;
  readonly stats: TransportStats = {
    sent: 0,
    received: 0,
    dropped: 0,
    rejectedSender: 0,
    dials: 0,
    dialFailures: 0,
  };
  private readonly handlers: HandlerTable = new Map();
  private readonly links = new Map<NodeId, PeerLink>();
  private onMessage: ((m: Message) => void) | null = null;
  private closed = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly selfId: NodeId,
    private readonly members: ReadonlyMap<NodeId, NodeAddress>,
    private readonly identity: LocalIdentity,
    /** Connection caps and per-connection limits of the protocol server (defaults otherwise). */
    limits: Pick<
      ProtocolServerOptions,
      'maxConnections' | 'maxConnectionsPerSource' | 'connection'
    > = {},
  ) {
    const secure = runtime.stream.secure === true;
    this.server = new ProtocolServer({
      stream: runtime.stream,
      timers: runtime.timers,
      registry: this.registry,
      identity,
      log: runtime.log,
      ...limits,
      connection: { ...limits.connection, requireAuthentication: secure },
    });
    const handler: Handler = (msg, ctx) => {
      const peer = ctx.session.remoteNodeId;
      const member = peer !== this.selfId && this.members.has(peer);
      if (
        !member ||
        (secure && !ctx.session.authenticated) ||
        ctx.session.remoteRole !== identity.role
      ) {
        // Raft and membership messages come only from certified configured members.
        this.stats.rejectedSender++;
        this.server.rejectionLog.write('warn', 'raft message from a non-member refused; closing', {
          peer,
          role: ctx.session.remoteRole,
          authenticated: ctx.session.authenticated,
          type: msg.t,
        });
        ctx.peer.close();
        return;
      }
      const m = fromWire(msg);
      if (m === null || m.to !== this.selfId) {
        this.stats.dropped++;
        return;
      }
      if (peer !== m.from) {
        // Only the authenticated peer may speak for itself.
        this.stats.rejectedSender++;
        this.server.rejectionLog.write('warn', 'raft message speaking for another member refused', {
          peer,
          from: m.from,
          type: msg.t,
        });
        return;
      }
      this.stats.received++;
      this.onMessage?.(m);
    };
    for (const def of RAFT_MESSAGES) {
      this.server.handle(def, handler);
      this.handlers.set(def.type, handler);
    }
  }

  async start(onMessage: (m: Message) => void): Promise<NodeAddress> {
    this.onMessage = onMessage;
    const listener = await this.server.start();
    return listener.address;
  }

  send(m: Message): void {
    if (this.closed) return;
    const link = this.link(m.to);
    if (link === null) {
      this.stats.dropped++;
      return;
    }
    if (link.conn !== null && link.conn.isOpen) {
      if (link.conn.notify(toWire(m))) this.stats.sent++;
      else this.stats.dropped++;
      return;
    }
    if (link.queue.length >= MAX_QUEUED_PER_PEER) {
      link.queue.shift();
      this.stats.dropped++;
    }
    link.queue.push(m);
    this.dial(m.to, link);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) {
      link.conn?.close();
      link.conn = null;
      link.queue.length = 0;
    }
    await this.server.close();
  }

  private link(to: NodeId): PeerLink | null {
    let link = this.links.get(to);
    if (link !== undefined) return link;
    if (!this.members.has(to)) return null;
    link = { conn: null, dialling: false, failures: 0, nextDialMs: 0, queue: [] };
    this.links.set(to, link);
    return link;
  }

  private dial(to: NodeId, link: PeerLink): void {
    const address = this.members.get(to);
    const now = this.runtime.clock.monotonicMs();
    if (link.dialling || address === undefined || now < link.nextDialMs) return;
    link.dialling = true;
    this.stats.dials++;
    connectPeer(this.runtime.stream, address, {
      registry: this.registry,
      identity: this.identity,
      timers: this.runtime.timers,
      log: this.runtime.log,
      handlers: this.handlers,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      expectNodeId: to,
      requireAuthentication: this.runtime.stream.secure === true,
      rejectionLog: this.server.rejectionLog,
    }).then(
      (conn) => {
        link.dialling = false;
        if (this.closed) {
          conn.close();
          return;
        }
        link.conn = conn;
        link.failures = 0;
        conn.onClose(() => {
          if (link.conn === conn) link.conn = null;
        });
        const queued = link.queue;
        link.queue = [];
        for (const m of queued) this.send(m);
      },
      (error: unknown) => {
        link.dialling = false;
        link.failures++;
        this.stats.dialFailures++;
        const backoff = Math.min(
          RECONNECT_MAX_MS,
          RECONNECT_BASE_MS * 2 ** Math.min(link.failures, 10),
        );
        link.nextDialMs =
          this.runtime.clock.monotonicMs() + backoff * (1 + 0.5 * this.runtime.rng.next());
        this.runtime.log.log('debug', 'raft transport: dial failed', {
          peer: to,
          failures: link.failures,
          error: error instanceof Error ? error.message : String(error),
        });
        // Messages queued for a dead peer are dropped now; Raft resends what matters.
        this.stats.dropped += link.queue.length;
        link.queue = [];
      },
    );
  }
}
