// RaftNode.stop() decides and records "stopping" in one synchronous block: a second stop()
// while the first is awaiting (the leadership transfer, the transport's close) waits for the
// same shutdown instead of returning early or closing a second time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../src/cluster/consensus/types.js';
import { KvRegister, type KvResult } from '../../src/nodes/consensus/kv-register.js';
import { RaftNode } from '../../src/nodes/consensus/raft-node.js';
import type { RaftTransport, TransportStats } from '../../src/nodes/consensus/transport.js';
import { Simulation } from '../../src/runtime/sim/index.js';
import type { NodeAddress, Runtime } from '../../src/runtime/types.js';
import { SIM_RAFT_CONFIG } from '../cluster/consensus/support/sim-cluster.js';

/** A transport for a one-member cluster whose close takes virtual time. */
class SlowCloseTransport implements RaftTransport {
  readonly stats: TransportStats = {
    sent: 0,
    received: 0,
    dropped: 0,
    rejectedSender: 0,
    dials: 0,
    dialFailures: 0,
  };
  closes = 0;
  closed = false;
  constructor(private readonly rt: Runtime) {}
  start(_onMessage: (m: Message) => void): Promise<NodeAddress> {
    return Promise.resolve({ host: 'n1', port: 1 });
  }
  send(): void {
    this.stats.dropped++;
  }
  async close(): Promise<void> {
    this.closes++;
    await new Promise<void>((resolve) => this.rt.timers.after(50, resolve));
    this.closed = true;
  }
}

test('two concurrent stop() calls: both resolve only once the node is closed, and it closes once', async () => {
  const sim = new Simulation({ seed: 1 });
  let node: RaftNode<KvResult> | undefined;
  let transport: SlowCloseTransport | undefined;
  sim.addNode({ id: 'n1' }, async (rt) => {
    transport = new SlowCloseTransport(rt);
    node = await RaftNode.start({
      runtime: rt,
      members: new Map([['n1', { host: 'n1', port: 1 }]]),
      config: SIM_RAFT_CONFIG,
      stateMachine: new KvRegister(),
      transport,
    });
  });
  assert.ok(await sim.runUntil(() => node?.status().role === 'leader', { maxMs: 5_000 }));
  const n = node!;
  const t = transport!;
  const done: string[] = [];
  void n.stop({ transfer: true }).then(() => done.push(`first closed=${t.closed}`));
  void n.stop().then(() => done.push(`second closed=${t.closed}`));
  await sim.runUntil(() => done.length === 2, { maxMs: 5_000 });
  assert.deepEqual(done.sort(), ['first closed=true', 'second closed=true']);
  assert.equal(t.closes, 1, 'the transport was closed once');
  assert.equal(n.status().pendingProposals, 0);
});
