// UDP client one VU drives (`ctx.udp`): a connected datagram socket per peer; send, receive
// with a timeout, request (send then the next datagram) with its round trip. On node:dgram.
// Datagrams that arrive with nobody receiving wait in a bounded queue (oldest dropped).
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import dgram from 'node:dgram';
import net from 'node:net';
import { ClientError, socketErrorKind, type ClientEnv, type VuClient } from '../client.js';
import { SocketReply, parseSocketAddress } from './reply.js';

export const MAX_UDP_QUEUED_DATAGRAMS = 1000;
export const MAX_UDP_SOCKETS = 64;

interface Waiter {
  since: number;
  resolve: (r: SocketReply) => void;
  reject: (e: ClientError) => void;
  timer: NodeJS.Timeout;
}

export class UdpSocket {
  /** Datagrams dropped because the queue was full. */
  dropped = 0;
  private readonly queue: Buffer[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: ClientError | null = null;

  /** @internal made by UdpClient.socket. */
  constructor(
    private readonly socket: dgram.Socket,
    readonly target: string,
    private readonly timeoutMs: number,
    private readonly owner: Set<UdpSocket>,
  ) {
    socket.on('message', (msg: Buffer) => {
      const w = this.waiters.shift();
      if (w !== undefined) {
        clearTimeout(w.timer);
        w.resolve(new SocketReply(msg, performance.now() - w.since, 'udp'));
        return;
      }
      if (this.queue.length >= MAX_UDP_QUEUED_DATAGRAMS) {
        this.queue.shift();
        this.dropped++;
      }
      this.queue.push(msg);
    });
    // ICMP port unreachable shows up as ECONNREFUSED on a connected socket.
    socket.on('error', (error: Error) => {
      const e = new ClientError('udp', socketErrorKind(error), error.message, target, {
        cause: error,
      });
      const w = this.waiters.shift();
      if (w !== undefined) {
        clearTimeout(w.timer);
        w.reject(e);
      } else this.failure = e;
    });
    socket.on('close', () => {
      owner.delete(this);
      this.failure ??= new ClientError('udp', 'closed', 'the socket was closed', target);
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(this.failure);
      }
    });
  }

  send(data: string | Uint8Array): Promise<void> {
    const failure = this.failure;
    if (failure !== null) {
      if (failure.kind !== 'closed') this.failure = null;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => {
      this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, (error) => {
        if (error)
          reject(new ClientError('udp', socketErrorKind(error), error.message, this.target));
        else resolve();
      });
    });
  }

  /** The next datagram, or kind `timeout`. */
  receive(options: { timeoutMs?: number } = {}): Promise<SocketReply> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(new SocketReply(queued, 0, 'udp'));
    const failure = this.failure;
    if (failure !== null) {
      if (failure.kind !== 'closed') this.failure = null;
      return Promise.reject(failure);
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        since: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i !== -1) this.waiters.splice(i, 1);
          reject(
            new ClientError('udp', 'timeout', `no datagram within ${timeoutMs}ms`, this.target),
          );
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends `data` and resolves with the next datagram; `waitMs` is send → reply. */
  async request(
    data: string | Uint8Array,
    options: { timeoutMs?: number } = {},
  ): Promise<SocketReply> {
    const since = performance.now();
    await this.send(data);
    const reply = await this.receive(options);
    return new SocketReply(reply.data, performance.now() - since, 'udp');
  }

  close(): void {
    try {
      this.socket.close();
    } catch (error) {
      // Closing twice throws ERR_SOCKET_DGRAM_NOT_RUNNING; anything else is unexpected.
      if ((error as { code?: string }).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw error;
    }
  }
}

/**
 * @example
 * .step('dns-like', async ({ udp }) => {
 *   const sock = await udp.socket('udp://localhost:9001');
 *   return (await sock.request('ping', { timeoutMs: 500 })).text();
 * })
 */
export class UdpClient implements VuClient {
  private readonly open = new Set<UdpSocket>();
  private closed = false;

  constructor(private readonly env: Pick<ClientEnv, 'baseUrl' | 'timeoutMs'>) {}

  /** A socket connected to `address` (`udp://host:port`). */
  socket(address: string, options: { timeoutMs?: number } = {}): Promise<UdpSocket> {
    let parsed: { host: string; port: number };
    try {
      parsed = parseSocketAddress('udp', address, this.env.baseUrl);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.closed)
      return Promise.reject(new ClientError('udp', 'closed', 'the client was closed', address));
    if (this.open.size >= MAX_UDP_SOCKETS) {
      return Promise.reject(
        new ClientError(
          'udp',
          'too_many_sockets',
          `more than ${MAX_UDP_SOCKETS} in one VU`,
          address,
        ),
      );
    }
    const sock = dgram.createSocket(net.isIPv6(parsed.host) ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        sock.close();
        reject(
          new ClientError('udp', socketErrorKind(error), error.message, address, { cause: error }),
        );
      };
      sock.once('error', onError);
      sock.connect(parsed.port, parsed.host, () => {
        sock.off('error', onError);
        const s = new UdpSocket(sock, address, options.timeoutMs ?? this.env.timeoutMs, this.open);
        this.open.add(s);
        resolve(s);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.open) s.close();
    this.open.clear();
  }
}

/** Offered to steps as `ctx.udp`. */
export const udpKind = {
  name: 'udp' as const,
  create(env: ClientEnv): UdpClient {
    return new UdpClient(env);
  },
};
