// The fault model and the run loop: crash keeps only synced storage (optionally a torn tail),
// restart re-boots, pause defers timers and deliveries, clock skew and jumps move only the
// wall clock, timers cancel, and failures (checks, handlers, boots, budgets) name the seed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, SimulationError } from '../../../src/runtime/sim/index.js';
import type { AppendFile, Runtime } from '../../../src/runtime/types.js';
import { bytes, datagramSink, runtimeOf, text } from './helpers.js';
import { InternalError } from '../../../src/errors.js';

const SEED = 11;

describe('storage across crashes', () => {
  test('a crash loses unsynced appends and keeps synced ones and atomic writes', async () => {
    const sim = new Simulation({ seed: SEED });
    const boots: Array<{ log: string | null; meta: string | null }> = [];
    let file: AppendFile | undefined;
    sim.addNode({ id: 'n' }, async (rt) => {
      const log = await rt.storage.readFile('wal');
      const meta = await rt.storage.readFile('meta');
      boots.push({
        log: log === null ? null : text(log),
        meta: meta === null ? null : text(meta),
      });
      file = await rt.storage.openAppend('wal');
    });
    await sim.run(1);
    file?.append(bytes('synced;'));
    const synced = file?.sync();
    await sim.run(1);
    await synced;
    file?.append(bytes('lost;'));
    await runtimeOf(sim, 'n').storage.writeAtomic('meta', bytes('term=3'));
    assert.equal(text(await (file as AppendFile).read()), 'synced;lost;');
    assert.equal(text(sim.node('n').durableFile('wal') ?? new Uint8Array()), 'synced;');
    sim.crash('n');
    assert.equal(sim.node('n').up, false);
    assert.equal(sim.node('n').runtime, undefined);
    sim.restart('n');
    await sim.run(1);
    assert.deepEqual(boots, [
      { log: null, meta: null },
      { log: 'synced;', meta: 'term=3' },
    ]);
  });

  test('a sync still in flight at the crash does not count', async () => {
    const sim = new Simulation({ seed: SEED, fsyncLatencyMs: 5 });
    let rt: Runtime | undefined;
    sim.addNode({ id: 'n' }, (r) => {
      rt = r;
    });
    const file = await (rt as Runtime).storage.openAppend('wal');
    file.append(bytes('abc'));
    let synced = false;
    file.sync().then(
      () => {
        synced = true;
      },
      (error: unknown) => assert.fail(String(error)),
    );
    await sim.run(4);
    sim.crash('n');
    await sim.run(10);
    assert.equal(synced, false, 'a crashed incarnation never resumes');
    assert.equal(sim.node('n').durableFile('wal')?.length, 0);
  });

  test('tornTail keeps earlier unsynced appends and a strict prefix of the last one', async () => {
    const prefixLengths = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Simulation({ seed });
      let rt: Runtime | undefined;
      sim.addNode({ id: 'n' }, (r) => {
        rt = r;
      });
      const file = await (rt as Runtime).storage.openAppend('wal');
      file.append(bytes('AAAA'));
      const synced = file.sync();
      await sim.run(1);
      await synced;
      file.append(bytes('BBBB'));
      file.append(bytes('CCCCCCCC'));
      sim.crash('n', { tornTail: true });
      const survived = text(sim.node('n').durableFile('wal') ?? new Uint8Array());
      assert.match(survived, /^AAAABBBBC{1,7}$/, `seed ${seed}: ${survived}`);
      prefixLengths.add(survived.length - 8);
    }
    assert.ok(prefixLengths.size > 3, 'the torn length varies with the seed');
  });

  test('truncate, remove and list behave like a small file system', async () => {
    const sim = new Simulation({ seed: SEED });
    let rt: Runtime | undefined;
    sim.addNode({ id: 'n' }, (r) => {
      rt = r;
    });
    const storage = (rt as Runtime).storage;
    const wal = await storage.openAppend('wal');
    wal.append(bytes('0123456789'));
    const synced = wal.sync();
    await sim.run(1);
    await synced;
    const truncated = wal.truncate(4);
    await sim.run(1);
    await truncated;
    assert.equal(wal.sizeBytes, 4);
    await storage.writeAtomic('b', bytes('x'));
    await storage.writeAtomic('a', bytes('y'));
    assert.deepEqual(await storage.list(), ['a', 'b', 'wal']);
    await storage.remove('b');
    assert.deepEqual(await storage.list(), ['a', 'wal']);
    await assert.rejects(wal.truncate(99), InternalError);
    sim.crash('n');
    assert.equal(text(sim.node('n').durableFile('wal') ?? new Uint8Array()), '0123');
    await assert.rejects(storage.list(), /crashed/);
  });
});

