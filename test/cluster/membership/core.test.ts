// Unit tests of the SWIM core, driven message by message: probe/ack, ping-req, nacks and LHM,
// suspicion shrinking, refutation, UNCONFIRMED peers, precedence, piggyback bounds, reaping.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BroadcastQueue,
  overrides,
  suspicionTimeoutMs,
  updateWireBytes,
  type MemberUpdate,
  type MembershipOutput,
  type SwimMessage,
} from '../../../src/cluster/membership/index.js';
import { addr, deliver, firstProbeAt, introduce, makeCore, mesh, to } from './helpers.js';

const pingOf = (out: MembershipOutput): { to: string; message: SwimMessage } => {
  const m = out.messages.find((x) => x.message.type === 'ping');
  assert.ok(m, 'expected a ping');
  return { to: m.to.host, message: m.message };
};

const gossip = (from: string, updates: MemberUpdate[], seq = 1): SwimMessage => ({
  type: 'ping',
  seq,
  sender: { id: from, host: from, port: 7946, incarnation: 0 },
  targetId: null,
  updates,
});

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

test('probe → ack: the target answers, no suspicion, LHM stays 0, an RTT sample feeds Vivaldi', () => {
  const a = makeCore('a');
  const b = makeCore('b');
  introduce(a, b, 0);
  introduce(b, a, 0);
  const t = firstProbeAt(a);
  const out = a.step({ type: 'tick' }, t);
  const ping = pingOf(out);
  assert.equal(ping.to, 'b');
  const [bOut] = deliver([b], out.messages, t + 2);
  assert.ok(bOut);
  const acks = to(bOut, 'a', 'ack');
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.message.seq, ping.message.seq);
  deliver([a], acks, t + 4);
  const next = a.step({ type: 'tick' }, t + 1000);
  assert.deepEqual(
    next.events.filter((e) => e.type === 'suspect'),
    [],
  );
  assert.equal(a.localHealthScore, 0);
  assert.equal(a.member('b')?.status, 'alive');
  assert.ok(a.coordinateTable.has('b'), 'coordinate of b recorded from the ack');
  assert.ok(a.estimatedRttMs('b') !== undefined);
});

/** Four meshed cores and a's first probe; returns the target and the helpers. */
function fourNodes(): {
  cores: ReturnType<typeof makeCore>[];
  a: ReturnType<typeof makeCore>;
  t: number;
  probe: MembershipOutput;
  target: string;
  helpers: string[];
} {
  const cores = ['a', 'b', 'c', 'd'].map((id) => makeCore(id));
  mesh(cores);
  const a = cores[0]!;
  const t = firstProbeAt(a);
  const probe = a.step({ type: 'tick' }, t);
  const target = pingOf(probe).to;
  return { cores, a, t, probe, target, helpers: ['b', 'c', 'd'].filter((x) => x !== target) };
}

test('ping-req path: a lost direct ping is answered through helpers and the target is not suspected', () => {
  const { cores, a, t, target, helpers } = fourNodes();
  // The direct ping is lost. At the probe timeout a asks every other member (k = 3, only 2 exist).
  const atTimeout = a.step({ type: 'tick' }, t + 500);
  const reqs = atTimeout.messages.filter((m) => m.message.type === 'ping-req');
  assert.deepEqual(reqs.map((m) => m.to.host).sort(), helpers.sort());
  for (const r of reqs) assert.equal(r.message.type === 'ping-req' && r.message.target.id, target);
  // First helper forwards a ping to the target, which acks the helper, which acks a.
  const helperOut = deliver(cores, [reqs[0]!], t + 501);
  // The helper's own probe may also be due; the forwarded ping is the last one it sends.
  const forwarded = helperOut[0]!.messages
    .filter((m) => m.to.host === target && m.message.type === 'ping')
    .slice(-1);
  assert.equal(forwarded.length, 1);
  const targetOut = deliver(cores, forwarded, t + 502);
  const back = deliver(cores, to(targetOut[0]!, reqs[0]!.to.host, 'ack'), t + 503);
  const toA = to(back[0]!, 'a', 'ack');
  assert.equal(toA.length, 1);
  assert.equal(
    toA[0]!.message.seq,
    reqs[0]!.message.seq,
    'the helper acks with the requester’s seq',
  );
  deliver(cores, toA, t + 504);
  const end = a.step({ type: 'tick' }, t + 1000);
  assert.equal(
    end.events.some((e) => e.type === 'suspect'),
    false,
  );
  assert.equal(a.member(target)?.status, 'alive');
  assert.equal(a.localHealthScore, 0);
});

