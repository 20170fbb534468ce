// One origin's sockets: the per-origin pool (idle stack, bounded FIFO wait queue) and the
// connection that writes a pre-serialised head and feeds reads to the response parser.
// Owns sockets and timers; decides nothing about redirects or the public API. Hot path: no
// timer operation and no socket ref/unref per request (timers are lazy and re-arm themselves;
// a connection's request timer, ref'd while a request is in flight, keeps the process alive).
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import tls from 'node:tls';
import {
  type HttpErrorKind,
  type SocketPhase,
  HttpError,
  errorCode,
  kindForSocketError,
  zeroTimings,
} from './errors.js';
import type { RequestOptions } from './client.js';
import type { RequestTarget } from './head.js';
import { PARSE_DONE, PARSE_ERROR, PARSE_MORE, ResponseParser } from './parser.js';
import { type HttpTimings, type TimingSource, HttpResponse } from './response.js';

/** Requests waiting for a connection, per origin. */
export const MAX_QUEUED_REQUESTS = 1024;
/** A kept-alive connection unused this long is closed (below common server idle timeouts). */
export const IDLE_TIMEOUT_MS = 4_000;
/** Request bodies up to this size are copied into the head's write (one syscall). */
const COALESCE_BODY_BYTES = 16 * 1024;
/** Size of the read buffer every socket of this thread reads into. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * One read buffer for every socket of the thread. Safe because a read callback runs
 * synchronously right after the kernel filled the buffer, and the parser copies out everything
 * it keeps (head and body bytes) before returning; nothing holds a view into it afterwards.
 */
const READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_BYTES);
const EMPTY = Buffer.alloc(0);

const ST_CONNECTING = 0;
const ST_READY = 1;
const ST_CLOSED = 2;

export type ResponseCallback = (err: HttpError | null, res: HttpResponse | null) => void;

interface ConnectTimes {
  dnsMs: number;
  connectMs: number;
  tlsMs: number;
}

/** A request in flight or waiting: everything the pool and connection need, no closures. */
export class PendingRequest implements TimingSource {
  readonly method: string;
  readonly target: RequestTarget;
  readonly body: string | Uint8Array | null;
  readonly bodyLength: number;
  readonly timeoutMs: number;
  readonly start: number;
  readonly deadline: number;
  readonly discardBody: boolean;
  // The client's bookkeeping (the pool never looks at these): a callback, or a promise's pair.
  readonly cb: ResponseCallback | null;
  readonly resolve: ((res: HttpResponse) => void) | null;
  readonly reject: ((err: HttpError) => void) | null;
  readonly options: RequestOptions | undefined;
  readonly followLimit: number;
  readonly redirects: number;
  retried = false;
  done = false;
  /**
   * DNS, connect and TLS times when this attempt opened its connection; null on a reused one
   * (most requests), which then carries no boxed numbers for them.
   */
  opening: ConnectTimes | null = null;
  sendStart = 0;
  sendEnd = 0;
  firstByte = 0;
  /** When the last response byte arrived (0 until then). */
  endedAt = 0;
  reused = false;
  queueTimer: NodeJS.Timeout | null = null;

  constructor(
    method: string,
    target: RequestTarget,
    body: string | Uint8Array | null,
    bodyLength: number,
    timeoutMs: number,
    discardBody: boolean,
    cb: ResponseCallback | null,
    resolve: ((res: HttpResponse) => void) | null,
    reject: ((err: HttpError) => void) | null,
    options: RequestOptions | undefined,
    followLimit: number,
    redirects: number,
  ) {
    this.method = method;
    this.target = target;
    this.body = body;
    this.bodyLength = bodyLength;
    this.timeoutMs = timeoutMs;
    this.start = performance.now();
    this.deadline = this.start + timeoutMs;
    this.discardBody = discardBody;
    this.cb = cb;
    this.resolve = resolve;
    this.reject = reject;
    this.options = options;
    this.followLimit = followLimit;
    this.redirects = redirects;
  }