describe('restart, pause, clocks, timers', () => {
  test('restart boots again with a fresh runtime; the old incarnation is inert', async () => {
    const sim = new Simulation({ seed: SEED });
    const fired: string[] = [];
    let boots = 0;
    sim.addNode({ id: 'n' }, (rt) => {
      const life = ++boots;
      rt.timers.every(10, () => fired.push(`life${life}@${rt.clock.monotonicMs()}`));
    });
    const first = runtimeOf(sim, 'n');
    await sim.run(25);
    sim.crash('n');
    await sim.run(25);
    assert.deepEqual(fired, ['life1@10', 'life1@20']);
    sim.restart('n');
    assert.equal(sim.node('n').incarnation, 1);
    assert.notEqual(runtimeOf(sim, 'n'), first);
    let stale = false;
    first.timers.after(1, () => {
      stale = true;
    });
    await sim.run(15);
    assert.deepEqual(fired, ['life1@10', 'life1@20', 'life2@60']);
    assert.equal(stale, false);
    assert.equal(boots, 2);
  });

  test('restart gives the node a different but reproducible random stream', async () => {
    const draws = (): number[] => {
      const sim = new Simulation({ seed: SEED });
      const out: number[] = [];
      sim.addNode({ id: 'n' }, (rt) => {
        out.push(rt.rng.int(1_000_000));
      });
      sim.restart('n');
      return out;
    };
    const a = draws();
    assert.equal(a.length, 2);
    assert.notEqual(a[0], a[1]);
    assert.deepEqual(draws(), a);
  });

  test('pause defers timers and deliveries until it resumes, in their original order', async () => {
    const sim = new Simulation({
      seed: SEED,
      defaultLink: { latencyMs: { min: 1, max: 1 } },
    });
    const ticks: number[] = [];
    sim.addNode({ id: 'sender' }, () => undefined);
    const sink = datagramSink(sim, 'paused');
    runtimeOf(sim, 'paused').timers.every(10, () => ticks.push(sim.nowMs));
    await sim.run(25);
    sim.pause('paused', 100);
    assert.equal(sim.node('paused').paused, true);
    runtimeOf(sim, 'sender').datagram.send(sim.node('paused').address, bytes('one'));
    runtimeOf(sim, 'sender').datagram.send(sim.node('paused').address, bytes('two'));
    await sim.run(99);
    assert.deepEqual(ticks, [10, 20]);
    assert.equal(sink.got.length, 0);
    await sim.run(1);
    assert.equal(sim.node('paused').paused, false);
    assert.deepEqual(
      sink.got.map((r) => [r.text, r.atMs]),
      [
        ['one', 125],
        ['two', 125],
      ],
    );
    assert.deepEqual(ticks, [10, 20, 125]);
    await sim.run(10);
    assert.deepEqual(ticks, [10, 20, 125, 135]);
    assert.ok(sim.stats.eventsDeferred >= 3);
  });

  test('clock skew and jumps move the wall clock only', async () => {
    const sim = new Simulation({ seed: SEED, epochMs: 1_000_000 });
    sim.addNode({ id: 'n' }, () => undefined);
    const clock = runtimeOf(sim, 'n').clock;
    await sim.run(100);
    assert.equal(clock.monotonicMs(), 100);
    assert.equal(clock.wallMs(), 1_000_100);
    sim.skewClock('n', -5_000);
    assert.equal(clock.wallMs(), 995_100);
    sim.jumpClock('n', 60_000);
    assert.equal(clock.wallMs(), 1_055_100);
    assert.equal(clock.monotonicMs(), 100);
    sim.skewClock('n', 0);
    assert.equal(clock.wallMs(), 1_000_100);
  });

  test('timers fire at their time, in scheduling order on ties, and cancel', async () => {
    const sim = new Simulation({ seed: SEED });
    const fired: string[] = [];
    sim.addNode({ id: 'n' }, (rt) => {
      rt.timers.after(5, () => fired.push('a@5'));
      rt.timers.after(5, () => fired.push('b@5'));
      rt.timers.after(0, () => fired.push('zero'));
      const never = rt.timers.after(3, () => fired.push('cancelled'));
      never.cancel();
      never.cancel();
      let n = 0;
      const every = rt.timers.every(2, () => {
        fired.push(`every${++n}`);
        if (n === 3) {
          every.cancel();
        }
      });
    });
    await sim.run(20);
    assert.deepEqual(fired, ['zero', 'every1', 'every2', 'a@5', 'b@5', 'every3']);
    assert.throws(() => runtimeOf(sim, 'n').timers.every(0, () => undefined), InternalError);
  });

  test('runUntil stops at the event that satisfies it, or at maxMs', async () => {
    const sim = new Simulation({ seed: SEED });
    let count = 0;
    sim.addNode({ id: 'n' }, (rt) => {
      rt.timers.every(7, () => count++);
    });
    assert.equal(await sim.runUntil(() => count === 3, { maxMs: 1_000 }), true);
    assert.equal(sim.nowMs, 21);
    assert.equal(await sim.runUntil(() => count === 100, { maxMs: 50 }), false);
    assert.equal(sim.nowMs, 71);
  });

  test('async node code resumes within the event that resolved it', async () => {
    const sim = new Simulation({ seed: SEED, fsyncLatencyMs: 3 });
    const seen: number[] = [];
    sim.addNode({ id: 'n' }, async (rt) => {
      const file = await rt.storage.openAppend('f');
      rt.timers.every(10, () => {
        file.append(bytes('x'));
        void (async () => {
          await file.sync();
          await Promise.resolve();
          seen.push(rt.clock.monotonicMs());
        })();
      });
    });
    await sim.run(35);
    assert.deepEqual(seen, [13, 23, 33]);
  });
});

