// Owns the real stream transport: mutual TLS (or plain TCP for --insecure nodes) whose
// connections carry src/protocol/framing frames, so callers see whole messages, plus the
// certified identity of each TLS peer. Memory is bounded per node, not per connection: one
// ByteBudget holds every write queue and partial incoming frame, and when it is full the
// slowest reader (largest write queue) is disconnected instead of buffered. Raw sockets per
// source and the TLS handshake time are capped. Never interprets message bodies.

import net from 'node:net';
import tls from 'node:tls';
import { ByteBudget, DEFAULT_NODE_MEMORY_BUDGET_BYTES } from '../../protocol/budget.js';
import { RateLimitedLog, REJECTION_LOG_REFILL_MS } from '../../protocol/log-limit.js';
import {
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_FRAME_BYTES,
  type FrameEvent,
} from '../../protocol/framing.js';
import { HANDSHAKE_TIMEOUT_MS } from '../../protocol/handshake.js';
import type { PeerIdentity } from '../../protocol/identity.js';
import { identityOfCertificate, type TlsMaterial } from './tls.js';
import type {
  FrameError,
  Logger,
  NodeAddress,
  StreamConnection,
  StreamListener,
  StreamTransport,
} from '../types.js';

/** Bytes one connection may have queued for the kernel before it is closed as too slow. */
export const DEFAULT_MAX_WRITE_QUEUE_BYTES = 8 * 1024 * 1024;
/**
 * Raw sockets (TLS handshake included) one source host may hold at once; a backstop above the
 * protocol server's per-source cap for sockets that never finish their TLS handshake.
 */
export const DEFAULT_MAX_SOCKETS_PER_SOURCE = 128;
/** Frames delivered before anyone registered onFrame are held up to this many (then close). */
export const MAX_UNCLAIMED_EVENTS = 1024;
/** After close(), queued bytes get this long to flush before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2_000;

export type { TlsMaterial } from './tls.js';

export interface RealStreamOptions {
  readonly address: NodeAddress;
  /** Mutual TLS material; absent only for a node started with --insecure. */
  readonly tls?: TlsMaterial;
  readonly maxFrameBytes?: number;
  readonly maxWriteQueueBytes?: number;
  /** One budget for all write queues and partial frames of this node. */
  readonly memoryBudgetBytes?: number;
  readonly maxSocketsPerSource?: number;
  /** TLS handshake deadline (default HANDSHAKE_TIMEOUT_MS). */
  readonly tlsHandshakeTimeoutMs?: number;
  readonly log: Logger;
}

export interface StreamStats {
  connectionsOpened: number;
  connectionsClosed: number;
  writeQueueOverflows: number;
  oversizedSendsDropped: number;
  handlerFailures: number;
  /** Connections closed because the node's memory budget was full (slowest reader first). */
  budgetEvictions: number;
  /** Raw sockets refused over the per-source socket cap. */
  socketsRefusedPerSource: number;
  tlsHandshakeFailures: number;
}

let nextConnectionId = 1;

export class RealStreamTransport implements StreamTransport {
  readonly stats: StreamStats = {
    connectionsOpened: 0,
    connectionsClosed: 0,
    writeQueueOverflows: 0,
    oversizedSendsDropped: 0,
    handlerFailures: 0,
    budgetEvictions: 0,
    socketsRefusedPerSource: 0,
    tlsHandshakeFailures: 0,
  };
  readonly budget: ByteBudget;
  private readonly servers = new Set<net.Server>();
  private readonly live = new Set<RealStreamConnection>();

  private readonly peerLog: RateLimitedLog;
  private peerLogRefill: NodeJS.Timeout | null = null;

  constructor(private readonly options: RealStreamOptions) {
    this.budget = new ByteBudget(options.memoryBudgetBytes ?? DEFAULT_NODE_MEMORY_BUDGET_BYTES);
    this.peerLog = new RateLimitedLog(options.log);
  }

  /**
   * Warnings about refused or evicted peers: counted always (stats), logged through one token
   * bucket, so a flood of bad peers is not a flood of log lines.
   */
  private logLimited(message: string, fields: Record<string, unknown>): void {
    this.peerLog.write('warn', message, fields);
  }

  get secure(): boolean {
    return this.options.tls !== undefined;
  }

  /** Bytes held now across all write queues and partial frames. */
  get bufferedBytes(): number {
    return this.budget.used;
  }

