// Membership over real UDP on loopback with a gossip key loaded from a certs directory: three
// members converge, while forged datagrams from a local socket (plain, sealed with another key,
// sealed by a key holder that is not a configured member, or claiming another member's id) are
// dropped, counted and logged, and leave the receiver's view as it was.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  GossipKeyring,
  MembershipNode,
  encodeSwimMessage,
  sealDatagram,
} from '../../../src/nodes/membership/index.js';
import { loadGossipKeyring, writeGossipKeyFile } from '../../../src/runtime/real/gossip-key.js';
import type { MembershipEvent, SwimMessage } from '../../../src/cluster/membership/index.js';
import type { NodeAddress } from '../../../src/runtime/types.js';
import { LOOPBACK, runtime, tempDir, waitFor } from './support.js';

const IDS = ['n1', 'n2', 'n3'] as const;

function forgedPing(senderId: string, updates: SwimMessage['updates']): Uint8Array {
  return encodeSwimMessage({
    type: 'ping',
    seq: 1,
    sender: { id: senderId, host: '127.0.0.1', port: 9, incarnation: 90 },
    targetId: 'n1',
    updates,
  });
}

test('forged membership datagrams leave the view unchanged; genuine members converge', async (t) => {
  const { dir, cleanup } = await tempDir('gossip');
  t.after(cleanup);
  writeGossipKeyFile(dir, [randomBytes(32)]);
  const keyring = loadGossipKeyring(dir);
  const rts = IDS.map((id) => runtime(id, dir, { datagramAddress: LOOPBACK }));
  t.after(() => Promise.all(rts.map((rt) => rt.close())));
  const nodes: MembershipNode[] = [];
  const events: MembershipEvent[] = [];
  let n1Address: NodeAddress | undefined;
  for (const [i, rt] of rts.entries()) {
    const node = await MembershipNode.start(rt, {
      profile: 'local',
      seeds: n1Address === undefined ? [] : [{ id: 'n1', address: n1Address }],
      gossip: { keyring, members: IDS },
    });
    if (i === 0) {
      n1Address = node.swim.address;
      node.onEvent((e) => events.push(e));
    }
    nodes.push(node);
  }
  t.after(() => Promise.all(nodes.map((n) => n.stop())));
  const [n1] = nodes;
  assert.ok(n1 && n1Address);
  const converged = (): boolean =>
    nodes.every(
      (n) =>
        n.members().filter((m) => m.status === 'alive' && IDS.includes(m.id as 'n1')).length === 2,
    );
  await waitFor(converged, 15_000, 'three members to see each other alive');

  // A "dead" rumour about n3 at an incarnation far above its own, and a new member "evil".
  const rumours: SwimMessage['updates'] = [
    { kind: 'dead', id: 'n3', host: '127.0.0.1', port: 9, incarnation: 50, from: 'n2' },
    { kind: 'alive', id: 'evil', host: '127.0.0.1', port: 9, incarnation: 90, from: 'evil' },
  ];
  const foreignRing = new GossipKeyring([randomBytes(32)]);
  const nonce = (): Buffer => randomBytes(12);
  const forged = [
    forgedPing('evil', rumours), // plain
    sealDatagram(foreignRing, 'evil', forgedPing('evil', rumours), nonce()), // another key
    sealDatagram(keyring, 'evil', forgedPing('evil', rumours), nonce()), // not a configured member
    sealDatagram(keyring, 'n3', forgedPing('n2', rumours), nonce()), // claims to be n2
  ];
  const before = { ...n1.stats };
  const socket = dgram.createSocket('udp4');
  t.after(() => new Promise<void>((r) => socket.close(() => r())));
  for (const bytes of forged) socket.send(bytes, n1Address.port, n1Address.host);
  await waitFor(
    () => n1.stats.sealRejected - before.sealRejected >= 2,
    5_000,
    'the plain and foreign-key datagrams to be refused',
  );
  await waitFor(
    () => n1.stats.senderRejected - before.senderRejected >= 2,
    5_000,
    'the two datagrams with a wrong sender to be refused',
  );

  assert.equal(n1.member('evil'), undefined, 'no forged member joined');
  assert.ok((n1.member('n3')?.incarnation ?? 0) < 50, 'no forged incarnation taken');
  assert.notEqual(n1.member('n3')?.status, 'dead');
  assert.equal(
    events.some((e) => 'id' in e && e.id === 'evil'),
    false,
    'no event about the forged member',
  );
  assert.equal(n1.stats.decodeErrors, before.decodeErrors, 'refused before decoding');
  const rejections = rts[0]!.lines.join('\n');
  assert.match(rejections, /does not open with the gossip key/);
  assert.match(rejections, /claiming another sender than the sealed one/);
  assert.match(rejections, /not a configured member/);
  await waitFor(converged, 15_000, 'members still converged after the attack');
});

test('a flood of forged datagrams is counted in full but logged at the rejection rate limit', async (t) => {
  const { dir, cleanup } = await tempDir('gossip-flood');
  t.after(cleanup);
  const rt = runtime('n1', dir, { datagramAddress: LOOPBACK });
  t.after(() => rt.close());
  const node = await MembershipNode.start(rt, {
    profile: 'local',
    gossip: { keyring: new GossipKeyring([randomBytes(32)]) },
  });
  t.after(() => node.stop());
  const socket = dgram.createSocket('udp4');
  t.after(() => new Promise<void>((r) => socket.close(() => r())));
  const plain = forgedPing('evil', []);
  const sent = 200;
  // Paced by the send callbacks so that the loopback socket buffer does not drop any.
  for (let i = 0; i < sent; i++) {
    await new Promise<void>((resolve, reject) =>
      socket.send(plain, node.swim.address.port, node.swim.address.host, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  await waitFor(() => node.stats.sealRejected === sent, 5_000, 'every forged datagram counted');
  const logged = rt.lines.filter((l) => l.includes('does not open with the gossip key')).length;
  assert.ok(logged >= 1 && logged < sent / 2, `${logged} of ${sent} refusals logged`);
  assert.equal(node.members().length, 0);
});

test('an insecure membership node says so in its log; a sealing one does not', async (t) => {
  const { dir, cleanup } = await tempDir('gossip-insecure');
  t.after(cleanup);
  const plainRt = runtime('p1', dir, { datagramAddress: LOOPBACK });
  const sealedRt = runtime('s1', dir, { datagramAddress: LOOPBACK });
  t.after(() => Promise.all([plainRt.close(), sealedRt.close()]));
  const plain = await MembershipNode.start(plainRt, { gossip: { insecure: true } });
  const sealed = await MembershipNode.start(sealedRt, {
    gossip: { keyring: new GossipKeyring([randomBytes(32)]) },
  });
  t.after(() => Promise.all([plain.stop(), sealed.stop()]));
  assert.ok(plainRt.lines.some((l) => /"warn".*INSECURE: membership datagrams are plain/.test(l)));
  assert.equal(
    sealedRt.lines.some((l) => l.includes('INSECURE')),
    false,
  );
});
