// Owns a node's protocol endpoint: listens on the Runtime's stream transport, caps concurrent
// connections in total and per source address (over a cap: `over_capacity` with a retry-after
// hint, then close), runs each connection's handshake (authenticated unless the node runs
// insecure), closes idle ones, logs refused peers through one rate limit, and dispatches
// requests to the handlers registered here. Never touches sockets directly and never stops
// serving because of what one peer sends.

import type {
  Logger,
  StreamConnection,
  StreamListener,
  StreamTransport,
  Timers,
} from '../runtime/types.js';
import { ProtocolCounters } from './counters.js';
import { errorMessage, type ErrorMessage } from './errors.js';
import { RateLimitedLog, REJECTION_LOG_REFILL_MS } from './log-limit.js';
import type { LocalIdentity } from './handshake.js';
import type { MessageDef, MessageOf, MessageRegistry } from './messages.js';
import { encodeValue } from './codec.js';
import { RpcConnection, type Handler, type HandlerTable, type RpcOptions } from './rpc.js';
import { recordHandled } from '../handled-errors.js';

/** Default cap on concurrent connections per node (handshaking + open). */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/**
 * Default cap on concurrent connections from one source host, so one client cannot hold the
 * node's whole connection cap (peers on one machine — loopback — share a source).
 */
export const DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 64;
/** Default retry-after hint for refused connections. */
export const DEFAULT_CONNECTION_RETRY_AFTER_MS = 1_000;

export interface ProtocolServerOptions {
  readonly stream: StreamTransport;
  readonly timers: Timers;
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  readonly log?: Logger;
  readonly maxConnections?: number;
  readonly maxConnectionsPerSource?: number;
  readonly connectionRetryAfterMs?: number;
  /** Passed to every connection (in-flight caps, timeouts, idle timeout, frame limit …). */
  readonly connection?: Omit<
    RpcOptions,
    'registry' | 'identity' | 'timers' | 'log' | 'counters' | 'handlers' | 'rejectionLog'
  >;
}

export class ProtocolServer {
  readonly counters = new ProtocolCounters();
  private readonly handlers: HandlerTable = new Map();
  private readonly connections = new Set<RpcConnection>();
  private readonly openHandlers: ((peer: RpcConnection) => void)[] = [];
  private listener: StreamListener | null = null;
  /** The one listen in progress, shared by concurrent start() calls. */
  private starting: Promise<StreamListener> | null = null;
  private closing = false;
  private readonly maxConnections: number;
  private readonly maxPerSource: number;
  private readonly retryAfterMs: number;
  /** Connections per source host (entries removed at zero, so bounded by the cap). */
  private readonly perSource = new Map<string, number>();
  /** Refused peers are logged through this bucket (refilled by a timer while listening). */
  readonly rejectionLog: RateLimitedLog;
  private refillTimer: { cancel(): void } | null = null;

  constructor(private readonly options: ProtocolServerOptions) {
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.maxPerSource = options.maxConnectionsPerSource ?? DEFAULT_MAX_CONNECTIONS_PER_SOURCE;
    this.retryAfterMs = options.connectionRetryAfterMs ?? DEFAULT_CONNECTION_RETRY_AFTER_MS;
    this.rejectionLog = new RateLimitedLog(options.log);
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

  /**
   * Listens (once: concurrent calls share one listen). If close() is called while the listen is
   * in progress, the new listener is closed as soon as it exists and start() rejects.
   */
  start(): Promise<StreamListener> {
    if (this.listener !== null) return Promise.resolve(this.listener);
    if (this.starting !== null) return this.starting;
    if (this.closing) return Promise.reject(new ServerClosedError());
    const starting = this.options.stream
      .listen((conn) => this.accept(conn))
      .then(async (listener) => {
        this.starting = null;
        if (this.closing) {
          // close() ran during the await: do not leave a listener nobody owns.
          await listener.close();
          throw new ServerClosedError();
        }
        this.listener = listener;
        this.refillTimer = this.options.timers.every(REJECTION_LOG_REFILL_MS, () =>
          this.rejectionLog.refill(REJECTION_LOG_REFILL_MS),
        );
        return listener;
      });
    this.starting = starting;
    // The caller sees the failure through the returned promise; this only clears the slot.
    starting.catch((error: unknown) => {
      if (this.starting === starting) this.starting = null;
      recordHandled('protocol server: listen failed (the caller gets the error)', error);
    });
    return starting;
  }

  /** Stops listening and closes every connection (also a listen still in progress). */
  async close(): Promise<void> {
    this.closing = true;
    const listener = this.listener;
    this.listener = null;
    this.refillTimer?.cancel();
    this.refillTimer = null;
    for (const c of [...this.connections]) c.close();
    if (listener !== null) await listener.close();
  }

  private accept(conn: StreamConnection): void {
    if (this.closing) {
      conn.close();
      return;
    }
    const source = conn.remote.host;
    const fromSource = this.perSource.get(source) ?? 0;
    if (this.connections.size >= this.maxConnections) {
      this.refuse(
        conn,
        'over_capacity',
        errorMessage(
          'over_capacity',
          `node ${this.options.identity.nodeId} is at its connection cap (${this.maxConnections})`,
          { limit: this.maxConnections, retryAfterMs: this.retryAfterMs },
        ),
      );
      return;
    }
    if (fromSource >= this.maxPerSource) {
      this.refuse(
        conn,
        'per_source',
        errorMessage(
          'over_capacity',
          `node ${this.options.identity.nodeId} already has ${fromSource} connections from ${source} (limit ${this.maxPerSource} per source)`,
          { limit: this.maxPerSource, scope: 'source', retryAfterMs: this.retryAfterMs },
        ),
      );
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
      rejectionLog: this.rejectionLog,
      ...(o.log ? { log: o.log } : {}),
    });
    this.connections.add(peer);
    this.perSource.set(source, fromSource + 1);
    this.counters.inc('connections_accepted');
    peer.onClose(() => {
      this.connections.delete(peer);
      const left = (this.perSource.get(source) ?? 1) - 1;
      if (left <= 0) this.perSource.delete(source);
      else this.perSource.set(source, left);
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

  /** Answers without a handshake (the peer's hello is never read), logs (rate-limited), closes. */
  private refuse(conn: StreamConnection, why: string, refusal: ErrorMessage): void {
    this.counters.error(`connections_refused.${why}`);
    this.counters.inc('errors_sent.over_capacity');
    this.rejectionLog.write('warn', 'connection refused', {
      remote: `${conn.remote.host}:${conn.remote.port}`,
      reason: why,
      message: refusal.message,
    });
    conn.send(encodeValue(refusal));
    conn.close();
  }
}

/** start() after or during close(). */
export class ServerClosedError extends Error {
  readonly code = 'server_closed';
  constructor() {
    super('the protocol server was closed');
    this.name = 'ServerClosedError';
  }
}
