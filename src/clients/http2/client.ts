// Http2Client: the HTTP/2 client one virtual user drives. Streams are multiplexed over a few
// sessions per origin (default 1, more only when every session is at its stream limit), TLS
// with ALPN 'h2' or clear-text h2c by prior knowledge, per-stream timings, RST_STREAM/GOAWAY/
// flow-control failures as named kinds. The protocol is Salvo's own (connection.ts: framing,
// HPACK, flow control on plain sockets), because node:http2 costs several times more CPU per
// stream; this module turns a call into header fields and a request record, and nothing more.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import type { ClientEnv, RequestObserver, VuClient } from '../client.js';
import type { FeatureOptions } from '../request/bodies.js';
import { VuCookieJar } from '../request/cookies.js';
import { needsFeatures, printDebug, sendWithFeatures } from '../request/features.js';
import { h2Error } from './errors.js';
import { checkCount, Http2SessionGroup } from './group.js';
import { HpackEncoder } from './hpack.js';
import {
  H2Request,
  onRequestTimeout,
  type HeaderBlockCache,
  type RequestOwner,
} from './request.js';
import { Http2Response } from './response.js';
import {
  MAX_STREAMS_PER_SESSION,
  OriginPool,
  type PoolOwner,
  type SessionOptions,
} from './session.js';

export const DEFAULT_H2_TIMEOUT_MS = 30_000;
export const DEFAULT_H2_CONNECT_TIMEOUT_MS = 10_000;
/** Sessions per origin and client unless `maxSessionsPerOrigin` says otherwise. */
export const DEFAULT_H2_SESSIONS_PER_ORIGIN = 1;
export { MAX_H2_QUEUED_REQUESTS } from './session.js';
export { MAX_H2_BODY_BYTES } from './request.js';

