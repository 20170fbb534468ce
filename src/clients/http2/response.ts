// What a completed HTTP/2 stream hands back: status, headers, body and per-stream timings, with
// the same reading API as the HTTP/1.1 response. Never does I/O.
import type { HttpTimings } from '../http1/index.js';
import { RESULT_STATUS, parseJson } from '../client.js';
import { decodeBody } from '../request/decode.js';

export class Http2Response {
  readonly status: number;
  /** The head's fields as received, [name, value, …] (built into `headers` on first read). */
  private readonly fields: readonly string[];
  private built: Record<string, string> | null = null;
  /** Every `set-cookie` value in order. */
  readonly setCookies: readonly string[];
  readonly body: Buffer;
  readonly bodyBytes: number;
  readonly url: string;
  readonly method: string;
  readonly timings: HttpTimings;
  /** The negotiated protocol: 'h2' over TLS (ALPN), 'h2c' in clear text. */
  readonly protocol: 'h2' | 'h2c';

  constructor(
    status: number,
    fields: readonly string[],
    setCookies: readonly string[],
    body: Buffer,
    bodyBytes: number,
    url: string,
    method: string,
    timings: HttpTimings,
    protocol: 'h2' | 'h2c',
  ) {
    this.status = status;
    this.fields = fields;
    this.setCookies = setCookies;
    this.body = body;
    this.bodyBytes = bodyBytes;
    this.url = url;
    this.method = method;
    this.timings = timings;
    this.protocol = protocol;
  }

  /** Lowercased names; repeated headers joined with ', ' (set-cookie kept apart in `setCookies`). */
  get headers(): Readonly<Record<string, string>> {
    if (this.built !== null) return this.built;
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i] as string;
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      const prev = headers[name];
      headers[name] = prev === undefined ? (f[i + 1] as string) : `${prev}, ${f[i + 1] as string}`;
    }
    this.built = headers;
    return headers;
  }

  /** The same JSON as a plain record of the response (headers built), e.g. from a setup hook. */
  toJSON(): Record<string, unknown> {
    return {
      status: this.status,
      headers: this.headers,
      setCookies: this.setCookies,
      body: this.body,
      bodyBytes: this.bodyBytes,
      url: this.url,
      method: this.method,
      timings: this.timings,
      protocol: this.protocol,
    };
  }

  get [RESULT_STATUS](): number {
    return this.status;
  }

  /** 200–399. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 400;
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  /** The body with its Content-Encoding (gzip, deflate, br) undone; `body` is as received. */
  get decoded(): Buffer {
    const coding = this.headers['content-encoding'];
    if (coding === undefined) return this.body;
    return decodeBody(this.body, coding, 'http2', `${this.method} ${this.url}`);
  }

  /** The decoded body as UTF-8. */
  text(): string {
    return this.decoded.toString('utf8');
  }

  /** The body parsed as JSON; throws ClientError kind 'bad_response' if it is not JSON. */
  json<T = unknown>(): T {
    return parseJson<T>(this.text(), 'http2', 'bad_response', `${this.method} ${this.url}`);
  }
}
