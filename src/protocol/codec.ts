// Owns the byte encoding of message objects: MessagePack through msgpackr with one fixed,
// history-free configuration (no records or shared structures, so every frame decodes alone).
// Never validates meaning (messages.ts does) and never throws on input: decode errors are values.

import { Packr } from 'msgpackr';

/**
 * The only Packr configuration on the wire. `useRecords: false` + `mapsAsObjects: true` keep
 * plain MessagePack maps (no per-connection structure state); `int64AsType: 'number'` keeps
 * ids/terms plain numbers; `variableMapSize` gives compact fixmaps for small objects.
 */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'number',
  variableMapSize: true,
  largeBigIntToFloat: false,
});

export type CodecResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** MessagePack bytes of `value` (a fresh buffer the caller may keep). Throws only on values
 * that MessagePack cannot express (a local bug, e.g. a function or a huge BigInt). */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes exactly one MessagePack value that fills `bytes`; anything else is an error value. */
export function decodeValue(bytes: Uint8Array): CodecResult<unknown> {
  if (bytes.length === 0) return { ok: false, error: 'empty body' };
  try {
    return { ok: true, value: packr.unpack(bytes) as unknown };
  } catch (err) {
    // msgpackr throws Error/RangeError (incl. stack exhaustion on absurd nesting) for bad bytes.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
