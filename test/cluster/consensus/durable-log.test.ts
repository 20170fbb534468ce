// The durable Raft log on the simulated Storage: records round-trip, a torn tail is truncated at
// recovery, truncation-by-overwrite replays correctly, compaction keeps the log bounded.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/cluster/consensus/types.js';
import {
  decodeRecords,
  encodeRecord,
  replayRecords,
} from '../../../src/cluster/consensus/wal-record.js';
import { DurableRaftLog, segmentName } from '../../../src/nodes/consensus/durable-log.js';
import { Simulation } from '../../../src/runtime/sim/index.js';
import type { Runtime } from '../../../src/runtime/types.js';

const enc = new TextEncoder();
function entry(index: number, term: number, s = `e${index}`): Entry {
  return { index, term, kind: 'normal', data: enc.encode(s) };
}

/** Boots a sim node and hands its runtime to `body` (re-run on restart via the returned fn). */
async function withNode(
  sim: Simulation,
  body: (rt: Runtime) => Promise<void>,
): Promise<{ runtimes: Runtime[] }> {
  const runtimes: Runtime[] = [];
  sim.addNode({ id: 'd1' }, (rt) => {
    runtimes.push(rt);
  });
  await sim.run(1);
  const rt = runtimes[0];
  assert.ok(rt);
  await body(rt);
  return { runtimes };
}

describe('durable raft log', () => {
  test('record codec: round trip, and reading stops at the first bad checksum or short record', () => {
    const a = encodeRecord(entry(1, 1));
    const b = encodeRecord(entry(2, 1, 'second'));
    const both = new Uint8Array([...a, ...b]);
    assert.deepEqual(
      decodeRecords(both).records.map((e) => e.index),
      [1, 2],
    );
    const short = both.slice(0, both.length - 3);
    const d1 = decodeRecords(short);
    assert.equal(d1.records.length, 1);
    assert.equal(d1.validBytes, a.length);
    assert.equal(d1.stopReason, 'short-record');
    const flipped = both.slice();
    flipped[a.length + 30] = (flipped[a.length + 30] ?? 0) ^ 0xff;
    const d2 = decodeRecords(flipped);
    assert.equal(d2.records.length, 1);
    assert.equal(d2.stopReason, 'checksum');
  });

  test('replay: a later record at index i replaces everything from i (follower truncation)', () => {
    const r = replayRecords([entry(1, 1), entry(2, 1), entry(3, 1), entry(2, 2), entry(3, 2)]);
    assert.deepEqual(
      r.entries.map((e) => `${e.index}@${e.term}`),
      ['1@1', '2@2', '3@2'],
    );
    assert.equal(replayRecords([entry(1, 1), entry(3, 1)]).gapAt, 3);
  });

  test('recovery truncates a torn tail and keeps every synced record', async () => {
    const sim = new Simulation({ seed: 7, fsyncLatencyMs: 1 });
    const { runtimes } = await withNode(sim, async (rt) => {
      const { store } = await DurableRaftLog.open(rt.storage, rt.log);
      const synced = store.append([entry(1, 1), entry(2, 1)]);
      await sim.run(5);
      await synced;
      await store.saveHardState({ term: 1, vote: 'd1', commit: 2 }, true);
    });
    const rt1 = runtimes[0]!;
    // Unsynced appends, then a crash that tears the last one.
    const file = await rt1.storage.openAppend(segmentName(0));
    file.append(encodeRecord(entry(3, 1, 'a-long-enough-payload-to-tear')));
    sim.crash('d1', { tornTail: true });
    sim.restart('d1');
    await sim.run(1);
    const rt2 = runtimes[1]!;
    const opened = DurableRaftLog.open(rt2.storage, rt2.log);
    await sim.run(10);
    const { recovered } = await opened;
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [1, 2],
    );
    assert.deepEqual(recovered.hardState, { term: 1, vote: 'd1', commit: 2 });
    const bytesAfter = sim.node('d1').durableFile(segmentName(0));
    assert.ok(bytesAfter !== null);
    assert.equal(decodeRecords(bytesAfter).invalidBytes, 0, 'the torn tail was truncated durably');
  });

  test('a torn tail of many bytes is truncated (explicit garbage after valid records)', async () => {
    const sim = new Simulation({ seed: 8 });
    const { runtimes } = await withNode(sim, async (rt) => {
      const { store } = await DurableRaftLog.open(rt.storage, rt.log);
      const p = store.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
      await sim.run(5);
      await p;
      const f = await rt.storage.openAppend(segmentName(0));
      const torn = encodeRecord(entry(4, 2, 'x'.repeat(100))).slice(0, 60);
      f.append(torn);
      const s = f.sync();
      await sim.run(5);
      await s;
    });
    sim.restart('d1');
    await sim.run(1);
    const rt2 = runtimes[1]!;
    const opened = DurableRaftLog.open(rt2.storage, rt2.log);
    await sim.run(10);
    const { recovered } = await opened;
    assert.equal(recovered.truncatedBytes, 60);
    assert.equal(recovered.stopReason, 'short-record');
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [1, 2, 3],
    );
  });

  test('compaction writes the snapshot and a fresh bounded segment; recovery starts from them', async () => {
    const sim = new Simulation({ seed: 9 });
    const { runtimes } = await withNode(sim, async (rt) => {
      const { store } = await DurableRaftLog.open(rt.storage, rt.log);
      const all: Entry[] = [];
      for (let i = 1; i <= 50; i++) all.push(entry(i, 1));
      const p = store.append(all);
      await sim.run(5);
      await p;
      const c = store.compact(
        { meta: { index: 45, term: 1, config: { voters: ['d1'] } }, data: enc.encode('state@45') },
        all.slice(45),
      );
      await sim.run(5);
      await c;
      assert.equal(store.stats.compactions, 1);
    });
    assert.equal(sim.node('d1').durableFile(segmentName(0)), null, 'old segment removed');
    sim.restart('d1');
    await sim.run(1);
    const rt2 = runtimes[1]!;
    const opened = DurableRaftLog.open(rt2.storage, rt2.log);
    await sim.run(10);
    const { recovered } = await opened;
    assert.equal(recovered.snapshot?.meta.index, 45);
    assert.deepEqual(
      recovered.entries.map((e) => e.index),
      [46, 47, 48, 49, 50],
    );
  });
});
