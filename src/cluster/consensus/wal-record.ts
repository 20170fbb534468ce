// Owns the byte layout of the Raft durable log and its side files: log records
// `[crc32c u32][len u32][term u64][index u64][payload]` (payload = kind byte + data), the hard
// state and the snapshot file, each checksummed. Pure bytes in / values out; never does I/O and
// never throws on bad input (a torn or corrupt record ends the valid prefix).

import { crc32c } from '../../protocol/framing.js';
import type { Entry, EntryKind, HardState, Snapshot } from './types.js';
import { RaftRecordCorruptError } from './errors.js';

/** crc32c(4) + len(4) + term(8) + index(8). */
export const RECORD_HEADER_BYTES = 24;
/** Largest payload a record may declare (a bigger `len` is corruption, not a huge entry). */
export const MAX_RECORD_PAYLOAD_BYTES = 64 * 1024 * 1024;

const KIND_CODES: Record<EntryKind, number> = { normal: 1, noop: 2, config: 3 };
const KIND_BY_CODE = new Map<number, EntryKind>(
  Object.entries(KIND_CODES).map(([k, v]) => [v, k as EntryKind]),
);

export function encodeRecord(e: Entry): Uint8Array {
  const payloadBytes = 1 + e.data.byteLength;
  const out = new Uint8Array(RECORD_HEADER_BYTES + payloadBytes);
  const view = new DataView(out.buffer);
  view.setUint32(4, payloadBytes);
  view.setBigUint64(8, BigInt(e.term));
  view.setBigUint64(16, BigInt(e.index));
  out[RECORD_HEADER_BYTES] = KIND_CODES[e.kind];
  out.set(e.data, RECORD_HEADER_BYTES + 1);
  view.setUint32(0, crc32c(out.subarray(4)));
  return out;
}

export interface DecodedLog {
  /** Records in file order (a later record at index i supersedes earlier ones at ≥ i). */
  readonly records: Entry[];
  /** Bytes covered by whole, valid records. */
  readonly validBytes: number;
  /** Bytes after the valid prefix (a torn tail or corruption), to be truncated away. */
  readonly invalidBytes: number;
  /** Why reading stopped early, if it did. */
  readonly stopReason:
    'short-header' | 'short-record' | 'checksum' | 'bad-length' | 'bad-kind' | null;
}

/** Reads records until the end or the first short/corrupt one. */
export function decodeRecords(bytes: Uint8Array): DecodedLog {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Entry[] = [];
  let off = 0;
  let stopReason: DecodedLog['stopReason'] = null;
  while (off < bytes.byteLength) {
    if (bytes.byteLength - off < RECORD_HEADER_BYTES) {
      stopReason = 'short-header';
      break;
    }
    const crc = view.getUint32(off);
    const len = view.getUint32(off + 4);
    if (len < 1 || len > MAX_RECORD_PAYLOAD_BYTES) {
      stopReason = 'bad-length';
      break;
    }
    const end = off + RECORD_HEADER_BYTES + len;
    if (end > bytes.byteLength) {
      stopReason = 'short-record';
      break;
    }
    if (crc32c(bytes.subarray(off + 4, end)) !== crc) {
      stopReason = 'checksum';
      break;
    }
    const kind = KIND_BY_CODE.get(bytes[off + RECORD_HEADER_BYTES] ?? 0);
    if (kind === undefined) {
      stopReason = 'bad-kind';
      break;
    }
    records.push({
      term: Number(view.getBigUint64(off + 8)),
      index: Number(view.getBigUint64(off + 16)),
      kind,
      data: bytes.slice(off + RECORD_HEADER_BYTES + 1, end),
    });
    off = end;
  }
  return { records, validBytes: off, invalidBytes: bytes.byteLength - off, stopReason };
}

/**
 * Folds records into the log they describe: a record at index i drops everything at ≥ i
 * first (how a follower's truncation is written without rewriting the file). Stops at a gap.
 */
export function replayRecords(records: readonly Entry[]): {
  entries: Entry[];
  gapAt: number | null;
} {
  const entries: Entry[] = [];
  for (const r of records) {
    const first = entries[0];
    if (first === undefined) {
      entries.push(r);
      continue;
    }
    const last = first.index + entries.length - 1;
    if (r.index > last + 1) return { entries, gapAt: r.index };
    if (r.index <= last) {
      if (r.index < first.index) {
        entries.length = 0;
      } else {
        entries.length = r.index - first.index;
      }
    }
    entries.push(r);
  }
  return { entries, gapAt: null };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Raft state kept in one atomically replaced file: hard state + the current log segment. */
export interface MetaState {
  readonly hardState: HardState;
  /** Sequence number of the log segment file in use. */
  readonly segment: number;
}

function sealed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, crc32c(body));
  view.setUint32(4, body.byteLength);
  out.set(body, 8);
  return out;
}

function unsealed(bytes: Uint8Array): Uint8Array | null {
  if (bytes.byteLength < 8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(4);
  if (len !== bytes.byteLength - 8) return null;
  const body = bytes.subarray(8);
  return crc32c(body) === view.getUint32(0) ? body : null;
}

export function encodeMeta(meta: MetaState): Uint8Array {
  return sealed(encoder.encode(JSON.stringify(meta)));
}

export function decodeMeta(bytes: Uint8Array): MetaState | null {
  const body = unsealed(bytes);
  if (body === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new RaftRecordCorruptError('meta record', error);
  }
  const m = v as { hardState?: Partial<HardState>; segment?: unknown };
  const hs = m.hardState;
  if (
    !hs ||
    !Number.isSafeInteger(hs.term) ||
    !Number.isSafeInteger(hs.commit) ||
    !(hs.vote === null || typeof hs.vote === 'string') ||
    !Number.isSafeInteger(m.segment)
  ) {
    return null;
  }
  return {
    hardState: { term: hs.term as number, vote: hs.vote, commit: hs.commit as number },
    segment: m.segment as number,
  };
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const meta = encoder.encode(JSON.stringify(s.meta));
  const body = new Uint8Array(4 + meta.byteLength + s.data.byteLength);
  new DataView(body.buffer).setUint32(0, meta.byteLength);
  body.set(meta, 4);
  body.set(s.data, 4 + meta.byteLength);
  return sealed(body);
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot | null {
  const body = unsealed(bytes);
  if (body === null || body.byteLength < 4) return null;
  const metaLen = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (4 + metaLen > body.byteLength) return null;
  let meta: unknown;
  try {
    meta = JSON.parse(decoder.decode(body.subarray(4, 4 + metaLen)));
  } catch (error) {
    throw new RaftRecordCorruptError('snapshot meta', error);
  }
  const m = meta as Partial<Snapshot['meta']>;
  if (
    !Number.isSafeInteger(m.index) ||
    !Number.isSafeInteger(m.term) ||
    !Array.isArray(m.config?.voters)
  ) {
    return null;
  }
  return {
    meta: m as Snapshot['meta'],
    data: body.slice(4 + metaLen),
  };
}
