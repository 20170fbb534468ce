// The simulated network: latency bounds, loss, duplication and reordering of datagrams,
// in-order streams (loss resets, partitions stall then time out), symmetric and one-way
// partitions with heal, DC-pair link models, refusals, oversize and corruption.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_BUFFERED_FRAMES,
  MAX_DATAGRAM_BYTES,
  SimNetworkError,
  Simulation,
} from '../../../src/runtime/sim/index.js';
import type { FrameError } from '../../../src/runtime/types.js';
import {
  bytes,
  connect,
  datagramSink,
  inversions,
  runtimeOf,
  streamSink,
  text,
} from './helpers.js';

const SEED = 7;

describe('datagrams', () => {
  test('latency stays within [min, max + jitter) and the default is LAN-like', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 10, max: 20 }, jitterMs: 5 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    const a = runtimeOf(sim, 'a');
    for (let i = 0; i < 500; i++) {
      a.datagram.send(sim.node('b').address, bytes(String(i)));
    }
    await sim.run(100);
    assert.equal(got.length, 500);
    for (const r of got) {
      assert.ok(r.atMs >= 10 && r.atMs < 25, `delay ${r.atMs} outside [10, 25)`);
      assert.equal(r.from, sim.node('a').address.host);
    }
    const spread = Math.max(...got.map((r) => r.atMs)) - Math.min(...got.map((r) => r.atMs));
    assert.ok(spread > 10, `latency should vary across the range, spread ${spread}`);
  });

  test('latency distributions stay in bounds and shape the spread', async () => {
    const medians: Record<string, number> = {};
    for (const distribution of ['uniform', 'normal', 'tail'] as const) {
      const sim = new Simulation({
        seed: SEED,
        defaultLink: { latencyMs: { min: 10, max: 110, distribution } },
      });
      sim.addNode({ id: 'a' }, () => undefined);
      const { got } = datagramSink(sim, 'b');
      for (let i = 0; i < 2_000; i++) {
        runtimeOf(sim, 'a').datagram.send(sim.node('b').address, bytes(String(i)));
      }
      await sim.run(200);
      const delays = got.map((r) => r.atMs).sort((x, y) => x - y);
      assert.ok((delays[0] ?? 0) >= 10 && (delays.at(-1) ?? 999) <= 110, distribution);
      medians[distribution] = delays[delays.length >> 1] ?? 0;
    }
    assert.ok(Math.abs((medians['uniform'] ?? 0) - 60) < 5, `uniform median ${medians['uniform']}`);
    assert.ok(Math.abs((medians['normal'] ?? 0) - 60) < 3, `normal median ${medians['normal']}`);
    assert.ok((medians['tail'] ?? 99) < 30, `tail median ${medians['tail']}`);
  });

  test('loss is honoured statistically and every drop is counted', async () => {
    const sent = 10_000;
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 2 }, loss: 0.2 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    const a = runtimeOf(sim, 'a');
    for (let i = 0; i < sent; i++) {
      a.datagram.send(sim.node('b').address, bytes(String(i)));
    }
    await sim.run(10);
    const lossRate = 1 - got.length / sent;
    // σ = sqrt(0.2·0.8/10000) = 0.004; ±0.02 is five sigma.
    assert.ok(Math.abs(lossRate - 0.2) < 0.02, `loss rate ${lossRate}`);
    assert.equal(sim.stats.datagramsSent, sent);
    assert.equal(sim.stats.datagramsDropped, sent - got.length);
  });

  test('duplication delivers some datagrams twice', async () => {
    const sent = 2_000;
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 5 }, duplicate: 0.3 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    for (let i = 0; i < sent; i++) {
      runtimeOf(sim, 'a').datagram.send(sim.node('b').address, bytes(String(i)));
    }
    await sim.run(50);
    const counts = new Map<string, number>();
    for (const r of got) {
      counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
    }
    const twice = [...counts.values()].filter((c) => c === 2).length;
    assert.equal(counts.size, sent, 'every datagram arrives at least once');
    assert.ok(Math.abs(twice / sent - 0.3) < 0.05, `duplicated share ${twice / sent}`);
    assert.equal(sim.stats.datagramsDuplicated, twice);
  });

  test('reordering lets later datagrams overtake; without it a fixed latency keeps order', async () => {
    for (const reorder of [0, 0.3]) {
      const sim = new Simulation({
        seed: SEED,
        defaultLink: { latencyMs: { min: 5, max: 5 }, reorder, reorderDelayMs: 20 },
      });
      sim.addNode({ id: 'a' }, (rt) => {
        let i = 0;
        const h = rt.timers.every(1, () => {
          rt.datagram.send(sim.node('b').address, bytes(String(i++)));
          if (i === 1_000) {
            h.cancel();
          }
        });
      });
      const { got } = datagramSink(sim, 'b');
      await sim.run(1_100);
      assert.equal(got.length, 1_000);
      const order = got.map((r) => Number(r.text));
      if (reorder === 0) {
        assert.equal(inversions(order), 0);
      } else {
        assert.ok(inversions(order) > 50, `expected reordering, ${inversions(order)} inversions`);
      }
    }
  });

  test('oversized datagrams are dropped and counted, never thrown', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    const a = runtimeOf(sim, 'a');
    a.datagram.send(sim.node('b').address, new Uint8Array(MAX_DATAGRAM_BYTES + 1));
    a.datagram.send(sim.node('b').address, new Uint8Array(MAX_DATAGRAM_BYTES));
    a.datagram.send({ host: 'nowhere', port: 1 }, bytes('x'));
    await sim.run(10);
    assert.equal(got.length, 1);
    assert.equal(sim.stats.datagramsDropped, 2);
  });

  test('the sender mutating its buffer after send does not change what arrives', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    const buffer = bytes('before');
    runtimeOf(sim, 'a').datagram.send(sim.node('b').address, buffer);
    buffer.set(bytes('AFTER!'));
    await sim.run(10);
    assert.equal(got[0]?.text, 'before');
  });

  test('corruption flips a byte of some datagrams', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 1 }, corrupt: 0.5 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const { got } = datagramSink(sim, 'b');
    for (let i = 0; i < 200; i++) {
      runtimeOf(sim, 'a').datagram.send(sim.node('b').address, bytes('payload'));
    }
    await sim.run(10);
    const damaged = got.filter((r) => r.text !== 'payload').length;
    assert.equal(damaged, sim.stats.datagramsCorrupted);
    assert.ok(damaged > 50 && damaged < 150, `damaged ${damaged}`);
  });
});

