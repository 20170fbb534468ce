// Sealing of membership datagrams: what seals opens with the same keyring and yields the sender
// and the bytes; a tampered, truncated, oversized, plain or foreign-key datagram does not open;
// a rotated keyring opens datagrams sealed by either key and seals with the new one.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  GossipKeyError,
  GossipKeyring,
  MAX_SEALED_BYTES,
  openDatagram,
  sealDatagram,
  sealOverhead,
} from '../../src/nodes/membership/seal.js';
import { encodeSwimMessage } from '../../src/nodes/membership/wire.js';

const key = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);
const nonce = (): Uint8Array => randomBytes(12);
const payload = encodeSwimMessage({
  type: 'ping',
  seq: 7,
  sender: { id: 'n1', host: '127.0.0.1', port: 7000, incarnation: 0 },
  targetId: 'n2',
  updates: [{ kind: 'alive', id: 'n3', host: '127.0.0.1', port: 7003, incarnation: 2, from: 'n3' }],
});

function reason(r: ReturnType<typeof openDatagram>): string {
  return r.ok ? 'opened' : r.reason;
}

test('a sealed datagram opens with the same keyring: sender and bytes intact, plaintext hidden', () => {
  const ring = new GossipKeyring([key(1)]);
  const sealed = sealDatagram(ring, 'n1', payload, nonce());
  assert.equal(sealed.length, payload.length + sealOverhead(2));
  assert.equal(Buffer.from(sealed).includes(Buffer.from('127.0.0.1')), false, 'encrypted');
  const opened = openDatagram(ring, sealed);
  assert.ok(opened.ok);
  assert.equal(opened.senderId, 'n1');
  assert.deepEqual(Buffer.from(opened.payload), Buffer.from(payload));
});

test('any flipped byte (version, nonce, sender, body, tag) makes the datagram not open', () => {
  const ring = new GossipKeyring([key(1)]);
  const sealed = sealDatagram(ring, 'n1', payload, nonce());
  for (let i = 0; i < sealed.length; i++) {
    const bad = Uint8Array.from(sealed);
    bad[i] = bad[i]! ^ 0x01;
    const r = openDatagram(ring, bad);
    assert.equal(r.ok, false, `byte ${i} flipped`);
    assert.equal(reason(r), i === 0 ? 'version' : 'auth', `byte ${i}`);
  }
});

test('a datagram sealed with another key, or sent plain, does not open', () => {
  const ring = new GossipKeyring([key(1)]);
  const foreign = sealDatagram(new GossipKeyring([key(2)]), 'n1', payload, nonce());
  assert.equal(reason(openDatagram(ring, foreign)), 'auth');
  // Plain SWIM bytes start with a MessagePack array header, never the seal version.
  assert.equal(reason(openDatagram(ring, payload)), 'version');
});

test('truncated and oversized datagrams are refused before any decryption', () => {
  const ring = new GossipKeyring([key(1)]);
  const sealed = sealDatagram(ring, 'n1', payload, nonce());
  assert.equal(reason(openDatagram(ring, sealed.subarray(0, sealed.length - 1))), 'auth');
  assert.equal(reason(openDatagram(ring, sealed.subarray(0, 20))), 'too-short');
  assert.equal(reason(openDatagram(ring, new Uint8Array(0))), 'too-short');
  const huge = new Uint8Array(MAX_SEALED_BYTES + 1);
  huge[0] = sealed[0]!;
  assert.equal(reason(openDatagram(ring, huge)), 'too-large');
  assert.equal(reason(openDatagram(ring, new Uint8Array(65_000))), 'too-large');
});

test('rotation: the new ring seals with its primary and opens what either key sealed', () => {
  const oldRing = new GossipKeyring([key(1)]);
  const rotated = new GossipKeyring([key(2), key(1)]);
  const fromOld = sealDatagram(oldRing, 'n1', payload, nonce());
  const fromNew = sealDatagram(rotated, 'n2', payload, nonce());
  const a = openDatagram(rotated, fromOld);
  const b = openDatagram(rotated, fromNew);
  assert.ok(a.ok && a.senderId === 'n1');
  assert.ok(b.ok && b.senderId === 'n2');
  // Sealed with key 2: a node still on the old ring cannot open it; once key 1 is retired,
  // what key 1 sealed no longer opens.
  assert.equal(reason(openDatagram(oldRing, fromNew)), 'auth');
  assert.equal(reason(openDatagram(new GossipKeyring([key(2)]), fromOld)), 'auth');
});

test('keyrings refuse bad keys with a typed error', () => {
  assert.throws(() => new GossipKeyring([]), GossipKeyError);
  assert.throws(() => new GossipKeyring([new Uint8Array(16)]), /16 bytes; expected 32/);
  assert.throws(() => new GossipKeyring([1, 2, 3, 4, 5].map(key)), /at most 4 keys/);
  const ring = new GossipKeyring([key(1)]);
  assert.throws(() => sealDatagram(ring, 'n1', payload, new Uint8Array(8)), GossipKeyError);
  assert.throws(() => sealDatagram(ring, '', payload, nonce()), GossipKeyError);
});
