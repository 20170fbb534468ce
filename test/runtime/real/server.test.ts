// ProtocolServer on the real runtime over TCP (and TLS): handshake and requests between real
// nodes, refusals over the wire (role, version), and the per-node connection cap with a
// retry-after hint.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  connectPeer,
  defineMessage,
  MessageRegistry,
  ProtocolError,
  ProtocolServer,
  s,
  type LocalIdentity,
  type RpcConnection,
} from '../../../src/protocol/index.js';
import { makeCerts, type TestCerts } from '../../support/certs.js';
import { RawClient, runtime, tempDir, waitFor } from './support.js';

let shared: TestCerts | null = null;
/** Certificates for m1 (a manager) and g1 (a client), made once for this file. */
function certs(): TestCerts {
  shared ??= makeCerts(['m1'], ['g1'], 'c1');
  return shared;
}
after(() => shared?.cleanup());

const Add = defineMessage('test.add', { a: s.int(), b: s.int() });
const Sum = defineMessage('test.sum', { sum: s.int() });

function ident(
  nodeId: string,
  role: LocalIdentity['role'],
  over: Partial<LocalIdentity> = {},
): LocalIdentity {
  return {
    nodeId,
    role,
    clusterId: 'c1',
    environment: 'test',
    capabilities: ['fence_tokens'],
    ...over,
  };
}

async function setup(over: { maxConnections?: number; tls?: boolean } = {}) {
  const dir = await tempDir('server');
  const a = runtime('m1', dir.dir, over.tls ? { tls: certs().node('m1') } : {});
  const b = runtime('m2', dir.dir, over.tls ? { tls: certs().client('g1') } : {});
  const registry = () => new MessageRegistry().register(Add, Sum);
  const server = new ProtocolServer({
    stream: a.stream,
    timers: a.timers,
    registry: registry(),
    identity: ident('m1', 'manager'),
    log: a.log,
    ...(over.maxConnections !== undefined
      ? { maxConnections: over.maxConnections, connectionRetryAfterMs: 750 }
      : {}),
  });
  server.handle(Add, (m) => ({ t: 'test.sum', sum: m.a + m.b }));
  const listener = await server.start();
  const dial = (id: LocalIdentity): Promise<RpcConnection> =>
    connectPeer(b.stream, listener.address, {
      registry: registry(),
      timers: b.timers,
      identity: id,
      connectTimeoutMs: 2000,
    });
  const teardown = async (): Promise<void> => {
    await server.close();
    await Promise.all([a.close(), b.close()]);
    await dir.cleanup();
  };
  return { a, b, server, listener, dial, teardown };
}

void describe('ProtocolServer on the real runtime', () => {
  void it('handshakes and serves requests between two real nodes (TCP)', async () => {
    const t = await setup();
    const peers: string[] = [];
    t.server.onPeer((p) => peers.push(p.session!.remoteNodeId));
    const peer = await t.dial(ident('w1', 'worker'));
    assert.deepEqual(peer.session?.capabilities, ['fence_tokens']);
    assert.equal(peer.session?.remoteRole, 'manager');
    const rs = await Promise.all(
      [1, 2, 3].map((i) => peer.request({ t: 'test.add', a: i, b: 10 })),
    );
    assert.deepEqual(
      rs.map((r) => r.ok && r.message.sum),
      [11, 12, 13],
    );
    await waitFor(() => peers.length === 1);
    assert.deepEqual(peers, ['w1']);
    assert.equal(t.server.peers().length, 1);
    peer.close();
    await waitFor(() => t.server.connectionCount === 0);
    await t.teardown();
  });

  void it('handshakes and serves over mutual TLS; the session names the certified peer', async () => {
    const t = await setup({ tls: true });
    const sessions: { id: string; authenticated: boolean }[] = [];
    t.server.onPeer((p) =>
      sessions.push({ id: p.session!.remoteNodeId, authenticated: p.session!.authenticated }),
    );
    const peer = await t.dial(ident('g1', 'client'));
    assert.equal(peer.session?.authenticated, true);
    assert.equal(peer.session?.remoteNodeId, 'm1');
    const r = await peer.request({ t: 'test.add', a: 2, b: 2 });
    assert.equal(r.ok && r.message.sum, 4);
    assert.deepEqual(sessions, [{ id: 'g1', authenticated: true }]);
    peer.close();
    await t.teardown();
  });

  void it('refuses a forbidden role and a different major version over the wire', async () => {
    const t = await setup();
    await assert.rejects(
      t.dial(ident('c1', 'client', { protocol: { major: 2, minor: 0 } })),
      (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.equal(e.code, 'version');
        assert.match(e.message, /speaks 1\.\d+, peer c1 speaks 2\.0/);
        return true;
      },
    );
    // A cluster id mismatch is refused the same way.
    await assert.rejects(t.dial(ident('x', 'gate', { clusterId: 'other' })), /cluster id mismatch/);
    await waitFor(() => t.server.connectionCount === 0);
    assert.equal(t.server.counters.get('handshake_rejected.version'), 1);
    await t.teardown();
  });

  void it('a gate refuses a worker (role matrix, enforced by the receiver)', async () => {
    const dir = await tempDir('roles');
    const g = runtime('g', dir.dir);
    const w = runtime('w', dir.dir);
    const server = new ProtocolServer({
      stream: g.stream,
      timers: g.timers,
      registry: new MessageRegistry(),
      identity: ident('g', 'gate'),
    });
    const l = await server.start();
    // A raw client skips the initiator's own matrix check, so the acceptor's check is what acts.
    const raw = await RawClient.connect(l.address);
    raw.sendValue({
      t: 'hello',
      protocol: { major: 1, minor: 0 },
      capabilities: [],
      clusterId: 'c1',
      environment: 'test',
      role: 'worker',
      nodeId: 'w',
    });
    const err = await raw.waitMessage((m) => m.t === 'error');
    assert.equal(err.code, 'role_forbidden');
    assert.equal(err.message, 'a worker may not connect to a gate');
    await waitFor(() => raw.closed);
    await server.close();
    await Promise.all([g.close(), w.close()]);
    await dir.cleanup();
  });

  void it('over the connection cap: over_capacity with retryAfterMs, then close; serves again after', async () => {
    const t = await setup({ maxConnections: 2 });
    const p1 = await t.dial(ident('a', 'gate'));
    const p2 = await t.dial(ident('b', 'gate'));
    await assert.rejects(t.dial(ident('c', 'gate')), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.code, 'over_capacity');
      assert.equal(e.details.retryAfterMs, 750);
      assert.equal(e.details.limit, 2);
      return true;
    });
    assert.equal(t.server.counters.get('connections_refused.over_capacity'), 1);
    p1.close();
    await waitFor(() => t.server.connectionCount === 1);
    const p3 = await t.dial(ident('d', 'gate'));
    const r = await p3.request({ t: 'test.add', a: 1, b: 1 });
    assert.equal(r.ok && r.message.sum, 2);
    p2.close();
    p3.close();
    await t.teardown();
  });
});
