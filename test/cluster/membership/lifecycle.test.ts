// Unit tests of a peer's lifecycle in the core, message by message: forwarding state towards a
// member that dies/is reaped (GP-4.1), helper circuits purged (GP-4.3), stale recoveries of a
// flapping member rejected (GP-5.3), reap timing (GP-1.1/1.2/1.3) and rejoin as new (GP-3.1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberUpdate, SwimMessage } from '../../../src/cluster/membership/index.js';
import { addr, deliver, firstProbeAt, introduce, makeCore, mesh, to } from './helpers.js';

const upd = (
  kind: MemberUpdate['kind'],
  id: string,
  incarnation: number,
  from = id,
): MemberUpdate => ({
  kind,
  id,
  host: id,
  port: 7946,
  incarnation,
  from,
});
const gossip = (from: string, updates: MemberUpdate[], seq = 1, incarnation = 0): SwimMessage => ({
  type: 'ping',
  seq,
  sender: { id: from, host: from, port: 7946, incarnation },
  targetId: null,
  updates,
});

test('GP-4.1 indirect probes towards a member that dies are failed at once (nack to the requester) and purged', () => {
  const h = makeCore('h');
  for (const id of ['a', 'c', 'x']) introduce(h, makeCore(id), 0);
  const req: SwimMessage = {
    type: 'ping-req',
    seq: 41,
    sender: { id: 'a', host: 'a', port: 7946, incarnation: 0 },
    target: { id: 'c', host: 'c', port: 7946 },
    updates: [],
  };
  h.step({ type: 'receive', from: addr('a'), message: req }, 10);
  assert.equal(h.pendingForwardCount, 1);
  // Gossip says c is dead before the forward completes.
  const out = h.step(
    { type: 'receive', from: addr('x'), message: gossip('x', [upd('dead', 'c', 0, 'x')]) },
    20,
  );
  const nacks = to(out, 'a', 'nack');
  assert.equal(nacks.length, 1);
  assert.equal(nacks[0]!.message.seq, 41, 'the requester learns the outcome now');
  assert.equal(h.pendingForwardCount, 0);
  assert.deepEqual(
    h.peerStateFootprint('c'),
    ['members', 'probeOrder', 'broadcasts', 'agenda'],
    'only the dead record and its reap timer remain',
  );
  // A late ack from c is not forwarded and leaks nothing.
  const late = h.step(
    {
      type: 'receive',
      from: addr('c'),
      message: {
        type: 'ack',
        seq: 1,
        sender: { id: 'c', host: 'c', port: 7946, incarnation: 0 },
        coordinate: null,
        updates: [],
      },
    },
    30,
  );
  assert.equal(to(late, 'a').length, 0);
  // After the reap interval nothing mentions c at all.
  h.step({ type: 'tick' }, 20 + h.config.reapIntervalMs);
  assert.equal(h.member('c'), undefined);
  assert.deepEqual(h.peerStateFootprint('c'), []);
});

test('GP-4.1 a requester that dies takes its forwards with it; the pending probe of a member that dies is dropped', () => {
  const h = makeCore('h');
  for (const id of ['a', 'c', 'x']) introduce(h, makeCore(id), 0);
  h.step(
    {
      type: 'receive',
      from: addr('a'),
      message: {
        type: 'ping-req',
        seq: 7,
        sender: { id: 'a', host: 'a', port: 7946, incarnation: 0 },
        target: { id: 'c', host: 'c', port: 7946 },
        updates: [],
      },
    },
    10,
  );
  const out = h.step(
    { type: 'receive', from: addr('x'), message: gossip('x', [upd('dead', 'a', 0, 'x')]) },
    11,
  );
  assert.equal(h.pendingForwardCount, 0);
  assert.equal(to(out, 'a', 'nack').length, 0, 'no nack to a dead requester');

  const p = makeCore('p');
  for (const id of ['q', 'r']) introduce(p, makeCore(id), 0);
  const t = firstProbeAt(p);
  const probe = p.step({ type: 'tick' }, t);
  const target = probe.messages.find((m) => m.message.type === 'ping')!.to.host;
  const other = target === 'q' ? 'r' : 'q';
  p.step(
    { type: 'receive', from: addr(other), message: gossip(other, [upd('dead', target, 0, other)]) },
    t + 1,
  );
  assert.ok(!p.peerStateFootprint(target).includes('pendingProbe'));
  const end = p.step({ type: 'tick' }, t + 1000);
  assert.equal(
    end.events.some((e) => e.type === 'suspect'),
    false,
  );
  assert.equal(
    p.localHealthScore,
    0,
    'a probe abandoned because its target died says nothing about us',
  );
});

