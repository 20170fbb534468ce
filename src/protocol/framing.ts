// Owns the stream frame format: 4-byte big-endian body length, 4-byte big-endian CRC32C of the
// body, then the body; an incremental decoder that survives any chunking and skips oversized or
// corrupt frames. Pure bytes in, frames or frame errors out — never does I/O, never throws on input.
//
// Hand-written because it is the hot path of every connection and tiny: a table-driven CRC32C
// (Castagnoli, as iSCSI/ext4/etcd's WAL use) and a decoder that allocates at most one body
// buffer (≤ the frame limit) at a time and hands out zero-copy views when a frame arrives whole.

import type { FrameError } from '../runtime/types.js';
import { InternalError } from '../errors.js';
import type { ByteReserver } from './budget.js';

/** Default largest frame body a node accepts (REFERENCE §2.2: TCP frame ≤ 1 MiB). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Length (4) + checksum (4). */
export const FRAME_HEADER_BYTES = 8;
/** The length field is a uint32; no limit can exceed what it can express. */
export const MAX_DECLARABLE_FRAME_BYTES = 0xffff_ffff;

// ─── CRC32C ─────────────────────────────────────────────────────────────────────────────────

const CRC32C_POLY_REVERSED = 0x82f63b78;
const CRC_SLICES = 8;
/** Slicing-by-8 tables in one array: entry k*256+n advances byte n through k more zero bytes. */
const CRC_TABLE: Uint32Array = buildCrcTable();

function buildCrcTable(): Uint32Array {
  const t = new Uint32Array(256 * CRC_SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? CRC32C_POLY_REVERSED ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < CRC_SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (t[prev & 0xff]! ^ (prev >>> 8)) >>> 0;
    }
  }
  return t;
}

/** Continues a CRC32C over `bytes` (pass the previous result as `crc` to checksum in pieces). */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const lo =
      c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^
      t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32C (Castagnoli) of `bytes`. crc32c("123456789") = 0xe3069283. */
export function crc32c(bytes: Uint8Array): number {
  return crc32cUpdate(0, bytes);
}

// ─── Encoding ───────────────────────────────────────────────────────────────────────────────

/** Writes the 8-byte header for `body` into `target` at `offset`. */
export function writeFrameHeader(target: Uint8Array, offset: number, body: Uint8Array): void {
  const view = new DataView(target.buffer, target.byteOffset + offset, FRAME_HEADER_BYTES);
  view.setUint32(0, body.length, false);
  view.setUint32(4, crc32c(body), false);
}

/** The frame header for `body` (8 bytes), for writers that send header and body separately. */
export function encodeFrameHeader(body: Uint8Array): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, body);
  return header;
}

/**
 * One frame: header + a copy of `body`. Does not enforce a limit (a sender checks its own
 * size before sending; see `frameFits`) — tests use this to build oversized frames on purpose.
 */