  /** The timings measured so far, as of `end`. */
  timings(end: number): HttpTimings {
    const { sendStart, sendEnd, firstByte, opening } = this;
    return {
      dnsMs: opening?.dnsMs ?? 0,
      connectMs: opening?.connectMs ?? 0,
      tlsMs: opening?.tlsMs ?? 0,
      sendMs: sendEnd > 0 && sendStart > 0 ? Math.max(0, sendEnd - sendStart) : 0,
      waitMs: firstByte > 0 && sendEnd > 0 ? Math.max(0, firstByte - sendEnd) : 0,
      receiveMs: firstByte > 0 ? Math.max(0, end - firstByte) : 0,
      ttfbMs: firstByte > 0 ? Math.max(0, firstByte - this.start) : 0,
      totalMs: Math.max(0, end - this.start),
      reused: this.reused,
    };
  }

  /** The timings of the completed response (TimingSource). */
  responseTimings(): HttpTimings {
    return this.timings(this.endedAt);
  }

  /** Forgets what one attempt measured (before a retry on a new connection). */
  resetAttempt(): void {
    this.opening = null;
    this.sendStart = 0;
    this.sendEnd = 0;
    this.firstByte = 0;
    this.reused = false;
  }
}

/** What a client counts. Bytes are those of closed connections (see Connection.close). */
export interface ClientStats {
  connectionsOpened: number;
  requestsSent: number;
  bytesSent: number;
  bytesReceived: number;
}

/** What a pool needs from the client that owns it. */
export interface PoolHost {
  readonly maxConnectionsPerOrigin: number;
  readonly connectTimeoutMs: number;
  readonly keepAlive: boolean;
  readonly tls: { rejectUnauthorized?: boolean; ca?: string | Buffer; servername?: string };
  readonly stats: ClientStats;
  /** A response arrived (the connection is already released). */
  complete(req: PendingRequest, res: HttpResponse): void;
  /** The request failed; `req.done` is already set. */
  failed(req: PendingRequest, kind: HttpErrorKind, message: string, cause?: unknown): void;
  /** Sends `req` again on a new connection of its origin (the old pool may be gone). */
  retry(req: PendingRequest): void;
  /** The pool has no connections and no waiters left. */
  poolEmpty(pool: OriginPool): void;
}

/** All connections of one client to one origin. */
export class OriginPool {
  readonly host: PoolHost;
  readonly target: RequestTarget;
  /** The latest TLS session ticket, offered when opening the next connection. */
  tlsSession: Buffer | undefined = undefined;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: PendingRequest[] = [];

  constructor(host: PoolHost, target: RequestTarget) {
    this.host = host;
    this.target = target;
  }

  /**
   * Sends `req` on an idle connection, a new one, or queues it. `fresh`: never reuse. `now`:
   * the current time (performance.now()).
   */
  dispatch(req: PendingRequest, fresh: boolean, now: number): void {
    if (!fresh) {
      const conn = this.idle.pop();
      if (conn !== undefined) {
        conn.assign(req, now);
        return;
      }
    }
    if (this.all.size < this.host.maxConnectionsPerOrigin) {
      this.open().assign(req, now);
      return;
    }
    if (fresh) {
      // A retry needs a new connection but the pool is full: drop the oldest idle one.
      const victim = this.idle.shift();
      if (victim !== undefined) {
        victim.close();
        this.open().assign(req, now);
        return;
      }
    }
    if (this.queue.length >= MAX_QUEUED_REQUESTS) {
      this.fail(
        req,
        'queue_full',
        `more than ${MAX_QUEUED_REQUESTS} requests waiting for a connection to ${this.target.origin}`,
      );
      return;
    }
    const remaining = Math.max(1, req.deadline - now);
    req.queueTimer = setTimeout(onQueueTimeout, remaining, this, req);
    req.queueTimer.unref();
    this.queue.push(req);
  }

  /** A connection finished a response at `now` and can carry another request. */
  release(conn: Connection, now: number): void {
    if (this.queue.length > 0) {
      const next = this.dequeue();
      if (next !== undefined) {
        conn.assign(next, now);
        return;
      }
    }
    this.idle.push(conn);
    conn.idle(now);
  }