test('nacks from helpers: target suspected, LHM unchanged; missing nacks raise LHM and stretch the probe interval', () => {
  {
    const { cores, a, t, target } = fourNodes();
    const reqs = a
      .step({ type: 'tick' }, t + 500)
      .messages.filter((m) => m.message.type === 'ping-req');
    deliver(cores, reqs, t + 501); // helpers ping the target, which never answers
    const nacks: MembershipOutput['messages'][number][] = [];
    for (const h of cores.filter((c) => c.id !== 'a' && c.id !== target)) {
      const out = h.step({ type: 'tick' }, t + 501 + 400);
      nacks.push(...to(out, 'a', 'nack'));
    }
    assert.equal(nacks.length, 2, 'each helper nacks at 80% of its probe timeout');
    deliver(cores, nacks, t + 902);
    const end = a.step({ type: 'tick' }, t + 1000);
    assert.ok(end.events.some((e) => e.type === 'suspect' && e.id === target && e.by === 'a'));
    assert.equal(a.localHealthScore, 0, 'the helpers vouched for us: the target is the problem');
  }
  {
    const { a, t, target } = fourNodes();
    a.step({ type: 'tick' }, t + 500); // ping-reqs lost, so no nack ever arrives
    const end = a.step({ type: 'tick' }, t + 1000);
    assert.ok(end.events.some((e) => e.type === 'suspect' && e.id === target));
    assert.equal(a.localHealthScore, 2, 'two expected nacks missing: +2');
    // The next probe started at t+1000 with multiplier 3: indirect at +1500, next period at +3000.
    assert.equal(
      a
        .step({ type: 'tick' }, t + 3999)
        .messages.some(
          (m) => m.message.type === 'ping' && m.message.seq > 0 && m.to.host !== target,
        ),
      false,
    );
    const next = a.step({ type: 'tick' }, t + 4000);
    assert.ok(
      next.messages.some((m) => m.message.type === 'ping'),
      'probe interval stretched to 3 s',
    );
  }
});

test('suspicion timeout shrinks from max to min as independent confirmations arrive', () => {
  assert.equal(suspicionTimeoutMs(0, 2, 4000, 24000), 24000);
  assert.equal(
    Math.round(suspicionTimeoutMs(1, 2, 4000, 24000)),
    Math.round(24000 - (20000 * Math.log(2)) / Math.log(3)),
  );
  assert.equal(suspicionTimeoutMs(2, 2, 4000, 24000), 4000);
  assert.equal(suspicionTimeoutMs(5, 0, 4000, 24000), 4000, 'K < 1 ⇒ min');

  const cores = ['a', 'b', 'c', 'd', 'e'].map((id) => makeCore(id));
  mesh(cores);
  const a = cores[0]!;
  const t0 = 100;
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'e', 0, 'b')]) },
    t0,
  );
  // n = 5: min = 4 × max(1, log10 5) × 1 s = 4 s, max = 6 × 4 s, K = 4 − 2 = 2.
  assert.equal(a.suspicionOf('e')?.deadlineMs, t0 + 24000);
  a.step(
    { type: 'receive', from: addr('c'), message: gossip('c', [upd('suspect', 'e', 0, 'c')]) },
    t0 + 10,
  );
  assert.equal(
    Math.round(a.suspicionOf('e')!.deadlineMs),
    Math.round(t0 + suspicionTimeoutMs(1, 2, 4000, 24000)),
  );
  a.step(
    { type: 'receive', from: addr('c'), message: gossip('c', [upd('suspect', 'e', 0, 'c')]) },
    t0 + 20,
  );
  assert.equal(a.suspicionOf('e')?.confirmations, 1, 'a duplicate confirmation counts once');
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'e', 0, 'b')]) },
    t0 + 25,
  );
  assert.equal(a.suspicionOf('e')?.confirmations, 1, 'the first accuser is not a confirmation');
  a.step(
    { type: 'receive', from: addr('d'), message: gossip('d', [upd('suspect', 'e', 0, 'd')]) },
    t0 + 30,
  );
  assert.equal(a.suspicionOf('e')?.deadlineMs, t0 + 4000);
  const before = a.step({ type: 'tick' }, t0 + 3999);
  assert.equal(
    before.events.some((e) => e.type === 'dead'),
    false,
  );
  const at = a.step({ type: 'tick' }, t0 + 4000);
  assert.ok(at.events.some((e) => e.type === 'dead' && e.id === 'e' && e.by === 'a'));
  a.checkInvariants();
});