  /**
   * Makes room for `bytes` by disconnecting the connections that hold the most (a slow reader's
   * write queue, a trickled partial frame) until they fit; true when they were reserved.
   * `asker` may be the one evicted (then false).
   */
  reserveOrEvict(bytes: number, asker: RealStreamConnection): boolean {
    for (let attempt = 0; !this.budget.tryReserve(bytes); attempt++) {
      let biggest: RealStreamConnection | null = null;
      for (const c of this.live) {
        if (c.heldBytes > 0 && (biggest === null || c.heldBytes > biggest.heldBytes)) biggest = c;
      }
      if (biggest === null || asker.closed || attempt > this.live.size) {
        asker.destroy(new Error(`the node's memory budget cannot hold ${bytes} more bytes`));
        return false;
      }
      this.stats.budgetEvictions++;
      this.logLimited('memory budget full: disconnecting the peer holding the most', {
        remote: `${biggest.remote.host}:${biggest.remote.port}`,
        heldBytes: biggest.heldBytes,
        budgetBytes: this.budget.limitBytes,
        evictionsSoFar: this.stats.budgetEvictions,
      });
      biggest.destroy(
        new Error(
          `disconnected: the node's memory budget (${this.budget.limitBytes} bytes) is full and this peer held the most of it (${biggest.heldBytes} bytes)`,
        ),
      );
      if (biggest === asker) return false;
    }
    return true;
  }