  /** A connection is gone: forget it, and open a replacement if requests are waiting. */
  remove(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    if (this.queue.length > 0 && this.all.size < this.host.maxConnectionsPerOrigin) {
      const next = this.dequeue();
      if (next !== undefined) this.open().assign(next, performance.now());
    }
    if (this.all.size === 0 && this.queue.length === 0) this.host.poolEmpty(this);
  }

  /** Fails every waiting and in-flight request with `connection_closed` and closes all sockets. */
  closeAll(message: string): void {
    for (const req of this.queue.splice(0)) {
      if (req.queueTimer !== null) clearTimeout(req.queueTimer);
      this.fail(req, 'connection_closed', message);
    }
    for (const conn of [...this.all]) conn.abort('connection_closed', message);
  }

  fail(req: PendingRequest, kind: HttpErrorKind, message: string, cause?: unknown): void {
    if (req.done) return;
    req.done = true;
    if (req.queueTimer !== null) {
      clearTimeout(req.queueTimer);
      req.queueTimer = null;
    }
    this.host.failed(req, kind, message, cause);
  }

  timeoutQueued(req: PendingRequest): void {
    req.queueTimer = null;
    const i = this.queue.indexOf(req);
    if (i === -1) return;
    this.queue.splice(i, 1);
    this.fail(
      req,
      'timeout',
      `no connection to ${this.target.origin} became free within ${req.timeoutMs} ms`,
    );
    if (this.all.size === 0 && this.queue.length === 0) this.host.poolEmpty(this);
  }

  private dequeue(): PendingRequest | undefined {
    const next = this.queue.shift();
    if (next !== undefined && next.queueTimer !== null) {
      clearTimeout(next.queueTimer);
      next.queueTimer = null;
    }
    return next;
  }

  /**
   * Opens one idle keep-alive connection unless the pool already has one to spare; `cb`
   * learns once whether it became ready (null) or why not.
   */
  preconnect(cb: PreconnectCallback): void {
    if (this.idle.length > 0 || this.all.size >= this.host.maxConnectionsPerOrigin) {
      process.nextTick(cb, null);
      return;
    }
    const conn = this.open();
    conn.opened = cb;
    conn.openedAhead = true;
  }

  private open(): Connection {
    const conn = new Connection(this);
    this.all.add(conn);
    this.host.stats.connectionsOpened++;
    return conn;
  }
}

function onQueueTimeout(pool: OriginPool, req: PendingRequest): void {
  pool.timeoutQueued(req);
}

/** Told once whether a preconnected socket became ready (null) or why it did not. */
export type PreconnectCallback = (err: HttpError | null) => void;

/** One socket. Carries one request at a time (no pipelining). */
export class Connection {
  /** Set by OriginPool.preconnect until the socket is ready or gone. */
  opened: PreconnectCallback | null = null;
  /** Opened by preconnect, not by a request: its first request pays no connect cost either. */
  openedAhead = false;
  private readonly pool: OriginPool;
  private readonly socket: net.Socket;
  private readonly parser = new ResponseParser();
  private req: PendingRequest | null = null;
  private state = ST_CONNECTING;
  /** Responses completed on this socket. */
  private served = 0;
  private readonly openedAt: number;
  private lookupAt = 0;
  private connectAt = 0;
  private connectTimer: NodeJS.Timeout | null;
  /**
   * The request timer, armed lazily: it is left running across requests and, when it fires
   * early for the current request, re-arms itself for the rest (one timer operation per
   * timeout period, not per request). Ref'd while a request is in flight; null when not armed.
   */
  private reqTimer: NodeJS.Timeout | null = null;
  private reqTimerAt = 0;
  /** The idle timer, armed lazily the same way; `idleSince` is when the socket went idle. */
  private idleTimer: NodeJS.Timeout | null = null;
  private idleSince = 0;
  private writing: PendingRequest | null = null;