test('GP-4.3 the helper circuit of a member is opened by failed probes, skipped when choosing helpers, and removed on death/reap', () => {
  const cores = ['a', 'b', 'c', 'd', 'e'].map((id) => makeCore(id));
  mesh(cores);
  const a = cores[0]!;
  let now = firstProbeAt(a);
  const failed = new Map<string, number>();
  // Every probe of a goes unanswered; helpers are asked but their answers are lost.
  for (let i = 0; i < 4; i++) {
    const out = a.step({ type: 'tick' }, now);
    const ping = out.messages.find((m) => m.message.type === 'ping');
    if (ping) failed.set(ping.to.host, (failed.get(ping.to.host) ?? 0) + 1);
    now += 1000 * (a.localHealthScore + 1);
  }
  a.step({ type: 'tick' }, now);
  const withCircuit = [...failed.keys()].filter((id) => a.helperCircuitFailures(id) > 0);
  assert.ok(withCircuit.length > 0, 'failed probes are recorded per member');
  // Kill one of them by gossip: its circuit entry goes with it.
  const victim = withCircuit[0]!;
  a.step(
    {
      type: 'receive',
      from: addr('b'),
      message: gossip('b', [upd('dead', victim, 99, 'b')], 5, 0),
    },
    now + 1,
  );
  assert.equal(a.helperCircuitFailures(victim), 0);
  assert.ok(!a.peerStateFootprint(victim).includes('helperCircuits'));
  a.step({ type: 'tick' }, now + 1 + a.config.reapIntervalMs);
  assert.deepEqual(a.peerStateFootprint(victim), []);
  a.checkInvariants();
});

test('GP-5.3 a flapping member: a delayed message from an earlier life is rejected and told to refute; a real recovery needs a higher incarnation', () => {
  const a = makeCore('a');
  const c = makeCore('c');
  introduce(a, makeCore('b'), 0);
  introduce(a, c, 0);
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('dead', 'c', 2, 'b')]) },
    10,
  );
  assert.equal(a.member('c')?.status, 'dead');
  // A delayed ping from c at incarnation 1 (before it died) arrives: stale, ignored, answered with the news.
  const stale = a.step({ type: 'receive', from: addr('c'), message: gossip('c', [], 3, 1) }, 20);
  assert.equal(a.member('c')?.status, 'dead');
  assert.equal(
    stale.events.some((e) => e.type === 'alive' || e.type === 'joined'),
    false,
  );
  const ack = to(stale, 'c', 'ack')[0]!.message;
  assert.deepEqual(
    ack.updates[0],
    upd('dead', 'c', 2, 'b'),
    'the ack tells c what we believe about it',
  );
  // Gossip replaying c's old alive at the dead incarnation is rejected too.
  a.step({ type: 'receive', from: addr('b'), message: gossip('b', [upd('alive', 'c', 2)], 4) }, 30);
  assert.equal(a.member('c')?.status, 'dead');
  // c (fresh process at incarnation 0) gets that ack and refutes past it.
  const cOut = c.step({ type: 'receive', from: addr('a'), message: ack }, 40);
  assert.equal(c.incarnation, 3);
  assert.ok(cOut.events.some((e) => e.type === 'refuted' && e.claimed === 'dead'));
  // Its next message carries incarnation 3: accepted as a recovery.
  const back = a.step({ type: 'receive', from: addr('c'), message: gossip('c', [], 5, 3) }, 50);
  assert.equal(a.member('c')?.status, 'alive');
  assert.ok(
    back.events.some(
      (e) => e.type === 'alive' && e.id === 'c' && e.previous === 'dead' && e.incarnation === 3,
    ),
  );
  // And a later stale suspicion from its previous life does nothing.
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'c', 2, 'b')], 6) },
    60,
  );
  assert.equal(a.member('c')?.status, 'alive');
});

