// TCP client one VU drives (`ctx.tcp`): connect (TLS with `tls://` or the `tls` option), send
// bytes, read until a delimiter, a length or a timeout. On node:net/node:tls: the reads are a
// few lines of buffering no library does better. Received bytes wait in a bounded buffer.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import tls from 'node:tls';
import { ClientError, socketErrorKind, type ClientEnv, type VuClient } from '../client.js';
import { SocketReply, parseSocketAddress } from './reply.js';

/** Bytes buffered unread per connection; beyond it the connection fails with `buffer_overflow`. */
export const MAX_TCP_BUFFER_BYTES = 16 * 1024 * 1024;
/** Open connections per client (per VU). */
export const MAX_TCP_CONNECTIONS = 64;

export interface TcpConnectOptions {
  /** TLS: true, or options; `tls://host:port` means the same. */
  tls?: boolean | { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  /** Connect timeout and the default read timeout of this connection. */
  timeoutMs?: number;
}

export interface TcpReadOptions {
  /** Read up to this delimiter (not included in the reply; consumed). */
  until?: string | Uint8Array;
  /** Read exactly this many bytes. */
  length?: number;
  /**
   * With `until` or `length`: fail with kind `timeout` after it. Alone: return whatever arrived
   * within it (fails with `timeout` only when nothing did).
   */
  timeoutMs?: number;
}

interface PendingRead {
  delimiter: Buffer | null;
  length: number;
  since: number;
  resolve: (r: SocketReply) => void;
  reject: (e: ClientError) => void;
  timer: NodeJS.Timeout;
}

export class TcpConnection {
  readonly connectMs: number;
  /** Bytes sent and received on this connection. */
  bytesSent = 0;
  bytesReceived = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: PendingRead | null = null;
  private ended: ClientError | null = null;

  /** @internal made by TcpClient.connect. */
  constructor(
    private readonly socket: net.Socket,
    readonly target: string,
    connectMs: number,
    private readonly timeoutMs: number,
    private readonly owner: Set<TcpConnection>,
  ) {
    this.connectMs = connectMs;
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length > MAX_TCP_BUFFER_BYTES) {
        this.fail(
          new ClientError(
            'tcp',
            'buffer_overflow',
            `more than ${MAX_TCP_BUFFER_BYTES} unread bytes`,
            target,
          ),
        );
        socket.destroy();
        return;
      }
      this.tryRead();
    });
    socket.on('error', (error: Error) => {
      this.fail(
        new ClientError('tcp', socketErrorKind(error), error.message, target, { cause: error }),
      );
    });
    socket.on('close', () => {
      owner.delete(this);
      this.fail(
        new ClientError('tcp', 'connection_closed', 'the peer closed the connection', target),
      );
    });
  }

  private fail(error: ClientError): void {
    if (this.ended === null) this.ended = error;
    const p = this.pending;
    if (p === null) return;
    // A read without delimiter or length returns what arrived before the close.
    if (p.delimiter === null && p.length === 0 && this.buffer.length > 0) {
      this.finish(this.buffer.length, 0);
      return;
    }
    this.pending = null;
    clearTimeout(p.timer);
    p.reject(this.ended);
  }

  private finish(take: number, skip: number): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    clearTimeout(p.timer);
    const data = Buffer.from(this.buffer.subarray(0, take));
    this.buffer = this.buffer.subarray(take + skip);
    p.resolve(new SocketReply(data, performance.now() - p.since, 'tcp'));
  }

  private tryRead(): void {
    const p = this.pending;
    if (p === null) return;
    if (p.delimiter !== null) {
      const at = this.buffer.indexOf(p.delimiter);
      if (at !== -1) this.finish(at, p.delimiter.length);
    } else if (p.length > 0) {
      if (this.buffer.length >= p.length) this.finish(p.length, 0);
    }
  }

  /** Writes bytes; resolves once they are handed to the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    if (this.ended !== null) return Promise.reject(this.ended);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.bytesSent += bytes.length;
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => {
        if (error)
          reject(new ClientError('tcp', socketErrorKind(error), error.message, this.target));
        else resolve();
      });
    });
  }

  /** Reads until a delimiter, a length, or (alone) a timeout; see TcpReadOptions. */
  read(options: TcpReadOptions = {}): Promise<SocketReply> {
    if (this.pending !== null) {
      return Promise.reject(
        new ClientError(
          'tcp',
          'bad_request',
          'a read is already waiting on this connection',
          this.target,
        ),
      );
    }
    const delimiter =
      options.until === undefined
        ? null
        : typeof options.until === 'string'
          ? Buffer.from(options.until)
          : Buffer.from(options.until);
    if (delimiter !== null && delimiter.length === 0) {
      return Promise.reject(
        new ClientError('tcp', 'bad_request', 'the delimiter is empty', this.target),
      );
    }
    const length = options.length ?? 0;
    if (!Number.isInteger(length) || length < 0 || length > MAX_TCP_BUFFER_BYTES) {
      return Promise.reject(
        new ClientError(
          'tcp',
          'bad_request',
          `length must be an integer from 1 to ${MAX_TCP_BUFFER_BYTES}`,
          this.target,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const byTime = delimiter === null && length === 0;
    return new Promise((resolve, reject) => {
      this.pending = {
        delimiter,
        length,
        since: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          if (byTime && this.buffer.length > 0) return this.finish(this.buffer.length, 0);
          const p = this.pending;
          this.pending = null;
          p?.reject(
            new ClientError(
              'tcp',
              'timeout',
              `read not satisfied within ${timeoutMs}ms`,
              this.target,
            ),
          );
        }, timeoutMs),
      };
      this.tryRead();
      if (this.pending !== null && this.ended !== null) this.fail(this.ended);
    });
  }

  /** Sends `data`, then reads as `options` says. */
  async request(data: string | Uint8Array, options: TcpReadOptions = {}): Promise<SocketReply> {
    const since = performance.now();
    await this.send(data);
    const reply = await this.read(options);
    return new SocketReply(reply.data, performance.now() - since, 'tcp');
  }

  /** Ends the connection (FIN) and resolves once it is closed. */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), this.timeoutMs).unref();
    });
  }

  /** @internal drops the connection at once (VU end). */
  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * @example
 * .step('echo', async ({ tcp }) => {
 *   const conn = await tcp.connect('tcp://localhost:9000');
 *   const line = await conn.request('hello\n', { until: '\n' });
 *   await conn.close();
 *   return line.text();
 * })
 */
