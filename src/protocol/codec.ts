// Owns the byte encoding of message objects: MessagePack (@msgpack/msgpack, pure JavaScript, no
// native add-on) with one fixed, history-free configuration, so every frame decodes alone.
// Never validates meaning (messages.ts does) and never throws on input: decode errors are values.
//
// Before decoding, a hand-written single pass over the bytes (`checkDecodeLimits`, no allocation)
// enforces nesting depth, values per frame and keys per map: @msgpack/msgpack bounds lengths but
// not depth or total work, and one 1 MiB frame of nested arrays or huge maps would otherwise stall
// the event loop for longer than an election timeout. The pass is linear in the frame's bytes.

import { Decoder, Encoder } from '@msgpack/msgpack';

/** Bounds on what one decoded value may declare, so a hostile header cannot make us allocate. */
const MAX_STRING_BYTES = 1 << 20;
const MAX_BINARY_BYTES = 1 << 20;
const MAX_ARRAY_ITEMS = 1 << 16;
/** Deepest nesting of arrays/maps a frame may hold (Salvo's messages need fewer than 10). */
export const MAX_DECODE_DEPTH = 32;
/**
 * Values (every scalar, array, map, map key) one frame may hold; bounds decode CPU per frame. A
 * full Raft append (4096 entries of 4 fields) holds about 37,000.
 */
export const MAX_DECODE_VALUES = 1 << 16;
/** Keys one map may hold (a message has tens of fields; records are capped lower by schemas). */
export const MAX_DECODE_MAP_KEYS = 256;
/**
 * Distinct map key names one frame may use. Every new key name costs V8 a hidden-class
 * transition: 64,000 distinct keys took ~300 ms to decode and 1,000 in one map ~5 ms, while
 * Salvo's messages use a few dozen names however many maps they hold.
 */
export const MAX_DECODE_DISTINCT_KEYS = 256;
/** Keys longer than this are not compared when counting distinct names (each counts as new). */
const MAX_COMPARED_KEY_BYTES = 64;
const MAX_DEPTH = 64;

/**
 * The only encoder on the wire: plain maps and arrays, `undefined` fields left out (as in
 * JSON), 64-bit integers as plain numbers (ids and terms stay below 2^53).
 */
const encoder = new Encoder({ ignoreUndefined: true, useBigInt64: false, maxDepth: MAX_DEPTH });
const decoder = new Decoder({
  useBigInt64: false,
  maxStrLength: MAX_STRING_BYTES,
  maxBinLength: MAX_BINARY_BYTES,
  maxArrayLength: MAX_ARRAY_ITEMS,
  maxMapLength: MAX_DECODE_MAP_KEYS,
  maxExtLength: 0,
});

export type CodecResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** MessagePack bytes of `value` (a fresh buffer the caller may keep). Throws only on values
 * that MessagePack cannot express (a local bug, e.g. a function or absurd nesting). */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value).slice();
}

