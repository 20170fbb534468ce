// Owns a node's protocol endpoint: listens on the Runtime's stream transport, caps concurrent
// connections (over the cap: `over_capacity` with a retry-after hint, then close), runs each
// connection's handshake and dispatches requests to the handlers registered here. Never touches
// sockets directly and never stops serving because of what one peer sends.

import type {
  Logger,
  StreamConnection,
  StreamListener,
  StreamTransport,
  Timers,
} from '../runtime/types.js';
import { ProtocolCounters } from './counters.js';
import { errorMessage } from './errors.js';
import type { LocalIdentity } from './handshake.js';
import type { MessageDef, MessageOf, MessageRegistry } from './messages.js';
import { encodeValue } from './codec.js';
import { RpcConnection, type Handler, type HandlerTable, type RpcOptions } from './rpc.js';

/** Default cap on concurrent connections per node (handshaking + open). */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Default retry-after hint for refused connections. */
export const DEFAULT_CONNECTION_RETRY_AFTER_MS = 1_000;

export interface ProtocolServerOptions {
  readonly stream: StreamTransport;
  readonly timers: Timers;
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  readonly log?: Logger;
  readonly maxConnections?: number;
  readonly connectionRetryAfterMs?: number;
  /** Passed to every connection (in-flight caps, timeouts, frame limit …). */
  readonly connection?: Omit<
    RpcOptions,
    'registry' | 'identity' | 'timers' | 'log' | 'counters' | 'handlers'
  >;
}

export class ProtocolServer {
  readonly counters = new ProtocolCounters();
  private readonly handlers: HandlerTable = new Map();
  private readonly connections = new Set<RpcConnection>();
  private readonly openHandlers: ((peer: RpcConnection) => void)[] = [];
  private listener: StreamListener | null = null;
  private closing = false;
  private readonly maxConnections: number;
  private readonly retryAfterMs: number;

  constructor(private readonly options: ProtocolServerOptions) {
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.retryAfterMs = options.connectionRetryAfterMs ?? DEFAULT_CONNECTION_RETRY_AFTER_MS;
  }

  /** Serves `type` on every connection (current and future). */
  handle<D extends MessageDef>(def: D | string, handler: Handler<MessageOf<D>>): this {
    this.handlers.set(typeof def === 'string' ? def : def.type, handler as Handler);
    return this;
  }

  /** Called for each connection once its handshake has succeeded. */
  onPeer(handler: (peer: RpcConnection) => void): void {
    this.openHandlers.push(handler);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Open (handshaken) connections. */
  peers(): RpcConnection[] {
    return [...this.connections].filter((c) => c.isOpen);
  }

  async start(): Promise<StreamListener> {
    if (this.listener !== null) return this.listener;
    this.listener = await this.options.stream.listen((conn) => this.accept(conn));
    return this.listener;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    const listener = this.listener;
    this.listener = null;
    for (const c of [...this.connections]) c.close();
    if (listener !== null) await listener.close();
  }

  private accept(conn: StreamConnection): void {
    if (this.closing) {
      conn.close();
      return;
    }
    if (this.connections.size >= this.maxConnections) {
      this.counters.error('connections_refused.over_capacity');
      this.counters.inc('errors_sent.over_capacity');
      // Answer without a handshake (the peer's hello is never read) and close.
      const refusal = errorMessage(
        'over_capacity',
        `node ${this.options.identity.nodeId} is at its connection cap (${this.maxConnections})`,
        {
          limit: this.maxConnections,
          retryAfterMs: this.retryAfterMs,
        },
      );
      conn.send(encodeValue(refusal));
      conn.close();
      return;
    }
    const o = this.options;
    const peer = new RpcConnection(conn, 'inbound', {
      ...(o.connection ?? {}),
      registry: o.registry,
      identity: o.identity,
      timers: o.timers,
      counters: this.counters,
      handlers: this.handlers,
      ...(o.log ? { log: o.log } : {}),
    });
    this.connections.add(peer);
    this.counters.inc('connections_accepted');
    peer.onClose(() => {
      this.connections.delete(peer);
    });
    // `ready` never rejects; a throwing onPeer callback is logged and counted, not fatal.
    void peer.ready.then((outcome) => {
      if (!outcome.ok) return;
      for (const h of this.openHandlers) {
        try {
          h(peer);
        } catch (err) {
          this.counters.error('on_peer_failures');
          o.log?.log('error', 'onPeer callback failed', {
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          });
        }
      }
    });
  }
}
