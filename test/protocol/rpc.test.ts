// RpcConnection over an in-memory link with manual timers: handshake outcomes, request/reply,
// timeouts and in-flight cleanup, close, caps, dispatch, and structured replies to bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeValue } from '../../src/protocol/codec.js';
import { ProtocolCounters } from '../../src/protocol/counters.js';
import type { ErrorMessage } from '../../src/protocol/errors.js';
import type { LocalIdentity } from '../../src/protocol/handshake.js';
import { defineMessage, MessageRegistry, type AnyMessage } from '../../src/protocol/messages.js';
import { RpcConnection, type RpcOptions } from '../../src/protocol/rpc.js';
import { s } from '../../src/protocol/schema.js';
import { flush, ManualTimers, memoryPair, type MemoryConnection } from './memory-link.js';

const Echo = defineMessage('test.echo', { text: s.string({ maxLength: 1000 }) });
const Echoed = defineMessage('test.echoed', { text: s.string({ maxLength: 1000 }) });

function identity(role: LocalIdentity['role'], over: Partial<LocalIdentity> = {}): LocalIdentity {
  return {
    nodeId: `${role}-x`,
    role,
    clusterId: 'c',
    environment: 'e',
    capabilities: ['a'],
    ...over,
  };
}

interface Pair {
  client: RpcConnection;
  server: RpcConnection;
  clientLink: MemoryConnection;
  serverLink: MemoryConnection;
  timers: ManualTimers;
  serverCounters: ProtocolCounters;
}

function pair(
  opts: {
    client?: Partial<RpcOptions>;
    server?: Partial<RpcOptions>;
    clientId?: LocalIdentity;
    serverId?: LocalIdentity;
  } = {},
): Pair {
  const [clientLink, serverLink] = memoryPair();
  const timers = new ManualTimers();
  const registry = new MessageRegistry().register(Echo, Echoed);
  const serverCounters = new ProtocolCounters();
  const server = new RpcConnection(serverLink, 'inbound', {
    registry,
    timers,
    identity: opts.serverId ?? identity('manager', { nodeId: 'srv' }),
    counters: serverCounters,
    ...opts.server,
  });
  server.handle(Echo, (m) => ({ t: 'test.echoed', text: m.text.toUpperCase() }));
  const client = new RpcConnection(clientLink, 'outbound', {
    registry,
    timers,
    identity: opts.clientId ?? identity('gate', { nodeId: 'cli' }),
    ...opts.client,
  });
  return { client, server, clientLink, serverLink, timers, serverCounters };
}

/** Raw frames the client link received, decoded loosely. */
function received(p: Pair): AnyMessage[] {
  const reg = new MessageRegistry();
  return p.serverLink.sent.map((f) => {
    const r = reg.check(JSON.parse(JSON.stringify(decodeLoose(f))));
    return r.ok ? r.message : (decodeLoose(f) as AnyMessage);
  });
}
function decodeLoose(f: Uint8Array): unknown {
  const r = new MessageRegistry().decode(f);
  return r.ok ? r.message : r.error;
}

void describe('RpcConnection handshake', () => {
  void it('agrees on a session and serves requests', async () => {
    const p = pair();
    const [c, sv] = await Promise.all([p.client.ready, p.server.ready]);
    assert.ok(c.ok && sv.ok);
    assert.equal(c.session.remoteNodeId, 'srv');
    assert.equal(sv.session.remoteRole, 'gate');
    assert.deepEqual(c.session.capabilities, ['a']);
    const r = await p.client.request({ t: 'test.echo', text: 'hi' });
    assert.deepEqual(r.ok && r.message, { t: 'test.echoed', text: 'HI', re: 1 });
    const ping = await p.client.request({ t: 'ping' });
    assert.equal(ping.ok && ping.message.t, 'pong');
    assert.equal(ping.ok && ping.message.nodeId, 'srv');
  });

  void it('a worker dialling a gate is refused with role_forbidden and both sides close', async () => {
    const p = pair({ clientId: identity('worker'), serverId: identity('gate') });
    const [c, sv] = await Promise.all([p.client.ready, p.server.ready]);
    assert.ok(!c.ok && !sv.ok);
    assert.equal(c.error.code, 'role_forbidden');
    assert.equal(c.error.message, 'a worker may not connect to a gate');
    await flush();
    assert.ok(p.client.isClosed && p.server.isClosed);
    assert.equal(p.serverCounters.get('handshake_rejected.role_forbidden'), 1);
    const after = await p.client.request({ t: 'ping' });
    assert.equal(!after.ok && after.error.code, 'role_forbidden');
  });

  void it('a different major version is refused naming both versions', async () => {
    const p = pair({ clientId: identity('gate', { protocol: { major: 9, minor: 1 } }) });
    const c = await p.client.ready;
    assert.ok(!c.ok);
    assert.equal(c.error.code, 'version');
    assert.match(c.error.message, /speaks 1\.\d+, peer gate-x speaks 9\.1/);
  });

  void it('cluster and environment mismatches are refused', async () => {
    const c1 = await pair({ clientId: identity('gate', { clusterId: 'other' }) }).client.ready;
    assert.equal(!c1.ok && c1.error.code, 'cluster_mismatch');
    const c2 = await pair({ clientId: identity('gate', { environment: 'other' }) }).client.ready;
    assert.equal(!c2.ok && c2.error.code, 'environment_mismatch');
  });

  void it('answers a message before hello with handshake_required and closes', async () => {
    const [peerLink, serverLink] = memoryPair();
    const timers = new ManualTimers();
    const server = new RpcConnection(serverLink, 'inbound', {
      registry: new MessageRegistry(),
      timers,
      identity: identity('manager'),
    });
    peerLink.onFrame(() => undefined);
    peerLink.send(encodeValue({ t: 'ping', id: 5 }));
    await flush();
    const reply = decodeLoose(serverLink.sent[0]!) as ErrorMessage;
    assert.equal(reply.code, 'handshake_required');
    assert.equal(reply.re, 5);
    const outcome = await server.ready;
    assert.equal(!outcome.ok && outcome.error.code, 'handshake_required');
    assert.ok(server.isClosed, 'garbage instead of a hello ends the connection');
    assert.equal(timers.armed, 0, 'no handshake timer left behind');
  });
});