export function encodeFrame(body: Uint8Array): Uint8Array {
  if (body.length > MAX_DECLARABLE_FRAME_BYTES) {
    throw new InternalError(`frame body of ${body.length} bytes exceeds the uint32 length field`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(out, 0, body);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** Whether a body of `sizeBytes` may be sent to a peer whose limit is `limitBytes`. */
export function frameFits(sizeBytes: number, limitBytes: number = MAX_FRAME_BYTES): boolean {
  return sizeBytes <= limitBytes;
}

// ─── Decoding ───────────────────────────────────────────────────────────────────────────────

export type FrameEvent =
  | { readonly kind: 'frame'; readonly body: Uint8Array }
  | { readonly kind: 'error'; readonly error: FrameError };

export interface FrameDecoderStats {
  frames: number;
  oversized: number;
  checksum: number;
  truncated: number;
  /** Bytes discarded while skipping oversized bodies. */
  skippedBytes: number;
}

/**
 * Incremental frame decoder. Feed chunks split at any byte boundary with `push`; call `finish`
 * when the stream ends to learn whether a frame was cut short. Memory is bounded by the header
 * (8 bytes) plus one body of at most `maxFrameBytes`: an oversized body is never buffered, its
 * bytes are counted off as they arrive and one `oversized` error is reported when its header is
 * read. A checksum mismatch drops that one frame and decoding continues with the next header.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly stats: FrameDecoderStats = {
    frames: 0,
    oversized: 0,
    checksum: 0,
    truncated: 0,
    skippedBytes: 0,
  };

  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Body being assembled across chunks (null while reading a header or skipping). */
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private expectedCrc = 0;
  /** Bytes of an oversized body still to discard. */
  private skipRemaining = 0;
  /** Set once a partial body could not be reserved: all later input is ignored. */
  private stopped = false;

  /**
   * `budget`, when given, is charged for every body assembled across chunks (a partial frame)
   * until it completes; when it refuses, one `over_budget` error is reported and the decoder
   * stops (the caller closes the link — a peer trickling large frames is not buffered).
   */
  constructor(
    maxFrameBytes: number = MAX_FRAME_BYTES,
    private readonly budget?: ByteReserver,
  ) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0) {
      throw new InternalError(`maxFrameBytes must be a non-negative integer, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = Math.min(maxFrameBytes, MAX_DECLARABLE_FRAME_BYTES);
  }

  /** True once the budget refused a partial frame (nothing more is decoded). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Bytes held for an incomplete frame (header or body), excluding skipped bytes. */
  get bufferedBytes(): number {
    return this.headerFill + this.bodyFill;
  }

  /** True between frames: nothing partial is pending. */
  get idle(): boolean {
    return this.headerFill === 0 && this.body === null && this.skipRemaining === 0;
  }

  /**
   * Feeds one chunk; calls `emit` for every complete frame or frame error, in stream order.
   * Bodies of frames that arrive whole inside `chunk` are views into it (zero copy): copy them
   * if they must outlive the chunk's buffer being reused.
   */
  push(chunk: Uint8Array, emit: (event: FrameEvent) => void): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len && !this.stopped) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, len - pos);
        this.skipRemaining -= n;
        this.stats.skippedBytes += n;
        pos += n;
        continue;
      }
      if (this.body !== null) {
        const n = Math.min(this.body.length - this.bodyFill, len - pos);
        this.body.set(chunk.subarray(pos, pos + n), this.bodyFill);
        this.bodyFill += n;
        pos += n;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = null;
          this.bodyFill = 0;
          this.budget?.release(body.length);
          this.deliver(body, emit);
        }
        continue;
      }
      // Reading a header. Fast path: a whole header (and maybe a whole body) inside the chunk.
      if (this.headerFill === 0 && len - pos >= FRAME_HEADER_BYTES) {
        const size = readUint32(chunk, pos);
        const crc = readUint32(chunk, pos + 4);
        pos += FRAME_HEADER_BYTES;
        if (size > this.maxFrameBytes) {
          this.startSkip(size, emit);
          continue;
        }
        if (len - pos >= size) {
          this.expectedCrc = crc;
          const body = chunk.subarray(pos, pos + size);
          pos += size;
          this.deliver(body, emit);
        } else {
          this.expectedCrc = crc;
          this.startBody(size, emit);
        }
        continue;
      }
      const n = Math.min(FRAME_HEADER_BYTES - this.headerFill, len - pos);
      this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
      this.headerFill += n;
      pos += n;
      if (this.headerFill < FRAME_HEADER_BYTES) continue;
      this.headerFill = 0;
      const size = readUint32(this.header, 0);
      this.expectedCrc = readUint32(this.header, 4);
      if (size > this.maxFrameBytes) {
        this.startSkip(size, emit);
      } else if (size === 0) {
        this.deliver(new Uint8Array(0), emit);
      } else {
        this.startBody(size, emit);
      }
    }
  }

  private startBody(size: number, emit: (event: FrameEvent) => void): void {
    if (this.budget !== undefined && !this.budget.tryReserve(size)) {
      this.stopped = true;
      emit({
        kind: 'error',
        error: {
          kind: 'over_budget',
          sizeBytes: size,
          message: `no room in the node's memory budget for a partial frame of ${size} bytes`,
        },
      });
      return;
    }
    this.body = new Uint8Array(size);
    this.bodyFill = 0;
  }

  /** Convenience for tests and simple callers: push and collect the events. */
  pushAll(chunk: Uint8Array): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.push(chunk, (e) => out.push(e));
    return out;
  }

  /**
   * The stream ended. Returns a `truncated` error if a frame was cut short (partial header,
   * partial body, or an oversized body not fully skipped), else null; resets the decoder.
   */
  finish(): FrameError | null {
    let error: FrameError | null = null;
    if (this.headerFill > 0) {
      error = {
        kind: 'truncated',
        message: `stream ended inside a frame header (${this.headerFill} of ${FRAME_HEADER_BYTES} bytes)`,
      };
    } else if (this.body !== null) {
      error = {
        kind: 'truncated',
        sizeBytes: this.body.length,
        limitBytes: this.maxFrameBytes,
        message: `stream ended inside a frame body (${this.bodyFill} of ${this.body.length} bytes)`,
      };
    } else if (this.skipRemaining > 0) {
      error = {
        kind: 'truncated',
        message: `stream ended while skipping an oversized frame (${this.skipRemaining} bytes missing)`,
      };
    }
    if (error !== null) this.stats.truncated++;
    if (this.body !== null) this.budget?.release(this.body.length);
    this.headerFill = 0;
    this.body = null;
    this.bodyFill = 0;
    this.skipRemaining = 0;
    return error;
  }

  private startSkip(size: number, emit: (event: FrameEvent) => void): void {
    this.skipRemaining = size;
    this.stats.oversized++;
    emit({
      kind: 'error',
      error: {
        kind: 'oversized',
        sizeBytes: size,
        limitBytes: this.maxFrameBytes,
        message: `frame of ${size} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
      },
    });
  }

  private deliver(body: Uint8Array, emit: (event: FrameEvent) => void): void {
    const actual = crc32c(body);
    if (actual !== this.expectedCrc) {
      this.stats.checksum++;
      emit({
        kind: 'error',
        error: {
          kind: 'checksum',
          sizeBytes: body.length,
          message: `frame checksum mismatch (declared ${hex32(this.expectedCrc)}, computed ${hex32(actual)})`,
        },
      });
      return;
    }
    this.stats.frames++;
    emit({ kind: 'frame', body });
  }
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

function hex32(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
