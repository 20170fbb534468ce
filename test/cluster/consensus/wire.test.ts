// Raft messages on the wire: every type round-trips through the protocol registry (schema
// checked at decode), and malformed ones are refused as values, never thrown.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageRegistry, encodeValue } from '../../../src/protocol/index.js';
import { RAFT_MESSAGES, fromWire, toWire } from '../../../src/cluster/consensus/wire.js';
import type { Message } from '../../../src/cluster/consensus/types.js';

const registry = new MessageRegistry().register(...RAFT_MESSAGES);
const data = new TextEncoder().encode('cmd');
const base = { from: 'a', to: 'b', term: 7 };
const samples: Message[] = [
  { ...base, type: 'vote', lastLogIndex: 3, lastLogTerm: 2, transfer: false },
  { ...base, type: 'pre-vote', lastLogIndex: 3, lastLogTerm: 2, transfer: true },
  { ...base, type: 'vote-response', granted: true },
  { ...base, type: 'pre-vote-response', granted: false },
  {
    ...base,
    type: 'append',
    prevIndex: 4,
    prevTerm: 6,
    commit: 3,
    entries: [
      { index: 5, term: 7, kind: 'normal', data },
      { index: 6, term: 7, kind: 'noop', data: new Uint8Array(0) },
    ],
  },
  { ...base, type: 'append-response', index: 6, reject: true, hintIndex: 2, hintTerm: 1 },
  { ...base, type: 'heartbeat', commit: 9 },
  { ...base, type: 'heartbeat-response' },
  {
    ...base,
    type: 'snapshot',
    snapshot: { meta: { index: 10, term: 6, config: { voters: ['a', 'b', 'c'] } }, data },
  },
  { ...base, type: 'timeout-now' },
];

/** Bytes (Buffer or Uint8Array) as plain arrays, for structural comparison. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

test('every Raft message type round-trips through the protocol registry', () => {
  for (const m of samples) {
    const enc = registry.encode(toWire(m));
    assert.ok(enc.ok, `${m.type}: ${JSON.stringify(enc)}`);
    const dec = registry.decode(enc.bytes);
    assert.ok(dec.ok, `${m.type}: ${JSON.stringify(dec)}`);
    const back = fromWire(dec.message);
    assert.ok(back);
    assert.deepEqual(plain(back), plain(m));
  }
});

test('malformed Raft messages are refused as values: schema errors and non-contiguous entries', () => {
  const bad = registry.decode(encodeValue({ t: 'raft.vote', from: 'a', to: 'b', term: -1 }));
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'schema');
  const gap = registry.decode(
    encodeValue({
      t: 'raft.append',
      ...base,
      prevIndex: 1,
      prevTerm: 1,
      commit: 0,
      entries: [{ index: 3, term: 1, kind: 'normal', data }],
    }),
  );
  assert.ok(gap.ok);
  assert.equal(fromWire(gap.message), null, 'entries must continue prevIndex');
});
