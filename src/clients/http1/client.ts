// HttpClient: the HTTP/1.1 client one virtual user drives (keep-alive pools per origin,
// redirects, the promise and callback APIs). Hand-written on node:net/node:tls instead of
// undici or node:http because it is the load generator's hot path: a repeated request is a
// cache hit (the client's last target, else the thread's head cache) that writes one
// pre-serialised Buffer, reads land in one shared buffer and are parsed in place, a whole
// response is copied out once, and a promise request costs one promise, settled directly.
// It never throws on a request; every failure is an HttpError delivered to the callback or
// the rejected promise.
// Imported: the global `performance` is a lazy accessor in Node 20 (a getter call per use).
import { performance } from 'node:perf_hooks';
import {
  type OriginPool as OriginPoolType,
  OriginPool,
  PendingRequest,
  type ClientStats,
  type PoolHost,
  type PreconnectCallback,
  type ResponseCallback,
} from './connection.js';
import { type HttpErrorKind, HttpError, zeroTimings } from './errors.js';
import { buildTarget, configKeyPrefix, headCache, type RequestTarget } from './head.js';
import type { HttpResponse } from './response.js';
import type { RequestObserver } from '../client.js';
import type { FeatureOptions } from '../request/bodies.js';
import { VuCookieJar } from '../request/cookies.js';
import { needsFeatures, printDebug, sendWithFeatures } from '../request/features.js';
import { recordHandled } from '../../handled-errors.js';

type Resolve = (res: HttpResponse) => void;
type Reject = (err: HttpError) => void;

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_ORIGIN = 6;

export interface HttpClientOptions {
  /** Relative request URLs resolve against it. */
  baseUrl?: string;
  /** Default headers on every request (a request's own headers override them). */
  headers?: Record<string, string>;
  /** Per request, covering the wait for a connection, connect, send and the full response. */
  timeoutMs?: number;
  /** DNS + TCP connect + TLS handshake of a new connection. */
  connectTimeoutMs?: number;
  /** Beyond it, requests wait in a FIFO queue of at most 1024 per origin. */
  maxConnectionsPerOrigin?: number;
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer; servername?: string };
  /** Maximum redirects to follow; 0 (the default) returns 3xx responses as they are. */
  followRedirects?: number;
  /** Reuse connections (default true); false sends `connection: close`. */
  keepAlive?: boolean;
  /** Keep a cookie jar (default true): `Set-Cookie` is stored and sent back in scope. */
  cookies?: boolean;
  /** Where named and tagged requests report their statistics (the engine sets it). */
  observe?: RequestObserver;
  /** Print every request and response (bodies truncated) to stderr. */
  debug?: boolean;
}

export interface RequestOptions extends FeatureOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Serialised with JSON.stringify; sets `content-type: application/json`. */
  json?: unknown;
  timeoutMs?: number;
  followRedirects?: number;
  /** Count the body's bytes but do not keep them (`res.body` is empty). */
  discardBody?: boolean;
}

export type HttpCallback = ResponseCallback;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers not forwarded to another origin on a redirect. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding']);

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new HttpError(
      'bad_request',
      `${name} must be a positive number of milliseconds`,
      '-',
      '-',
      zeroTimings(),
    );
  }
  return value;
}

function count(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new HttpError(
      'bad_request',
      `${name} must be an integer ≥ ${min}`,
      '-',
      '-',
      zeroTimings(),
    );
  }
  return value;
}

