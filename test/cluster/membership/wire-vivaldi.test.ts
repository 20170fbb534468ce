// Tests of the membership datagram codec (round trip, size bound, garbage → error values) and of
// Vivaldi coordinates (convergence on a synthetic network, bounds, purge on reap).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeSwimMessage,
  encodeSwimMessage,
  encodeWithinLimit,
} from '../../../src/nodes/membership/index.js';
import {
  LIMITS,
  updateWireBytes,
  type MemberUpdate,
  type SwimMessage,
} from '../../../src/cluster/membership/index.js';
import {
  CoordinateTable,
  VivaldiClient,
  estimateRttMs,
  isValidCoordinate,
  originCoordinate,
} from '../../../src/cluster/coordinates/vivaldi.js';
import { encodeValue } from '../../../src/protocol/codec.js';
import { testRng } from './helpers.js';

const sender = { id: 'dc1/gate-1', host: 'dc1/gate-1', port: 7000, incarnation: 12 };

test('codec: every message type round-trips', () => {
  const updates: MemberUpdate[] = [
    { kind: 'alive', id: 'x', host: 'h', port: 1, incarnation: 0, from: 'x' },
    { kind: 'suspect', id: 'y', host: 'h', port: 2, incarnation: 3, from: 'z' },
    { kind: 'dead', id: 'é-ünïcode', host: 'h', port: 65535, incarnation: 2 ** 40, from: 'z' },
  ];
  const messages: SwimMessage[] = [
    { type: 'ping', seq: 1, sender, targetId: null, updates },
    { type: 'ping', seq: 0xffff_ffff, sender, targetId: 'b', updates: [] },
    { type: 'ping-req', seq: 2, sender, target: { id: 't', host: 'th', port: 9 }, updates },
    { type: 'ack', seq: 3, sender, coordinate: originCoordinate(), updates },
    { type: 'ack', seq: 3, sender, coordinate: null, updates: [] },
    { type: 'nack', seq: 4, sender, updates },
  ];
  for (const m of messages)
    assert.deepEqual(decodeSwimMessage(encodeSwimMessage(m)), { ok: true, message: m });
});

test('codec: a full piggyback budget fits one ≤1400-byte datagram; the size estimate is an upper bound', () => {
  const updates: MemberUpdate[] = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const u: MemberUpdate = {
      kind: 'suspect',
      id: `dc-east/manager-${i}`,
      host: `10.0.${i}.7`,
      port: 7946,
      incarnation: 2 ** 31 + i,
      from: `dc-east/manager-${i + 1}`,
    };
    if (bytes + updateWireBytes(u) > 1200) break;
    bytes += updateWireBytes(u);
    updates.push(u);
  }
  for (const u of updates) {
    const alone =
      encodeSwimMessage({ type: 'nack', seq: 1, sender, updates: [u] }).length -
      encodeSwimMessage({ type: 'nack', seq: 1, sender, updates: [] }).length;
    assert.ok(alone <= updateWireBytes(u), `${alone} > estimate ${updateWireBytes(u)}`);
  }
  const ack: SwimMessage = {
    type: 'ack',
    seq: 0xffff_ffff,
    sender,
    coordinate: { ...originCoordinate(), vec: new Array<number>(8).fill(-1234.5678) },
    updates,
  };
  const { bytes: wire, trimmed } = encodeWithinLimit(ack);
  assert.equal(trimmed, 0);
  assert.ok(wire.length <= LIMITS.maxDatagramBytes, `${wire.length} bytes`);
  // Absurdly long ids could overflow: the encoder trims updates rather than send a giant datagram.
  const long = 'x'.repeat(120);
  const huge: SwimMessage = {
    type: 'ping',
    seq: 1,
    sender: { ...sender, id: long, host: long },
    targetId: long,
    updates: Array.from({ length: 12 }, () => ({
      kind: 'alive',
      id: long,
      host: long,
      port: 1,
      incarnation: 1,
      from: long,
    })),
  };
  const fitted = encodeWithinLimit(huge);
  assert.ok(fitted.bytes.length <= LIMITS.maxDatagramBytes);
  assert.ok(fitted.trimmed > 0);
});