void describe('RpcConnection requests', () => {
  void it('times out with a structured error, frees the slot, and counts a late reply', async () => {
    const p = pair();
    let release: (() => void) | undefined;
    p.server.handle(
      'test.echo',
      (m) =>
        new Promise(
          (resolve) => (release = () => resolve({ t: 'test.echoed', text: String(m.text) })),
        ),
    );
    await p.client.ready;
    const pending = p.client.request({ t: 'test.echo', text: 'slow' }, { timeoutMs: 100 });
    await flush();
    assert.equal(p.client.inFlight, 1);
    p.timers.advance(100);
    const r = await pending;
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'timeout');
    assert.deepEqual(r.error.details, { type: 'test.echo', timeoutMs: 100 });
    assert.equal(p.client.inFlight, 0);
    release!();
    await flush();
    assert.equal(p.client.counters.get('late_replies'), 1);
    assert.equal(p.client.counters.get('timeouts'), 1);
  });

  void it('resolves every pending request with connection_closed on close and cancels timers', async () => {
    const p = pair({ server: { idleTimeoutMs: 0 } });
    p.server.handle('test.echo', () => new Promise(() => undefined));
    await p.client.ready;
    const armedBefore = p.timers.armed;
    const rs = [1, 2, 3].map((i) =>
      p.client.request({ t: 'test.echo', text: `${i}` }, { timeoutMs: 1000 }),
    );
    await flush();
    assert.equal(p.timers.armed, armedBefore + 3);
    p.client.close();
    const out = await Promise.all(rs);
    assert.deepEqual(
      out.map((r) => !r.ok && r.error.code),
      ['connection_closed', 'connection_closed', 'connection_closed'],
    );
    assert.equal(p.client.inFlight, 0);
    assert.equal(p.timers.armed, armedBefore);
    const late = await p.client.request({ t: 'ping' });
    assert.equal(!late.ok && late.error.code, 'connection_closed');
    assert.equal(p.client.notify({ t: 'ping' }), false);
  });

  void it('caps in-flight requests locally with over_capacity', async () => {
    const p = pair({ client: { maxInFlight: 2 } });
    p.server.handle('test.echo', () => new Promise(() => undefined));
    await p.client.ready;
    void p.client.request({ t: 'test.echo', text: '1' });
    void p.client.request({ t: 'test.echo', text: '2' });
    const third = await p.client.request({ t: 'test.echo', text: '3' });
    assert.equal(!third.ok && third.error.code, 'over_capacity');
    assert.equal(p.client.counters.get('in_flight_rejected'), 1);
    p.client.close();
  });

  void it('sheds peer requests over the concurrent-handler cap with a retry hint', async () => {
    const p = pair({ server: { maxConcurrentHandlers: 1, retryAfterMs: 250 } });
    p.server.handle('test.echo', () => new Promise(() => undefined));
    await p.client.ready;
    void p.client.request({ t: 'test.echo', text: '1' });
    const second = await p.client.request({ t: 'test.echo', text: '2' });
    assert.ok(!second.ok);
    assert.equal(second.error.code, 'over_capacity');
    assert.equal(second.error.details?.retryAfterMs, 250);
    p.client.close();
  });

  void it('answers unknown types, missing handlers, schema errors and failing handlers with errors', async () => {
    const p = pair();
    p.server.handle('test.echoed', () => {
      throw new Error('boom');
    });
    await p.client.ready;
    const noHandler = await p.client.request({ t: 'pong', nodeId: 'n' });
    assert.equal(!noHandler.ok && noHandler.error.code, 'no_handler');
    const failing = await p.client.request({ t: 'test.echoed', text: 'x' });
    assert.ok(!failing.ok);
    assert.equal(failing.error.code, 'internal');
    assert.doesNotMatch(failing.error.message, /boom/, 'no internals leak');
    // Raw frames bypass the client's outgoing validation.
    p.clientLink.send(encodeValue({ t: 'nope', id: 900 }));
    p.clientLink.send(encodeValue({ t: 'test.echo', id: 901, text: 5 }));
    p.clientLink.send(Uint8Array.from([0xc1]));
    await flush();
    const errs = received(p).filter((m) => m.t === 'error') as unknown as ErrorMessage[];
    assert.deepEqual(
      errs.map((e) => [e.code, e.re]),
      [
        ['no_handler', 1],
        ['internal', 2],
        ['unknown_type', 900],
        ['schema', 901],
        ['malformed', undefined],
      ],
    );
    assert.equal(p.serverCounters.get('handler_failures'), 1);
    assert.equal(p.serverCounters.get('decode_errors.schema'), 1);
    assert.ok(p.server.isOpen, 'still serving');
    const ok = await p.client.request({ t: 'test.echo', text: 'still' });
    assert.ok(ok.ok);
  });

  void it('a peer that keeps sending bad messages is answered, then closed after maxPeerErrors', async () => {
    const p = pair({ server: { maxPeerErrors: 3 } });
    await p.client.ready;
    for (let i = 0; i < 3; i++) p.clientLink.send(encodeValue({ t: 'nope', id: 100 + i }));
    await flush();
    assert.ok(p.server.isOpen, 'up to the limit, bad messages are answered and the link serves on');
    p.clientLink.send(encodeValue({ t: 'nope', id: 200 }));
    await flush();
    assert.ok(p.server.isClosed);
    assert.equal(p.serverCounters.get('peers_closed_for_errors'), 1);
    const codes = received(p)
      .filter((m) => m.t === 'error')
      .map((m) => (m as unknown as ErrorMessage).code);
    assert.deepEqual(codes, ['unknown_type', 'unknown_type', 'unknown_type', 'unknown_type']);
  });

  void it('answers a broken frame stream (oversized, bad checksum, over budget) with a structured error, then closes', async () => {
    const cases = [
      [
        { kind: 'oversized', sizeBytes: 5_000_000, limitBytes: 1_048_576, message: 'too big' },
        'frame_too_large',
        { sizeBytes: 5_000_000, limitBytes: 1_048_576 },
      ],
      [{ kind: 'checksum', sizeBytes: 10, message: 'crc' }, 'bad_checksum', { sizeBytes: 10 }],
      [
        { kind: 'over_budget', sizeBytes: 900_000, message: 'no room' },
        'over_capacity',
        { sizeBytes: 900_000, retryAfterMs: 1_000 },
      ],
    ] as const;
    for (const [error, code, details] of cases) {
      const p = pair();
      await p.client.ready;
      const peerErrors: ErrorMessage[] = [];
      p.client.onPeerError((e) => peerErrors.push(e));
      p.serverLink.injectFrameError(error);
      await flush();
      assert.deepEqual(
        peerErrors.map((e) => [e.code, e.details]),
        [[code, details]],
      );
      assert.equal(p.serverCounters.get(`frame_errors.${error.kind}`), 1);
      assert.ok(
        p.server.isClosed,
        `${error.kind}: the stream cannot be resynchronised, so it is closed`,
      );
      assert.ok(p.client.isClosed);
    }
  });

  void it('refuses to send an oversized request and tells the peer when its reply is too big', async () => {
    const p = pair({ client: { maxFrameBytes: 128 }, server: { maxFrameBytes: 128 } });
    await p.client.ready;
    const big = await p.client.request({ t: 'test.echo', text: 'x'.repeat(150) });
    assert.ok(!big.ok);
    assert.equal(big.error.code, 'frame_too_large');
    assert.equal(big.error.details?.limitBytes, 128);
    p.server.handle('test.echo', () => ({ t: 'test.echoed', text: 'y'.repeat(200) }));
    const r = await p.client.request({ t: 'test.echo', text: 'small' });
    assert.equal(!r.ok && r.error.code, 'frame_too_large');
  });

  void it('dispatches notifications without replying', async () => {
    const p = pair();
    const seen: string[] = [];
    p.server.handle('test.echo', (m, ctx) => {
      seen.push(`${m.text}:${ctx.isRequest}`);
      return undefined;
    });
    await p.client.ready;
    assert.equal(p.client.notify({ t: 'test.echo', text: 'n' }), true);
    assert.equal(p.client.notify({ t: 'test.echo', text: 5 }), false, 'invalid outgoing refused');
    await flush();
    assert.deepEqual(seen, ['n:false']);
    assert.equal(received(p).filter((m) => m.t === 'error').length, 0);
  });
});

void describe('RpcConnection on an already-closed link', () => {
  void it('settles ready with connection_closed instead of hanging', async () => {
    const [a] = memoryPair();
    a.close();
    const timers = new ManualTimers();
    const c = new RpcConnection(a, 'outbound', {
      registry: new MessageRegistry(),
      timers,
      identity: identity('gate'),
    });
    const outcome = await c.ready;
    assert.equal(!outcome.ok && outcome.error.code, 'connection_closed');
    assert.equal(timers.armed, 0);
  });
});
