// The I/O shell of the HTTP/2 client: one H2Session per TCP/TLS connection (the socket, the
// connect timeout, ALPN, batched writes) around the sans-I/O H2Connection, and the OriginPool
// that spreads streams over an origin's sessions with a bounded wait queue. Requests meet a
// session only through `OriginPool.dispatch`; the frames are the connection's business.
import { performance } from 'node:perf_hooks';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { socketErrorKind } from '../client.js';
import { H2Connection, type ConnectionEvents } from './connection.js';
import { kindForRstCode } from './errors.js';
import type { H2Request } from './request.js';

/** Streams a session takes before the peer's SETTINGS arrive (RFC 9113 suggests ≥ 100). */
export const INITIAL_STREAM_LIMIT = 100;
/** Upper bound on streams per session whatever the peer advertises. */
export const MAX_STREAMS_PER_SESSION = 1000;
/** Requests waiting for a stream slot per origin; beyond it, kind `queue_full`. */
export const MAX_H2_QUEUED_REQUESTS = 1024;

export interface SessionOptions {
  connectTimeoutMs: number;
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer; servername?: string };
}

/** What a pool needs from whoever owns it (a VU's client, or a thread's shared sessions). */
export interface PoolOwner {
  readonly options: SessionOptions;
  /** Sessions per origin: more only once every open one is at its stream limit. */
  readonly maxSessions: number;
  /** Streams per session this side allows at most (below the peer's limit if lower). */
  readonly maxStreams: number;
  readonly stats: { sessionsOpened: number; streamsStarted: number };
  /** Open another session (up to maxSessions) rather than add a stream to a busy one. */
  readonly spread: boolean;
}

/** The read buffer of every clear-text session of this thread (reads are handled at once). */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

function flushSession(session: H2Session): void {
  session.flush();
}