/** Everything behind the public API; the pools call back into it. */
class ClientCore implements PoolHost {
  readonly stats: ClientStats = {
    connectionsOpened: 0,
    requestsSent: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
  readonly maxConnectionsPerOrigin: number;
  readonly connectTimeoutMs: number;
  readonly keepAlive: boolean;
  readonly tls: { rejectUnauthorized?: boolean; ca?: string | Buffer; servername?: string };
  readonly timeoutMs: number;
  readonly followRedirects: number;
  /** The VU's cookies; null when the client was made with `cookies: false`. */
  readonly jar: VuCookieJar | null;
  private readonly base: URL | undefined;
  private readonly headers: Record<string, string> | undefined;
  private readonly keyPrefix: string;
  private readonly pools = new Map<string, OriginPool>();
  /** The target of the last request without options: repeated requests skip the key build. */
  private lastMethod = '';
  private lastUrl = '';
  private lastTarget: RequestTarget | undefined = undefined;

  constructor(options: HttpClientOptions) {
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.connectTimeoutMs = positive(
      options.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
      'connectTimeoutMs',
    );
    this.maxConnectionsPerOrigin = count(
      options.maxConnectionsPerOrigin,
      DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
      'maxConnectionsPerOrigin',
      1,
    );
    this.followRedirects = count(options.followRedirects, 0, 'followRedirects', 0);
    this.keepAlive = options.keepAlive ?? true;
    this.jar = options.cookies === false ? null : new VuCookieJar();
    this.tls = { ...options.tls };
    this.headers = options.headers === undefined ? undefined : { ...options.headers };
    if (options.baseUrl !== undefined) {
      try {
        this.base = new URL(options.baseUrl);
      } catch (error) {
        throw new HttpError('bad_request', `invalid baseUrl`, '-', options.baseUrl, zeroTimings(), {
          cause: error,
        });
      }
    }
    this.keyPrefix = configKeyPrefix(
      JSON.stringify([options.baseUrl, this.headers, this.keepAlive, this.tls.servername]),
    );
  }

  /** Starts a request that settles `cb`, or else the promise pair `resolve`/`reject`. */
  start(
    method: string,
    url: string,
    options: RequestOptions | undefined,
    redirects: number,
    cb: ResponseCallback | null,
    resolve: Resolve | null,
    reject: Reject | null,
  ): void {
    const jar = this.jar;
    if (jar !== null && !jar.empty) {
      const withCookie = this.cookieOptions(jar, url, options);
      if (withCookie !== undefined) options = withCookie;
    }
    if (options === undefined && url === this.lastUrl && method === this.lastMethod) {
      const last = this.lastTarget;
      if (last !== undefined) {
        const req = new PendingRequest(
          method,
          last,
          null,
          0,
          this.timeoutMs,
          false,
          cb,
          resolve,
          reject,
          undefined,
          this.followRedirects,
          redirects,
        );
        this.poolFor(last).dispatch(req, false, req.start);
        return;
      }
    }
    const json = options !== undefined && options.json !== undefined;
    const headers = options?.headers;
    let key = this.keyPrefix + method + ' ' + url;
    if (json) key += '\u0000j';
    if (headers !== undefined) {
      for (const name in headers) key += '\u0000' + name + '\u0000' + String(headers[name]);
    }
    let target = headCache.get(key);
    if (target === undefined) {
      const built = buildTarget({
        method,
        url,
        base: this.base,
        clientHeaders: this.headers,
        requestHeaders: headers,
        json,
        keepAlive: this.keepAlive,
        servername: this.tls.servername,
      });
      if (typeof built === 'string') {
        return this.failEarly(method, url, built, cb, reject);
      }
      target = built;
      headCache.set(key, built);
    }
    if (options === undefined) {
      this.lastMethod = method;
      this.lastUrl = url;
      this.lastTarget = target;
    }

    let body: string | Uint8Array | null = null;
    let bodyLength = 0;
    let timeoutMs = this.timeoutMs;
    let followLimit = this.followRedirects;
    let discardBody = false;
    if (options !== undefined) {
      if (json) {
        let text: unknown;
        try {
          // JSON.stringify returns undefined for functions, symbols and undefined.
          text = JSON.stringify(options.json);
        } catch (error) {
          return this.failEarly(
            method,
            url,
            `json body cannot be serialised: ${String(error)}`,
            cb,
            reject,
          );
        }
        if (typeof text !== 'string') {
          return this.failEarly(method, url, 'json body serialises to nothing', cb, reject);
        }
        body = text;
        bodyLength = Buffer.byteLength(text);
      } else if (options.body !== undefined) {
        const given: unknown = options.body;
        if (typeof given === 'string') {
          body = given;
          bodyLength = Buffer.byteLength(given);
        } else if (given instanceof Uint8Array) {
          body = given;
          bodyLength = given.byteLength;
        } else {
          return this.failEarly(method, url, 'body must be a string or a Uint8Array', cb, reject);
        }
      }
      if (options.timeoutMs !== undefined) {
        if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
          return this.failEarly(method, url, 'timeoutMs must be a positive number', cb, reject);
        }
        timeoutMs = options.timeoutMs;
      }
      if (options.followRedirects !== undefined) {
        if (!Number.isInteger(options.followRedirects) || options.followRedirects < 0) {
          return this.failEarly(method, url, 'followRedirects must be an integer ≥ 0', cb, reject);
        }
        followLimit = options.followRedirects;
      }
      discardBody = options.discardBody === true;
    }
    const req = new PendingRequest(
      method,
      target,
      body,
      bodyLength,
      timeoutMs,
      discardBody,
      cb,
      resolve,
      reject,
      options,
      followLimit,
      redirects,
    );
    this.poolFor(target).dispatch(req, false, req.start);
  }