  private readonly onRead = (nread: number, buf: Buffer): boolean => this.read(nread, buf);
  private readonly onWritten = (err?: Error | null): void => {
    const req = this.writing;
    this.writing = null;
    if (err == null && req !== null && req.sendEnd === 0) req.sendEnd = performance.now();
  };
  private readonly onRequestTimeout = (): void => this.requestTimedOut();
  private readonly onIdleTimeout = (): void => this.idleTimedOut();

  constructor(pool: OriginPool) {
    this.pool = pool;
    const { target, host } = pool;
    this.openedAt = performance.now();
    const onread = { buffer: READ_BUFFER, callback: this.onRead };
    let socket: net.Socket;
    if (target.secure) {
      const options: tls.ConnectionOptions & { onread: typeof onread } = {
        host: target.hostname,
        port: target.port,
        rejectUnauthorized: host.tls.rejectUnauthorized ?? true,
        ALPNProtocols: ['http/1.1'],
        onread,
      };
      if (target.servername !== undefined) options.servername = target.servername;
      if (host.tls.ca !== undefined) options.ca = host.tls.ca;
      if (pool.tlsSession !== undefined) options.session = pool.tlsSession;
      socket = tls.connect(options);
      socket.once('secureConnect', () => this.ready());
      socket.on('session', (session: Buffer) => {
        pool.tlsSession = session;
      });
    } else {
      socket = net.connect({ host: target.hostname, port: target.port, onread });
    }
    this.socket = socket;
    socket.setNoDelay(true);
    // The socket never keeps the process alive; the request timer does while a request runs.
    socket.unref();
    socket.once('lookup', () => {
      this.lookupAt = performance.now();
    });
    socket.once('connect', () => {
      this.connectAt = performance.now();
      if (!target.secure) this.ready();
    });
    socket.on('error', (err) => this.gone(err));
    socket.on('end', () => this.gone(null));
    socket.on('close', () => this.gone(null));
    this.connectTimer = setTimeout(() => this.connectTimedOut(), host.connectTimeoutMs);
    this.connectTimer.unref();
  }

  /** Takes `req` at `now`: sends it now, or once connected. */
  assign(req: PendingRequest, now: number): void {
    this.req = req;
    req.reused = this.served > 0 || this.openedAhead;
    this.parser.reset(req.target.noBody, req.discardBody);
    this.armRequestTimer(req, now);
    if (this.state === ST_READY) this.send(req, now);
  }

  /** Parked in the pool's idle stack at `now`: let the process exit, close after IDLE_TIMEOUT_MS. */
  idle(now: number): void {
    if (this.reqTimer !== null) this.reqTimer.unref();
    this.idleSince = now;
    if (this.idleTimer === null) {
      this.idleTimer = setTimeout(this.onIdleTimeout, IDLE_TIMEOUT_MS);
      this.idleTimer.unref();
    }
  }

  private idleTimedOut(): void {
    this.idleTimer = null;
    if (this.req !== null || this.state !== ST_READY) return; // busy: idle() re-arms later
    const left = this.idleSince + IDLE_TIMEOUT_MS - performance.now();
    if (left > 1) {
      this.idleTimer = setTimeout(this.onIdleTimeout, left);
      this.idleTimer.unref();
      return;
    }
    this.close();
  }

  /** Fails the current request (if any) and closes. */
  abort(kind: HttpErrorKind, message: string): void {
    const req = this.req;
    this.req = null;
    this.close();
    if (req !== null) this.pool.fail(req, kind, message);
  }

  /** Closes the socket and leaves the pool; the current request must already be handled. */
  close(): void {
    if (this.state === ST_CLOSED) return;
    if (this.opened !== null) this.openFailed('connection_closed', 'closed before it was ready');
    this.state = ST_CLOSED;
    this.clearTimers();
    // Bytes on the wire are counted once per connection, when it closes (not per request).
    const stats = this.pool.host.stats;
    stats.bytesSent += this.socket.bytesWritten;
    stats.bytesReceived += this.socket.bytesRead;
    this.socket.destroy();
    this.pool.remove(this);
  }

  private settleOpened(err: HttpError | null): void {
    const cb = this.opened;
    if (cb === null) return;
    this.opened = null;
    cb(err);
  }

