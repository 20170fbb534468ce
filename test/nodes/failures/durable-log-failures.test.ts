// Failure tests of the durable Raft log on real files (RealStorage in a temp directory): a
// corrupt record is found by its CRC on read-back and only the valid prefix is kept, entry
// order (the log sequence) survives many batches, overwrites and compactions, no file handle
// leaks across open/compact/close cycles, and a failed write or fsync reaches the caller.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Entry, Snapshot } from '../../../src/cluster/consensus/types.js';
import { RECORD_HEADER_BYTES, encodeRecord } from '../../../src/cluster/consensus/wal-record.js';
import { DurableRaftLog, segmentName } from '../../../src/nodes/consensus/durable-log.js';
import { JsonLineLogger } from '../../../src/runtime/real/logger.js';
import { RealStorage } from '../../../src/runtime/real/storage.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Disk {
  readonly dir: string;
  readonly lines: string[];
  storage(): RealStorage;
}

async function disk(): Promise<Disk> {
  const dir = await mkdtemp(path.join(tmpdir(), 'salvo-wal-'));
  dirs.push(dir);
  const lines: string[] = [];
  const log = new JsonLineLogger('debug', {}, (l) => lines.push(l));
  return { dir, lines, storage: () => new RealStorage(dir, log) };
}

function logOf(lines: string[]): JsonLineLogger {
  return new JsonLineLogger('debug', {}, (l) => lines.push(l));
}

function entry(index: number, term: number, s = `entry ${index} of term ${term}`): Entry {
  return { index, term, kind: 'normal', data: enc.encode(s) };
}

function snap(index: number, term: number, state: string): Snapshot {
  return { meta: { index, term, config: { voters: ['n1'] } }, data: enc.encode(state) };
}

async function reopen(d: Disk): Promise<Awaited<ReturnType<typeof DurableRaftLog.open>>> {
  return DurableRaftLog.open(d.storage(), logOf(d.lines));
}

test('LT-41.26.2 read-back recovery checks every record’s CRC: a byte flipped on disk in record 30 of 50 ends the valid prefix there, recovery keeps 1..29 and truncates the rest durably', async () => {
  const d = await disk();
  const { store } = await reopen(d);
  await store.append(Array.from({ length: 50 }, (_, i) => entry(i + 1, 1)));
  await store.close();
  const file = path.join(d.dir, segmentName(0));
  const bytes = await readFile(file);
  const recordBytes = (i: number): number => encodeRecord(entry(i, 1)).length;
  let offset = 0;
  for (let i = 1; i < 30; i++) offset += recordBytes(i);
  const validPrefix = offset;
  // A payload byte of record 30: its length field still reads as plausible, only the CRC catches it.
  bytes[offset + RECORD_HEADER_BYTES + 3] = (bytes[offset + RECORD_HEADER_BYTES + 3] ?? 0) ^ 0x40;
  await writeFile(file, bytes);

  const { store: s2, recovered } = await reopen(d);
  assert.equal(recovered.stopReason, 'checksum');
  assert.deepEqual(
    recovered.entries.map((e) => e.index),
    Array.from({ length: 29 }, (_, i) => i + 1),
  );
  assert.equal(recovered.truncatedBytes, bytes.length - validPrefix);
  assert.equal(dec.decode(recovered.entries[28]!.data), 'entry 29 of term 1', 'payloads intact');
  assert.ok(
    d.lines.some((l) => l.includes('truncating torn or corrupt tail')),
    'the truncation is logged',
  );
  // The corrupt tail is gone from the disk, and the log continues from the valid prefix.
  assert.equal((await readFile(file)).length, validPrefix);
  await s2.append([entry(30, 2, 'rewritten')]);
  await s2.close();
  const { store: s3, recovered: again } = await reopen(d);
  assert.equal(again.truncatedBytes, 0);
  assert.equal(again.entries.length, 30);
  assert.equal(dec.decode(again.entries[29]!.data), 'rewritten');
  await s3.close();
});

