// Owns the datagram encoding of SWIM messages: compact MessagePack arrays through the protocol
// codec, and a strict decode that turns any bad bytes into an error value. Never sends, never
// decides anything about membership.

import { decodeValue, encodeValue } from '../../protocol/codec.js';
import { LIMITS } from '../../cluster/membership/config.js';
import { utf8Bytes } from '../../cluster/membership/dissemination.js';
import type { MemberUpdate, Sender, SwimMessage } from '../../cluster/membership/types.js';
import {
  VIVALDI_DIMENSIONS,
  isValidCoordinate,
  type Coordinate,
} from '../../cluster/coordinates/vivaldi.js';

/** Message type codes on the wire (first array element). */
const TYPE_CODE = { ping: 1, 'ping-req': 2, ack: 3, nack: 4 } as const;
const UPDATE_CODE = { alive: 1, suspect: 2, dead: 3 } as const;
const UPDATE_KIND = [undefined, 'alive', 'suspect', 'dead'] as const;
const MAX_SEQ = 0xffff_ffff;
const MAX_PORT = 65_535;

export type WireDecode =
  | { readonly ok: true; readonly message: SwimMessage }
  | { readonly ok: false; readonly error: string };

const senderTuple = (s: Sender): unknown[] => [s.id, s.host, s.port, s.incarnation];
const updateTuple = (u: MemberUpdate): unknown[] => [
  UPDATE_CODE[u.kind],
  u.id,
  u.host,
  u.port,
  u.incarnation,
  u.from,
];
const coordinateTuple = (c: Coordinate): number[] => [
  ...c.vec,
  c.heightMs,
  c.error,
  c.adjustmentMs,
];

export function encodeSwimMessage(m: SwimMessage): Uint8Array {
  const updates = m.updates.map(updateTuple);
  switch (m.type) {
    case 'ping':
      return encodeValue([TYPE_CODE.ping, m.seq, senderTuple(m.sender), m.targetId, updates]);
    case 'ping-req':
      return encodeValue([
        TYPE_CODE['ping-req'],
        m.seq,
        senderTuple(m.sender),
        [m.target.id, m.target.host, m.target.port],
        updates,
      ]);
    case 'ack':
      return encodeValue([
        TYPE_CODE.ack,
        m.seq,
        senderTuple(m.sender),
        m.coordinate ? coordinateTuple(m.coordinate) : null,
        updates,
      ]);
    case 'nack':
      return encodeValue([TYPE_CODE.nack, m.seq, senderTuple(m.sender), updates]);
  }
}

class Bad extends Error {}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || utf8Bytes(v) > LIMITS.maxIdBytes)
    throw new Bad(`${what}: expected a string of 1..${LIMITS.maxIdBytes} bytes`);
  return v;
}
function int(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    throw new Bad(`${what}: expected an integer in [0, ${max}]`);
  return v;
}
function arr(v: unknown, what: string, min: number, max: number): unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > max)
    throw new Bad(`${what}: expected an array of ${min}..${max}`);
  return v as unknown[];
}

function sender(v: unknown): Sender {
  const a = arr(v, 'sender', 4, 4);
  return {
    id: str(a[0], 'sender.id'),
    host: str(a[1], 'sender.host'),
    port: int(a[2], 'sender.port', MAX_PORT),
    incarnation: int(a[3], 'sender.incarnation', Number.MAX_SAFE_INTEGER),
  };
}

function updates(v: unknown): MemberUpdate[] {
  return arr(v, 'updates', 0, LIMITS.maxUpdatesPerMessage).map((x, i) => {
    const a = arr(x, `updates[${i}]`, 6, 6);
    const kind = UPDATE_KIND[int(a[0], `updates[${i}].kind`, 3)];
    if (kind === undefined) throw new Bad(`updates[${i}].kind: unknown`);
    return {
      kind,
      id: str(a[1], `updates[${i}].id`),
      host: str(a[2], `updates[${i}].host`),
      port: int(a[3], `updates[${i}].port`, MAX_PORT),
      incarnation: int(a[4], `updates[${i}].incarnation`, Number.MAX_SAFE_INTEGER),
      from: str(a[5], `updates[${i}].from`),
    };
  });
}

