// Http2Client: the HTTP/2 client one virtual user drives. Streams are multiplexed over a few
// sessions per origin (default 1, more only when every session is at the peer's
// MAX_CONCURRENT_STREAMS), TLS with ALPN 'h2' or clear-text h2c by prior knowledge, per-stream
// timings, RST_STREAM/GOAWAY/flow-control failures as named kinds. Built on node:http2 (the
// framing, HPACK and flow control are nghttp2's); the hot path attaches module-level stream
// handlers that find their request through one symbol slot, so a request allocates its record,
// its promise and its timer, and no closures.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientEnv, RequestObserver, VuClient } from '../client.js';
import type { FeatureOptions } from '../request/bodies.js';
import { VuCookieJar } from '../request/cookies.js';
import { needsFeatures, printDebug, sendWithFeatures } from '../request/features.js';
import type { HttpTimings } from '../http1/index.js';
import { h2Error, kindForH2Error, kindForRstCode } from './errors.js';
import { Http2Response } from './response.js';

export const DEFAULT_H2_TIMEOUT_MS = 30_000;
export const DEFAULT_H2_CONNECT_TIMEOUT_MS = 10_000;
/** Sessions per origin and client unless `maxSessionsPerOrigin` says otherwise. */
export const DEFAULT_H2_SESSIONS_PER_ORIGIN = 1;
/** Streams a session takes before the peer's SETTINGS arrive (RFC 9113 suggests ≥ 100). */
const INITIAL_STREAM_LIMIT = 100;
/** Upper bound on streams per session whatever the peer advertises. */
const MAX_STREAMS_PER_SESSION = 1000;
/** Requests waiting for a stream slot per origin; beyond it, kind `queue_full`. */
export const MAX_H2_QUEUED_REQUESTS = 1024;
/** Response bodies above this fail with kind `body_too_large` (bounded memory per stream). */
export const MAX_H2_BODY_BYTES = 64 * 1024 * 1024;

const {
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_AUTHORITY,
  HTTP2_HEADER_SCHEME,
  NGHTTP2_NO_ERROR,
  NGHTTP2_CANCEL,
  NGHTTP2_REFUSED_STREAM,
} = http2.constants;
/** Resends of a request the peer refused unprocessed (REFUSED_STREAM). */
const MAX_REFUSED_RETRIES = 2;

export interface Http2ClientOptions {
  baseUrl?: string;
  headers?: Record<string, string>;
  /** Per request: the wait for a stream, the session's connect and the whole response. */
  timeoutMs?: number;
  /** TCP connect + TLS handshake + ALPN of a new session. */
  connectTimeoutMs?: number;
  /** Sessions opened per origin once every open one is at its stream limit (default 1). */
  maxSessionsPerOrigin?: number;
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer; servername?: string };
  /** Keep a cookie jar (default true): `Set-Cookie` is stored and sent back in scope. */
  cookies?: boolean;
  /** Where named and tagged requests report their statistics (the engine sets it). */
  observe?: RequestObserver;
  /** Print every request and response (bodies truncated) to stderr. */
  debug?: boolean;
}

export interface Http2RequestOptions extends FeatureOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Serialised with JSON.stringify; sets `content-type: application/json`. */
  json?: unknown;
  timeoutMs?: number;
  /** Count the body's bytes but do not keep them. */
  discardBody?: boolean;
}

const REQ: unique symbol = Symbol('salvo.h2.request');
type SalvoStream = http2.ClientHttp2Stream & { [REQ]?: H2Request };
const EMPTY = Buffer.alloc(0);

/** One session (one TCP/TLS connection) to an origin. */
class H2Session {
  readonly session: http2.ClientHttp2Session;
  active = 0;
  limit = INITIAL_STREAM_LIMIT;
  draining = false;
  closed = false;
  /** The request that opened it pays for connect and TLS; set once the socket is up. */
  connectMs = 0;
  tlsMs = 0;
  connected = false;
  used = false;
  readonly protocol: 'h2' | 'h2c';
  failure: { kind: string; message: string } | null = null;