  /** `options` plus the jar's Cookie header for `url`, or undefined when no cookie applies. */
  private cookieOptions(
    jar: VuCookieJar,
    url: string,
    options: RequestOptions | undefined,
  ): RequestOptions | undefined {
    let absolute: string;
    try {
      absolute = new URL(url, this.base).href;
    } catch (error) {
      recordHandled('http1: cookie lookup for a bad URL (start() reports it)', error);
      return undefined;
    }
    const cookie = jar.header(absolute);
    if (cookie === '') return undefined;
    const headers: Record<string, string> = { ...options?.headers };
    const own = Object.keys(headers).find((k) => k.toLowerCase() === 'cookie');
    if (own !== undefined) headers[own] = `${headers[own]}; ${cookie}`;
    else headers.cookie = cookie;
    return { ...options, headers };
  }

  /** Opens an idle keep-alive connection to the origin of `url` (see HttpClient.preconnect). */
  preconnect(url: string, cb: PreconnectCallback): void {
    const built = buildTarget({
      method: 'GET',
      url,
      base: this.base,
      clientHeaders: this.headers,
      requestHeaders: undefined,
      json: false,
      keepAlive: this.keepAlive,
      servername: this.tls.servername,
    });
    if (typeof built === 'string') {
      process.nextTick(cb, new HttpError('bad_request', built, 'CONNECT', url, zeroTimings()));
      return;
    }
    if (!this.keepAlive) {
      process.nextTick(cb, null); // nothing could be reused
      return;
    }
    this.poolFor(built).preconnect(cb);
  }

  close(): void {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const pool of pools) pool.closeAll('the client was closed');
  }

  // PoolHost

  complete(req: PendingRequest, res: HttpResponse): void {
    if (this.jar !== null) {
      const set = res.setCookies;
      if (set.length > 0) this.jar.capture(res.url, set);
    }
    if (req.followLimit > 0 && REDIRECT_STATUSES.has(res.status)) {
      const location = res.header('location');
      if (location !== undefined) {
        this.redirect(req, res, location);
        return;
      }
    }
    if (req.cb !== null) req.cb(null, res);
    else if (req.resolve !== null) req.resolve(res);
  }

  failed(req: PendingRequest, kind: HttpErrorKind, message: string, cause?: unknown): void {
    const timings = req.timings(performance.now());
    const options = cause === undefined ? undefined : { cause };
    this.settleError(
      req,
      new HttpError(kind, message, req.method, req.target.href, timings, options),
    );
  }

  retry(req: PendingRequest): void {
    this.poolFor(req.target).dispatch(req, true, performance.now());
  }

  poolEmpty(pool: OriginPoolType): void {
    if (this.pools.get(pool.target.origin) === pool) this.pools.delete(pool.target.origin);
  }

  private poolFor(target: RequestTarget): OriginPool {
    let pool = this.pools.get(target.origin);
    if (pool === undefined) {
      pool = new OriginPool(this, target);
      this.pools.set(target.origin, pool);
    }
    return pool;
  }

  private settleError(req: PendingRequest, error: HttpError): void {
    if (req.cb !== null) req.cb(error, null);
    else if (req.reject !== null) req.reject(error);
  }

  private failEarly(
    method: string,
    url: string,
    message: string,
    cb: ResponseCallback | null,
    reject: Reject | null,
  ): void {
    const error = new HttpError('bad_request', message, method, url, zeroTimings());
    if (cb !== null) process.nextTick(cb, error, null);
    else if (reject !== null) reject(error);
  }

  private redirect(req: PendingRequest, res: HttpResponse, location: string): void {
    if (req.redirects >= req.followLimit) {
      this.settleError(
        req,
        new HttpError(
          'too_many_redirects',
          `more than ${req.followLimit} redirects (next: ${location})`,
          req.method,
          res.url,
          res.timings,
        ),
      );
      return;
    }
    let next: URL;
    try {
      next = new URL(location, res.url);
    } catch (error) {
      this.settleError(
        req,
        new HttpError(
          'bad_response',
          `invalid redirect location ${JSON.stringify(location)}`,
          req.method,
          res.url,
          res.timings,
          {
            cause: error,
          },
        ),
      );
      return;
    }
    const status = res.status;
    const toGet =
      (status === 303 && req.method !== 'HEAD' && req.method !== 'GET') ||
      ((status === 301 || status === 302) && req.method === 'POST');
    const crossOrigin = next.origin !== req.target.origin;
    let options = req.options;
    if (options !== undefined && (toGet || crossOrigin)) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        const lower = name.toLowerCase();
        if (crossOrigin && CREDENTIAL_HEADERS.has(lower)) continue;
        if (toGet && BODY_HEADERS.has(lower)) continue;
        headers[name] = value;
      }
      options = { ...options, headers };
      if (toGet) {
        delete options.body;
        delete options.json;
      }
    }
    this.start(
      toGet ? 'GET' : req.method,
      next.href,
      options,
      req.redirects + 1,
      req.cb,
      req.resolve,
      req.reject,
    );
  }
}