test('GP-1.1 GP-1.2 GP-1.3 reap timing: each dead member reaped on its own deadline; a recovery before it cancels the reap', () => {
  // a's own probes are pushed out of the way (nobody here answers them): only gossip drives it.
  const a = makeCore('a', { probeIntervalMs: 1e9, probeTimeoutMs: 1 });
  for (const id of ['b', 'c', 'd', 'e']) introduce(a, makeCore(id), 0);
  const reap = a.config.reapIntervalMs;
  a.step(
    {
      type: 'receive',
      from: addr('b'),
      message: gossip('b', [upd('dead', 'c', 0, 'b'), upd('dead', 'd', 0, 'b')]),
    },
    1_000,
  );
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('dead', 'e', 0, 'b')], 2) },
    5_000,
  );
  // e recovers (refutes) before its reap deadline.
  a.step({ type: 'receive', from: addr('e'), message: gossip('e', [], 3, 1) }, 60_000);
  assert.equal(a.member('e')?.status, 'alive');
  const before = a.step({ type: 'tick' }, 1_000 + reap - 1);
  assert.equal(
    before.events.some((e) => e.type === 'reaped'),
    false,
  );
  const at = a.step({ type: 'tick' }, 1_000 + reap);
  assert.deepEqual(
    at.events
      .filter((e) => e.type === 'reaped')
      .map((e) => e.type === 'reaped' && e.id)
      .sort(),
    ['c', 'd'],
  );
  const later = a.step({ type: 'tick' }, 5_000 + reap + 1);
  assert.equal(
    later.events.some((e) => e.type === 'reaped'),
    false,
    'e recovered: never reaped',
  );
  assert.equal(a.member('e')?.status, 'alive');
  for (const id of ['c', 'd']) assert.deepEqual(a.peerStateFootprint(id), []);
});

test('GP-3.1 after the reap a returning member is new: its old incarnation is accepted and it is announced as joined', () => {
  const a = makeCore('a');
  introduce(a, makeCore('b'), 0);
  introduce(a, makeCore('c', {}, { incarnation: 4 }), 0);
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('dead', 'c', 4, 'b')]) },
    10,
  );
  a.step({ type: 'tick' }, 10 + a.config.reapIntervalMs);
  assert.equal(a.member('c'), undefined);
  const out = a.step(
    { type: 'receive', from: addr('c'), message: gossip('c', [], 9, 0) },
    20 + 2 * a.config.reapIntervalMs,
  );
  assert.deepEqual(
    out.events.filter((e) => 'id' in e && e.id === 'c'),
    [{ type: 'joined', id: 'c', incarnation: 0, status: 'alive' }],
  );
  // Dead-gossip about a member we never knew (or already reaped) does not resurrect a record.
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('dead', 'zombie', 5, 'b')], 10) },
    30 + 2 * a.config.reapIntervalMs,
  );
  assert.equal(a.member('zombie'), undefined);
});

test('join through a seed address: the seed answers, both sides confirm each other, the seed gossips the newcomer', () => {
  const s = makeCore('s');
  const n = makeCore('n');
  introduce(s, makeCore('old'), 0);
  const out = n.step({ type: 'join', seeds: [{ address: addr('s') }, { address: addr('n') }] }, 0);
  const pings = out.messages.filter((m) => m.message.type === 'ping');
  assert.equal(pings.length, 1, 'own address skipped');
  assert.equal(pings[0]!.message.type === 'ping' && pings[0]!.message.targetId, null);
  const sOut = deliver([s], pings, 1)[0]!;
  assert.equal(s.member('n')?.status, 'alive');
  deliver([n], to(sOut, 'n'), 2);
  assert.equal(n.member('s')?.status, 'alive');
  assert.equal(
    n.member('old')?.status,
    'unconfirmed',
    'learned through the seed, not yet heard directly',
  );
});