  private openFailed(kind: HttpErrorKind, message: string, cause?: unknown): void {
    const target = this.pool.target;
    const options = cause === undefined ? undefined : { cause };
    this.settleOpened(
      new HttpError(kind, message, 'CONNECT', target.origin, zeroTimings(), options),
    );
  }

  private clearTimers(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.reqTimer !== null) clearTimeout(this.reqTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.connectTimer = null;
    this.reqTimer = null;
    this.idleTimer = null;
  }

  /**
   * Makes sure the request timer fires at or before `req.deadline`, and refs it. The hot path
   * (a timer still armed from an earlier request, due no later than this deadline) costs
   * nothing but a ref: the timer re-arms itself when it fires early.
   */
  private armRequestTimer(req: PendingRequest, now: number): void {
    const timer = this.reqTimer;
    if (timer !== null && this.reqTimerAt <= req.deadline) {
      timer.ref();
      return;
    }
    if (timer !== null) clearTimeout(timer);
    this.startRequestTimer(req.deadline, now);
  }

  private startRequestTimer(deadline: number, now: number): void {
    const ms = Math.max(1, deadline - now);
    this.reqTimer = setTimeout(this.onRequestTimeout, ms);
    this.reqTimerAt = now + ms;
  }

  private requestTimedOut(): void {
    this.reqTimer = null;
    const req = this.req;
    if (req === null || this.state === ST_CLOSED) return; // idle: the next assign re-arms
    const now = performance.now();
    if (req.deadline - now > 1) {
      // Armed for an earlier request; wait for this one's deadline.
      this.startRequestTimer(req.deadline, now);
      return;
    }
    const phase = this.state === ST_CONNECTING ? 'while connecting' : 'waiting for the response';
    this.abort('timeout', `no complete response within ${req.timeoutMs} ms (${phase})`);
  }

  private connectTimedOut(): void {
    this.connectTimer = null;
    if (this.state !== ST_CONNECTING) return;
    const what = this.connectAt > 0 ? 'TLS handshake' : 'connect';
    this.openFailed(
      'connect_timeout',
      `${what} took longer than ${this.pool.host.connectTimeoutMs} ms`,
    );
    this.abort(
      'connect_timeout',
      `${what} to ${this.pool.target.origin} took longer than ${this.pool.host.connectTimeoutMs} ms`,
    );
  }

  private ready(): void {
    if (this.state !== ST_CONNECTING) return;
    this.state = ST_READY;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const req = this.req;
    const now = performance.now();
    this.settleOpened(null);
    if (req === null) {
      this.pool.release(this, now);
      return;
    }
    const dnsEnd = this.lookupAt > 0 ? this.lookupAt : this.openedAt;
    req.opening = {
      dnsMs: dnsEnd - this.openedAt,
      connectMs: Math.max(0, this.connectAt - dnsEnd),
      tlsMs: this.pool.target.secure ? Math.max(0, now - this.connectAt) : 0,
    };
    this.send(req, now);
  }

  /** Writes `req` (its send starts at `now`); a write the kernel took at once ends it. */
  private send(req: PendingRequest, now: number): void {
    req.sendStart = now;
    this.pool.host.stats.requestsSent++;
    this.writing = req;
    const { target, body } = req;
    if (body === null) {
      this.writeTimed(target.headNoBody, req);
      return;
    }
    const lengthLine = `content-length: ${req.bodyLength}\r\n\r\n`;
    if (req.bodyLength <= COALESCE_BODY_BYTES) {
      const prefix = target.headPrefix;
      const buf = Buffer.allocUnsafe(prefix.length + lengthLine.length + req.bodyLength);
      prefix.copy(buf, 0);
      let offset = prefix.length;
      offset += buf.write(lengthLine, offset, 'latin1');
      if (typeof body === 'string') buf.write(body, offset, 'utf8');
      else buf.set(body, offset);
      this.writeTimed(buf, req);
      return;
    }
    this.socket.cork();
    this.socket.write(target.headPrefix);
    this.socket.write(lengthLine, 'latin1');
    this.socket.write(body, this.onWritten);
    this.socket.uncork();
  }

