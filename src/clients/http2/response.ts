// What a completed HTTP/2 stream hands back: status, headers, body and per-stream timings, with
// the same reading API as the HTTP/1.1 response. Never does I/O.
import type { HttpTimings } from '../http1/index.js';
import { RESULT_STATUS, parseJson } from '../client.js';
import { decodeBody } from '../request/decode.js';

export class Http2Response {
  readonly status: number;
  /** Lowercased names; repeated headers joined with ', ' (set-cookie kept apart in `setCookies`). */
  readonly headers: Readonly<Record<string, string>>;
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
    headers: Record<string, string>,
    setCookies: readonly string[],
    body: Buffer,
    bodyBytes: number,
    url: string,
    method: string,
    timings: HttpTimings,
    protocol: 'h2' | 'h2c',
  ) {
    this.status = status;
    this.headers = headers;
    this.setCookies = setCookies;
    this.body = body;
    this.bodyBytes = bodyBytes;
    this.url = url;
    this.method = method;
    this.timings = timings;
    this.protocol = protocol;
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