let capturedResolve: Resolve | null = null;
let capturedReject: Reject | null = null;
function captureSettlers(resolve: Resolve, reject: Reject): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * An HTTP/1.1 client: one per virtual user. Keeps connections alive per origin (up to
 * `maxConnectionsPerOrigin`, then a bounded FIFO queue) and never rejects with anything but
 * an HttpError.
 */
export class HttpClient {
  private readonly core: ClientCore;
  private readonly observe: RequestObserver | undefined;
  private readonly debug: boolean;
  private readonly send = (method: string, url: string, options: RequestOptions) =>
    this.plainRequest(method, url, options);

  constructor(options: HttpClientOptions = {}) {
    this.core = new ClientCore(options);
    this.observe = options.observe;
    this.debug = options.debug === true;
  }

  /** This VU's cookies (null when made with `cookies: false`). */
  get cookies(): VuCookieJar | null {
    return this.core.jar;
  }

  /**
   * Connections opened and requests written (retries included) since construction, and the
   * bytes sent and received on connections closed so far (all of them after `close()`).
   */
  get stats(): Readonly<ClientStats> {
    return this.core.stats;
  }

  /** The callback core (no promise): `cb` is always called exactly once, asynchronously. */
  requestCb(
    method: string,
    url: string,
    options: RequestOptions | undefined,
    cb: (err: HttpError | null, res: HttpResponse | null) => void,
  ): void {
    this.core.start(method, url, options, 0, cb, null, null);
  }

  request(method: string, url: string, options?: RequestOptions): Promise<HttpResponse> {
    if (options !== undefined && needsFeatures(options)) {
      return sendWithFeatures('http', this.send, method, url, options, this.observe);
    }
    return this.plainRequest(method, url, options);
  }

  private plainRequest(
    method: string,
    url: string,
    options: RequestOptions | undefined,
  ): Promise<HttpResponse> {
    // A shared executor hands over the settle functions: no closure per request.
    const sent = new Promise<HttpResponse>(captureSettlers);
    const resolve = capturedResolve;
    const reject = capturedReject;
    capturedResolve = capturedReject = null;
    if (resolve === null || reject === null) return sent; // never: the executor ran
    try {
      this.core.start(method, url, options, 0, null, resolve, reject);
    } catch (error) {
      reject(error as HttpError); // as a throwing executor would (start never throws)
    }
    if (!this.debug) return sent;
    return sent.then(
      (res) => {
        printDebug('HTTP/1.1', method, res.url, options?.headers, options?.body, {
          status: res.status,
          headers: res.headers,
          body: res.body,
        });
        return res;
      },
      (error: unknown) => {
        printDebug('HTTP/1.1', method, url, options?.headers, options?.body, { error });
        throw error;
      },
    );
  }

  get(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('GET', url, options);
  }
  head(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('HEAD', url, options);
  }
  delete(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('DELETE', url, options);
  }
  options(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('OPTIONS', url, options);
  }
  post(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('POST', url, options);
  }
  put(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('PUT', url, options);
  }
  patch(url: string, options?: RequestOptions): Promise<HttpResponse> {
    return this.request('PATCH', url, options);
  }

  /**
   * Opens one idle keep-alive connection to the origin of `url` (relative URLs resolve against
   * baseUrl) unless one is already idle, so the next request skips connect and handshake.
   * `cb` is called once, asynchronously: null when the connection is ready, else the
   * HttpError that prevented it. Never throws.
   */
  preconnect(url: string, cb: (err: HttpError | null) => void): void {
    this.core.preconnect(url, cb);
  }

  /**
   * Destroys every socket; waiting and in-flight requests fail with 'connection_closed'.
   * The client stays usable: later requests open new connections.
   */
  close(): void {
    this.core.close();
  }
}