describe('partitions and link models', () => {
  function trio(sim: Simulation): Record<'a' | 'b' | 'c', string[]> {
    const seen = { a: [] as string[], b: [] as string[], c: [] as string[] };
    for (const id of ['a', 'b', 'c'] as const) {
      sim.addNode({ id }, async (rt) => {
        await rt.datagram.bind((_from, data) => seen[id].push(text(data)));
      });
    }
    return seen;
  }

  function everyoneSends(sim: Simulation, tag: string): void {
    for (const from of ['a', 'b', 'c']) {
      for (const to of ['a', 'b', 'c']) {
        if (from !== to) {
          runtimeOf(sim, from).datagram.send(sim.node(to).address, bytes(`${tag}:${from}>${to}`));
        }
      }
    }
  }

  test('a symmetric partition cuts both ways, leaves others alone, and heals', async () => {
    const sim = new Simulation({ seed: SEED });
    const seen = trio(sim);
    sim.network.partition(['a'], ['b']);
    assert.ok(sim.network.isBlocked('a', 'b') && sim.network.isBlocked('b', 'a'));
    everyoneSends(sim, 'cut');
    await sim.run(50);
    assert.deepEqual(seen.a.sort(), ['cut:c>a']);
    assert.deepEqual(seen.b.sort(), ['cut:c>b']);
    assert.deepEqual(seen.c.sort(), ['cut:a>c', 'cut:b>c']);
    sim.network.heal();
    everyoneSends(sim, 'healed');
    await sim.run(50);
    assert.ok(seen.a.includes('healed:b>a') && seen.b.includes('healed:a>b'));
  });

  test('a one-way partition drops only A→B', async () => {
    const sim = new Simulation({ seed: SEED });
    const seen = trio(sim);
    sim.network.partition(['a'], ['b'], { oneWay: true });
    everyoneSends(sim, 'x');
    await sim.run(50);
    assert.ok(!seen.b.includes('x:a>b'));
    assert.ok(seen.a.includes('x:b>a'));
  });

  test('datagrams already in flight are dropped when a partition starts before they land', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 10, max: 10 } },
    });
    const seen = trio(sim);
    runtimeOf(sim, 'a').datagram.send(sim.node('b').address, bytes('in flight'));
    await sim.run(5);
    sim.network.partition(['a'], ['b']);
    await sim.run(20);
    assert.deepEqual(seen.b, []);
  });

  test('isolate cuts a node from everyone; heal restores it', async () => {
    const sim = new Simulation({ seed: SEED });
    const seen = trio(sim);
    sim.network.isolate('c');
    everyoneSends(sim, 'iso');
    await sim.run(50);
    assert.deepEqual(seen.c, []);
    assert.deepEqual(seen.a.sort(), ['iso:b>a']);
    sim.network.heal();
    everyoneSends(sim, 'back');
    await sim.run(50);
    assert.deepEqual(seen.c.sort(), ['back:a>c', 'back:b>c']);
  });

  test('DC-pair models apply between datacenters; node-pair overrides win; DCs can be cut', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 1 } },
    });
    sim.addNode({ id: 'a', dc: 'east' }, () => undefined);
    const b = datagramSink(sim, 'b', 'west');
    const c = datagramSink(sim, 'c', 'east');
    const d = datagramSink(sim, 'd', 'west');
    sim.network.setDcLink('east', 'west', { latencyMs: { min: 80, max: 80 } });
    sim.network.setLink('a', 'd', { latencyMs: { min: 30, max: 30 } });
    assert.equal(sim.network.link('b', 'a').latencyMs.min, 80);
    const a = runtimeOf(sim, 'a');
    a.datagram.send(sim.node('b').address, bytes('far'));
    a.datagram.send(sim.node('c').address, bytes('near'));
    a.datagram.send(sim.node('d').address, bytes('override'));
    await sim.run(100);
    assert.deepEqual([b.got[0]?.atMs, c.got[0]?.atMs, d.got[0]?.atMs], [80, 1, 30]);
    sim.network.partitionDcs('east', 'west');
    a.datagram.send(sim.node('b').address, bytes('cut'));
    a.datagram.send(sim.node('c').address, bytes('same dc'));
    await sim.run(100);
    assert.equal(b.got.length, 1);
    assert.equal(c.got.length, 2);
  });

  test('bad link models are rejected with the field named', () => {
    const sim = new Simulation({ seed: SEED });
    assert.throws(() => sim.network.setLink('a', 'b', { loss: 1.5 }), /loss must be in \[0, 1\]/);
    assert.throws(
      () => sim.network.setDcLink('x', 'y', { latencyMs: { min: 5, max: 1 } }),
      /latencyMs needs 0 <= min <= max/,
    );
  });
});

