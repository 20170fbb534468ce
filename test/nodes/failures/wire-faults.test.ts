// Real-socket tests of what a gate's protocol endpoint does with broken input from a manager:
// an invalid message is answered with a structured error and the link keeps serving (a peer
// that keeps at it is logged and closed), a frame that arrives in pieces is handled once it is
// whole, and a frame over the size limit is refused without being buffered, the node serving on.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../../src/protocol/framing.js';
import { encodeValue } from '../../../src/protocol/codec.js';
import {
  CORE_MESSAGES,
  MessageRegistry,
  ProtocolServer,
  type AnyMessage,
} from '../../../src/protocol/index.js';
import type { StreamListener } from '../../../src/runtime/types.js';
import { DC_MESSAGES } from '../../../src/nodes/jobs/dc-wire.js';
import { RawClient, runtime, tempDir, waitFor } from '../../runtime/real/support.js';

const LIMIT = 64 * 1024;
const MAX_PEER_ERRORS = 5;
const DC_REGISTRY = new MessageRegistry(CORE_MESSAGES).register(...DC_MESSAGES);

const HELLO = {
  t: 'hello',
  protocol: { major: 1, minor: 1 },
  capabilities: ['jobs'],
  clusterId: 'salvo',
  environment: 'default',
  role: 'manager',
  nodeId: 'a-m1',
};