export interface Http2ClientOptions {
  baseUrl?: string;
  headers?: Record<string, string>;
  /** Per request: the wait for a stream, the session's connect and the whole response. */
  timeoutMs?: number;
  /** TCP connect + TLS handshake + ALPN of a new session. */
  connectTimeoutMs?: number;
  /** Sessions opened per origin once every open one is at its stream limit (default 1). */
  maxSessionsPerOrigin?: number;
  /** Streams per session at most, below the peer's MAX_CONCURRENT_STREAMS (default 1000). */
  maxStreamsPerSession?: number;
  /**
   * Sessions shared with other clients (the workflow option `http2: { connections }`): this
   * client's streams go over the group's sessions, and its own session options are unused.
   */
  sessions?: Http2SessionGroup;
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

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2). */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why a header field cannot be sent over HTTP/2, or null when it can. */
function badField(name: string, value: string): string | null {
  if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name)}`;
  if (CONNECTION_HEADERS.has(name)) return `connection-specific header ${name} is not HTTP/2`;
  if (name === 'te' && value.toLowerCase() !== 'trailers') return 'te other than trailers';
  if (!FIELD_VALUE.test(value)) return `invalid value for header ${name}`;
  return null;
}

/** The last URL a client parsed, with what a request needs of it. */
interface ParsedTarget {
  readonly url: URL;
  readonly scheme: string;
  readonly path: string;
  readonly pool: OriginPool;
  /** The encoded block of the last method sent here with only the default fields. */
  blockMethod: string;
  block: HeaderBlockCache | null;
}

/** Encodes cacheable header blocks (never a session's encoder: its buffer is in use). */
const blockEncoder = new HpackEncoder();

function encodeBlock(fields: readonly string[]): HeaderBlockCache {
  for (let i = 0; i < fields.length; i += 2) {
    blockEncoder.add(fields[i] as string, fields[i + 1] as string);
  }
  const block = Buffer.from(blockEncoder.buf.subarray(0, blockEncoder.len));
  blockEncoder.reset();
  return { block };
}

class ClientCore implements PoolOwner, RequestOwner {
  readonly stats = { sessionsOpened: 0, streamsStarted: 0 };
  readonly options: SessionOptions;
  readonly maxSessions: number;
  readonly maxStreams: number;
  readonly spread = false;
  readonly timeoutMs: number;
  /** Shared sessions, when this client uses a group's instead of its own. */
  readonly group: Http2SessionGroup | null;
  /** In-flight requests, linked, tracked only with a group (closing the client fails them). */
  private live: H2Request | null = null;
  private readonly base: URL | undefined;
  private lastUrl = '';
  private lastTarget: ParsedTarget | null = null;
  /** The client's default headers, validated once: [name, value, …]. */
  private readonly defaults: string[] = [];
  private readonly pools = new Map<string, OriginPool>();
  closed = false;
  readonly jar: VuCookieJar | null;

  constructor(options: Http2ClientOptions) {
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_H2_TIMEOUT_MS, 'timeoutMs');
    this.options = {
      connectTimeoutMs: positive(
        options.connectTimeoutMs,
        DEFAULT_H2_CONNECT_TIMEOUT_MS,
        'connectTimeoutMs',
      ),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    };
    const { maxSessionsPerOrigin: sessions, maxStreamsPerSession: streams } = options;
    this.maxSessions =
      sessions === undefined
        ? DEFAULT_H2_SESSIONS_PER_ORIGIN
        : checkCount(sessions, 'maxSessionsPerOrigin');
    this.maxStreams =
      streams === undefined ? MAX_STREAMS_PER_SESSION : checkCount(streams, 'maxStreamsPerSession');
    this.group = options.sessions ?? null;
    this.group?.acquire();
    this.jar = options.cookies === false ? null : new VuCookieJar();
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      const name = k.toLowerCase();
      const why = badField(name, v);
      if (why !== null) throw h2Error('bad_request', why, '-');
      this.defaults.push(name, v);
    }
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
    if (this.closed) {
      reject(h2Error('closed', 'the client was closed', `${method} ${url}`));
      return;
    }
    let parsed = this.lastTarget;
    if (parsed === null || url !== this.lastUrl) {
      const fresh = this.parse(method, url, reject);
      if (fresh === null) return;
      parsed = fresh;
    }
    const target = parsed.url;
    const jar = this.jar;
    const cookie = jar !== null && !jar.empty ? jar.header(target.href) : '';
    const plain =
      options === undefined || (options.headers === undefined && options.json === undefined);
    let fields: string[] | HeaderBlockCache;
    if (plain && cookie === '' && parsed.block !== null && parsed.blockMethod === method) {
      fields = parsed.block;
    } else {
      fields = this.fields(method, parsed, cookie, plain);
      if (plain && cookie === '') {
        parsed.block = encodeBlock(fields);
        parsed.blockMethod = method;
      }
    }
    if (Array.isArray(fields) && !plain && options !== undefined) {
      const why = this.mergeFields(fields, options, cookie);
      if (why !== null) {
        reject(h2Error('bad_request', why, `${method} ${target.href}`));
        return;
      }
    }
    let body: Uint8Array | null = null;
    if (options !== undefined) {
      if (options.json !== undefined) body = Buffer.from(JSON.stringify(options.json));
      else if (options.body !== undefined) {
        body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
      }
    }
    const req = new H2Request(
      this,
      method,
      target,
      fields,
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
    if (this.group !== null) {
      req.nextLive = this.live;
      if (this.live !== null) this.live.prevLive = req;
      this.live = req;
    }
    parsed.pool.dispatch(req);
  }

  /** Parses and remembers `url`; null after rejecting a bad one. */
  private parse(method: string, url: string, reject: (err: Error) => void): ParsedTarget | null {
    let target: URL;
    try {
      target = new URL(url, this.base);
    } catch (error) {
      reject(
        h2Error('bad_request', `invalid URL ${JSON.stringify(url)}`, `${method} ${url}`, error),
      );
      return null;
    }
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(h2Error('bad_request', `unsupported scheme ${target.protocol}`, `${method} ${url}`));
      return null;
    }
    const origin = target.origin;
    let pool = this.group?.pool(origin, new URL(origin)) ?? this.pools.get(origin);
    if (pool === undefined) {
      pool = new OriginPool(this, new URL(origin));
      this.pools.set(origin, pool);
    }
    const parsed: ParsedTarget = {
      url: target,
      scheme: secure ? 'https' : 'http',
      path: target.pathname + target.search,
      pool,
      blockMethod: '',
      block: null,
    };
    this.lastUrl = url;
    this.lastTarget = parsed;
    return parsed;
  }

  done(req: H2Request): void {
    if (this.group === null) return;
    const { prevLive: prev, nextLive: next } = req;
    if (prev !== null) prev.nextLive = next;
    else if (this.live === req) this.live = next;
    if (next !== null) next.prevLive = prev;
    req.prevLive = req.nextLive = null;
  }

  /** The pseudo-header fields, then the defaults and the jar's cookie when `plain`. */
  private fields(method: string, parsed: ParsedTarget, cookie: string, plain: boolean): string[] {
    const fields = [
      ':method',
      method,
      ':scheme',
      parsed.scheme,
      ':authority',
      parsed.url.host,
      ':path',
      parsed.path,
    ];
    if (plain) {
      for (let i = 0; i < this.defaults.length; i++) fields.push(this.defaults[i] as string);
      if (cookie !== '') fields.push('cookie', cookie);
    }
    return fields;
  }

  /** Defaults, the jar's cookie and the request's own headers (which win), validated. */
  private mergeFields(
    fields: string[],
    options: Http2RequestOptions,
    jarCookie: string,
  ): string | null {
    const merged = new Map<string, string>();
    for (let i = 0; i < this.defaults.length; i += 2) {
      merged.set(this.defaults[i] as string, this.defaults[i + 1] as string);
    }
    if (jarCookie !== '') merged.set('cookie', jarCookie);
    for (const name in options.headers) {
      const lower = name.toLowerCase();
      const value = String(options.headers[name]);
      const why = badField(lower, value);
      if (why !== null) return why;
      merged.set(lower, lower === 'cookie' && jarCookie !== '' ? `${value}; ${jarCookie}` : value);
    }
    if (options.json !== undefined && !merged.has('content-type')) {
      merged.set('content-type', 'application/json');
    }
    for (const [name, value] of merged) fields.push(name, value);
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lastTarget = null;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    if (this.group !== null) {
      while (this.live !== null) this.live.failWith('closed', 'the client was closed');
      this.group.release();
    }
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
    const group = this.core.group;
    if (group === null) return this.core.stats;
    return {
      sessionsOpened: group.stats.sessionsOpened,
      streamsStarted: this.core.stats.streamsStarted,
    };
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
    let sessions: Http2SessionGroup | undefined;
    if (env.http2 !== undefined && env.shared !== undefined) {
      const found = env.shared.get('http2');
      if (found instanceof Http2SessionGroup) sessions = found;
      else {
        sessions = new Http2SessionGroup(env.http2, {
          connectTimeoutMs: DEFAULT_H2_CONNECT_TIMEOUT_MS,
        });
        env.shared.set('http2', sessions);
      }
    }
    return new Http2Client({
      baseUrl: env.baseUrl,
      headers: { ...env.headers },
      timeoutMs: env.timeoutMs,
      observe: env.observe,
      debug: env.debug,
      ...(sessions !== undefined ? { sessions } : {}),
    });
  },
};
