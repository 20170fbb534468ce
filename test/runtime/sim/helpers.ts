// Small fixtures for the simulator's own tests: nodes that record what they receive, and
// byte/text helpers. Test-only; never used by node code.
import type { SimNode, Simulation } from '../../../src/runtime/sim/index.js';
import type { Runtime, StreamConnection } from '../../../src/runtime/types.js';

export interface Received {
  readonly atMs: number;
  readonly from: string;
  readonly text: string;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

export function runtimeOf(sim: Simulation, id: string): Runtime {
  const rt = sim.node(id).runtime;
  if (rt === undefined) {
    throw new Error(`${id} is down`);
  }
  return rt;
}

/** A node that binds datagrams and records each one (arrival time, sender host, text). */
export function datagramSink(
  sim: Simulation,
  id: string,
  dc?: string,
): { node: SimNode; got: Received[] } {
  const got: Received[] = [];
  const node = sim.addNode({ id, ...(dc === undefined ? {} : { dc }) }, async (rt) => {
    await rt.datagram.bind((from, data) => {
      got.push({ atMs: rt.clock.monotonicMs(), from: from.host, text: text(data) });
    });
  });
  return { node, got };
}

/** A node that listens for streams and records frames and closes per connection. */
export function streamSink(
  sim: Simulation,
  id: string,
): {
  node: SimNode;
  frames: Received[];
  closes: Array<Error | undefined>;
  connections: StreamConnection[];
} {
  const frames: Received[] = [];
  const closes: Array<Error | undefined> = [];
  const connections: StreamConnection[] = [];
  const node = sim.addNode({ id }, async (rt) => {
    await rt.stream.listen((conn) => {
      connections.push(conn);
      conn.onFrame((f) =>
        frames.push({ atMs: rt.clock.monotonicMs(), from: conn.remote.host, text: text(f) }),
      );
      conn.onClose((reason) => closes.push(reason));
    });
  });
  return { node, frames, closes, connections };
}

/** Connects from `from` to `to` and resolves with the client side (runs the sim meanwhile). */
export async function connect(
  sim: Simulation,
  from: string,
  to: string,
  timeoutMs = 1_000,
): Promise<StreamConnection> {
  let result: StreamConnection | Error | undefined;
  runtimeOf(sim, from)
    .stream.connect(sim.node(to).address, timeoutMs)
    .then(
      (c) => {
        result = c;
      },
      (error: unknown) => {
        result = error instanceof Error ? error : new Error(String(error));
      },
    );
  await sim.runUntil(() => result !== undefined, { maxMs: timeoutMs + 1 });
  if (result === undefined) {
    throw new Error('connect neither resolved nor rejected');
  }
  if (result instanceof Error) {
    throw result;
  }
  return result;
}

/** Number of adjacent pairs out of order. */
export function inversions(values: readonly number[]): number {
  let count = 0;
  for (let i = 1; i < values.length; i++) {
    if ((values[i] ?? 0) < (values[i - 1] ?? 0)) {
      count++;
    }
  }
  return count;
}
