// Process test: a real Raft process whose core hits a broken invariant stops for good — it
// logs why and exits non-zero — instead of logging the throw and running on half-applied. The
// other member is played by this test over the real protocol: it grants n1 its votes, and once
// n1 leads term T it sends n1 an AppendEntries as the leader of the same term T (a peer bug
// that Raft's "one leader per term" invariant catches).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Message } from '../../src/cluster/consensus/types.js';
import { ProtocolRaftTransport } from '../../src/nodes/consensus/transport.js';
import { createRealRuntime, type RealRuntime } from '../../src/runtime/real/index.js';
import { RaftProcess, WAIT_MS, freePort } from '../support/raft-process.js';

const dataRoot = mkdtempSync(join(tmpdir(), 'salvo-raft-fail-stop-'));
let proc: RaftProcess | null = null;
let peerRuntime: RealRuntime | null = null;
let peer: ProtocolRaftTransport | null = null;

after(async () => {
  proc?.kill9();
  await peer?.close();
  await peerRuntime?.close();
  rmSync(dataRoot, { recursive: true, force: true });
});

test('raft process: a broken core invariant stops the node, logged, with a non-zero exit', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const members = new Map([
    ['n1', { host: '127.0.0.1', port: p1 }],
    ['n2', { host: '127.0.0.1', port: p2 }],
  ]);
  peerRuntime = createRealRuntime({
    nodeId: 'n2',
    streamAddress: { host: '127.0.0.1', port: p2 },
    dataDir: join(dataRoot, 'n2'),
    logLevel: 'error',
    seed: 2,
  });
  const fake = new ProtocolRaftTransport(peerRuntime, 'n2', members, {
    nodeId: 'n2',
    role: 'manager',
    clusterId: 'salvo',
    environment: 'default',
    capabilities: ['raft'],
  });
  peer = fake;
  let ledTerm = 0;
  let forged = false;
  await fake.start((m: Message) => {
    const base = { from: 'n2', to: m.from, term: m.term };
    if (m.type === 'pre-vote') fake.send({ ...base, type: 'pre-vote-response', granted: true });
    else if (m.type === 'vote') fake.send({ ...base, type: 'vote-response', granted: true });
    else if ((m.type === 'append' || m.type === 'heartbeat') && !forged) {
      forged = true;
      ledTerm = m.term;
      // A second leader of the same term: impossible in a correct cluster.
      fake.send({ ...base, type: 'append', prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
    }
  });

  proc = new RaftProcess('n1', [
    '--id',
    'n1',
    '--listen',
    `127.0.0.1:${p1}`,
    '--peers',
    `n2=127.0.0.1:${p2}`,
    '--data-dir',
    join(dataRoot, 'n1'),
    '--log-level',
    'info',
    // The peer played by this test speaks the protocol without certificates.
    '--insecure',
  ]);
  proc.start();
  const child = proc.child!;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const fatalLine = proc.next((j) => j.event === 'error' && j.fatal === true, WAIT_MS);
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), WAIT_MS).unref(),
  );
  const code = await Promise.race([exited, timeout]);
  assert.ok(forged, 'n1 led and received the forged append');
  assert.notEqual(code, 'timeout', `n1 still running ${WAIT_MS} ms after the broken invariant`);
  assert.equal(code, 1, 'exit code 1 (internal error)');
  const line = await fatalLine;
  assert.match(String(line.error), /two leaders in term/);
  assert.match(proc.stderr, /raft node stopped/, 'the reason is logged');
  assert.match(proc.stderr, new RegExp(`two leaders in term ${ledTerm}`));
});
