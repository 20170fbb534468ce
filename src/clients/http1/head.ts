// Request heads: resolves a (method, url, headers) triple once into a pre-serialised Buffer
// plus its origin, and keeps the result in a bounded cache shared by every client of the
// thread, so a repeated request costs one Map lookup. Validation lives here; never does I/O.
import { isIP } from 'node:net';

/** Entries in the shared head cache (oldest evicted first). */
export const MAX_HEAD_CACHE_ENTRIES = 256;
/** Distinct client configurations whose cache keys are interned. */
const MAX_INTERNED_CONFIGS = 1024;
const USER_AGENT = 'salvo/0.1';

/** Where a request goes and the bytes of its head. Immutable once built. */
export interface RequestTarget {
  /** `http://host:port` — one connection pool per origin. */
  readonly origin: string;
  readonly secure: boolean;
  /** Host to connect to (IPv6 without brackets). */
  readonly hostname: string;
  readonly port: number;
  /** SNI name: the hostname unless it is an IP literal. */
  readonly servername: string | undefined;
  readonly href: string;
  /** The complete head for a request without a body. */
  readonly headNoBody: Buffer;
  /** The head without its final blank line: append `content-length` and the body. */
  readonly headPrefix: Buffer;
  /** The request itself asks the server to close the connection. */
  readonly closeAfter: boolean;
  /** HEAD: the response has no body whatever its headers say. */
  readonly noBody: boolean;
  /** The method may be retried once on a fresh connection after a stale keep-alive reuse. */
  readonly idempotent: boolean;
}

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_NAME = METHOD;
// Header values: visible latin1 and whitespace; no CR, LF or NUL (no header injection).
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\r\n\0]|[^\u0000-\u00ff]/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** A bounded first-in-first-out cache of request targets. */
class HeadCache {
  private readonly map = new Map<string, RequestTarget>();
  get(key: string): RequestTarget | undefined {
    return this.map.get(key);
  }
  set(key: string, target: RequestTarget): void {
    if (this.map.size >= MAX_HEAD_CACHE_ENTRIES) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(key, target);
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

/** The head cache shared by every HttpClient of this thread. */
export const headCache = new HeadCache();

const configIds = new Map<string, number>();
let nextConfigId = 1;

/**
 * A short prefix for cache keys that is equal for clients with equal configuration, so that
 * e.g. a thousand virtual users with the same options share cache entries.
 */
export function configKeyPrefix(fingerprint: string): string {
  let id = configIds.get(fingerprint);
  if (id === undefined) {
    id = nextConfigId++;
    if (configIds.size >= MAX_INTERNED_CONFIGS) configIds.clear();
    configIds.set(fingerprint, id);
  }
  return `${id}\u0000`;
}

export interface HeadInput {
  method: string;
  url: string;
  base: URL | undefined;
  clientHeaders: Record<string, string> | undefined;
  requestHeaders: Record<string, string> | undefined;
  json: boolean;
  keepAlive: boolean;
  servername: string | undefined;
}

/** Builds a target, or returns why the request is invalid. */
export function buildTarget(input: HeadInput): RequestTarget | string {
  const { method } = input;
  if (!METHOD.test(method)) return `invalid method ${JSON.stringify(method)}`;
  let url: URL;
  try {
    url = input.base === undefined ? new URL(input.url) : new URL(input.url, input.base);
  } catch (error) {
    return `invalid URL ${JSON.stringify(input.url)}${input.base === undefined ? ' (relative URL and no baseUrl)' : ''}: ${error instanceof Error ? error.message : String(error)}`;
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') return `unsupported protocol ${url.protocol}`;
  if (url.username !== '' || url.password !== '') {
    return 'credentials in the URL are not supported; send an authorization header';
  }
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (hostname === '') return 'URL has no host';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);

  // Lowercased name → [name as given, value]; later sources override earlier ones.
  const headers = new Map<string, [string, string]>();
  headers.set('host', ['host', url.host]);
  headers.set('user-agent', ['user-agent', USER_AGENT]);
  headers.set('accept', ['accept', '*/*']);
  if (input.json) headers.set('content-type', ['content-type', 'application/json']);
  for (const source of [input.clientHeaders, input.requestHeaders]) {
    if (source === undefined) continue;
    for (const name of Object.keys(source)) {
      const value = source[name];
      if (typeof value !== 'string') return `header ${JSON.stringify(name)} must be a string`;
      if (!HEADER_NAME.test(name)) return `invalid header name ${JSON.stringify(name)}`;
      if (BAD_VALUE.test(value)) return `invalid character in header ${JSON.stringify(name)}`;
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding')
        return 'transfer-encoding cannot be set: bodies are sent with content-length';
      // The client computes content-length itself.
      if (lower === 'content-length') continue;
      headers.set(lower, [name, value]);
    }
  }
  let closeAfter = false;
  const connection = headers.get('connection');
  if (connection !== undefined) {
    closeAfter = /(^|,)\s*close\s*($|,)/i.test(connection[1]);
  } else if (!input.keepAlive) {
    headers.set('connection', ['connection', 'close']);
    closeAfter = true;
  }

  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  for (const [name, value] of headers.values()) head += `${name}: ${value}\r\n`;
  const headPrefix = Buffer.from(head, 'latin1');
  const noBody = BODY_METHODS.has(method.toUpperCase())
    ? `${head}content-length: 0\r\n\r\n`
    : `${head}\r\n`;
  url.hash = '';
  return {
    origin: `${url.protocol}//${url.host}`,
    secure,
    hostname,
    port,
    servername: input.servername ?? (isIP(hostname) === 0 ? hostname : undefined),
    href: url.href,
    headNoBody: Buffer.from(noBody, 'latin1'),
    headPrefix,
    closeAfter,
    noBody: method === 'HEAD',
    idempotent: IDEMPOTENT.has(method),
  };
}
