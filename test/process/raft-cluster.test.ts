// Process test: five real Raft processes (src/nodes/consensus/main.ts on the real runtime and
// the wire protocol, over mutual TLS) on loopback elect a leader and replicate; `kill -9` of the leader yields a
// new leader with no committed entry lost; the killed process restarts, recovers its log from
// disk and catches up. Every wait is bounded; every child is killed at the end, even on failure.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeCerts, type TestCerts } from '../support/certs.js';
import {
  RaftProcess,
  WAIT_MS,
  agreedLeader,
  dump,
  freePort,
  poll,
  put,
} from '../support/raft-process.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const TEST_TIMEOUT_MS = 90_000;
const WRITES_PER_PHASE = 20;

const procs: RaftProcess[] = [];
let dataRoot = '';
let certs: TestCerts | null = null;

after(() => {
  for (const p of procs) p.kill9();
  if (dataRoot !== '') rmSync(dataRoot, { recursive: true, force: true });
  certs?.cleanup();
});

test(
  'raft process cluster: 5 processes elect, replicate, survive kill -9 of the leader, and the restarted node catches up',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    dataRoot = mkdtempSync(join(tmpdir(), 'salvo-raft-'));
    // Mutual TLS, as nodes run by default: certificates made by `salvo certs`' own code.
    certs = makeCerts(IDS);
    const ports = new Map<string, number>();
    for (const id of IDS) ports.set(id, await freePort());
    for (const id of IDS) {
      const peers = IDS.filter((o) => o !== id)
        .map((o) => `${o}=127.0.0.1:${ports.get(o)}`)
        .join(',');
      const p = new RaftProcess(id, [
        '--id',
        id,
        '--listen',
        `127.0.0.1:${ports.get(id)}`,
        '--peers',
        peers,
        '--data-dir',
        join(dataRoot, id),
        '--snapshot-every',
        '25',
        '--certs-dir',
        certs.dir,
      ]);
      procs.push(p);
      p.start();
    }
    await Promise.all(procs.map((p) => p.next((j) => j.event === 'ready', WAIT_MS, true)));

    // 1. One leader, agreed by all five.
    const first = await poll('a leader agreed by all five', () => agreedLeader(procs));
    const leader1 = procs.find((p) => p.id === first.id)!;
    t.diagnostic(`leader ${first.id} in term ${first.term}`);

    // 2. Replicate: each write is acknowledged only once committed and applied on the leader.
    for (let i = 1; i <= WRITES_PER_PHASE; i++) {
      const r = await put(leader1, 'c1', i, `a${i}`, `v${i}`);
      assert.equal(r.ok, true, JSON.stringify(r));
    }

    // 3. kill -9 the leader: the other four elect a new one in a later term.
    leader1.kill9();
    const live = procs.filter((p) => p !== leader1);
    const second = await poll('a new leader among the survivors', () => agreedLeader(live));
    assert.notEqual(second.id, first.id);
    assert.ok(second.term > first.term, `term ${second.term} after ${first.term}`);
    const leader2 = procs.find((p) => p.id === second.id)!;
    t.diagnostic(`after kill -9 of ${first.id}: leader ${second.id} in term ${second.term}`);

    // 4. No committed entry was lost, and the new leader keeps committing.
    for (let i = 1; i <= WRITES_PER_PHASE; i++) {
      const r = await put(leader2, 'c2', i, `b${i}`, `w${i}`);
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    for (const p of live) {
      const d = await poll(`${p.id} applied every write`, async () => {
        const j = await dump(p);
        const data = j.data as Record<string, string>;
        return Object.keys(data).length === 2 * WRITES_PER_PHASE ? j : null;
      });
      const data = d.data as Record<string, string>;
      for (let i = 1; i <= WRITES_PER_PHASE; i++) {
        assert.equal(data[`a${i}`], `v${i}`, `${p.id} lost a${i}`);
        assert.equal(data[`b${i}`], `w${i}`, `${p.id} lost b${i}`);
      }
    }

    // 5. The killed process restarts from its data dir, recovers its log and catches up.
    leader1.start();
    const ready = await leader1.next((j) => j.event === 'ready', WAIT_MS, true);
    assert.ok(
      Number(ready.lastIndex) >= WRITES_PER_PHASE || Number(ready.snapshotIndex) > 0,
      `recovered from disk: ${JSON.stringify(ready)}`,
    );
    t.diagnostic(`${leader1.id} restarted: ${JSON.stringify(ready)}`);
    const leaderCommit = Number((await leader2.status()).commit);
    const caught = await poll('the restarted node catching up', async () => {
      const j = await dump(leader1);
      return Number(j.applied) >= leaderCommit && j.leader === second.id ? j : null;
    });
    const data = caught.data as Record<string, string>;
    for (let i = 1; i <= WRITES_PER_PHASE; i++) {
      assert.equal(data[`a${i}`], `v${i}`);
      assert.equal(data[`b${i}`], `w${i}`);
    }
    assert.equal((await leader1.status()).role, 'follower');
  },
);