function coordinate(v: unknown): Coordinate | null {
  if (v === null) return null;
  const a = arr(v, 'coordinate', VIVALDI_DIMENSIONS + 3, VIVALDI_DIMENSIONS + 3);
  if (!a.every((x): x is number => typeof x === 'number'))
    throw new Bad('coordinate: expected numbers');
  const n = a;
  const c: Coordinate = {
    vec: n.slice(0, VIVALDI_DIMENSIONS),
    heightMs: n[VIVALDI_DIMENSIONS]!,
    error: n[VIVALDI_DIMENSIONS + 1]!,
    adjustmentMs: n[VIVALDI_DIMENSIONS + 2]!,
  };
  if (!isValidCoordinate(c)) throw new Bad('coordinate: out of range');
  return c;
}

/** Decodes one datagram; anything malformed, oversized or of an unknown type is an error value. */
export function decodeSwimMessage(bytes: Uint8Array): WireDecode {
  if (bytes.length > LIMITS.maxDatagramBytes)
    return {
      ok: false,
      error: `datagram of ${bytes.length} bytes exceeds ${LIMITS.maxDatagramBytes}`,
    };
  const decoded = decodeValue(bytes);
  if (!decoded.ok) return { ok: false, error: `not MessagePack: ${decoded.error}` };
  try {
    const a = arr(decoded.value, 'message', 4, 5);
    const seq = int(a[1], 'seq', MAX_SEQ);
    const from = sender(a[2]);
    switch (a[0]) {
      case TYPE_CODE.ping: {
        arr(a, 'ping', 5, 5);
        const targetId = a[3] === null ? null : str(a[3], 'targetId');
        return {
          ok: true,
          message: { type: 'ping', seq, sender: from, targetId, updates: updates(a[4]) },
        };
      }
      case TYPE_CODE['ping-req']: {
        arr(a, 'ping-req', 5, 5);
        const t = arr(a[3], 'target', 3, 3);
        const target = {
          id: str(t[0], 'target.id'),
          host: str(t[1], 'target.host'),
          port: int(t[2], 'target.port', MAX_PORT),
        };
        return {
          ok: true,
          message: { type: 'ping-req', seq, sender: from, target, updates: updates(a[4]) },
        };
      }
      case TYPE_CODE.ack:
        arr(a, 'ack', 5, 5);
        return {
          ok: true,
          message: {
            type: 'ack',
            seq,
            sender: from,
            coordinate: coordinate(a[3]),
            updates: updates(a[4]),
          },
        };
      case TYPE_CODE.nack:
        arr(a, 'nack', 4, 4);
        return { ok: true, message: { type: 'nack', seq, sender: from, updates: updates(a[3]) } };
      default:
        return { ok: false, error: `unknown message type ${String(a[0])}` };
    }
  } catch (err) {
    if (err instanceof Bad) return { ok: false, error: err.message };
    throw err;
  }
}

/**
 * Encodes `m`, dropping piggybacked updates from the end until the datagram fits `limit`
 * (default LIMITS.maxDatagramBytes; less when the bytes will be sealed; only long ids can need
 * it). Returns the bytes and how many were dropped.
 */
export function encodeWithinLimit(
  m: SwimMessage,
  limit: number = LIMITS.maxDatagramBytes,
): { bytes: Uint8Array; trimmed: number } {
  let bytes = encodeSwimMessage(m);
  let kept = m.updates.length;
  while (bytes.length > limit && kept > 0) {
    kept = Math.max(0, kept - Math.max(1, Math.ceil((bytes.length - limit) / 40)));
    bytes = encodeSwimMessage({ ...m, updates: m.updates.slice(0, kept) });
  }
  return { bytes, trimmed: m.updates.length - kept };
}