test('refutation: a node suspected at its incarnation moves to a higher one and gossips alive; stale accusations are ignored', () => {
  const a = makeCore('a');
  const b = makeCore('b');
  introduce(a, b, 0);
  const out = a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'a', 0, 'b')], 7) },
    10,
  );
  assert.equal(a.incarnation, 1);
  assert.ok(
    out.events.some((e) => e.type === 'refuted' && e.incarnation === 1 && e.accusedBy === 'b'),
  );
  assert.equal(a.localHealthScore, 1, 'refuting a suspicion of self raises LHM');
  const ack = to(out, 'b', 'ack')[0]!.message;
  assert.ok(
    ack.updates.some((u) => u.kind === 'alive' && u.id === 'a' && u.incarnation === 1),
    'the refutation rides the very next message',
  );
  assert.equal(ack.sender.incarnation, 1);
  const again = a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('dead', 'a', 0, 'b')], 8) },
    20,
  );
  assert.equal(a.incarnation, 1, 'an accusation at an older incarnation changes nothing');
  assert.equal(
    again.events.some((e) => e.type === 'refuted'),
    false,
  );
  // b applies the refutation: alive@1 overrides suspect@0.
  b.step(
    { type: 'receive', from: addr('a'), message: gossip('a', [upd('suspect', 'a', 0, 'b')]) },
    0,
  );
  deliver([b], to(out, 'b'), 11);
  assert.equal(b.member('a')?.incarnation, 1);
  assert.equal(b.member('a')?.status, 'alive');
});

test('precedence: higher incarnation wins; equal ⇒ dead > suspect > alive > unconfirmed', () => {
  const cases: [number, string, number, string, boolean][] = [
    [1, 'alive', 0, 'suspect', true],
    [1, 'alive', 0, 'dead', true],
    [0, 'alive', 1, 'unconfirmed', false],
    [1, 'suspect', 1, 'alive', true],
    [1, 'dead', 1, 'suspect', true],
    [1, 'alive', 1, 'dead', false],
    [1, 'alive', 1, 'suspect', false],
    [1, 'alive', 1, 'unconfirmed', true],
    [1, 'suspect', 1, 'dead', false],
  ];
  for (const [ii, is, ci, cs, expected] of cases) {
    assert.equal(
      overrides({ incarnation: ii, status: is as never }, { incarnation: ci, status: cs as never }),
      expected,
      `${is}@${ii} over ${cs}@${ci}`,
    );
  }
  const a = makeCore('a');
  introduce(a, makeCore('c'), 0);
  const feed = (u: MemberUpdate, at: number): void => {
    a.step({ type: 'receive', from: addr('b'), message: gossip('b', [u], at) }, at);
  };
  feed(upd('suspect', 'c', 0, 'b'), 1);
  assert.equal(a.member('c')?.status, 'suspect');
  feed(upd('alive', 'c', 0), 2);
  assert.equal(a.member('c')?.status, 'suspect', 'alive@0 does not beat suspect@0');
  feed(upd('alive', 'c', 1), 3);
  assert.equal(a.member('c')?.status, 'alive', 'alive@1 beats suspect@0');
  feed(upd('dead', 'c', 1, 'b'), 4);
  assert.equal(a.member('c')?.status, 'dead');
  feed(upd('suspect', 'c', 1, 'b'), 5);
  feed(upd('alive', 'c', 1), 6);
  assert.equal(a.member('c')?.status, 'dead', 'nothing at an equal incarnation revives the dead');
  feed(upd('alive', 'c', 2), 7);
  assert.equal(a.member('c')?.status, 'alive', 'it refuted: alive@2 beats dead@1');
  a.checkInvariants();
});

