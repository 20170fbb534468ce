// Incremental HTTP/1.x response parser: bytes in (any chunk boundaries), one message out at a
// time. Pure state machine — it never touches a socket, a timer or the clock. Hand-written for
// the load generator's hot path: the head is found with one native `indexOf` and parsed in place
// in the (shared, reused) read buffer, only the framing headers are decoded eagerly (byte
// compares, no strings), a head identical to the previous one on the connection reuses its
// parse, and a response that arrived whole is copied out in one allocation.

/** Largest accepted response head (status line + header lines + blank line), in bytes. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Largest body kept in memory (a `discardBody` request has no limit), in bytes. */
export const MAX_BODY_BYTES = 512 * 1024 * 1024;
/** Largest chunk-size line (hex size + extensions), in bytes. */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024;
/** A response up to this size that arrives in one read is kept as one copy (head + body). */
export const SINGLE_COPY_MAX_BYTES = 64 * 1024;

/** `execute`/`finish` results. */
export const PARSE_MORE = 0;
export const PARSE_DONE = 1;
export const PARSE_ERROR = 2;
export type ParseResult = typeof PARSE_MORE | typeof PARSE_DONE | typeof PARSE_ERROR;

const S_HEAD = 0;
const S_BODY_LENGTH = 1;
const S_BODY_CLOSE = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_EXT = 4;
const S_CHUNK_SIZE_LF = 5;
const S_CHUNK_DATA = 6;
const S_CHUNK_DATA_CR = 7;
const S_CHUNK_DATA_LF = 8;
const S_TRAILER_START = 9;
const S_TRAILER_LINE = 10;
const S_TRAILER_END_LF = 11;
const S_DONE = 12;
const S_ERROR = 13;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_PREFIX = Buffer.from('HTTP/1.', 'latin1');
const HTTP_PREFIX_LENGTH = HTTP_PREFIX.length;
/** Shortest valid head: "HTTP/1.1 200\r\n\r\n". */
const MIN_HEAD_BYTES = 16;
const MAX_CONTENT_LENGTH_DIGITS = 15;
const MAX_CHUNK_SIZE_DIGITS = 13;
const DIGITS = /^[0-9]{1,15}$/;
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** RFC 9110 `tchar`: bytes allowed in a header name. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c <= 9; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** True if head[start, end) equals `lower` ignoring ASCII case (`lower` is lowercase). */
function equalsLower(head: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = head[start + i] ?? 0;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Offset of the first LF in buf[from, end), or `end` if there is none. A plain loop: header
 * lines are short, and a native Buffer#indexOf call per line costs more than scanning them.
 */
function findLF(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] !== LF) i++;
  return i;
}

/**
 * Offset of the first CRLFCRLF entirely inside buf[from, end), or -1. A skipping scan in JS (a
 * byte that is neither CR nor LF rules out the next four end positions): cheaper for a short
 * head than Buffer#indexOf, whose wrapper and native call dominate.
 */