test('codec: random and truncated bytes decode to error values, never throw', () => {
  const valid = encodeSwimMessage({
    type: 'ping-req',
    seq: 2,
    sender,
    target: { id: 't', host: 'th', port: 9 },
    updates: [{ kind: 'alive', id: 'x', host: 'h', port: 1, incarnation: 0, from: 'x' }],
  });
  for (let cut = 0; cut < valid.length; cut++) {
    const r = decodeSwimMessage(valid.subarray(0, cut));
    assert.equal(r.ok, false, `prefix of ${cut} bytes`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const r = decodeSwimMessage(bytes);
      if (r.ok) assert.ok(['ping', 'ping-req', 'ack', 'nack'].includes(r.message.type));
    }),
    { numRuns: 2000, seed: 42 },
  );
  const bad: unknown[] = [
    [9, 1, ['a', 'h', 1, 0], null, []],
    [1, -1, ['a', 'h', 1, 0], null, []],
    [1, 1, ['a', 'h', 70000, 0], null, []],
    [1, 1, ['', 'h', 1, 0], null, []],
    [1, 1, ['a', 'h', 1, 0.5], null, []],
    [3, 1, ['a', 'h', 1, 0], [1, 2, 3], []],
    [3, 1, ['a', 'h', 1, 0], [NaN, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0], []],
    [1, 1, ['a', 'h', 1, 0], null, [[4, 'x', 'h', 1, 0, 'x']]],
    [1, 1, ['a', 'h', 1, 0], null, Array.from({ length: 101 }, () => [1, 'x', 'h', 1, 0, 'x'])],
    { not: 'an array' },
  ];
  for (const b of bad) assert.equal(decodeSwimMessage(encodeValue(b)).ok, false, JSON.stringify(b));
});

test('Vivaldi: coordinates converge on a synthetic 2-D network; errors fall; estimates track true RTTs', () => {
  const rng = testRng(7);
  const n = 20;
  const positions = Array.from({ length: n }, () => [rng.next() * 100, rng.next() * 100]);
  const trueRtt = (i: number, j: number): number =>
    Math.hypot(positions[i]![0]! - positions[j]![0]!, positions[i]![1]! - positions[j]![1]!) + 2;
  const clients = Array.from({ length: n }, (_, i) => {
    const r = testRng(100 + i);
    return new VivaldiClient(() => r.next());
  });
  for (let round = 0; round < 400; round++) {
    for (let i = 0; i < n; i++) {
      const j = (i + 1 + rng.int(n - 1)) % n;
      clients[i]!.update(clients[j]!.coordinate, trueRtt(i, j));
    }
  }
  let relErr = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    assert.ok(isValidCoordinate(clients[i]!.coordinate));
    for (let j = i + 1; j < n; j++) {
      relErr +=
        Math.abs(estimateRttMs(clients[i]!.coordinate, clients[j]!.coordinate) - trueRtt(i, j)) /
        trueRtt(i, j);
      pairs++;
    }
  }
  const meanRelErr = relErr / pairs;
  assert.ok(meanRelErr < 0.25, `mean relative error ${meanRelErr.toFixed(3)}`);
  assert.ok(
    clients.every((c) => c.coordinate.error < 1.0),
    'every node’s own error estimate fell from 1.5',
  );
});

test('Vivaldi: bad samples are ignored; the table is bounded and forgets reaped members', () => {
  const r = testRng(1);
  const v = new VivaldiClient(() => r.next());
  const before = v.coordinate;
  v.update({ ...originCoordinate(), vec: [1, 2] }, 10);
  v.update(originCoordinate(), Number.NaN);
  assert.equal(v.coordinate, before);
  v.update(originCoordinate(), 1e9); // clamped to 10 s, still finite
  assert.ok(isValidCoordinate(v.coordinate));
  const t = new CoordinateTable(2);
  t.set('a', originCoordinate(), 0);
  t.set('b', originCoordinate(), 0);
  t.set('c', originCoordinate(), 0);
  assert.equal(t.size, 2);
  assert.equal(t.has('c'), false);
  assert.ok(
    t.quality('a', 0) > 0 && t.quality('a', 400_000) === 0,
    'quality decays to 0 over the TTL',
  );
  assert.ok(
    t.rttUpperBoundMs(originCoordinate(), 'missing') === 200,
    'defaults: 100 ms + 2 × 50 ms',
  );
  t.forget('a');
  assert.equal(t.has('a'), false);
});
