// Done-means 3. Property tests (fast-check) throwing random, corrupt, oversized and truncated
// frames at the FrameDecoder (exact model of what must come out), and the same at a LIVE node —
// a ProtocolServer on the real runtime over TCP on 127.0.0.1 — which must never crash, must
// answer every bad frame with a structured error or count it, and must still answer a request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeValue } from '../../src/protocol/codec.js';
import { PROTOCOL_ERROR_CODES, type ErrorMessage } from '../../src/protocol/errors.js';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  type FrameEvent,
} from '../../src/protocol/framing.js';
import { MessageRegistry, type AnyMessage } from '../../src/protocol/messages.js';
import { ProtocolServer } from '../../src/protocol/server.js';
import type { StreamListener } from '../../src/runtime/types.js';
import { RawClient, runtime, tempDir, waitFor } from '../runtime/real/support.js';

const LIMIT = 256;
/** Fixed seed so a failure replays; fast-check prints the counterexample and path. */
const SEED = 0x5a17_0004;

type Planned =
  | { kind: 'ok'; body: Uint8Array }
  | { kind: 'corrupt'; body: Uint8Array; at: number }
  | { kind: 'oversized'; size: number };

const planned: fc.Arbitrary<Planned> = fc.oneof(
  fc.uint8Array({ maxLength: LIMIT }).map((body) => ({ kind: 'ok' as const, body })),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat())
    .map(([body, at]) => ({ kind: 'corrupt' as const, body, at: at % body.length })),
  fc
    .integer({ min: LIMIT + 1, max: LIMIT * 8 })
    .map((size) => ({ kind: 'oversized' as const, size })),
);

function encodePlanned(p: Planned): Uint8Array {
  if (p.kind === 'ok') return encodeFrame(p.body);
  if (p.kind === 'corrupt') {
    const f = encodeFrame(p.body);
    f[FRAME_HEADER_BYTES + p.at] = f[FRAME_HEADER_BYTES + p.at]! ^ 0xff;
    return f;
  }
  return encodeFrame(new Uint8Array(p.size).fill(0xab));
}
function expectOf(p: Planned): string {
  if (p.kind === 'ok') return `frame:${Buffer.from(p.body).toString('hex')}`;
  if (p.kind === 'corrupt') return `error:checksum:${p.body.length}`;
  return `error:oversized:${p.size}`;
}
function show(e: FrameEvent): string {
  return e.kind === 'frame'
    ? `frame:${Buffer.from(e.body).toString('hex')}`
    : `error:${e.error.kind}:${e.error.sizeBytes ?? ''}`;
}
function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
function chunked(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    out.push(stream.subarray(prev, p));
    prev = p;
  }
  return out;
}