export function findHeadEnd(buf: Buffer, from: number, end: number): number {
  let i = from + 3;
  while (i < end) {
    const c = buf[i];
    if (c === LF) {
      if (buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i - 3;
      i += 2; // this LF can only be the pattern's second byte
    } else if (c === CR) {
      i += 1;
    } else {
      i += 4;
    }
  }
  return -1;
}

/** Comma-separated tokens of a header value, trimmed and lowercased (slow path only). */
function lowerTokens(head: Buffer, start: number, end: number): string[] {
  return head
    .toString('latin1', start, end)
    .toLowerCase()
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/**
 * One parser per connection. Call `reset` before each request, feed bytes with `execute`
 * until it returns PARSE_DONE or PARSE_ERROR, and call `finish` on end-of-stream. After
 * PARSE_DONE, `pos` is the offset just after the message; bytes from there on belong to
 * whatever follows (call `reset` and `execute` again to parse them).
 */
export class ResponseParser {
  /** Offset just after the last byte consumed by the last `execute`. */
  pos = 0;
  /** Why the last PARSE_ERROR happened. */
  error = '';
  /** Whether any byte of the current response (including a 1xx) has arrived. */
  received = false;

  // Result of the last complete message.
  status = 0;
  versionMinor = 1;
  /** Whether the connection may carry another request after this message. */
  keepAlive = true;
  /**
   * A private copy of the head (status line through the blank line) at [0, headLength), followed
   * by the body at [headLength, headLength + bodyBytes) when `bodyInRaw`.
   */
  raw: Buffer = EMPTY_BUFFER;
  headLength = 0;
  bodyInRaw = false;
  /** The body when it is not in `raw`. */
  bodyOut: Buffer = EMPTY_BUFFER;
  bodyBytes = 0;

  private state = S_HEAD;
  private noBody = false;
  private discard = false;
  private prefixMatched = 0;
  private acc: Buffer | null = null;
  private accLen = 0;
  private remaining = 0;
  private bodyBuf: Buffer | null = null;
  private parts: Buffer[] | null = null;
  private chunkDigits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /**
   * The previous final head parsed on this connection ([0, prevHeadLength) of `prevHead`, a
   * private immutable copy), with the request flags it was parsed under and its outcome. A
   * byte-identical head under the same flags parses to the same outcome.
   */
  private prevHead: Buffer | null = null;
  private prevHeadLength = 0;
  private prevNoBody = false;
  private prevDiscard = false;
  private prevStatus = 0;
  private prevMinor = 1;
  private prevKeepAlive = true;
  private prevState = S_HEAD;
  private prevRemaining = 0;

  /**
   * Prepares for the next response. `noBody`: the request was HEAD, so the response has no
   * body whatever its headers say. `discard`: count body bytes but do not keep them.
   */
  reset(noBody: boolean, discard: boolean): void {
    this.state = S_HEAD;
    this.noBody = noBody;
    this.discard = discard;
    this.received = false;
    this.error = '';
    this.status = 0;
    this.versionMinor = 1;
    this.keepAlive = true;
    this.raw = EMPTY_BUFFER;
    this.headLength = 0;
    this.bodyInRaw = false;
    this.bodyOut = EMPTY_BUFFER;
    this.bodyBytes = 0;
    this.resetHead();
    this.remaining = 0;
    this.bodyBuf = null;
    this.parts = null;
    this.trailerBytes = 0;
  }

  /** The head of the last complete message (a view into `raw`). */
  get head(): Buffer {
    return this.headLength === this.raw.length ? this.raw : this.raw.subarray(0, this.headLength);
  }

  /** The body of the last complete message. */
  get body(): Buffer {
    if (!this.bodyInRaw) return this.bodyOut;
    return this.raw.subarray(this.headLength, this.headLength + this.bodyBytes);
  }

  /** Whether the parser is reading a body that only the end of the stream can end. */
  get readsUntilClose(): boolean {
    return this.state === S_BODY_CLOSE;
  }

  /** Consumes data[start, end). Never reads outside that range. */
  execute(data: Buffer, start: number, end: number): ParseResult {
    let p = start;
    for (;;) {
      switch (this.state) {
        case S_HEAD: {
          if (p >= end) return this.more(p);
          this.received = true;
          p = this.readHead(data, p, end);
          if (p < 0) return this.error !== '' ? PARSE_ERROR : this.more(end);
          break;
        }
        case S_BODY_LENGTH: {
          if (p >= end) return this.more(p);
          const n = Math.min(this.remaining, end - p);
          if (this.bodyBuf !== null) data.copy(this.bodyBuf, this.bodyBytes, p, p + n);
          this.bodyBytes += n;
          this.remaining -= n;
          p += n;
          if (this.remaining === 0) return this.done(p);
          break;
        }
        case S_BODY_CLOSE: {
          if (p >= end) return this.more(p);
          if (!this.keep(data, p, end)) return this.fail(`body exceeds ${MAX_BODY_BYTES} bytes`);
          return this.more(end);
        }
        case S_CHUNK_DATA: {
          if (p >= end) return this.more(p);
          const n = Math.min(this.remaining, end - p);
          if (!this.keep(data, p, p + n)) return this.fail(`body exceeds ${MAX_BODY_BYTES} bytes`);
          this.remaining -= n;
          p += n;
          if (this.remaining === 0) this.state = S_CHUNK_DATA_CR;
          break;
        }
        case S_DONE:
          return this.done(p);
        case S_ERROR:
          return PARSE_ERROR;
        default: {
          // The byte-at-a-time states of chunked framing: size lines, CRLFs and trailers.
          if (p >= end) return this.more(p);
          const c = data[p++] ?? 0;
          if (!this.chunkByte(c)) return PARSE_ERROR;
          if (this.state === S_DONE) return this.done(p);
        }
      }
    }
  }

  /** The stream ended. Completes a close-delimited body; anything else is an error. */
  finish(): ParseResult {
    if (this.state === S_DONE) return PARSE_DONE;
    if (this.state === S_BODY_CLOSE) {
      this.finishBody();
      this.state = S_DONE;
      return PARSE_DONE;
    }
    if (this.state === S_ERROR) return PARSE_ERROR;
    return this.fail(
      this.received
        ? 'connection closed before the response was complete'
        : 'connection closed before any response byte',
    );
  }

  private more(p: number): ParseResult {
    this.pos = p;
    return PARSE_MORE;
  }

  private done(p: number): ParseResult {
    if (this.state !== S_DONE) {
      this.finishBody();
      this.state = S_DONE;
    }
    this.pos = p;
    return PARSE_DONE;
  }

  private bad(message: string): false {
    this.fail(message);
    return false;
  }

  private fail(message: string): typeof PARSE_ERROR {
    this.state = S_ERROR;
    this.error = message;
    return PARSE_ERROR;
  }

  private resetHead(): void {
    this.prefixMatched = 0;
    this.acc = null;
    this.accLen = 0;
  }

  private finishBody(): void {
    if (this.bodyBuf !== null) {
      this.bodyOut = this.bodyBuf;
    } else if (this.parts !== null) {
      this.bodyOut =
        this.parts.length === 1 && this.parts[0] !== undefined
          ? this.parts[0]
          : Buffer.concat(this.parts, this.bodyBytes);
    }
    this.bodyBuf = null;
    this.parts = null;
  }

  /** Counts (and unless discarding, copies) body bytes data[start, end). */
  private keep(data: Buffer, start: number, end: number): boolean {
    const n = end - start;
    if (n === 0) return true;
    this.bodyBytes += n;
    if (this.discard) return true;
    if (this.bodyBytes > MAX_BODY_BYTES) return false;
    const copy = Buffer.allocUnsafe(n);
    data.copy(copy, 0, start, end);
    if (this.parts === null) this.parts = [copy];
    else this.parts.push(copy);
    return true;
  }

  /**
   * Reads head bytes from data[p, end). Returns the offset after the head once it is complete
   * and parsed, or -1 when more bytes are needed (all consumed) or on error (state S_ERROR).
   */
  private readHead(data: Buffer, p: number, end: number): number {
    // Reject anything that is not HTTP/1.x as soon as its first bytes arrive.
    if (this.prefixMatched < HTTP_PREFIX_LENGTH) {
      let m = this.prefixMatched;
      for (let i = p; m < HTTP_PREFIX_LENGTH && i < end; i++, m++) {
        if (data[i] !== HTTP_PREFIX[m]) {
          this.fail('response does not start with "HTTP/1."');
          return -1;
        }
      }
      this.prefixMatched = m;
    }
    if (this.accLen === 0) {
      const idx = findHeadEnd(data, p, end);
      if (idx !== -1) {
        const headEnd = idx + 4;
        if (headEnd - p > MAX_HEADER_BYTES) {
          this.fail(`response head exceeds ${MAX_HEADER_BYTES} bytes`);
          return -1;
        }
        if (!this.sameAsPrevious(data, p, headEnd)) {
          if (!this.onHead(data, p, headEnd)) return -1;
          if (this.state === S_HEAD) return headEnd; // an informational response, skipped
          this.rememberHead(headEnd - p);
        }
        const after = this.keepHead(data, p, headEnd, end);
        this.prevHead = this.raw;
        return after;
      }
      return this.accumulate(data, p, end);
    }
    return this.accumulate(data, p, end);
  }

  /** If data[p, headEnd) repeats the previous head under the same flags, applies its parse. */
  private sameAsPrevious(data: Buffer, p: number, headEnd: number): boolean {
    const prev = this.prevHead;
    if (
      prev === null ||
      headEnd - p !== this.prevHeadLength ||
      this.noBody !== this.prevNoBody ||
      this.discard !== this.prevDiscard ||
      data.compare(prev, 0, this.prevHeadLength, p, headEnd) !== 0
    ) {
      return false;
    }
    this.status = this.prevStatus;
    this.versionMinor = this.prevMinor;
    this.keepAlive = this.prevKeepAlive;
    if (this.prevState === S_CHUNK_SIZE) this.startChunkSize();
    else this.state = this.prevState;
    this.remaining = this.prevRemaining;
    return true;
  }

  /** Records the outcome of the head just parsed (its bytes are recorded by the caller). */
  private rememberHead(length: number): void {
    this.prevHead = null;
    this.prevHeadLength = length;
    this.prevNoBody = this.noBody;
    this.prevDiscard = this.discard;
    this.prevStatus = this.status;
    this.prevMinor = this.versionMinor;
    this.prevKeepAlive = this.keepAlive;
    this.prevState = this.state;
    this.prevRemaining = this.remaining;
  }

  /**
   * Copies the final response's head, parsed in place at data[p, headEnd), out of the read
   * buffer. A small length-delimited body already in data[headEnd, end) comes along in the same
   * copy and completes the message. Returns the offset after what was consumed.
   */
  private keepHead(data: Buffer, p: number, headEnd: number, end: number): number {
    const headLen = headEnd - p;
    const n = this.remaining;
    if (
      this.state === S_BODY_LENGTH &&
      !this.discard &&
      n <= end - headEnd &&
      headLen + n <= SINGLE_COPY_MAX_BYTES
    ) {
      const raw = Buffer.allocUnsafe(headLen + n);
      data.copy(raw, 0, p, headEnd + n);
      this.raw = raw;
      this.headLength = headLen;
      this.bodyInRaw = true;
      this.bodyBytes = n;
      this.remaining = 0;
      this.state = S_DONE;
      return headEnd + n;
    }
    const raw = Buffer.allocUnsafe(headLen);
    data.copy(raw, 0, p, headEnd);
    this.raw = raw;
    this.headLength = headLen;
    this.prepareBody();
    return headEnd;
  }

  /** Allocates the buffer a length-delimited body is copied into (unless discarding). */
  private prepareBody(): void {
    if (this.state === S_BODY_LENGTH && !this.discard) {
      this.bodyBuf = Buffer.allocUnsafe(this.remaining);
    }
  }

  /** Appends a partial head to the accumulator; completes the head if its end is found. */
  private accumulate(data: Buffer, p: number, end: number): number {
    const had = this.accLen;
    const take = Math.min(end - p, MAX_HEADER_BYTES - had);
    if (take <= 0) {
      this.fail(`response head exceeds ${MAX_HEADER_BYTES} bytes`);
      return -1;
    }
    const need = had + take;
    let acc = this.acc;
    if (acc === null || acc.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_BYTES, Math.max(need, 2 * had, 1024)));
      if (acc !== null) acc.copy(grown, 0, 0, had);
      acc = grown;
      this.acc = grown;
    }
    data.copy(acc, had, p, p + take);
    this.accLen = need;
    const idx = acc.indexOf(CRLFCRLF, Math.max(0, had - 3));
    if (idx !== -1 && idx + 4 <= need) {
      const headLen = idx + 4;
      const head = Buffer.allocUnsafe(headLen);
      acc.copy(head, 0, 0, headLen);
      this.acc = null;
      this.accLen = 0;
      if (!this.onHead(head, 0, headLen)) return -1;
      if (this.state !== S_HEAD) {
        this.raw = head;
        this.headLength = headLen;
        this.prepareBody();
      }
      return p + (headLen - had);
    }
    if (need >= MAX_HEADER_BYTES) {
      this.fail(`response head exceeds ${MAX_HEADER_BYTES} bytes`);
      return -1;
    }
    return -1;
  }

  /**
   * Parses a complete head at head[s, e) (which ends with CRLFCRLF) and chooses the body
   * framing; reads nothing outside that range and keeps no reference to `head`. False on error.
   */
  private onHead(head: Buffer, s: number, e: number): boolean {
    if (e - s < MIN_HEAD_BYTES) return this.bad('malformed status line');
    const minor = head[s + 7];
    if ((minor !== 0x30 && minor !== 0x31) || head[s + 8] !== SP) {
      return this.bad('unsupported HTTP version');
    }
    const d1 = (head[s + 9] ?? 0) - 0x30;
    const d2 = (head[s + 10] ?? 0) - 0x30;
    const d3 = (head[s + 11] ?? 0) - 0x30;
    if (d1 < 1 || d1 > 5 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) {
      return this.bad('malformed status code');
    }
    const after = head[s + 12];
    if (after !== SP && after !== CR) return this.bad('malformed status line');
    const status = d1 * 100 + d2 * 10 + d3;
    const statusEnd = findLF(head, s + 12, e);
    if (head[statusEnd - 1] !== CR) return this.bad('bare LF in status line');

    let contentLength = -1;
    let chunked = false;
    let otherEncoding = false;
    let connClose = false;
    let connKeepAlive = false;
    let p = statusEnd + 1;
    while (p < e - 2) {
      const nl = findLF(head, p, e);
      const lineEnd = nl - 1;
      if (head[lineEnd] !== CR) return this.bad('bare LF in header line');
      let q = p;
      while (q < lineEnd && head[q] !== COLON) {
        if (TOKEN[head[q] ?? 0] !== 1) {
          return this.bad('invalid character in header name');
        }
        q++;
      }
      if (q === p || q === lineEnd) return this.bad('malformed header line');
      const nameLen = q - p;
      if (nameLen === 14 || nameLen === 17 || nameLen === 10) {
        let vs = q + 1;
        let ve = lineEnd;
        while (vs < ve && (head[vs] === SP || head[vs] === HT)) vs++;
        while (ve > vs && (head[ve - 1] === SP || head[ve - 1] === HT)) ve--;
        if (nameLen === 14 && equalsLower(head, p, q, 'content-length')) {
          const n = this.parseContentLength(head, vs, ve);
          if (n < 0) return false;
          if (contentLength !== -1 && contentLength !== n) {
            return this.bad('conflicting content-length headers');
          }
          contentLength = n;
        } else if (nameLen === 17 && equalsLower(head, p, q, 'transfer-encoding')) {
          const codings = lowerTokens(head, vs, ve);
          if (codings[codings.length - 1] === 'chunked') {
            chunked = true;
            otherEncoding = false;
          } else {
            chunked = false;
            otherEncoding = true;
          }
        } else if (nameLen === 10 && equalsLower(head, p, q, 'connection')) {
          if (equalsLower(head, vs, ve, 'keep-alive')) connKeepAlive = true;
          else if (equalsLower(head, vs, ve, 'close')) connClose = true;
          else {
            const tokens = lowerTokens(head, vs, ve);
            if (tokens.includes('close')) connClose = true;
            if (tokens.includes('keep-alive')) connKeepAlive = true;
          }
        }
      }
      p = nl + 1;
    }

    if (status < 200) {
      if (status === 101) return this.bad('unexpected 101 Switching Protocols');
      // An informational response (100 Continue, 103 Early Hints…): skip it, read the next.
      this.resetHead();
      return true;
    }

    this.status = status;
    this.versionMinor = minor === 0x31 ? 1 : 0;
    this.keepAlive = this.versionMinor === 1 ? !connClose : connKeepAlive && !connClose;
    if (this.noBody || status === 204 || status === 304) {
      this.state = S_DONE;
    } else if (chunked) {
      // A message with both framings is suspect (request smuggling): never reuse the socket.
      if (contentLength !== -1) this.keepAlive = false;
      this.startChunkSize();
    } else if (otherEncoding || contentLength === -1) {
      this.keepAlive = false;
      this.state = S_BODY_CLOSE;
    } else if (contentLength === 0) {
      this.state = S_DONE;
    } else {
      if (!this.discard && contentLength > MAX_BODY_BYTES) {
        return this.bad(`content-length exceeds ${MAX_BODY_BYTES} bytes`);
      }
      this.remaining = contentLength;
      this.state = S_BODY_LENGTH;
    }
    return true;
  }

  /** Parses `n` (or a list of identical values `n, n`); -1 (and error state) if malformed. */
  private parseContentLength(head: Buffer, start: number, end: number): number {
    if (end > start && end - start <= MAX_CONTENT_LENGTH_DIGITS) {
      let n = 0;
      let i = start;
      for (; i < end; i++) {
        const c = head[i] ?? 0;
        if (c < 0x30 || c > 0x39) break;
        n = n * 10 + (c - 0x30);
      }
      if (i === end) return n;
    }
    let value = -1;
    for (const part of head.toString('latin1', start, end).split(',')) {
      const trimmed = part.trim();
      const n = DIGITS.test(trimmed) ? Number(trimmed) : -1;
      if (n === -1 || (value !== -1 && n !== value)) {
        this.fail('malformed content-length');
        return -1;
      }
      value = n;
    }
    return value;
  }

  private startChunkSize(): void {
    this.state = S_CHUNK_SIZE;
    this.remaining = 0;
    this.chunkDigits = 0;
    this.lineBytes = 0;
  }

  /** One byte of chunked framing outside chunk data. False on error. */
  private chunkByte(c: number): boolean {
    switch (this.state) {
      case S_CHUNK_SIZE: {
        if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) return this.chunkError('chunk line too long');
        const h = HEX[c] ?? -1;
        if (h >= 0) {
          if (++this.chunkDigits > MAX_CHUNK_SIZE_DIGITS) return this.chunkError('chunk too large');
          this.remaining = this.remaining * 16 + h;
          return true;
        }
        if (this.chunkDigits === 0) return this.chunkError('missing chunk size');
        if (c === CR) this.state = S_CHUNK_SIZE_LF;
        else if (c === 0x3b || c === SP || c === HT) this.state = S_CHUNK_EXT;
        else return this.chunkError('invalid chunk size');
        return true;
      }
      case S_CHUNK_EXT:
        if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) return this.chunkError('chunk line too long');
        if (c === CR) this.state = S_CHUNK_SIZE_LF;
        else if (c === LF || c === 0) return this.chunkError('invalid chunk extension');
        return true;
      case S_CHUNK_SIZE_LF:
        if (c !== LF) return this.chunkError('expected LF after chunk size');
        if (this.remaining === 0) {
          this.state = S_TRAILER_START;
        } else {
          if (!this.discard && this.bodyBytes + this.remaining > MAX_BODY_BYTES) {
            return this.chunkError(`body exceeds ${MAX_BODY_BYTES} bytes`);
          }
          this.state = S_CHUNK_DATA;
        }
        return true;
      case S_CHUNK_DATA_CR:
        if (c !== CR) return this.chunkError('expected CRLF after chunk data');
        this.state = S_CHUNK_DATA_LF;
        return true;
      case S_CHUNK_DATA_LF:
        if (c !== LF) return this.chunkError('expected CRLF after chunk data');
        this.startChunkSize();
        return true;
      case S_TRAILER_START:
        if (++this.trailerBytes > MAX_HEADER_BYTES) return this.chunkError('trailers too large');
        if (c === CR) this.state = S_TRAILER_END_LF;
        else if (TOKEN[c] === 1) this.state = S_TRAILER_LINE;
        else return this.chunkError('malformed trailer');
        return true;
      case S_TRAILER_LINE:
        if (++this.trailerBytes > MAX_HEADER_BYTES) return this.chunkError('trailers too large');
        if (c === LF) this.state = S_TRAILER_START;
        return true;
      case S_TRAILER_END_LF:
        if (c !== LF) return this.chunkError('expected LF after trailers');
        this.finishBody();
        this.state = S_DONE;
        return true;
      default:
        return this.chunkError('internal parser state');
    }
  }

  private chunkError(message: string): false {
    this.fail(`chunked encoding: ${message}`);
    return false;
  }
}