test('UNCONFIRMED peers (AD-29): probed directly, never through helpers, never suspected or declared dead; dropped after the timeout', () => {
  const a = makeCore('a', { unconfirmedTimeoutMs: 20_000, unconfirmedMaxFailedProbes: 3 });
  const b = makeCore('b');
  introduce(a, b, 0);
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('alive', 'ghost', 0, 'b')]) },
    1,
  );
  assert.equal(a.member('ghost')?.status, 'unconfirmed');
  const events: MembershipOutput['events'][number][] = [];
  let pingsToGhost = 0;
  let pingReqsAboutGhost = 0;
  for (let now = 2; now <= 120_000; now += 50) {
    const out = a.step({ type: 'tick' }, now);
    events.push(...out.events);
    for (const m of out.messages) {
      if (m.to.host === 'ghost' && m.message.type === 'ping') pingsToGhost++;
      if (m.message.type === 'ping-req' && m.message.target.id === 'ghost') pingReqsAboutGhost++;
      // b answers every ping so only the ghost is silent.
      if (m.to.host === 'b' && m.message.type === 'ping') {
        const [bOut] = deliver([b], [m], now);
        deliver([a], to(bOut!, 'a'), now);
      }
    }
    a.checkInvariants();
  }
  assert.ok(pingsToGhost >= 3, 'the ghost is probed directly');
  assert.equal(pingReqsAboutGhost, 0, 'never through helpers');
  assert.equal(
    events.some((e) => (e.type === 'suspect' || e.type === 'dead') && e.id === 'ghost'),
    false,
  );
  assert.ok(
    events.some((e) => e.type === 'reaped' && e.id === 'ghost' && e.reason === 'never-confirmed'),
  );
  assert.deepEqual(a.peerStateFootprint('ghost'), []);
  assert.equal(a.localHealthScore, 0, 'silence from an unconfirmed peer does not count against us');
});

test('a direct message confirms an UNCONFIRMED member; gossip alone does not', () => {
  const a = makeCore('a');
  introduce(a, makeCore('b'), 0);
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('alive', 'c', 3, 'b')]) },
    1,
  );
  assert.equal(a.member('c')?.status, 'unconfirmed');
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('alive', 'c', 4, 'b')]) },
    2,
  );
  assert.equal(a.member('c')?.status, 'unconfirmed');
  const out = introduce(a, makeCore('c', {}, { incarnation: 4 }), 3);
  assert.equal(a.member('c')?.status, 'alive');
  assert.ok(
    out.events.some((e) => e.type === 'alive' && e.id === 'c' && e.previous === 'unconfirmed'),
  );
});

test('gossip saying "suspect" does not suspect an UNCONFIRMED member (AD-29); its direct probes decide', () => {
  const a = makeCore('a');
  introduce(a, makeCore('b'), 0);
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('alive', 'c', 0, 'b')]) },
    1,
  );
  assert.equal(a.member('c')?.status, 'unconfirmed');
  for (const [at, inc] of [
    [2, 0],
    [3, 1],
  ] as const) {
    const out = a.step(
      { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'c', inc, 'b')]) },
      at,
    );
    assert.equal(a.member('c')?.status, 'unconfirmed', `suspect@${inc} by gossip is ignored`);
    assert.equal(
      out.events.some((e) => e.type === 'suspect'),
      false,
    );
    a.checkInvariants();
  }
  assert.equal(a.counters.suspicionsOfUnconfirmedIgnored, 2);
  // Once heard directly, the same gossip does suspect it.
  introduce(a, makeCore('c'), 4);
  assert.equal(a.member('c')?.status, 'alive');
  a.step(
    { type: 'receive', from: addr('b'), message: gossip('b', [upd('suspect', 'c', 0, 'b')]) },
    5,
  );
  assert.equal(a.member('c')?.status, 'suspect');
  a.checkInvariants();
});