  /**
   * Writes `data` and ends `req`'s send when the kernel took it at once (the usual case). Only a
   * write left buffered gets a completion callback (an empty write queued behind it): a
   * callback on every write costs the stream a tick object and ~0.5 KB of garbage per request.
   */
  private writeTimed(data: Buffer, req: PendingRequest): void {
    const socket = this.socket;
    socket.write(data);
    if (socket.writableLength === 0) req.sendEnd = performance.now();
    else socket.write(EMPTY, this.onWritten);
  }

  private read(nread: number, buf: Buffer): boolean {
    const req = this.req;
    if (req === null || this.state !== ST_READY) {
      // Bytes nobody asked for: the stream can no longer be trusted.
      this.close();
      return false;
    }
    // A response that arrives whole in its first read ends when it starts: one clock read.
    let first = 0;
    if (req.firstByte === 0) {
      first = performance.now();
      req.firstByte = first;
      if (req.sendEnd === 0) req.sendEnd = first;
    }
    const parser = this.parser;
    const result = parser.execute(buf, 0, nread);
    if (result === PARSE_MORE) return true;
    if (result === PARSE_ERROR) {
      this.abort('bad_response', parser.error);
      return false;
    }
    this.respond(req, parser.pos < nread, first !== 0 ? first : performance.now());
    return true;
  }

  /**
   * The parser completed a response for `req` at `end`. `leftover`: unsolicited bytes
   * followed it.
   */
  private respond(req: PendingRequest, leftover: boolean, end: number): void {
    const parser = this.parser;
    this.req = null;
    this.served++;
    req.done = true;
    req.endedAt = end;
    const res = new HttpResponse(
      parser.status,
      parser.raw,
      parser.bodyInRaw ? null : parser.bodyOut,
      parser.bodyBytes,
      req,
      req.target.href,
      req.method,
      req.redirects,
      parser.headLength,
    );
    if (
      this.state === ST_READY &&
      parser.keepAlive &&
      !leftover &&
      this.pool.host.keepAlive &&
      !req.target.closeAfter
    ) {
      this.pool.release(this, end);
    } else {
      this.close();
    }
    this.pool.host.complete(req, res);
  }

  /** The socket errored or ended. Settles the current request, then closes. */
  private gone(err: Error | null): void {
    if (this.state === ST_CLOSED) return;
    const wasConnecting = this.state === ST_CONNECTING;
    const req = this.req;
    if (req === null) {
      if (this.opened !== null && err !== null) {
        const phase: SocketPhase =
          this.connectAt > 0 && this.pool.target.secure ? 'tls' : 'connect';
        this.openFailed(kindForSocketError(err, phase), err.message, err);
      }
      this.close();
      return;
    }
    if (err === null && !wasConnecting && this.parser.finish() === PARSE_DONE) {
      // A body delimited by the end of the stream is complete; respond() closes the socket.
      this.respond(req, false, performance.now());
      return;
    }
    this.req = null;
    this.close();
    const code = errorCode(err);
    const staleReuse =
      !wasConnecting &&
      this.served > 0 &&
      !this.parser.received &&
      req.target.idempotent &&
      !req.retried &&
      (err === null || code === 'ECONNRESET' || code === 'EPIPE');
    if (staleReuse) {
      // The server closed a kept-alive socket as we reused it: retry once on a new one.
      req.retried = true;
      req.resetAttempt();
      this.pool.host.retry(req);
      return;
    }
    const phase: SocketPhase = wasConnecting
      ? this.connectAt > 0 && this.pool.target.secure
        ? 'tls'
        : 'connect'
      : 'request';
    const kind = kindForSocketError(err, phase);
    const detail =
      err !== null
        ? err.message
        : wasConnecting
          ? 'connection closed during the TLS handshake'
          : this.parser.received
            ? 'connection closed before the response was complete'
            : 'connection closed before any response byte';
    this.pool.fail(req, kind, detail, err ?? undefined);
  }
}