describe('a gate endpoint fed broken bytes by a manager', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let rt: ReturnType<typeof runtime>;
  let server: ProtocolServer;
  let listener: StreamListener;
  let handled = 0;

  before(async () => {
    dir = await tempDir('wire-faults');
    rt = runtime('g1', dir.dir, { maxFrameBytes: LIMIT, logLevel: 'warn' });
    server = new ProtocolServer({
      stream: rt.stream,
      timers: rt.timers,
      registry: DC_REGISTRY,
      identity: {
        nodeId: 'g1',
        role: 'gate',
        clusterId: 'salvo',
        environment: 'default',
        datacenter: 'a',
        capabilities: ['jobs'],
      },
      log: rt.log,
      connection: { maxPeerErrors: MAX_PEER_ERRORS },
    });
    server.handle('dc.windows', (m) => {
      handled++;
      return { t: 'dc.windows-ack', job: m.job, merged: 0, duplicates: 0, rejected: 0 };
    });
    server.handle('dc.capacity', () => {
      throw new Error('injected: the capacity coordinator broke');
    });
    listener = await server.start();
  });

  after(async () => {
    await server.close();
    await rt.close();
    await dir.cleanup();
  });

  async function open(): Promise<RawClient> {
    const c = await RawClient.connect(listener.address);
    c.sendValue(HELLO);
    await c.waitMessage((m) => m.t === 'hello');
    return c;
  }

  async function pingPong(c: RawClient, id: number): Promise<void> {
    c.sendValue({ t: 'ping', id });
    await c.waitMessage((m) => m.t === 'pong' && m.re === id);
  }

  /** Every frame the client got, decoded with the DC messages (the raw client knows only core). */
  function replies(c: RawClient): AnyMessage[] {
    const out: AnyMessage[] = [];
    for (const e of c.events) {
      if (e.kind !== 'frame') continue;
      const r = DC_REGISTRY.decode(e.body);
      if (r.ok) out.push(r.message);
    }
    return out;
  }

  function errorsAfter(c: RawClient, from: number): AnyMessage[] {
    return c.messages.slice(from).filter((m) => m.t === 'error');
  }

  it('GM-20.3.1 invalid messages are answered with a structured error and counted; the link keeps serving; a peer that keeps at it is logged and closed', async () => {
    const c = await open();
    const bad: Uint8Array[] = [
      encodeFrame(Uint8Array.from([0xc1])), // not MessagePack at all
      encodeFrame(encodeValue({ t: 'dc.nonsense', id: 11 })), // an unknown type
      encodeFrame(encodeValue({ t: 'dc.windows', id: 12, job: 7 })), // a known type, bad fields
    ];
    const codes: string[] = [];
    for (const [i, frame] of bad.entries()) {
      const from = c.messages.length;
      c.writeRaw(frame);
      await pingPong(c, 100 + i);
      const errs = errorsAfter(c, from);
      assert.equal(errs.length, 1, `bad message ${i} answered once`);
      codes.push(String(errs[0]!.code));
      assert.equal(c.closed, false, 'the link is still open');
    }
    assert.equal(codes.length, 3);
    const schema = c.messages.find((m) => m.t === 'error' && m.re === 12);
    assert.ok(schema, 'the schema error answers the request it refused');
    assert.match(String(schema.message), /job/, 'and names the bad field');
    assert.ok(server.counters.get('errors') >= 3, 'every one counted');
    assert.equal(handled, 0, 'no handler saw a bad message');
    // A well-formed request still reaches its handler on the same link.
    c.sendValue({ t: 'dc.windows', id: 13, job: 'j', dc: 'a', fence: 1, windows: [] });
    await waitFor(() => replies(c).some((m) => m.re === 13), 3_000, 'the answer to request 13');
    assert.equal(replies(c).find((m) => m.re === 13)?.t, 'dc.windows-ack');
    assert.equal(handled, 1);
    // A peer that keeps sending bad messages is logged and closed; the node serves others.
    for (let i = 0; i < MAX_PEER_ERRORS; i++) c.writeRaw(encodeFrame(Uint8Array.from([0xc1])));
    await waitFor(() => c.closed, 3_000, 'the misbehaving link to close');
    assert.ok(rt.lines.some((l) => l.includes('closing a connection that sent bad messages')));
    assert.ok(server.counters.get('peers_closed_for_errors') >= 1);
    const other = await open();
    await pingPong(other, 200);
    other.close();
  });

  it('GM-20.3.2 a frame that arrives in pieces is handled once it is whole; one cut short by a closing peer leaves the node serving', async () => {
    const c = await open();
    const frame = encodeFrame(encodeValue({ t: 'ping', id: 300 }));
    const from = c.messages.length;
    // Header split, then the body byte by byte.
    c.writeRaw(frame.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 20));
    c.writeRaw(frame.subarray(2, FRAME_HEADER_BYTES));
    for (let i = FRAME_HEADER_BYTES; i < frame.length - 1; i++)
      c.writeRaw(frame.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(c.messages.length, from, 'nothing answered before the frame is whole');
    c.writeRaw(frame.subarray(frame.length - 1));
    await c.waitMessage((m) => m.t === 'pong' && m.re === 300);
    assert.equal(errorsAfter(c, from).length, 0, 'a split frame is not an error');
    c.close();
    // A peer that sends half a frame and goes away: nothing is answered, the node serves on.
    const cut = await open();
    const half = encodeFrame(
      encodeValue({ t: 'dc.windows', id: 301, job: 'j', dc: 'a', fence: 1, windows: [] }),
    );
    cut.writeRaw(half.subarray(0, Math.floor(half.length / 2)));
    cut.close();
    const next = await open();
    await pingPong(next, 302);
    assert.equal(handled, 1, 'the cut request never reached a handler');
    next.close();
  });

  it('GM-20.3.3 a frame over the size limit is refused with its size and the limit, without being buffered; the link closes and the node serves new ones', async () => {
    const c = await open();
    const from = c.messages.length;
    const body = new Uint8Array(LIMIT + 1);
    c.writeRaw(encodeFrame(body));
    await waitFor(() => c.closed, 3_000, 'the link with an oversized frame to close');
    const errs = errorsAfter(c, from);
    assert.equal(errs.length, 1);
    assert.equal(errs[0]!.code, 'frame_too_large');
    const details = errs[0]!.details as { sizeBytes: number; limitBytes: number };
    assert.equal(details.sizeBytes, LIMIT + 1);
    assert.equal(details.limitBytes, LIMIT);
    assert.ok(server.counters.get('frame_errors.oversized') >= 1);
    assert.ok(
      rt.lines.some((l) => l.includes('broken frame stream')),
      'logged with the peer',
    );
    const next = await open();
    await pingPong(next, 400);
    next.close();
  });

  it('GM-20.1.1 a handler that throws is answered with a structured error and logged; the link and the node keep serving', async () => {
    const c = await open();
    const from = c.messages.length;
    c.sendValue({ t: 'dc.capacity', id: 500 });
    await waitFor(() => replies(c).some((m) => m.re === 500), 3_000, 'the answer to request 500');
    const answer = replies(c).find((m) => m.re === 500)!;
    assert.equal(answer.t, 'error');
    assert.equal(answer.code, 'internal');
    assert.ok(server.counters.get('handler_failures') >= 1, 'counted');
    assert.equal(errorsAfter(c, from).length, 1);
    assert.ok(
      rt.lines.some((l) => l.includes('injected: the capacity coordinator broke')),
      'the exception is logged',
    );
    assert.equal(c.closed, false);
    await pingPong(c, 501);
    c.sendValue({ t: 'dc.windows', id: 502, job: 'j', dc: 'a', fence: 1, windows: [] });
    await waitFor(() => replies(c).some((m) => m.re === 502), 3_000, 'the answer to request 502');
    assert.equal(replies(c).find((m) => m.re === 502)?.t, 'dc.windows-ack');
    c.close();
  });
});
