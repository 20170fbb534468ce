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
  const append = (prevTerm: number, entries: { index: number; term: number }[]): unknown =>
    registry.decode(
      encodeValue({
        t: 'raft.append',
        ...base,
        prevIndex: 1,
        prevTerm,
        commit: 0,
        entries: entries.map((e) => ({ ...e, kind: 'normal', data })),
      }),
    );
  const issue = (out: unknown): unknown => {
    const o = out as { ok: boolean; error?: { code: string; details?: Record<string, unknown> } };
    assert.equal(o.ok, false, 'refused at decode');
    assert.equal(o.error?.code, 'schema');
    return o.error?.details?.['field'];
  };
  assert.equal(issue(append(1, [{ index: 3, term: 1 }])), 'entries[0].index', 'must continue');
  assert.equal(
    issue(
      append(2, [
        { index: 2, term: 3 },
        { index: 3, term: 5 },
        { index: 4, term: 4 },
      ]),
    ),
    'entries[2].term',
    'entry terms never decrease within an append',
  );
  assert.equal(issue(append(3, [{ index: 2, term: 2 }])), 'entries[0].term', 'nor below prevTerm');
  assert.equal(issue(append(1, [{ index: 2, term: 8 }])), 'entries[0].term', 'nor above term');
  assert.equal(issue(append(9, [])), 'prevTerm', 'prevTerm never above the term');
  const fine = append(2, [
    { index: 2, term: 2 },
    { index: 3, term: 7 },
  ]) as { ok: boolean; message: Parameters<typeof fromWire>[0] };
  assert.ok(fine.ok);
  assert.equal(fromWire(fine.message)?.type, 'append');
});