/** Decodes exactly one MessagePack value that fills `bytes`; anything else is an error value. */
export function decodeValue(bytes: Uint8Array): CodecResult<unknown> {
  if (bytes.length === 0) return { ok: false, error: 'empty body' };
  const over = checkDecodeLimits(bytes);
  if (over !== null) return { ok: false, error: over };
  try {
    // Throws for truncated input, trailing bytes, bounds exceeded and unknown extensions.
    return { ok: true, value: decoder.decode(bytes) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * One pass over MessagePack `bytes` without decoding: returns why the value breaks a decode limit
 * (depth, values, keys per map), or null when it stays inside them (truncation and other format
 * errors are left to the decoder, which reports them).
 */
export function checkDecodeLimits(
  bytes: Uint8Array,
  limits: { depth: number; values: number; mapKeys: number; distinctKeys: number } = {
    depth: MAX_DECODE_DEPTH,
    values: MAX_DECODE_VALUES,
    mapKeys: MAX_DECODE_MAP_KEYS,
    distinctKeys: MAX_DECODE_DISTINCT_KEYS,
  },
): string | null {
  // remaining[d]: values still expected at nesting level d (level 0 holds the one top value);
  // isMap[d]: level d is a map (its values alternate key, value).
  const remaining: number[] = [1];
  const isMapLevel: boolean[] = [false];
  // Distinct key names, without allocating a string per key: a hash of the key's bytes maps to
  // where that name first appeared, and a hit is confirmed byte by byte; names whose hash another
  // name took are kept as strings (rare: only they allocate).
  const keyNames = { byHash: new Map<number, number>(), collided: new Set<string>() };
  let uncomparedKeys = 0;
  let pos = 0;
  let values = 0;
  const n = bytes.length;
  const u8 = (at: number): number => bytes[at] ?? 0;
  const u16 = (at: number): number => (u8(at) << 8) | u8(at + 1);
  const u32 = (at: number): number =>
    ((u8(at) << 24) | (u8(at + 1) << 16) | (u8(at + 2) << 8) | u8(at + 3)) >>> 0;
  while (remaining.length > 0 && pos < n) {
    const top = remaining.length - 1;
    if (remaining[top] === 0) {
      remaining.pop();
      isMapLevel.pop();
      continue;
    }
    const isKey = isMapLevel[top] === true && remaining[top]! % 2 === 0;
    remaining[top]!--;
    if (++values > limits.values) return `more than ${limits.values} values in one frame`;
    const b = u8(pos);
    if (isKey) {
      if (!noteKeyName(bytes, pos, keyNames)) uncomparedKeys++;
      if (keyNames.byHash.size + keyNames.collided.size + uncomparedKeys > limits.distinctKeys) {
        return `more than ${limits.distinctKeys} distinct map keys in one frame`;
      }
    }
    let items = -1; // > -1: a container with this many values follows
    let isMap = false;
    let skip = 0; // bytes after the type byte to step over
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 0;
    else if (b <= 0x8f) {
      items = b & 0x0f;
      isMap = true;
    } else if (b <= 0x9f) items = b & 0x0f;
    else if (b <= 0xbf) skip = b & 0x1f;
    else if (b === 0xc4 || b === 0xd9) skip = 1 + u8(pos + 1);
    else if (b === 0xc5 || b === 0xda) skip = 2 + u16(pos + 1);
    else if (b === 0xc6 || b === 0xdb) skip = 4 + u32(pos + 1);
    else if (b === 0xc7) skip = 2 + u8(pos + 1);
    else if (b === 0xc8) skip = 3 + u16(pos + 1);
    else if (b === 0xc9) skip = 5 + u32(pos + 1);
    else if (b === 0xca || b === 0xce || b === 0xd2) skip = 4;
    else if (b === 0xcb || b === 0xcf || b === 0xd3) skip = 8;
    else if (b === 0xcc || b === 0xd0) skip = 1;
    else if (b === 0xcd || b === 0xd1) skip = 2;
    else if (b >= 0xd4 && b <= 0xd8) skip = 1 + (1 << (b - 0xd4));
    else if (b === 0xdc) {
      items = u16(pos + 1);
      skip = 2;
    } else if (b === 0xdd) {
      items = u32(pos + 1);
      skip = 4;
    } else if (b === 0xde) {
      items = u16(pos + 1);
      isMap = true;
      skip = 2;
    } else if (b === 0xdf) {
      items = u32(pos + 1);
      isMap = true;
      skip = 4;
    } else return null; // 0xc1 (never used): the decoder reports it
    pos += 1 + skip;
    if (items < 0 || items === 0) continue;
    if (isMap && items > limits.mapKeys) return `a map of ${items} keys (limit ${limits.mapKeys})`;
    if (remaining.length > limits.depth) return `nesting deeper than ${limits.depth} levels`;
    remaining.push(isMap ? items * 2 : items);
    isMapLevel.push(isMap);
  }
  return null;
}

/**
 * Records the name of the short string key at `pos` in `seen` and returns true, or returns false
 * when it is not a short string (it then counts as a new name each time, erring on the side of
 * the limit).
 */
function noteKeyName(
  bytes: Uint8Array,
  pos: number,
  seen: { byHash: Map<number, number>; collided: Set<string> },
): boolean {
  const b = bytes[pos] ?? 0;
  let start: number;
  let len: number;
  if (b >= 0xa0 && b <= 0xbf) {
    start = pos + 1;
    len = b & 0x1f;
  } else if (b === 0xd9) {
    start = pos + 2;
    len = bytes[pos + 1] ?? 0;
  } else return false;
  if (len > MAX_COMPARED_KEY_BYTES || start + len > bytes.length) return false;
  let h = 0x811c9dc5 ^ len; // FNV-1a over the key's bytes
  for (let i = start; i < start + len; i++) h = Math.imul(h ^ (bytes[i] ?? 0), 0x01000193);
  const first = seen.byHash.get(h); // start * 128 + length of the name first seen with this hash
  if (first === undefined) {
    seen.byHash.set(h, start * 128 + len);
    return true;
  }
  const at = (first - (first % 128)) / 128;
  let same = first % 128 === len;
  for (let i = 0; same && i < len; i++) same = bytes[at + i] === bytes[start + i];
  if (!same) seen.collided.add(String.fromCharCode(...bytes.subarray(start, start + len)));
  return true;
}