export class TcpClient implements VuClient {
  private readonly open = new Set<TcpConnection>();
  private closed = false;

  constructor(private readonly env: Pick<ClientEnv, 'baseUrl' | 'timeoutMs'>) {}

  connect(address: string, options: TcpConnectOptions = {}): Promise<TcpConnection> {
    let parsed: { host: string; port: number; tls: boolean };
    try {
      parsed = parseSocketAddress('tcp', address, this.env.baseUrl);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.closed)
      return Promise.reject(new ClientError('tcp', 'closed', 'the client was closed', address));
    if (this.open.size >= MAX_TCP_CONNECTIONS) {
      return Promise.reject(
        new ClientError(
          'tcp',
          'too_many_connections',
          `more than ${MAX_TCP_CONNECTIONS} in one VU`,
          address,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.env.timeoutMs;
    const useTls = parsed.tls || (options.tls !== undefined && options.tls !== false);
    const t = typeof options.tls === 'object' ? options.tls : {};
    const start = performance.now();
    const socket = useTls
      ? tls.connect({
          host: parsed.host,
          port: parsed.port,
          ...(t.ca !== undefined ? { ca: t.ca } : {}),
          servername: t.servername ?? (net.isIP(parsed.host) ? undefined : parsed.host),
          rejectUnauthorized: t.rejectUnauthorized ?? true,
        })
      : net.connect({ host: parsed.host, port: parsed.port });
    socket.setNoDelay(true);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new ClientError('tcp', 'connect_timeout', `not connected within ${timeoutMs}ms`, address),
        );
      }, timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(
          new ClientError('tcp', socketErrorKind(error), error.message, address, { cause: error }),
        );
      };
      socket.once('error', onError);
      socket.once(useTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        if (this.closed) {
          socket.destroy();
          reject(new ClientError('tcp', 'closed', 'the client was closed', address));
          return;
        }
        const conn = new TcpConnection(
          socket,
          address,
          performance.now() - start,
          timeoutMs,
          this.open,
        );
        this.open.add(conn);
        resolve(conn);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.destroy();
    this.open.clear();
  }
}

/** Offered to steps as `ctx.tcp`. */
export const tcpKind = {
  name: 'tcp' as const,
  create(env: ClientEnv): TcpClient {
    return new TcpClient(env);
  },
};