  constructor(
    readonly pool: OriginPool,
    url: URL,
    opts: Required<Pick<Http2ClientOptions, 'connectTimeoutMs'>> & Http2ClientOptions,
  ) {
    const secure = url.protocol === 'https:';
    this.protocol = secure ? 'h2' : 'h2c';
    const start = performance.now();
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let socket: net.Socket;
    if (secure) {
      const t = opts.tls ?? {};
      const servername = t.servername ?? (net.isIP(host) ? undefined : host);
      const tlsSocket = tls.connect({
        host,
        port,
        ALPNProtocols: ['h2'],
        ...(servername !== undefined ? { servername } : {}),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
      tlsSocket.once('connect', () => {
        this.connectMs = performance.now() - start;
      });
      tlsSocket.once('secureConnect', () => {
        this.tlsMs = performance.now() - start - this.connectMs;
        if (tlsSocket.alpnProtocol !== 'h2') {
          this.fail(
            'alpn',
            `the server did not negotiate h2 over TLS (ALPN: ${String(tlsSocket.alpnProtocol)})`,
          );
        }
      });
      socket = tlsSocket;
    } else {
      socket = net.connect({ host, port });
      socket.once('connect', () => {
        this.connectMs = performance.now() - start;
      });
    }
    socket.setNoDelay(true);
    this.session = http2.connect(url.origin, {
      createConnection: () => socket,
      settings: { enablePush: false },
    });
    const timer = setTimeout(() => {
      if (!this.connected) {
        this.fail('connect_timeout', `no session within ${opts.connectTimeoutMs}ms`);
      }
    }, opts.connectTimeoutMs);
    this.session.once('connect', () => {
      this.connected = true;
      clearTimeout(timer);
    });
    this.session.on('remoteSettings', (settings: http2.Settings) => {
      const max = settings.maxConcurrentStreams;
      if (max !== undefined) this.limit = Math.max(1, Math.min(max, MAX_STREAMS_PER_SESSION));
      this.pool.drain();
    });
    this.session.on('goaway', (errorCode: number) => {
      this.draining = true;
      if (errorCode !== NGHTTP2_NO_ERROR && this.failure === null) {
        this.failure = { kind: 'goaway', message: `GOAWAY ${kindForRstCode(errorCode)}` };
      } else if (this.failure === null) {
        this.failure = { kind: 'goaway', message: 'GOAWAY from the server' };
      }
      this.pool.forget(this);
    });
    this.session.on('error', (error: Error) => {
      if (this.failure === null) {
        const kind = this.connected ? kindForH2Error(error, undefined) : connectKind(error);
        this.failure = { kind, message: error.message };
      }
    });
    this.session.once('close', () => {
      clearTimeout(timer);
      this.closed = true;
      this.pool.forget(this);
    });
  }

  fail(kind: string, message: string): void {
    if (this.failure === null) this.failure = { kind, message };
    this.session.destroy();
  }

  get usable(): boolean {
    return !this.closed && !this.draining && this.active < this.limit;
  }
}

function connectKind(error: unknown): string {
  const kind = kindForH2Error(error, undefined);
  return kind === 'network' || kind === 'session_error' ? 'connect_failed' : kind;
}

/** The sessions and the bounded queue of one origin. */
class OriginPool {
  readonly sessions: H2Session[] = [];
  private readonly queue: H2Request[] = [];
  private queueHead = 0;

  constructor(
    readonly client: ClientCore,
    readonly url: URL,
  ) {}

  dispatch(req: H2Request): void {
    let best: H2Session | undefined;
    for (const s of this.sessions) {
      if (s.usable && (best === undefined || s.active < best.active)) best = s;
    }
    if (best === undefined && this.sessions.length < this.client.maxSessions) {
      best = new H2Session(this, this.url, this.client.options);
      this.sessions.push(best);
      this.client.stats.sessionsOpened++;
    }
    if (best !== undefined) {
      req.open(best);
      return;
    }
    if (this.queue.length - this.queueHead >= MAX_H2_QUEUED_REQUESTS) {
      req.failWith('queue_full', `more than ${MAX_H2_QUEUED_REQUESTS} requests waiting`);
      return;
    }
    this.queue.push(req);
  }

  /** A stream slot may have freed (stream closed, settings raised the limit): start waiters. */
  drain(): void {
    while (this.queueHead < this.queue.length) {
      const req = this.queue[this.queueHead];
      if (req === undefined) break;
      if (req.settled) {
        this.queue[this.queueHead++] = undefined as unknown as H2Request;
        continue;
      }
      let best: H2Session | undefined;
      for (const s of this.sessions) {
        if (s.usable && (best === undefined || s.active < best.active)) best = s;
      }
      if (best === undefined) {
        if (this.sessions.length >= this.client.maxSessions) break;
        best = new H2Session(this, this.url, this.client.options);
        this.sessions.push(best);
        this.client.stats.sessionsOpened++;
      }
      this.queue[this.queueHead++] = undefined as unknown as H2Request;
      req.open(best);
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
    if (this.queueHead < this.queue.length) this.drain();
  }

  close(): void {
    for (const s of this.sessions.splice(0)) s.session.destroy();
    for (let i = this.queueHead; i < this.queue.length; i++) {
      this.queue[i]?.failWith('closed', 'the client was closed');
    }
    this.queue.length = 0;
    this.queueHead = 0;
  }
}

/** One request in flight: its stream handlers are module functions reading `stream[REQ]`. */
class H2Request {
  settled = false;
  session: H2Session | null = null;
  stream: SalvoStream | null = null;
  timer: NodeJS.Timeout | null = null;
  readyAt = 0;
  responseAt = 0;
  status = 0;
  responseHeaders: http2.IncomingHttpHeaders | null = null;
  /** Times this request was sent again after REFUSED_STREAM (never processed by the peer). */
  retries = 0;
  chunks: Buffer[] = [];
  bytes = 0;
  reused = true;

  constructor(
    readonly client: ClientCore,
    readonly method: string,
    readonly url: URL,
    readonly headers: http2.OutgoingHttpHeaders,
    readonly body: Uint8Array | null,
    readonly discard: boolean,
    readonly start: number,
    readonly resolve: (res: Http2Response) => void,
    readonly reject: (err: Error) => void,
  ) {}

  get target(): string {
    return `${this.method} ${this.url.href}`;
  }

  open(session: H2Session): void {
    if (this.settled) return;
    this.readyAt = 0;
    this.session = session;
    session.active++;
    if (!session.used) {
      session.used = true;
      this.reused = false;
    }
    let stream: SalvoStream;
    try {
      stream = session.session.request(this.headers, { endStream: this.body === null });
    } catch (error) {
      session.active--;
      this.failWith(kindForH2Error(error, undefined), errorMessage(error), error);
      return;
    }
    this.client.stats.streamsStarted++;
    stream[REQ] = this;
    this.stream = stream;
    stream.on('ready', onStreamReady);
    stream.on('response', onStreamResponse);
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    if (this.body !== null) stream.end(this.body);
  }

  timings(end: number): HttpTimings {
    const s = this.session;
    const fresh = !this.reused && s !== null;
    const ready = this.readyAt || this.start;
    const response = this.responseAt || end;
    return {
      dnsMs: 0,
      connectMs: fresh ? s.connectMs : 0,
      tlsMs: fresh ? s.tlsMs : 0,
      sendMs: Math.max(0, ready - this.start - (fresh ? s.connectMs + s.tlsMs : 0)),
      waitMs: Math.max(0, response - ready),
      receiveMs: Math.max(0, end - response),
      ttfbMs: response - this.start,
      totalMs: end - this.start,
      reused: this.reused,
    };
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const end = performance.now();
    const h = this.responseHeaders ?? {};
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    let cookies: string[] = [];
    for (const name in h) {
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      const v = h[name];
      if (v === undefined) continue;
      if (name === 'set-cookie') {
        cookies = Array.isArray(v) ? v : [String(v)];
        headers[name] = cookies.join(', ');
      } else headers[name] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    const body =
      this.chunks.length === 0
        ? EMPTY
        : this.chunks.length === 1
          ? (this.chunks[0] as Buffer)
          : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    const jar = this.client.jar;
    if (jar !== null && cookies.length > 0) jar.capture(this.url.href, cookies);
    this.resolve(
      new Http2Response(
        this.status,
        headers,
        cookies,
        body,
        this.bytes,
        this.url.href,
        this.method,
        this.timings(end),
        this.session?.protocol ?? 'h2',
      ),
    );
  }

  failWith(kind: string, message: string, cause?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.chunks = [];
    const stream = this.stream;
    if (stream !== null && !stream.closed) stream.close(NGHTTP2_CANCEL);
    this.reject(h2Error(kind, message, this.target, cause));
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function onStreamReady(this: SalvoStream): void {
  const req = this[REQ];
  if (req !== undefined) req.readyAt = performance.now();
}

function onStreamResponse(this: SalvoStream, headers: http2.IncomingHttpHeaders): void {
  const req = this[REQ];
  if (req === undefined) return;
  const status = Number(headers[HTTP2_HEADER_STATUS]);
  // 1xx informational heads are followed by the final one.
  if (status >= 100 && status < 200) return;
  req.responseAt = performance.now();
  req.status = status;
  req.responseHeaders = headers;
}

function onStreamData(this: SalvoStream, chunk: Buffer): void {
  const req = this[REQ];
  if (req === undefined || req.settled) return;
  req.bytes += chunk.length;
  if (req.bytes > MAX_H2_BODY_BYTES) {
    req.failWith('body_too_large', `response body above ${MAX_H2_BODY_BYTES} bytes`);
    return;
  }
  if (!req.discard) req.chunks.push(chunk);
}

function onStreamEnd(this: SalvoStream): void {
  const req = this[REQ];
  if (req !== undefined && req.responseHeaders !== null) req.succeed();
}

/**
 * REFUSED_STREAM before any response means the peer did not process the request (RFC 9113
 * §8.7), e.g. streams sent before its SETTINGS lowered the limit: send it again, at most
 * MAX_REFUSED_RETRIES times, on whatever session has room.
 */
function retryRefused(stream: SalvoStream, req: H2Request): boolean {
  if (stream.rstCode !== NGHTTP2_REFUSED_STREAM || req.responseHeaders !== null) return false;
  if (req.retries >= MAX_REFUSED_RETRIES || req.settled || req.client.closed) return false;
  req.retries++;
  stream[REQ] = undefined;
  req.stream = null;
  const session = req.session;
  req.session = null;
  if (session === null) return false;
  session.active--;
  session.pool.dispatch(req);
  return true;
}

function onStreamError(this: SalvoStream, error: Error): void {
  const req = this[REQ];
  if (req === undefined) return;
  if (retryRefused(this, req)) return;
  const sessionFailure = req.session?.failure;
  if (sessionFailure && (sessionFailure.kind === 'goaway' || !req.session?.connected)) {
    req.failWith(sessionFailure.kind, sessionFailure.message, error);
    return;
  }
  req.failWith(kindForH2Error(error, this.rstCode), errorMessage(error), error);
}

function onStreamClose(this: SalvoStream): void {
  const req = this[REQ];
  if (req === undefined) return;
  if (retryRefused(this, req)) return;
  this[REQ] = undefined;
  const session = req.session;
  if (session !== null) session.active--;
  if (!req.settled) {
    const code = this.rstCode;
    const failure = session?.failure;
    if (failure) req.failWith(failure.kind, failure.message);
    else if (code !== undefined && code !== NGHTTP2_NO_ERROR) {
      req.failWith(kindForRstCode(code), `stream reset by the peer (code ${code})`);
    } else if (req.responseHeaders !== null) req.succeed();
    else req.failWith('connection_closed', 'the stream closed before a response');
  }
  if (session !== null) session.pool.drain();
}

function onRequestTimeout(req: H2Request, ms: number): void {
  req.failWith('timeout', `no complete response within ${ms}ms`);
}

class ClientCore {
  readonly stats = { sessionsOpened: 0, streamsStarted: 0 };
  readonly options: Http2ClientOptions & { connectTimeoutMs: number };
  readonly maxSessions: number;
  readonly timeoutMs: number;
  private readonly base: URL | undefined;
  private readonly defaultHeaders: Record<string, string>;
  private readonly pools = new Map<string, OriginPool>();
  closed = false;
  readonly jar: VuCookieJar | null;

  constructor(options: Http2ClientOptions) {
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_H2_TIMEOUT_MS, 'timeoutMs');
    this.options = {
      ...options,
      connectTimeoutMs: positive(
        options.connectTimeoutMs,
        DEFAULT_H2_CONNECT_TIMEOUT_MS,
        'connectTimeoutMs',
      ),
    };
    const max = options.maxSessionsPerOrigin ?? DEFAULT_H2_SESSIONS_PER_ORIGIN;
    if (!Number.isInteger(max) || max < 1) {
      throw h2Error('bad_request', 'maxSessionsPerOrigin must be an integer ≥ 1', '-');
    }
    this.maxSessions = max;
    this.jar = options.cookies === false ? null : new VuCookieJar();
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) lower[k.toLowerCase()] = v;
    this.defaultHeaders = lower;
    if (options.baseUrl !== undefined) {
      try {
        this.base = new URL(options.baseUrl);
      } catch (error) {
        throw h2Error('bad_request', 'invalid baseUrl', options.baseUrl, error);
      }
    }
  }

  start(
    method: string,
    url: string,
    options: Http2RequestOptions | undefined,
    resolve: (res: Http2Response) => void,
    reject: (err: Error) => void,
  ): void {
    const start = performance.now();
    let target: URL;
    try {
      target = new URL(url, this.base);
    } catch (error) {
      reject(
        h2Error('bad_request', `invalid URL ${JSON.stringify(url)}`, `${method} ${url}`, error),
      );
      return;
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      reject(h2Error('bad_request', `unsupported scheme ${target.protocol}`, `${method} ${url}`));
      return;
    }
    if (this.closed) {
      reject(h2Error('closed', 'the client was closed', `${method} ${target.href}`));
      return;
    }
    const headers: http2.OutgoingHttpHeaders = {
      [HTTP2_HEADER_METHOD]: method,
      [HTTP2_HEADER_PATH]: target.pathname + target.search,
      [HTTP2_HEADER_SCHEME]: target.protocol === 'https:' ? 'https' : 'http',
      [HTTP2_HEADER_AUTHORITY]: target.host,
    };
    for (const name in this.defaultHeaders) headers[name] = this.defaultHeaders[name];
    const jar = this.jar;
    if (jar !== null && !jar.empty) {
      const cookie = jar.header(target.href);
      if (cookie !== '') headers.cookie = cookie;
    }
    let body: Uint8Array | null = null;
    if (options !== undefined) {
      if (options.headers !== undefined) {
        for (const name in options.headers) {
          const lower = name.toLowerCase();
          const value = options.headers[name];
          const jarCookie = headers.cookie;
          headers[lower] =
            lower === 'cookie' && jarCookie !== undefined
              ? `${value}; ${String(jarCookie)}`
              : value;
        }
      }
      if (options.json !== undefined) {
        body = Buffer.from(JSON.stringify(options.json));
        if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      } else if (options.body !== undefined) {
        body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
      }
    }
    const req = new H2Request(
      this,
      method,
      target,
      headers,
      body,
      options?.discardBody === true,
      start,
      resolve,
      reject,
    );
    const timeoutMs =
      options?.timeoutMs !== undefined
        ? positive(options.timeoutMs, this.timeoutMs, 'timeoutMs')
        : this.timeoutMs;
    req.timer = setTimeout(onRequestTimeout, timeoutMs, req, timeoutMs);
    let pool = this.pools.get(target.origin);
    if (pool === undefined) {
      pool = new OriginPool(this, new URL(target.origin));
      this.pools.set(target.origin, pool);
    }
    pool.dispatch(req);
  }

  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw h2Error('bad_request', `${name} must be a positive number of milliseconds`, '-');
  }
  return value;
}

/**
 * An HTTP/2 client: one per virtual user (`ctx.http2` in a step). `http://` URLs speak h2c by
 * prior knowledge, `https://` negotiate h2 by ALPN. Rejects only with ClientError.
 *
 * @example
 * .step('item', ({ http2 }) => http2.get('https://localhost:8443/items/1'))
 */
export class Http2Client implements VuClient {
  private readonly core: ClientCore;
  private readonly observe: RequestObserver | undefined;
  private readonly debug: boolean;
  private readonly send = (method: string, url: string, options: Http2RequestOptions) =>
    this.plainRequest(method, url, options);

  constructor(options: Http2ClientOptions = {}) {
    this.core = new ClientCore(options);
    this.observe = options.observe;
    this.debug = options.debug === true;
  }

  /** This VU's cookies (null when made with `cookies: false`). */
  get cookies(): VuCookieJar | null {
    return this.core.jar;
  }

  /** Sessions opened and streams started since construction. */
  get stats(): { readonly sessionsOpened: number; readonly streamsStarted: number } {
    return this.core.stats;
  }

  request(method: string, url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    if (options !== undefined && needsFeatures(options)) {
      return sendWithFeatures('http2', this.send, method, url, options, this.observe);
    }
    return this.plainRequest(method, url, options);
  }

  private plainRequest(
    method: string,
    url: string,
    options: Http2RequestOptions | undefined,
  ): Promise<Http2Response> {
    const sent = new Promise<Http2Response>((resolve, reject) => {
      this.core.start(method, url, options, resolve, reject);
    });
    if (!this.debug) return sent;
    return sent.then(
      (res) => {
        printDebug('HTTP/2', method, res.url, options?.headers, options?.body, {
          status: res.status,
          headers: { ...res.headers },
          body: res.body,
        });
        return res;
      },
      (error: unknown) => {
        printDebug('HTTP/2', method, url, options?.headers, options?.body, { error });
        throw error;
      },
    );
  }
  get(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('GET', url, options);
  }
  head(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('HEAD', url, options);
  }
  delete(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('DELETE', url, options);
  }
  post(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('POST', url, options);
  }
  put(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('PUT', url, options);
  }
  patch(url: string, options?: Http2RequestOptions): Promise<Http2Response> {
    return this.request('PATCH', url, options);
  }

  /** Destroys every session; waiting and in-flight requests fail with kind `closed`/reset. */
  close(): void {
    this.core.close();
  }
}

/** Offered to steps as `ctx.http2`. */
export const http2Kind = {
  name: 'http2' as const,
  create(env: ClientEnv): Http2Client {
    return new Http2Client({
      baseUrl: env.baseUrl,
      headers: { ...env.headers },
      timeoutMs: env.timeoutMs,
      observe: env.observe,
      debug: env.debug,
    });
  },
};