test('LT-41.26.4 log order survives batches, follower overwrites and compactions: recovery returns contiguous, increasing indices with the latest term for each', async () => {
  const d = await disk();
  let { store } = await reopen(d);
  const expected = new Map<number, number>();
  let next = 1;
  let term = 1;
  for (let batch = 0; batch < 40; batch++) {
    if (batch % 7 === 6 && next > 4) {
      // A new leader overwrites the last three entries at a higher term.
      term++;
      next -= 3;
    }
    const size = 1 + ((batch * 5) % 9);
    const entries = Array.from({ length: size }, (_, i) => entry(next + i, term));
    await store.append(entries);
    for (const e of entries) expected.set(e.index, e.term);
    for (const idx of [...expected.keys()]) if (idx >= next + size) expected.delete(idx);
    next += size;
    if (batch % 10 === 9) {
      // Compact: the snapshot covers all but the last five entries; those are rewritten.
      const upTo = next - 6;
      const retained = [...expected].filter(([i]) => i > upTo).map(([i, t]) => entry(i, t));
      await store.compact(snap(upTo, expected.get(upTo)!, 'state'), retained);
      for (const i of [...expected.keys()]) if (i <= upTo) expected.delete(i);
    }
    if (batch % 4 === 3) {
      await store.close();
      ({ store } = await reopen(d));
    }
  }
  await store.close();
  const { store: last, recovered } = await reopen(d);
  const got = recovered.entries.map((e) => `${e.index}@${e.term}`);
  const want = [...expected].sort((a, b) => a[0] - b[0]).map(([i, t]) => `${i}@${t}`);
  assert.deepEqual(got, want);
  for (let i = 1; i < recovered.entries.length; i++) {
    assert.equal(recovered.entries[i]!.index, recovered.entries[i - 1]!.index + 1, 'contiguous');
  }
  assert.equal(recovered.entries[0]!.index, (recovered.snapshot?.meta.index ?? 0) + 1);
  await last.close();
});

/** Open file descriptors of this process (Linux). */
async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

test('LT-41.26.3 no file handle or segment leaks: 100 open/append/compact/close cycles leave the process’s descriptor count and the directory as they were', async () => {
  const d = await disk();
  const warm = await reopen(d);
  await warm.store.close();
  const before = await openFds();
  for (let cycle = 0; cycle < 100; cycle++) {
    const { store, recovered } = await reopen(d);
    const base = recovered.entries.at(-1)?.index ?? recovered.snapshot?.meta.index ?? 0;
    await store.append([entry(base + 1, 1), entry(base + 2, 1)]);
    if (cycle % 5 === 4) {
      await store.compact(snap(base + 1, 1, 's'), [entry(base + 2, 1)]);
    }
    await store.close();
  }
  assert.equal(await openFds(), before, 'every handle opened was closed');
  const files = (await readdir(d.dir)).sort();
  const segments = files.filter((f) => f.startsWith('raft-log.'));
  assert.equal(segments.length, 1, `one live segment (${files.join(', ')})`);
  assert.ok(!files.some((f) => f.startsWith('.tmp-')), 'no temp file left behind');
});

test('LT-41.26.1 a batch whose write or fsync fails is surfaced to the caller, never reported durable (Salvo has no fsync batch queue to overflow: each batch is written and fsynced before its promise resolves)', async () => {
  const d = await disk();
  // The next segment a compaction opens is a device that fails every write with ENOSPC.
  const { store } = await reopen(d);
  await store.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  await symlink('/dev/full', path.join(d.dir, segmentName(1)));
  await assert.rejects(
    store.compact(snap(1, 1, 's'), [entry(2, 1), entry(3, 1)]),
    (err: NodeJS.ErrnoException) => err.code === 'ENOSPC',
    'the failed batch write rejects with the OS error',
  );
  assert.ok(
    d.lines.some((l) => l.includes('file is poisoned') && l.includes('ENOSPC')),
    'and is logged with its cause',
  );
  // The store keeps its old segment: later appends are durable there.
  await store.append([entry(4, 1)]);
  await store.close();
  await rm(path.join(d.dir, segmentName(1)));
  const { store: s2, recovered } = await reopen(d);
  // The snapshot was written before the segment failed; it and the old segment together hold all.
  assert.equal(recovered.snapshot?.meta.index, 1);
  assert.deepEqual(
    recovered.entries.map((e) => e.index),
    [2, 3, 4],
    'nothing was lost by the failed compaction',
  );
  await s2.close();

  // The same at the file level: once a write failed, every later sync rejects (poisoned).
  const storage = d.storage();
  await symlink('/dev/full', path.join(d.dir, 'full'));
  const f = await storage.openAppend('full');
  f.append(new Uint8Array(4096));
  await assert.rejects(f.sync(), /ENOSPC/);
  f.append(new Uint8Array(1));
  await assert.rejects(f.sync(), /ENOSPC/, 'a later batch is not reported durable either');
  await assert.rejects(f.close(), /ENOSPC/);
});
