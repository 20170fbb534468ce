// Owns the byte encoding of message objects: MessagePack (@msgpack/msgpack, pure JavaScript, no
// native add-on) with one fixed, history-free configuration, so every frame decodes alone.
// Never validates meaning (messages.ts does) and never throws on input: decode errors are values.

import { Decoder, Encoder } from '@msgpack/msgpack';

/** Bounds on what one decoded value may declare, so a hostile header cannot make us allocate. */
const MAX_STRING_BYTES = 1 << 20;
const MAX_BINARY_BYTES = 1 << 20;
const MAX_ARRAY_ITEMS = 1 << 16;
const MAX_MAP_ENTRIES = 1 << 16;
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
  maxMapLength: MAX_MAP_ENTRIES,
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
  try {
    // Throws for truncated input, trailing bytes, bounds exceeded and unknown extensions.
    return { ok: true, value: decoder.decode(bytes) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