test('piggyback: bounded bytes and count per message; each update sent exactly λ·ceil(log10(n+1)) times', () => {
  const q = new BroadcastQueue(64);
  for (let i = 0; i < 50; i++) q.enqueue(upd('alive', `member-${i}-${'x'.repeat(20)}`, i));
  const sent = new Map<string, number>();
  let rounds = 0;
  while (q.size > 0) {
    const batch = q.take(300, 100, 3);
    rounds++;
    assert.ok(batch.reduce((s, u) => s + updateWireBytes(u), 0) <= 300);
    for (const u of batch) sent.set(u.id, (sent.get(u.id) ?? 0) + 1);
    assert.ok(rounds < 1000);
  }
  assert.equal(sent.size, 50);
  for (const n of sent.values()) assert.equal(n, 3);
  // A newer update about a member replaces the pending one.
  q.enqueue(upd('alive', 'm', 1));
  q.enqueue(upd('dead', 'm', 1, 'x'));
  assert.equal(q.size, 1);
  assert.equal(q.take(1000, 10, 3)[0]?.kind, 'dead');
  // Capacity: the most-sent entries go first.
  const small = new BroadcastQueue(2);
  small.enqueue(upd('alive', 'p', 0));
  small.take(1000, 10, 5);
  small.enqueue(upd('alive', 'q', 0));
  small.enqueue(upd('alive', 'r', 0));
  assert.equal(small.size, 2);
  assert.equal(small.has('p'), false);
  assert.equal(small.evicted, 1);

  // Core: fill the gossip queue and check every message stays in budget.
  const a = makeCore('a');
  introduce(a, makeCore('b'), 0);
  for (let i = 0; i < 4; i++) {
    const updates = Array.from({ length: 100 }, (_, j) =>
      upd('alive', `n${i}-${j}-${'y'.repeat(40)}`, 0, 'b'),
    );
    a.step({ type: 'receive', from: addr('b'), message: gossip('b', updates, i + 10) }, 1 + i);
  }
  assert.ok(a.broadcastQueueSize >= 300);
  for (let now = 10; now < 30_000; now += 100) {
    for (const m of a.step({ type: 'tick' }, now).messages) {
      const bytes = m.message.updates.reduce((s, u) => s + updateWireBytes(u), 0);
      assert.ok(bytes <= a.config.maxPiggybackBytes, `${bytes} bytes of gossip`);
      assert.ok(m.message.updates.length > 0);
    }
  }
});

test('members map is capped; ping-req forwards are capped', () => {
  const a = makeCore('a', { maxMembers: 5 });
  introduce(a, makeCore('b'), 0);
  const updates = Array.from({ length: 20 }, (_, j) => upd('alive', `m${j}`, 0, 'b'));
  a.step({ type: 'receive', from: addr('b'), message: gossip('b', updates) }, 1);
  assert.equal(a.memberCount, 5);
  assert.equal(a.counters.membersRejectedAtCap, 16);

  const h = makeCore('h');
  for (let i = 0; i < 150; i++) {
    h.step(
      {
        type: 'receive',
        from: addr('a'),
        message: {
          type: 'ping-req',
          seq: i + 1,
          sender: { id: 'a', host: 'a', port: 7946, incarnation: 0 },
          target: { id: `t${i}`, host: `t${i}`, port: 7946 },
          updates: [],
        },
      },
      10,
    );
  }
  assert.equal(h.pendingForwardCount, 100);
  assert.equal(h.counters.forwardsDropped, 50);
  h.step({ type: 'tick' }, 10 + 500);
  assert.equal(h.pendingForwardCount, 0, 'forwards expire after one probe timeout');
});
