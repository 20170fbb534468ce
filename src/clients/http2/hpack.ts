// HPACK (RFC 7541) for the HTTP/2 client: the decoder of response header blocks (static and
// dynamic tables, size updates, Huffman strings, bounded sizes) and the encoder of request
// header blocks (static-table indexes, raw literals without indexing, so it keeps no dynamic
// table the peer must mirror). Pure: bytes in, headers or bytes out; never touches a socket.
import { HuffmanError, huffmanDecode } from './huffman.js';

/** RFC 7541 Appendix A: index 1…61. */
const STATIC: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC.length;
/** Each dynamic-table entry costs its name and value bytes plus 32 (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** The table size this client advertises (SETTINGS_HEADER_TABLE_SIZE default). */
export const HPACK_TABLE_BYTES = 4096;
/** Decoded header list bound (names + values + 32 each) per block: beyond it, an error. */
export const MAX_HEADER_LIST_BYTES = 256 * 1024;

/** A header block that cannot be decoded: the connection fails with COMPRESSION_ERROR. */
export class HpackError extends RangeError {}

/**
 * Decodes header blocks in order (a connection's blocks share the dynamic table). Headers come
 * out as a flat [name, value, name, value, …] array.
 */
export class HpackDecoder {
  /** Newest first: names[0] is dynamic index 62. */
  private names: string[] = [];
  private values: string[] = [];
  private size = 0;
  private maxSize: number;

  constructor(private readonly limit = HPACK_TABLE_BYTES) {
    this.maxSize = limit;
  }

  decode(block: Uint8Array, start: number, end: number, out: string[]): void {
    let p = start;
    let listBytes = 0;
    let sawHeader = false;
    while (p < end) {
      const b = block[p] ?? 0;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const index = readInt(block, p, end, 7);
        p = at;
        if (index === 0) throw new HpackError('indexed header field with index 0');
        name = this.nameAt(index);
        value = this.valueAt(index);
      } else if ((b & 0xe0) === 0x20) {
        if (sawHeader) throw new HpackError('table size update after a header field');
        const size = readInt(block, p, end, 5);
        p = at;
        if (size > this.limit) throw new HpackError(`table size update ${size} above the limit`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        const indexing = (b & 0xc0) === 0x40;
        const index = readInt(block, p, end, indexing ? 6 : 4);
        p = at;
        if (index === 0) {
          name = readString(block, p, end);
          p = at;
        } else name = this.nameAt(index);
        value = readString(block, p, end);
        p = at;
        if (indexing) this.insert(name, value);
      }
      sawHeader = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > MAX_HEADER_LIST_BYTES) {
        throw new HpackError(`header list above ${MAX_HEADER_LIST_BYTES} bytes`);
      }
      out.push(name, value);
    }
  }

  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return (STATIC[index - 1] as readonly [string, string])[0];
    const name = this.names[index - STATIC_COUNT - 1];
    if (name === undefined) throw new HpackError(`header index ${index} out of range`);
    return name;
  }

  private valueAt(index: number): string {
    if (index <= STATIC_COUNT) return (STATIC[index - 1] as readonly [string, string])[1];
    const value = this.values[index - STATIC_COUNT - 1];
    if (value === undefined) throw new HpackError(`header index ${index} out of range`);
    return value;
  }

  private insert(name: string, value: string): void {
    const bytes = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(bytes);
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (bytes > this.maxSize) return;
    this.names.unshift(name);
    this.values.unshift(value);
    this.size += bytes;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.names.length > 0) {
      const name = this.names.pop() ?? '';
      const value = this.values.pop() ?? '';
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }

  /** Entries in the dynamic table (tests). */
  get entries(): number {
    return this.names.length;
  }
}

/** Where the last readInt/readString stopped (saves a tuple per field on the hot path). */
let at = 0;

/** An N-bit-prefix integer at `p`, bounded to 2^31 − 1; `at` is set past it. */
function readInt(buf: Uint8Array, p: number, end: number, prefix: number): number {
  const max = (1 << prefix) - 1;
  let value = (buf[p] ?? 0) & max;
  p++;
  if (value < max) {
    at = p;
    return value;
  }
  let shift = 0;
  for (;;) {
    if (p >= end) throw new HpackError('truncated integer');
    const b = buf[p++] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0x7fffffff) throw new HpackError('integer above 2^31 - 1');
    if ((b & 0x80) === 0) {
      at = p;
      return value;
    }
  }
}

/** A string literal at `p`; `at` is set past it. */
function readString(buf: Uint8Array, p: number, end: number): string {
  if (p >= end) throw new HpackError('truncated string');
  const huffman = ((buf[p] ?? 0) & 0x80) !== 0;
  const length = readInt(buf, p, end, 7);
  const q = at;
  const stop = q + length;
  if (stop > end) throw new HpackError('string longer than its header block');
  at = stop;
  if (!huffman) return latin1(buf, q, stop);
  try {
    return huffmanDecode(buf, q, stop);
  } catch (error) {
    if (error instanceof HuffmanError) throw new HpackError(error.message);
    throw error;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.toString('latin1', start, end);
}

/** Static index of a name (first match), for literal-with-name-index encoding. */
const STATIC_NAME = new Map<string, number>();
/** Static index of a full name + value match. */
const STATIC_PAIR = new Map<string, number>();
STATIC.forEach(([n, v], i) => {
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
  if (v !== '') STATIC_PAIR.set(`${n}\u0000${v}`, i + 1);
});

/**
 * Appends request header blocks to one growing buffer. Literals go raw (no Huffman, no
 * dynamic-table insertion): cheap to produce, and the peer's decoder keeps no state for them.
 */
export class HpackEncoder {
  buf: Buffer = Buffer.allocUnsafe(4096);
  len = 0;

  reset(): void {
    this.len = 0;
  }

  /** One header field; `name` is lowercase, `value` latin1 without CR, LF or NUL. */
  add(name: string, value: string): void {
    const pair = STATIC_PAIR.get(name.length + value.length < 40 ? `${name}\u0000${value}` : '');
    if (pair !== undefined) {
      this.room(1);
      this.buf[this.len++] = 0x80 | pair;
      return;
    }
    this.room(name.length + value.length + 12);
    const index = STATIC_NAME.get(name);
    if (index !== undefined) this.int(index, 4, 0x00);
    else {
      this.buf[this.len++] = 0x00;
      this.str(name);
    }
    this.str(value);
  }

  private int(value: number, prefix: number, flags: number): void {
    const max = (1 << prefix) - 1;
    if (value < max) {
      this.buf[this.len++] = flags | value;
      return;
    }
    this.buf[this.len++] = flags | max;
    let v = value - max;
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private str(s: string): void {
    this.int(s.length, 7, 0x00);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  private room(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + bytes));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