  async listen(onConnection: (connection: StreamConnection) => void): Promise<StreamListener> {
    const { tls: material } = this.options;
    const accepted = new Set<RealStreamConnection>();
    const accept = (socket: net.Socket): void => {
      const conn = this.wrap(socket);
      accepted.add(conn);
      conn.onClose(() => accepted.delete(conn));
      try {
        onConnection(conn);
      } catch (err) {
        this.options.log.log('error', 'onConnection handler failed; closing the connection', {
          error: err,
        });
        conn.close();
      }
    };
    const server =
      material === undefined
        ? net.createServer({ noDelay: true }, accept)
        : tls.createServer(
            {
              key: material.key,
              cert: material.cert,
              ca: material.ca,
              requestCert: true,
              rejectUnauthorized: material.rejectUnauthorized ?? true,
              handshakeTimeout: this.options.tlsHandshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
            },
            accept,
          );
    this.capSocketsPerSource(server);
    if (this.peerLogRefill === null) {
      this.peerLogRefill = setInterval(
        () => this.peerLog.refill(REJECTION_LOG_REFILL_MS),
        REJECTION_LOG_REFILL_MS,
      );
      this.peerLogRefill.unref();
    }
    if (material !== undefined) {
      server.on('tlsClientError', (err: Error) => {
        this.stats.tlsHandshakeFailures++;
        this.logLimited('TLS handshake with a client failed', {
          error: err.message,
          failuresSoFar: this.stats.tlsHandshakeFailures,
        });
      });
    }
    server.on('error', (err: Error) => {
      this.options.log.log('error', 'stream listener error', { error: err });
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(this.options.address.port, this.options.address.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.servers.add(server);
    const bound = server.address() as net.AddressInfo;
    const address: NodeAddress = { host: this.options.address.host, port: bound.port };
    return {
      address,
      // Stops accepting and closes the connections this listener accepted (gracefully; each is
      // destroyed after CLOSE_LINGER_MS at the latest), so closing never waits on a silent peer.
      close: async () => {
        this.servers.delete(server);
        const conns = [...accepted];
        const allClosed = Promise.all(
          conns.map((c) => new Promise<void>((r) => c.onClose(() => r()))),
        );
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        for (const c of conns) c.close();
        await Promise.all([serverClosed, allClosed]);
      },
    };
  }

  connect(to: NodeAddress, timeoutMs: number): Promise<StreamConnection> {
    return new Promise<StreamConnection>((resolve, reject) => {
      const material = this.options.tls;
      const socket =
        material === undefined
          ? net.connect({ host: to.host, port: to.port, noDelay: true })
          : tls.connect({
              host: to.host,
              port: to.port,
              key: material.key,
              cert: material.cert,
              ca: material.ca,
              rejectUnauthorized: material.rejectUnauthorized ?? true,
              // The chain is verified against the cluster CA; who the peer is comes from its
              // certificate's Salvo identity, which the protocol checks against the member it
              // dialled — not from host names, which nodes on one machine share.
              checkServerIdentity: () => undefined,
              ...(net.isIP(to.host) === 0 ? { servername: to.host } : {}),
            });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new Error(`connect to ${to.host}:${to.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(
          new Error(`connect to ${to.host}:${to.port} failed: ${err.message}`, { cause: err }),
        );
      };
      socket.once('error', onError);
      socket.once(material === undefined ? 'connect' : 'secureConnect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(this.wrap(socket));
      });
    });
  }

  /** Closes listeners and destroys every live connection. */
  async close(): Promise<void> {
    if (this.peerLogRefill !== null) clearInterval(this.peerLogRefill);
    this.peerLogRefill = null;
    for (const c of [...this.live]) c.destroy(new Error('runtime closing'));
    await Promise.all(
      [...this.servers].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
          }),
      ),
    );
    this.servers.clear();
  }

  private capSocketsPerSource(server: net.Server): void {
    const limit = this.options.maxSocketsPerSource ?? DEFAULT_MAX_SOCKETS_PER_SOURCE;
    const bySource = new Map<string, number>();
    server.on('connection', (socket: net.Socket) => {
      const source = socket.remoteAddress ?? '';
      const n = bySource.get(source) ?? 0;
      if (n >= limit) {
        this.stats.socketsRefusedPerSource++;
        socket.destroy();
        return;
      }
      bySource.set(source, n + 1);
      socket.once('close', () => {
        const left = (bySource.get(source) ?? 1) - 1;
        if (left <= 0) bySource.delete(source);
        else bySource.set(source, left);
      });
    });
  }

  private wrap(socket: net.Socket): RealStreamConnection {
    const isTls = socket instanceof tls.TLSSocket;
    let identity: PeerIdentity | null = null;
    if (isTls && socket.authorized) {
      const cert = socket.getPeerX509Certificate();
      identity = cert === undefined ? null : identityOfCertificate(cert);
    }
    const conn = new RealStreamConnection(socket, {
      maxFrameBytes: this.options.maxFrameBytes ?? MAX_FRAME_BYTES,
      maxWriteQueueBytes: this.options.maxWriteQueueBytes ?? DEFAULT_MAX_WRITE_QUEUE_BYTES,
      log: this.options.log,
      stats: this.stats,
      transport: this,
      secure: isTls && socket.authorized,
      peerIdentity: identity,
      onGone: (c) => this.live.delete(c),
    });
    this.live.add(conn);
    this.stats.connectionsOpened++;
    return conn;
  }
}

interface ConnOptions {
  readonly maxFrameBytes: number;
  readonly maxWriteQueueBytes: number;
  readonly log: Logger;
  readonly stats: StreamStats;
  readonly transport: RealStreamTransport;
  readonly secure: boolean;
  readonly peerIdentity: PeerIdentity | null;
  readonly onGone: (c: RealStreamConnection) => void;
}

type Unclaimed =
  | { readonly kind: 'frame'; readonly body: Uint8Array }
  | { readonly kind: 'error'; readonly error: FrameError };

export class RealStreamConnection implements StreamConnection {
  readonly id = nextConnectionId++;
  readonly local: NodeAddress;
  readonly remote: NodeAddress;
  readonly secure: boolean;
  readonly peerIdentity: PeerIdentity | null | undefined;
  private readonly decoder: FrameDecoder;
  /** Bytes written but not yet flushed, held against the node's budget. */
  private queued = 0;
  /** Bytes of a partial incoming frame, held against the node's budget. */
  private partial = 0;
  private frameHandlers: ((frame: Uint8Array) => void)[] = [];
  private errorHandlers: ((error: FrameError) => void)[] = [];
  private closeHandlers: ((reason: Error | undefined) => void)[] = [];
  /** Events that arrived before their handler was registered (bounded). */
  private unclaimed: Unclaimed[] = [];
  private isClosed = false;
  private closeReason: Error | undefined = undefined;
  private notified = false;
  private corked = false;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly o: ConnOptions,
  ) {
    this.decoder = new FrameDecoder(o.maxFrameBytes, {
      tryReserve: (bytes) => {
        if (!o.transport.reserveOrEvict(bytes, this)) return false;
        this.partial += bytes;
        return true;
      },
      release: (bytes) => {
        this.partial -= bytes;
        o.transport.budget.release(bytes);
      },
    });
    this.local = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    this.secure = o.secure;
    this.peerIdentity = o.secure ? o.peerIdentity : undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // After close() nothing more is read into memory (a broken stream is not skipped through).
      if (!this.isClosed) this.decoder.push(chunk, this.onEvent);
    });
    socket.on('error', (err: Error) => {
      this.closeReason ??= err;
    });
    socket.on('end', () => {
      // Peer finished sending; finish our side too (queued writes still flush).
      this.isClosed = true;
      socket.end();
    });
    socket.on('close', () => this.onSocketClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes queued in the socket, not yet handed to the kernel. */
  get writeQueueBytes(): number {
    return this.socket.writableLength;
  }

  /** Bytes this connection holds against the node's memory budget (write queue + partial frame). */
  get heldBytes(): number {
    return this.queued + this.partial;
  }

  send(frame: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    if (frame.length > this.o.maxFrameBytes) {
      // The peer would skip it anyway; a local bug, so say so loudly but do not kill the link.
      this.o.stats.oversizedSendsDropped++;
      this.o.log.log('error', 'dropping an oversized outgoing frame', {
        sizeBytes: frame.length,
        limitBytes: this.o.maxFrameBytes,
      });
      return false;
    }
    const bytes = FRAME_HEADER_BYTES + frame.length;
    if (this.queued + bytes > this.o.maxWriteQueueBytes) {
      this.o.stats.writeQueueOverflows++;
      this.destroy(
        new Error(
          `write queue over its limit (${this.queued} + ${bytes} > ${this.o.maxWriteQueueBytes} bytes): peer too slow`,
        ),
      );
      return false;
    }
    if (!this.o.transport.reserveOrEvict(bytes, this)) return false;
    this.queued += bytes;
    if (!this.corked) {
      // Batch all frames sent in this tick into one write.
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeFrameHeader(frame));
    this.socket.write(frame, () => this.flushed(bytes));
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
    if (this.notified) {
      const reason = this.closeReason;
      queueMicrotask(() => this.runCloseHandler(handler, reason));
      return;
    }
    this.closeHandlers.push(handler);
  }

  /** Graceful close: queued frames flush, then FIN; destroyed after CLOSE_LINGER_MS regardless. */
  close(): void {
    if (this.socket.destroyed) return;
    this.isClosed = true;
    this.socket.end();
    if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(
        () => this.destroy(new Error(`close did not complete within ${CLOSE_LINGER_MS} ms`)),
        CLOSE_LINGER_MS,
      );
      this.lingerTimer.unref();
    }
  }

  /** Abrupt close with a reason (reported to onClose handlers); frees its budget at once. */
  destroy(reason: Error): void {
    this.isClosed = true;
    this.closeReason ??= reason;
    if (!this.socket.destroyed) this.socket.destroy();
    this.releaseQueued();
    // Frees a partial frame's reservation now (the truncation it reports is moot: we closed).
    this.decoder.finish();
  }

  /** A write's bytes left the process (or the socket died): give them back to the budget. */
  private flushed(bytes: number): void {
    if (this.queued < bytes) return; // already released wholesale when the socket went away
    this.queued -= bytes;
    this.o.transport.budget.release(bytes);
  }

  private releaseQueued(): void {
    if (this.queued === 0) return;
    this.o.transport.budget.release(this.queued);
    this.queued = 0;
  }

  private readonly onEvent = (e: FrameEvent): void => {
    const hasHandler =
      e.kind === 'frame' ? this.frameHandlers.length > 0 : this.errorHandlers.length > 0;
    if (!hasHandler || this.unclaimed.length > 0) {
      if (this.unclaimed.length >= MAX_UNCLAIMED_EVENTS) {
        this.destroy(
          new Error(`${MAX_UNCLAIMED_EVENTS} frames arrived with no handler registered`),
        );
        return;
      }
      this.unclaimed.push(
        e.kind === 'frame' ? { kind: 'frame', body: Uint8Array.prototype.slice.call(e.body) } : e,
      );
      return;
    }
    this.dispatch(e);
  };

  private dispatch(e: Unclaimed): void {
    // A throwing handler must not reach the socket's event emitter (that would crash the node).
    try {
      if (e.kind === 'frame') {
        for (const h of this.frameHandlers) h(e.body);
      } else {
        for (const h of this.errorHandlers) h(e.error);
      }
    } catch (err) {
      this.o.stats.handlerFailures++;
      this.o.log.log('error', 'frame handler failed', { connection: this.id, error: err });
    }
  }

  private drainUnclaimed(): void {
    while (this.unclaimed.length > 0) {
      const e = this.unclaimed[0]!;
      const ready =
        e.kind === 'frame' ? this.frameHandlers.length > 0 : this.errorHandlers.length > 0;
      if (!ready) return;
      this.unclaimed.shift();
      this.dispatch(e);
    }
  }

  private onSocketClose(): void {
    this.isClosed = true;
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.releaseQueued();
    const truncated = this.decoder.finish();
    if (truncated !== null) this.onEvent({ kind: 'error', error: truncated });
    if (this.notified) return;
    this.notified = true;
    this.o.stats.connectionsClosed++;
    this.o.onGone(this);
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    this.unclaimed = [];
    for (const h of handlers) this.runCloseHandler(h, this.closeReason);
  }

  private runCloseHandler(h: (reason: Error | undefined) => void, reason: Error | undefined): void {
    try {
      h(reason);
    } catch (err) {
      this.o.stats.handlerFailures++;
      this.o.log.log('error', 'onClose handler failed', { connection: this.id, error: err });
    }
  }
}