describe('failures name the seed', () => {
  test('an afterEvent check that throws fails the run with seed and time', async () => {
    const sim = new Simulation({ seed: 99 });
    sim.addNode({ id: 'n' }, (rt) => {
      rt.timers.every(10, () => undefined);
    });
    let events = 0;
    sim.afterEvent(() => {
      if (++events === 3) {
        throw new Error('invariant broken');
      }
    });
    await assert.rejects(sim.run(100), (e: SimulationError) => {
      assert.equal(e.seed, 99);
      assert.match(e.message, /^seed=99 t=30\.000ms: .*invariant broken/);
      return true;
    });
    await assert.rejects(sim.run(1), /seed=99/, 'a failed simulation stays failed');
  });

  test('a node handler that throws fails the run', async () => {
    const sim = new Simulation({ seed: 5 });
    sim.addNode({ id: 'n' }, (rt) => {
      rt.timers.after(1, () => {
        throw new Error('handler bug');
      });
    });
    await assert.rejects(sim.run(10), /seed=5 .*timer on n threw: handler bug/);
  });

  test('a boot that rejects fails the run', async () => {
    const sim = new Simulation({ seed: 6 });
    sim.addNode({ id: 'n' }, async () => {
      await Promise.resolve();
      throw new Error('cannot boot');
    });
    await assert.rejects(sim.run(10), /seed=6 .*boot of n .*cannot boot/);
  });

  test('the event budget stops a zero-delay loop', async () => {
    const sim = new Simulation({ seed: 8, maxEvents: 1_000 });
    sim.addNode({ id: 'n' }, (rt) => {
      const spin = (): void => {
        rt.timers.after(0, spin);
      };
      spin();
    });
    await assert.rejects(sim.run(1), /seed=8 .*maxEvents=1000/);
  });

  test('the trace and log rings stay bounded', async () => {
    const sim = new Simulation({ seed: 9, trace: true, traceLimit: 100, logLimit: 50 });
    sim.addNode({ id: 'n' }, (rt) => {
      rt.timers.every(1, () => rt.log.log('info', 'tick', { at: rt.clock.monotonicMs() }));
    });
    await sim.run(1_000);
    assert.ok(sim.trace.length <= 125, `trace ${sim.trace.length}`);
    assert.ok(sim.logs.length <= 62, `logs ${sim.logs.length}`);
    assert.match(sim.logs.at(-1) ?? '', /^1000\.000 n info tick \{"at":1000\}$/);
    assert.match(sim.traceDigest, /^2001:[0-9a-f]{8}$/);
  });
});