void describe('fuzz: random and truncated frames never crash the decoder or a live node', () => {
  void it('decoder: any mix of valid, corrupt and oversized frames, split anywhere, decodes exactly', () => {
    fc.assert(
      fc.property(
        fc.array(planned, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const stream = concat(frames.map(encodePlanned));
          const d = new FrameDecoder(LIMIT);
          const events: string[] = [];
          for (const c of chunked(stream, cuts)) {
            d.push(c, (e) => events.push(show(e)));
            assert.ok(d.bufferedBytes <= LIMIT + FRAME_HEADER_BYTES);
          }
          assert.deepEqual(events, frames.map(expectOf));
          assert.equal(d.finish(), null);
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  void it('decoder: a stream cut anywhere yields a prefix of the frames and a truncated error iff mid-frame', () => {
    fc.assert(
      fc.property(
        fc.array(planned, { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (frames, cutSeed) => {
          const encoded = frames.map(encodePlanned);
          const stream = concat(encoded);
          const cut = cutSeed % (stream.length + 1);
          const d = new FrameDecoder(LIMIT);
          const events = d.pushAll(stream.subarray(0, cut)).map(show);
          let boundary = 0;
          let whole = 0;
          while (whole < encoded.length && boundary + encoded[whole]!.length <= cut)
            boundary += encoded[whole++]!.length;
          // An oversized frame reports its error as soon as its header is read.
          const headerSeen =
            whole < frames.length &&
            frames[whole]!.kind === 'oversized' &&
            cut - boundary >= FRAME_HEADER_BYTES;
          assert.deepEqual(events, frames.slice(0, whole + (headerSeen ? 1 : 0)).map(expectOf));
          const fin = d.finish();
          assert.equal(fin?.kind, cut === boundary ? undefined : 'truncated');
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  void it('decoder: arbitrary garbage bytes never throw and never buffer beyond the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 30 }), (chunks) => {
        const d = new FrameDecoder(LIMIT);
        for (const c of chunks) {
          d.push(c, (e) =>
            assert.ok(e.kind === 'frame' ? e.body.length <= LIMIT : e.error.kind !== 'truncated'),
          );
          assert.ok(d.bufferedBytes <= LIMIT + FRAME_HEADER_BYTES);
        }
        const fin = d.finish();
        assert.ok(fin === null || fin.kind === 'truncated');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  void it('decoder + registry: random MessagePack values become messages or structured errors, never throws', () => {
    const registry = new MessageRegistry();
    const codes = new Set<string>(PROTOCOL_ERROR_CODES);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              t: fc.constantFrom('hello', 'ping', 'pong', 'error', 'nope', ''),
              id: fc.anything(),
              x: fc.anything(),
            },
            { requiredKeys: ['t'] },
          ),
        ),
        (value) => {
          let body: Uint8Array;
          try {
            body = encodeValue(value);
          } catch (err) {
            // fast-check can build values MessagePack cannot express (e.g. symbols): not wire input.
            assert.ok(err instanceof Error);
            return;
          }
          const r = registry.decode(body);
          if (!r.ok) {
            assert.equal(r.error.t, 'error');
            assert.ok(codes.has(r.error.code), r.error.code);
            assert.ok(r.error.message.length > 0);
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    );
  });

  void describe('live node over TCP on 127.0.0.1', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let rt: ReturnType<typeof runtime>;
    let server: ProtocolServer;
    let listener: StreamListener;
    const identity = {
      nodeId: 'fuzz-target',
      role: 'manager' as const,
      clusterId: 'c',
      environment: 'e',
      capabilities: [],
    };
    const hello = {
      t: 'hello',
      protocol: { major: 1, minor: 1 },
      capabilities: [],
      clusterId: 'c',
      environment: 'e',
      role: 'manager',
      nodeId: 'fuzzer',
    };

    before(async () => {
      dir = await tempDir('fuzz');
      rt = runtime('fuzz-target', dir.dir, { maxFrameBytes: LIMIT, logLevel: 'error' });
      server = new ProtocolServer({
        stream: rt.stream,
        timers: rt.timers,
        registry: new MessageRegistry(),
        identity,
        log: rt.log,
        maxConnections: 64,
        // Bad messages are answered and the link kept; this property sends hundreds on one link.
        connection: { maxPeerErrors: 1_000_000 },
      });
      listener = await server.start();
    });
    after(async () => {
      await server.close();
      await rt.close();
      await dir.cleanup();
    });

    async function ping(c: RawClient, id: number): Promise<AnyMessage[]> {
      const from = c.messages.length;
      c.sendValue({ t: 'ping', id });
      await c.waitMessage((m) => m.t === 'pong' && m.re === id);
      const idx = c.messages.findIndex((m) => m.t === 'pong' && m.re === id);
      return c.messages.slice(from, idx);
    }

    const badFrame: fc.Arbitrary<{ label: string; bytes: Uint8Array }> = fc.oneof(
      planned
        .filter((p) => p.kind !== 'ok')
        .map((p) => ({ label: p.kind, bytes: encodePlanned(p) })),
      fc
        .uint8Array({ minLength: 1, maxLength: LIMIT })
        .map((b) => ({ label: 'random body', bytes: encodeFrame(b) })),
      fc.anything().map((v) => {
        try {
          const body = encodeValue(v);
          return {
            label: 'random value',
            bytes: body.length <= LIMIT ? encodeFrame(body) : encodeFrame(Uint8Array.from([0xc1])),
          };
        } catch (err) {
          assert.ok(err instanceof Error);
          return { label: 'unencodable', bytes: encodeFrame(Uint8Array.from([0xc1])) };
        }
      }),
      fc
        .record({
          t: fc.constantFrom('ping', 'pong', 'hello', 'error', 'x.y'),
          id: fc.oneof(fc.integer(), fc.string()),
          nodeId: fc.anything(),
        })
        .map((v) => {
          const body = encodeValue(v);
          return {
            label: 'near-valid',
            bytes: body.length <= LIMIT ? encodeFrame(body) : encodeFrame(Uint8Array.from([0xc0])),
          };
        }),
    );

    void it('every bad frame is answered with a structured error or counted; a broken stream is closed, the node still answers', async () => {
      const open = async (): Promise<RawClient> => {
        const c = await RawClient.connect(listener.address);
        c.sendValue(hello);
        await c.waitMessage((m) => m.t === 'hello');
        return c;
      };
      let client = await open();
      const codes = new Set<string>(PROTOCOL_ERROR_CODES);
      // Our pings use ids far above what the fuzzer's own requests are likely to pick.
      let nextId = 4_000_000_000;
      try {
        await fc.assert(
          fc.asyncProperty(badFrame, async (frame) => {
            const errorsBefore = server.counters.get('errors');
            const from = client.messages.length;
            client.writeRaw(frame.bytes);
            if (frame.label === 'corrupt' || frame.label === 'oversized') {
              // The byte stream cannot be trusted any more: one structured error, then a close.
              await waitFor(() => client.closed, 3000, 'the server to close a broken stream');
              const reply = client.messages[from];
              assert.equal(reply?.t, 'error');
              const code = (reply as unknown as ErrorMessage).code;
              assert.ok(code === 'bad_checksum' || code === 'frame_too_large', code);
              client = await open();
              return;
            }
            const between = await ping(client, nextId++);
            assert.ok(!client.closed, 'the connection keeps serving');
            // A random frame can happen to be a valid message (e.g. { t: 'ping', id: 1 }): not bad.
            const valid = new MessageRegistry().decode(frame.bytes.subarray(FRAME_HEADER_BYTES));
            if (valid.ok && frame.label !== 'corrupt') return;
            for (const m of between) {
              assert.equal(m.t, 'error', `only error replies precede the pong (${frame.label})`);
              assert.ok(codes.has((m as unknown as ErrorMessage).code));
            }
            const answered = between.length > 0;
            const counted = server.counters.get('errors') > errorsBefore;
            assert.ok(answered || counted, `${frame.label} neither answered nor counted`);
          }),
          { seed: SEED, numRuns: 300 },
        );
      } finally {
        client.close();
      }
      assert.ok(server.counters.get('errors_sent.malformed') > 0);
    });

    void it('truncated frames and raw garbage on fresh connections never crash the node', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            planned.map((p) => {
              const f = encodePlanned(p);
              return f.subarray(0, Math.max(1, f.length - 1));
            }),
            fc.uint8Array({ minLength: 1, maxLength: 2 * LIMIT }),
          ),
          fc.boolean(),
          async (bytes, helloFirst) => {
            const c = await RawClient.connect(listener.address);
            if (helloFirst) c.sendValue(hello);
            c.writeRaw(bytes);
            c.socket.end();
            await waitFor(
              () => c.closed || c.messages.some((m) => m.t === 'error'),
              3000,
              'close or an error',
            );
            c.close();
          },
        ),
        { seed: SEED, numRuns: 60 },
      );
      await waitFor(() => server.connectionCount === 0, 5000, 'all fuzz connections to close');
      assert.ok(server.counters.get('frame_errors.truncated') > 0);
      // The node still serves a well-behaved peer afterwards.
      const c = await RawClient.connect(listener.address);
      c.sendValue(hello);
      await c.waitMessage((m) => m.t === 'hello');
      assert.deepEqual(await ping(c, 1), []);
      c.close();
      assert.equal(rt.timerFailures(), 0);
      assert.equal(rt.stream.stats.handlerFailures, 0);
    });
  });
});
