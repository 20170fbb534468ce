// Owns the sealing of membership datagrams with the cluster gossip key: AES-256-GCM over the
// sender's member id and the SWIM bytes, a keyring (one primary key seals, every key opens) for
// rotation, and a size check before any decryption. Pure (no I/O, no clock): the caller passes the
// nonce, so the sim runtime uses it as the real one does. Node's crypto does the cipher.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { LIMITS } from '../../cluster/membership/config.js';

/** First byte of a sealed datagram: the format version. */
export const SEAL_VERSION = 1;
export const GOSSIP_KEY_BYTES = 32;
export const SEAL_NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Keys a keyring may hold: bounds the decryptions a datagram that opens with none can cost. */
export const MAX_GOSSIP_KEYS = 4;
/** Bytes sealing adds around the SWIM bytes for a sender id of `idBytes` bytes. */
export const sealOverhead = (idBytes: number): number =>
  1 + SEAL_NONCE_BYTES + 1 + idBytes + TAG_BYTES;
/** The largest sealed datagram a node accepts (what it sends fits LIMITS.maxDatagramBytes). */
export const MAX_SEALED_BYTES = LIMITS.maxDatagramBytes;
const MIN_SEALED_BYTES = sealOverhead(1);

/** A keyring or key is malformed (wrong length, empty, too many keys). */
export class GossipKeyError extends Error {
  readonly code = 'gossip_key';
  constructor(message: string) {
    super(message);
    this.name = 'GossipKeyError';
  }
}

/** Gossip keys: `keys[0]` seals; every key is tried, in order, to open. */
export class GossipKeyring {
  readonly keys: readonly Buffer[];

  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new GossipKeyError('a gossip keyring needs at least one key');
    if (keys.length > MAX_GOSSIP_KEYS)
      throw new GossipKeyError(
        `a gossip keyring holds at most ${MAX_GOSSIP_KEYS} keys, got ${keys.length}`,
      );
    keys.forEach((k, i) => {
      if (k.length !== GOSSIP_KEY_BYTES)
        throw new GossipKeyError(
          `gossip key ${i + 1} is ${k.length} bytes; expected ${GOSSIP_KEY_BYTES}`,
        );
    });
    this.keys = keys.map((k) => Buffer.from(k));
  }

  get primary(): Buffer {
    return this.keys[0]!;
  }
}

export type OpenResult =
  | { readonly ok: true; readonly senderId: string; readonly payload: Uint8Array }
  | {
      readonly ok: false;
      readonly reason: 'too-short' | 'too-large' | 'version' | 'auth' | 'sender';
      readonly error: string;
    };

/** Seals `payload` from `senderId` with the keyring's primary key and a 12-byte `nonce` never reused with that key. */
export function sealDatagram(
  keyring: GossipKeyring,
  senderId: string,
  payload: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  if (nonce.length !== SEAL_NONCE_BYTES)
    throw new GossipKeyError(`a seal nonce is ${SEAL_NONCE_BYTES} bytes, got ${nonce.length}`);
  const id = Buffer.from(senderId, 'utf8');
  if (id.length === 0 || id.length > LIMITS.maxIdBytes)
    throw new GossipKeyError(`a sender id is 1..${LIMITS.maxIdBytes} bytes, got ${id.length}`);
  const header = Buffer.from([SEAL_VERSION]);
  const cipher = createCipheriv('aes-256-gcm', keyring.primary, nonce, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(header);
  const body = Buffer.concat([
    cipher.update(Buffer.from([id.length])),
    cipher.update(id),
    cipher.update(payload),
    cipher.final(),
  ]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
}

/**
 * Opens a sealed datagram: size and version are checked before any decryption, then each key
 * of the ring is tried (at most MAX_GOSSIP_KEYS decryptions of at most MAX_SEALED_BYTES).
 */
export function openDatagram(keyring: GossipKeyring, data: Uint8Array): OpenResult {
  if (data.length > MAX_SEALED_BYTES)
    return {
      ok: false,
      reason: 'too-large',
      error: `sealed datagram of ${data.length} bytes exceeds ${MAX_SEALED_BYTES}`,
    };
  if (data.length < MIN_SEALED_BYTES)
    return {
      ok: false,
      reason: 'too-short',
      error: `sealed datagram of ${data.length} bytes is shorter than ${MIN_SEALED_BYTES}`,
    };
  if (data[0] !== SEAL_VERSION)
    return {
      ok: false,
      reason: 'version',
      error: `unknown seal version ${data[0]} (plaintext, or another format)`,
    };
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const header = buf.subarray(0, 1);
  const nonce = buf.subarray(1, 1 + SEAL_NONCE_BYTES);
  const body = buf.subarray(1 + SEAL_NONCE_BYTES, buf.length - TAG_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  for (const key of keyring.keys) {
    const plain = tryOpen(key, header, nonce, body, tag);
    if (plain === null) continue;
    const idLength = plain[0]!;
    if (idLength === 0 || 1 + idLength > plain.length)
      return { ok: false, reason: 'sender', error: 'sealed sender id is empty or truncated' };
    return {
      ok: true,
      senderId: plain.subarray(1, 1 + idLength).toString('utf8'),
      payload: plain.subarray(1 + idLength),
    };
  }
  return { ok: false, reason: 'auth', error: 'sealed datagram opens with no key of the keyring' };
}

function tryOpen(
  key: Buffer,
  header: Buffer,
  nonce: Buffer,
  body: Buffer,
  tag: Buffer,
): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(header);
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    return Buffer.concat([plain, decipher.final()]);
  } catch (err) {
    // final() throws exactly when the tag does not verify: that key is not the one.
    if (err instanceof Error) return null;
    throw err;
  }
}