/** One connection to an origin. */
export class H2Session implements ConnectionEvents {
  readonly conn: H2Connection;
  private readonly socket: net.Socket;
  readonly protocol: 'h2' | 'h2c';
  /** Streams allowed at once: the peer's MAX_CONCURRENT_STREAMS within this side's bound. */
  limit: number;
  closed = false;
  connected = false;
  /** The first stream pays for connect and TLS. */
  used = false;
  connectMs = 0;
  tlsMs = 0;
  /** When the connection was ready for frames (performance.now()). */
  upAt = 0;
  failure: { kind: string; message: string } | null = null;
  private flushQueued = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pool: OriginPool,
    url: URL,
    options: SessionOptions,
  ) {
    this.limit = Math.min(INITIAL_STREAM_LIMIT, pool.owner.maxStreams);
    this.conn = new H2Connection(this);
    const secure = url.protocol === 'https:';
    this.protocol = secure ? 'h2' : 'h2c';
    const start = performance.now();
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (secure) {
      const t = options.tls ?? {};
      const servername = t.servername ?? (net.isIP(host) ? undefined : host);
      const socket = tls.connect({
        host,
        port,
        ALPNProtocols: ['h2'],
        ...(servername !== undefined ? { servername } : {}),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
      socket.once('connect', () => {
        this.connectMs = performance.now() - start;
      });
      socket.once('secureConnect', () => {
        this.tlsMs = performance.now() - start - this.connectMs;
        if (socket.alpnProtocol !== 'h2') {
          this.fail(
            'alpn',
            `the server did not negotiate h2 over TLS (ALPN: ${String(socket.alpnProtocol)})`,
          );
          return;
        }
        this.up();
      });
      this.socket = socket;
    } else {
      // Clear text reads into one buffer per thread, handed straight to the connection:
      // no Buffer and no stream event per read (what the connection keeps, it copies).
      this.socket = net.connect({
        host,
        port,
        onread: {
          buffer: readBuffer,
          callback: (n: number): boolean => {
            this.conn.receive(readBuffer.subarray(0, n));
            return true;
          },
        },
      });
      this.socket.once('connect', () => {
        this.connectMs = performance.now() - start;
        this.up();
      });
    }
    this.socket.setNoDelay(true);
    this.timer = setTimeout(() => {
      if (!this.connected) {
        this.fail('connect_timeout', `no session within ${options.connectTimeoutMs}ms`);
      }
    }, options.connectTimeoutMs);
    if (secure) this.socket.on('data', (chunk: Buffer) => this.conn.receive(chunk));
    this.socket.on('error', (error: Error) => {
      if (this.failure === null) {
        const kind = /no application protocol/i.test(error.message)
          ? 'alpn'
          : socketErrorKind(error);
        this.failure = {
          kind: !this.connected && kind === 'network' ? 'connect_failed' : kind,
          message: error.message,
        };
      }
    });
    this.socket.once('close', () => {
      clearTimeout(this.timer);
      this.closed = true;
      const f = this.failure ?? { kind: 'connection_closed', message: 'the connection closed' };
      this.conn.lost(f.kind, f.message);
      this.pool.forget(this);
    });
    // The preface and SETTINGS are already in the writer.
    this.onOutput();
  }

  private up(): void {
    this.connected = true;
    this.upAt = performance.now();
    clearTimeout(this.timer);
  }

  get usable(): boolean {
    return (
      !this.closed &&
      !this.conn.goaway &&
      !this.conn.dead &&
      !this.conn.exhausted &&
      this.failure === null &&
      this.conn.activeStreams < this.limit
    );
  }

  /** Fails the session with `kind`: its streams fail, the socket is destroyed. */
  fail(kind: string, message: string): void {
    if (this.failure === null) this.failure = { kind, message };
    this.socket.destroy();
  }

  close(): void {
    this.failure ??= { kind: 'closed', message: 'the client was closed' };
    this.socket.destroy();
  }

  flush(): void {
    this.flushQueued = false;
    if (this.closed || this.conn.writer.empty) return;
    this.socket.write(this.conn.writer.take());
  }

  // ConnectionEvents
  onOutput(): void {
    if (this.flushQueued || this.closed) return;
    // A lone stream has nothing to batch with: write now rather than after this tick.
    if (this.connected && this.conn.activeStreams <= 1) return this.flush();
    this.flushQueued = true;
    process.nextTick(flushSession, this);
  }

  onSettings(maxConcurrentStreams: number | undefined): void {
    if (maxConcurrentStreams !== undefined) {
      this.limit = Math.max(1, Math.min(maxConcurrentStreams, this.pool.owner.maxStreams));
    }
    this.pool.drain();
  }

  onStreamClosed(): void {
    if (this.conn.goaway && this.conn.activeStreams === 0) this.finish();
    this.pool.drain();
  }

  /** Sends what is queued, then closes: the session has nothing left to do. */
  private finish(): void {
    this.flush();
    this.socket.destroySoon();
  }

  onGoaway(code: number): void {
    this.failure ??= {
      kind: 'goaway',
      message: code === 0 ? 'GOAWAY from the server' : `GOAWAY ${kindForRstCode(code)}`,
    };
    this.pool.forget(this);
    if (this.conn.dead) this.socket.destroy();
    else if (this.conn.activeStreams === 0) this.finish();
  }

  onFatal(kind: string, message: string): void {
    this.failure ??= { kind, message };
    this.finish();
    this.pool.forget(this);
  }
}

/** The sessions and the bounded queue of one origin. */
export class OriginPool {
  readonly sessions: H2Session[] = [];
  /** Sessions no longer given streams (GOAWAY, errors) whose sockets may still be open. */
  private readonly retired = new Set<H2Session>();
  private readonly queue: (H2Request | undefined)[] = [];
  private queueHead = 0;

  constructor(
    readonly owner: PoolOwner,
    readonly url: URL,
  ) {}

  /** The least busy usable session, a new one if allowed, or undefined (the request waits). */
  private pick(): H2Session | undefined {
    let best: H2Session | undefined;
    for (const s of this.sessions) {
      if (s.usable && (best === undefined || s.conn.activeStreams < best.conn.activeStreams)) {
        best = s;
      }
    }
    if (
      this.sessions.length < this.owner.maxSessions &&
      (best === undefined || (this.owner.spread && best.conn.activeStreams > 0))
    ) {
      best = new H2Session(this, this.url, this.owner.options);
      this.sessions.push(best);
      this.owner.stats.sessionsOpened++;
    }
    return best;
  }

  dispatch(req: H2Request): void {
    if (this.queueHead === this.queue.length) {
      const session = this.pick();
      if (session !== undefined) return req.open(session);
    }
    if (this.queue.length - this.queueHead >= MAX_H2_QUEUED_REQUESTS) {
      req.failWith('queue_full', `more than ${MAX_H2_QUEUED_REQUESTS} requests waiting`);
      return;
    }
    this.queue.push(req);
    this.drain();
  }

  /** A stream slot may have freed (stream closed, settings raised the limit): start waiters. */
  drain(): void {
    while (this.queueHead < this.queue.length) {
      const req = this.queue[this.queueHead];
      if (req === undefined || req.settled) {
        this.queue[this.queueHead++] = undefined;
        continue;
      }
      const session = this.pick();
      if (session === undefined) break;
      this.queue[this.queueHead++] = undefined;
      req.open(session);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** A session is closed or draining: new streams go elsewhere. */
  forget(session: H2Session): void {
    const i = this.sessions.indexOf(session);
    if (i !== -1) this.sessions.splice(i, 1);
    if (session.closed) this.retired.delete(session);
    else this.retired.add(session);
    if (this.queueHead < this.queue.length) this.drain();
  }

  /** Fails every waiting request with kind `closed` and closes every session. */
  close(): void {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      this.queue[i]?.failWith('closed', 'the client was closed');
    }
    this.queue.length = 0;
    this.queueHead = 0;
    for (const s of this.sessions.splice(0)) s.close();
    for (const s of this.retired) s.close();
    this.retired.clear();
  }
}
