// Same seed ⇒ same run, bit for bit: a small cluster exchanging datagrams and stream frames
// under random timers, loss, duplication and a crash/restart gives identical traces twice,
// and a different seed gives a different trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../../src/runtime/sim/index.js';
import type { NodeAddress, Runtime, StreamConnection } from '../../../src/runtime/types.js';

const NODE_IDS = ['n1', 'n2', 'n3', 'n4'] as const;
const CONNECT_TIMEOUT_MS = 500;
const RUN_MS = 5_000;

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A chatty node: random-period gossip over datagrams, a stream to a random peer, a log file. */
function chattyBoot(peers: () => NodeAddress[]) {
  return async (rt: Runtime): Promise<void> => {
    const log = await rt.storage.openAppend('chat.log');
    let received = 0;
    await rt.datagram.bind((from, data) => {
      received++;
      log.append(data);
      rt.log.log('debug', 'dgram', { from: from.host, bytes: data.length, received });
    });
    await rt.stream.listen((conn) => {
      conn.onFrame((frame) => {
        conn.send(frame.subarray(0, Math.max(1, frame.length >> 1)));
      });
      conn.onClose((reason) => rt.log.log('info', 'server side closed', { reason }));
    });
    let conn: StreamConnection | undefined;
    const tick = (): void => {
      const targets = peers();
      const to = targets[rt.rng.int(targets.length)];
      if (to === undefined) {
        return;
      }
      rt.datagram.send(to, encode(`${rt.nodeId}@${rt.clock.monotonicMs().toFixed(3)}`));
      if (conn === undefined || conn.closed) {
        conn = undefined;
        rt.stream.connect(to, CONNECT_TIMEOUT_MS).then(
          (c) => {
            conn = c;
            c.onFrame((f) => rt.log.log('debug', 'echo', { bytes: f.length }));
            c.onClose(() => {
              conn = undefined;
            });
          },
          (error: unknown) => rt.log.log('warn', 'connect failed', { error }),
        );
      } else {
        conn.send(encode(`hello from ${rt.nodeId} ${rt.rng.int(1000)}`));
      }
      if (rt.rng.next() < 0.3) {
        log.sync().then(
          () => rt.log.log('debug', 'synced', { size: log.sizeBytes }),
          (error: unknown) => rt.log.log('error', 'sync failed', { error }),
        );
      }
      rt.timers.after(20 + rt.rng.int(80), tick);
    };
    rt.timers.after(rt.rng.int(50), tick);
  };
}

async function scenario(seed: number): Promise<{ trace: readonly string[]; digest: string }> {
  const sim = new Simulation({
    seed,
    trace: true,
    defaultLink: { latencyMs: { min: 1, max: 20 }, loss: 0.05, duplicate: 0.05, reorder: 0.1 },
  });
  const addresses = (): NodeAddress[] => NODE_IDS.map((id) => sim.node(id).address);
  for (const id of NODE_IDS) {
    sim.addNode({ id, dc: id === 'n4' ? 'dc2' : 'dc1' }, chattyBoot(addresses));
  }
  sim.network.setDcLink('dc1', 'dc2', { latencyMs: { min: 30, max: 60 } });
  await sim.run(1_000);
  sim.crash('n2', { tornTail: true });
  sim.network.partition(['n1'], ['n3'], { oneWay: true });
  await sim.run(1_000);
  sim.restart('n2');
  sim.pause('n3', 300);
  sim.network.heal();
  await sim.run(RUN_MS - 2_000);
  return { trace: [...sim.trace], digest: sim.traceDigest };
}

test('the same seed gives an identical trace, event for event', async () => {
  const first = await scenario(42);
  const second = await scenario(42);
  assert.ok(first.trace.length > 1_000, `expected a busy trace, got ${first.trace.length} lines`);
  assert.deepEqual(second.trace, first.trace);
  assert.equal(second.digest, first.digest);
});

test('a different seed gives a different trace', async () => {
  const a = await scenario(42);
  const b = await scenario(43);
  assert.notEqual(a.digest, b.digest);
  assert.notDeepEqual(a.trace, b.trace);
});

test('two simulations running at once in one process do not disturb each other', async () => {
  const alone = await scenario(42);
  const [x, y] = await Promise.all([scenario(42), scenario(42)]);
  assert.equal(x.digest, alone.digest);
  assert.equal(y.digest, alone.digest);
});

test('scheduled faults (sim.at) are part of the deterministic run', async () => {
  const run = async (): Promise<string> => {
    const sim = new Simulation({ seed: 5, trace: true });
    sim.addNode({ id: 'a' }, (rt) => {
      rt.timers.every(10, () => rt.log.log('info', 'tick'));
    });
    sim.at(25, 'crash a', () => sim.crash('a'));
    sim.at(40, 'restart a', () => sim.restart('a'));
    await sim.run(60);
    assert.equal(sim.node('a').incarnation, 1);
    return sim.traceDigest;
  };
  assert.equal(await run(), await run());
});
