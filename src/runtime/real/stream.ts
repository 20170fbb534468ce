// Owns the real stream transport: TCP (or mutual TLS when certificates are configured) whose
// connections carry src/protocol/framing frames, so callers see whole messages. Bounded write
// queue per connection (over it: close with a reason); broken frames are skipped and reported,
// the connection keeps serving. Never interprets message bodies.

import net from 'node:net';
import tls from 'node:tls';
import {
  encodeFrameHeader,
  FrameDecoder,
  MAX_FRAME_BYTES,
  type FrameEvent,
} from '../../protocol/framing.js';
import type {
  FrameError,
  Logger,
  NodeAddress,
  StreamConnection,
  StreamListener,
  StreamTransport,
} from '../types.js';

/** Bytes a connection may have queued for the kernel before it is closed as too slow. */
export const DEFAULT_MAX_WRITE_QUEUE_BYTES = 16 * 1024 * 1024;
/** Frames delivered before anyone registered onFrame are held up to this many (then close). */
export const MAX_UNCLAIMED_EVENTS = 1024;
/** After close(), queued bytes get this long to flush before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2_000;

export interface TlsMaterial {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly ca: string | Buffer;
  /** Verify the peer's certificate against `ca` (default true; both directions — mutual TLS). */
  readonly rejectUnauthorized?: boolean;
}

export interface RealStreamOptions {
  readonly address: NodeAddress;
  readonly tls?: TlsMaterial;
  readonly maxFrameBytes?: number;
  readonly maxWriteQueueBytes?: number;
  readonly log: Logger;
}

export interface StreamStats {
  connectionsOpened: number;
  connectionsClosed: number;
  writeQueueOverflows: number;
  oversizedSendsDropped: number;
  handlerFailures: number;
}

let nextConnectionId = 1;

export class RealStreamTransport implements StreamTransport {
  readonly stats: StreamStats = {
    connectionsOpened: 0,
    connectionsClosed: 0,
    writeQueueOverflows: 0,
    oversizedSendsDropped: 0,
    handlerFailures: 0,
  };
  private readonly servers = new Set<net.Server>();
  private readonly live = new Set<RealStreamConnection>();

  constructor(private readonly options: RealStreamOptions) {}

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
            },
            accept,
          );
    if (material !== undefined) {
      server.on('tlsClientError', (err: Error) => {
        this.options.log.log('warn', 'TLS handshake with a client failed', { error: err.message });
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

  private wrap(socket: net.Socket): RealStreamConnection {
    const conn = new RealStreamConnection(socket, {
      maxFrameBytes: this.options.maxFrameBytes ?? MAX_FRAME_BYTES,
      maxWriteQueueBytes: this.options.maxWriteQueueBytes ?? DEFAULT_MAX_WRITE_QUEUE_BYTES,
      log: this.options.log,
      stats: this.stats,
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
  readonly onGone: (c: RealStreamConnection) => void;
}

type Unclaimed =
  | { readonly kind: 'frame'; readonly body: Uint8Array }
  | { readonly kind: 'error'; readonly error: FrameError };

export class RealStreamConnection implements StreamConnection {
  readonly id = nextConnectionId++;
  readonly local: NodeAddress;
  readonly remote: NodeAddress;
  private readonly decoder: FrameDecoder;
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
    this.decoder = new FrameDecoder(o.maxFrameBytes);
    this.local = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, this.onEvent));
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
    if (this.socket.writableLength + frame.length > this.o.maxWriteQueueBytes) {
      this.o.stats.writeQueueOverflows++;
      this.destroy(
        new Error(
          `write queue over its limit (${this.socket.writableLength} + ${frame.length} > ${this.o.maxWriteQueueBytes} bytes): peer too slow`,
        ),
      );
      return false;
    }
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
    this.socket.write(frame);
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

  /** Abrupt close with a reason (reported to onClose handlers). */
  destroy(reason: Error): void {
    this.isClosed = true;
    this.closeReason ??= reason;
    if (!this.socket.destroyed) this.socket.destroy();
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