describe('streams', () => {
  test('frames arrive in order on one connection even with wide latency and reorder set', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 50 }, reorder: 0.5 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    const conn = await connect(sim, 'a', 'b');
    for (let i = 0; i < 1_000; i++) {
      assert.equal(conn.send(bytes(String(i))), true);
    }
    await sim.run(200);
    assert.deepEqual(
      server.frames.map((f) => Number(f.text)),
      Array.from({ length: 1_000 }, (_, i) => i),
    );
    assert.equal(sim.stats.messagesSent, 1_000);
  });

  test('connect takes a round trip; refused when not listening or down', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 10, max: 10 } },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    sim.addNode({ id: 'quiet' }, () => undefined);
    streamSink(sim, 'b');
    const started = sim.nowMs;
    await connect(sim, 'a', 'b');
    assert.equal(sim.nowMs - started, 20);
    await assert.rejects(
      connect(sim, 'a', 'quiet'),
      (e: SimNetworkError) => e.code === 'ECONNREFUSED',
    );
    sim.crash('b');
    await assert.rejects(connect(sim, 'a', 'b'), (e: SimNetworkError) => e.code === 'ECONNREFUSED');
    assert.equal(sim.stats.connectionsRefused, 2);
  });

  test('connect times out under a partition', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    streamSink(sim, 'b');
    sim.network.partition(['a'], ['b']);
    const started = sim.nowMs;
    await assert.rejects(
      connect(sim, 'a', 'b', 300),
      (e: SimNetworkError) => e.code === 'ETIMEDOUT',
    );
    assert.equal(sim.nowMs - started, 300);
  });

  test('close is delivered after in-flight frames; both sides see it', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    const conn = await connect(sim, 'a', 'b');
    const clientCloses: Array<Error | undefined> = [];
    conn.onClose((r) => clientCloses.push(r));
    conn.send(bytes('last words'));
    conn.close();
    assert.equal(conn.closed, true);
    assert.equal(conn.send(bytes('too late')), false);
    await sim.run(50);
    assert.deepEqual(
      server.frames.map((f) => f.text),
      ['last words'],
    );
    assert.deepEqual(server.closes, [undefined]);
    assert.deepEqual(clientCloses, [undefined]);
    assert.equal(server.connections[0]?.closed, true);
  });

  test('loss on a stream link resets the connection instead of dropping frames silently', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 5 }, loss: 0.01 },
    });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    const conn = await connect(sim, 'a', 'b');
    const clientCloses: Array<Error | undefined> = [];
    conn.onClose((r) => clientCloses.push(r));
    for (let i = 0; i < 1_000; i++) {
      conn.send(bytes(String(i)));
    }
    await sim.run(100);
    const got = server.frames.map((f) => Number(f.text));
    assert.ok(got.length < 1_000, 'some frame was lost, so the connection broke');
    assert.deepEqual(
      got,
      Array.from({ length: got.length }, (_, i) => i),
      'a gap-free prefix',
    );
    assert.equal((clientCloses[0] as SimNetworkError | undefined)?.code, 'ECONNRESET');
    assert.equal((server.closes[0] as SimNetworkError | undefined)?.code, 'ECONNRESET');
  });

  test('a partition stalls a connection; healing in time delivers everything in order', async () => {
    const sim = new Simulation({ seed: SEED, streamStallTimeoutMs: 1_000 });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    const conn = await connect(sim, 'a', 'b');
    conn.send(bytes('0'));
    sim.network.partition(['a'], ['b']);
    conn.send(bytes('1'));
    conn.send(bytes('2'));
    await sim.run(500);
    assert.equal(server.frames.length, 0);
    sim.network.heal();
    await sim.run(50);
    assert.deepEqual(
      server.frames.map((f) => f.text),
      ['0', '1', '2'],
    );
    assert.equal(conn.closed, false);
  });

  test('a partition longer than the stall timeout closes the connection on both sides', async () => {
    const sim = new Simulation({ seed: SEED, streamStallTimeoutMs: 1_000 });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    const conn = await connect(sim, 'a', 'b');
    const clientCloses: Array<Error | undefined> = [];
    conn.onClose((r) => clientCloses.push(r));
    sim.network.partition(['a'], ['b']);
    conn.send(bytes('stuck'));
    await sim.run(999);
    assert.equal(conn.closed, false);
    await sim.run(2);
    assert.equal(conn.closed, true);
    assert.equal((clientCloses[0] as SimNetworkError | undefined)?.code, 'ETIMEDOUT');
    assert.equal((server.closes[0] as SimNetworkError | undefined)?.code, 'ETIMEDOUT');
    sim.network.heal();
    await sim.run(100);
    assert.deepEqual(server.frames, []);
  });

  test('a one-way cut delivers data but times the connection out for want of acknowledgements', async () => {
    for (const healAfterMs of [500, undefined]) {
      const sim = new Simulation({ seed: SEED, streamStallTimeoutMs: 1_000 });
      sim.addNode({ id: 'a' }, () => undefined);
      const server = streamSink(sim, 'b');
      const conn = await connect(sim, 'a', 'b');
      sim.network.partition(['b'], ['a'], { oneWay: true });
      conn.send(bytes('through'));
      await sim.run(healAfterMs ?? 1_100);
      assert.deepEqual(
        server.frames.map((f) => f.text),
        ['through'],
      );
      if (healAfterMs === undefined) {
        assert.equal(conn.closed, true);
        assert.equal((server.closes[0] as SimNetworkError | undefined)?.code, 'ETIMEDOUT');
      } else {
        sim.network.heal();
        await sim.run(2_000);
        assert.equal(conn.closed, false, 'healed before the stall timeout');
      }
    }
  });

  test('a crash closes the peer side with ECONNRESET', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    const server = streamSink(sim, 'b');
    await connect(sim, 'a', 'b');
    sim.crash('a');
    await sim.run(50);
    assert.equal((server.closes[0] as SimNetworkError | undefined)?.code, 'ECONNRESET');
  });

  test('oversized and corrupted frames arrive as frame errors; the connection keeps serving', async () => {
    const sim = new Simulation({ seed: SEED, maxFrameBytes: 100 });
    sim.addNode({ id: 'a' }, () => undefined);
    const errors: FrameError[] = [];
    const frames: string[] = [];
    sim.addNode({ id: 'b' }, async (rt) => {
      await rt.stream.listen((conn) => {
        conn.onFrame((f) => frames.push(text(f)));
        conn.onFrameError((e) => errors.push(e));
      });
    });
    const conn = await connect(sim, 'a', 'b');
    conn.send(new Uint8Array(101));
    conn.send(bytes('fine'));
    await sim.run(20);
    sim.network.setLink('a', 'b', { corrupt: 1 });
    conn.send(bytes('garbled'));
    await sim.run(20);
    sim.network.setLink('a', 'b', { corrupt: 0 });
    conn.send(bytes('fine again'));
    await sim.run(20);
    assert.deepEqual(frames, ['fine', 'fine again']);
    assert.deepEqual(
      errors.map((e) => [e.kind, e.sizeBytes, e.limitBytes]),
      [
        ['oversized', 101, 100],
        ['checksum', 7, undefined],
      ],
    );
    assert.equal(conn.closed, false);
  });

  test('too many unclaimed frames reset the connection instead of piling up', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    const closes: Array<Error | undefined> = [];
    sim.addNode({ id: 'b' }, async (rt) => {
      await rt.stream.listen((conn) => conn.onClose((r) => closes.push(r)));
    });
    const conn = await connect(sim, 'a', 'b');
    for (let i = 0; i <= MAX_BUFFERED_FRAMES; i++) {
      conn.send(bytes(String(i)));
    }
    await sim.run(20);
    assert.equal(closes.length, 1);
    assert.match(String(closes[0]?.message), /frames arrived with no handler registered/);
    assert.equal(conn.closed, true, 'the sender is reset too');
  });

  test('frames that arrive before onFrame is set are held and then delivered', async () => {
    const sim = new Simulation({ seed: SEED });
    sim.addNode({ id: 'a' }, () => undefined);
    let late: (() => void) | undefined;
    const frames: string[] = [];
    sim.addNode({ id: 'b' }, async (rt) => {
      await rt.stream.listen((conn) => {
        late = () => conn.onFrame((f) => frames.push(text(f)));
      });
    });
    const conn = await connect(sim, 'a', 'b');
    conn.send(bytes('early'));
    await sim.run(20);
    assert.deepEqual(frames, []);
    late?.();
    await sim.run(1);
    assert.deepEqual(frames, ['early']);
  });
});
