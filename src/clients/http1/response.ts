// What a completed HTTP/1.x request hands back: status, lazily decoded headers, body, timings.
// Holds a private copy of the raw head (and usually the body, in the same buffer) and decodes
// headers, the body view and the timings only when asked; never does I/O.
import { decodeBody } from '../request/decode.js';
import { HttpError } from './errors.js';

/** Phases of one request in milliseconds (performance.now() deltas). */
export interface HttpTimings {
  /** DNS lookup (0 for IP literals and reused connections). */
  dnsMs: number;
  /** TCP connect after DNS (0 for reused connections). */
  connectMs: number;
  /** TLS handshake after TCP connect (0 for plain HTTP and reused connections). */
  tlsMs: number;
  /** Writing the request until it was handed to the kernel. */
  sendMs: number;
  /** Time to first byte after the request was sent. */
  waitMs: number;
  /** First byte to last byte of the response. */
  receiveMs: number;
  /** Request start (including any wait for a free connection) to the first response byte. */
  ttfbMs: number;
  /** Request start to the last byte of the response. */
  totalMs: number;
  /**
   * Whether the request went over a connection it did not open: kept alive from an earlier
   * request, or opened ahead by `preconnect`.
   */
  reused: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SP = 0x20;
const HT = 0x09;
/** Offset of the reason phrase in "HTTP/1.1 200 OK". */
const REASON_OFFSET = 13;

/** Computes a response's timings on first access (the client's in-flight request record). */
export interface TimingSource {
  responseTimings(): HttpTimings;
}

function isTimingSource(t: HttpTimings | TimingSource): t is TimingSource {
  return typeof (t as Partial<TimingSource>).responseTimings === 'function';
}

export class HttpResponse {
  readonly status: number;
  /** Body bytes received (also counted when the request set `discardBody`). */
  readonly bodyBytes: number;
  /** The URL that produced this response (the last one when redirects were followed). */
  readonly url: string;
  readonly method: string;
  /** How many redirects were followed to get here. */
  readonly redirects: number;
  /** The head at [0, headLength), and the body right after it when `bodyBuf` is null. */
  private readonly head: Buffer;
  private readonly headLength: number;
  private bodyBuf: Buffer | null;
  private timingsOf: HttpTimings | TimingSource;
  private headerMap: Record<string, string> | null = null;
  private raw: string[] | null = null;
  private reason: string | null = null;

  /**
   * `head` holds the head at [0, headLength) (default: all of it). `body` null means the body
   * is the `bodyBytes` bytes right after the head in the same buffer.
   */
  constructor(
    status: number,
    head: Buffer,
    body: Buffer | null,
    bodyBytes: number,
    timings: HttpTimings | TimingSource,
    url: string,
    method: string,
    redirects: number,
    headLength: number = head.length,
  ) {
    this.status = status;
    this.head = head;
    this.headLength = headLength;
    this.bodyBuf = body;
    this.bodyBytes = bodyBytes;
    this.timingsOf = timings;
    this.url = url;
    this.method = method;
    this.redirects = redirects;
  }

  /** The body bytes (empty when the request set `discardBody`). */
  get body(): Buffer {
    if (this.bodyBuf === null) {
      this.bodyBuf = this.head.subarray(this.headLength, this.headLength + this.bodyBytes);
    }
    return this.bodyBuf;
  }

  /** Phases of the request in milliseconds. */
  get timings(): HttpTimings {
    const t = this.timingsOf;
    if (!isTimingSource(t)) return t;
    const computed = t.responseTimings();
    this.timingsOf = computed;
    return computed;
  }

  /** 200–399. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 400;
  }

  /** The reason phrase of the status line ('' when the server sent none). */
  get statusText(): string {
    if (this.reason === null) {
      const end = this.head.indexOf(CR);
      this.reason = end > REASON_OFFSET ? this.head.toString('latin1', REASON_OFFSET, end) : '';
    }
    return this.reason ?? '';
  }

  /** Header names and values as received, flattened: [name, value, name, value, …]. */
  get rawHeaders(): string[] {
    if (this.raw === null) this.raw = decodeRawHeaders(this.head, this.headLength);
    return this.raw;
  }

  /** Lowercased names; repeated headers (set-cookie too) joined with ', '. */
  get headers(): Record<string, string> {
    if (this.headerMap === null) {
      const map: Record<string, string> = Object.create(null) as Record<string, string>;
      const raw = this.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = (raw[i] ?? '').toLowerCase();
        const value = raw[i + 1] ?? '';
        const prev = map[name];
        map[name] = prev === undefined ? value : `${prev}, ${value}`;
      }
      this.headerMap = map;
    }
    return this.headerMap;
  }

  /** One header by case-insensitive name. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  /**
   * Every `set-cookie` value in order ([] without decoding the head when a byte search finds
   * no cookie header: the cookie jar asks on every response).
   */
  get setCookies(): string[] {
    const head = this.head;
    if (head.indexOf('ookie:') === -1 && head.indexOf('OOKIE:') === -1) return [];
    const out: string[] = [];
    const raw = this.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if ((raw[i] ?? '').toLowerCase() === 'set-cookie') out.push(raw[i + 1] ?? '');
    }
    return out;
  }

  /** The body with its Content-Encoding (gzip, deflate, br) undone; `body` is as received. */
  get decoded(): Buffer {
    const head = this.head;
    if (head.indexOf('ncoding:') === -1 && head.indexOf('NCODING:') === -1) return this.body;
    return decodeBody(
      this.body,
      this.header('content-encoding'),
      'http',
      `${this.method} ${this.url}`,
    );
  }

  /** The decoded body as UTF-8. */
  text(): string {
    return this.decoded.toString('utf8');
  }

  /** The body parsed as JSON; throws HttpError kind 'bad_response' if it is not JSON. */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (error) {
      throw new HttpError(
        'bad_response',
        `response body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        this.method,
        this.url,
        this.timings,
        { cause: error },
      );
    }
  }
}

/** Decodes the header lines of a head the parser already validated, at head[0, length). */
function decodeRawHeaders(head: Buffer, length: number): string[] {
  const out: string[] = [];
  let p = head.indexOf(LF) + 1;
  const end = length - 2;
  while (p > 0 && p < end) {
    const nl = head.indexOf(LF, p);
    if (nl === -1) break;
    const colon = head.indexOf(COLON, p);
    if (colon !== -1 && colon < nl) {
      let vs = colon + 1;
      let ve = nl - 1;
      while (vs < ve && (head[vs] === SP || head[vs] === HT)) vs++;
      while (ve > vs && (head[ve - 1] === SP || head[ve - 1] === HT)) ve--;
      out.push(head.toString('latin1', p, colon), head.toString('latin1', vs, ve));
    }
    p = nl + 1;
  }
  return out;
}
