// Real UDP datagrams (send/receive, oversized dropped and counted) and fs storage (append + fsync,
// reopen, torn-tail truncation, atomic replace, list/remove, file-name validation).
import assert from 'node:assert/strict';
import { appendFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NodeAddress } from '../../../src/runtime/types.js';
import { InvalidFileNameError } from '../../../src/runtime/real/index.js';
import { LOOPBACK, runtime, tempDir, waitFor } from './support.js';

void describe('real datagram transport (UDP)', () => {
  void it('delivers datagrams between two runtimes and drops oversized ones, counted', async () => {
    const dir = await tempDir('udp');
    const a = runtime('a', dir.dir, { datagramAddress: LOOPBACK, maxDatagramBytes: 100 });
    const b = runtime('b', dir.dir, { datagramAddress: LOOPBACK });
    const gotA: [NodeAddress, Uint8Array][] = [];
    const gotB: [NodeAddress, Uint8Array][] = [];
    const addrA = await a.datagram.bind((from, d) => gotA.push([from, d]));
    const addrB = await b.datagram.bind((from, d) => gotB.push([from, d]));
    assert.ok(addrA.port > 0 && addrB.port > 0);
    b.datagram.send(addrA, Uint8Array.from([1, 2, 3]));
    b.datagram.send(addrA, new Uint8Array(500)); // over a's receive limit: dropped on arrival
    a.datagram.send(addrB, new Uint8Array(101)); // over a's send limit: dropped before sending
    a.datagram.send(addrB, Uint8Array.from([9]));
    await waitFor(
      () => gotA.length === 1 && gotB.length === 1 && a.datagram.stats.droppedOversizedIn === 1,
    );
    assert.deepEqual(new Uint8Array(gotA[0]![1]), Uint8Array.from([1, 2, 3]));
    assert.equal(gotA[0]![0].port, addrB.port);
    assert.deepEqual(new Uint8Array(gotB[0]![1]), Uint8Array.from([9]));
    assert.equal(a.datagram.stats.droppedOversizedOut, 1);
    const unbound = runtime('c', dir.dir);
    unbound.datagram.send(addrA, Uint8Array.from([1]));
    assert.equal(unbound.datagram.stats.droppedNotBound, 1);
    await Promise.all([a.close(), b.close(), unbound.close()]);
    await dir.cleanup();
  });
});

void describe('real storage', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('storage');
  });
  after(async () => {
    await dir.cleanup();
  });

  void it('appends in order, syncs, reads back and survives reopening', async () => {
    const rt = runtime('s', path.join(dir.dir, 'n1'));
    const f = await rt.storage.openAppend('wal.log');
    assert.equal(f.sizeBytes, 0);
    const buf = Uint8Array.from([1, 2]);
    f.append(buf);
    buf[0] = 99; // the caller may reuse its buffer: appends are copied
    f.append(Uint8Array.from([3]));
    assert.equal(f.sizeBytes, 3);
    assert.deepEqual(new Uint8Array(await f.read()), Uint8Array.from([1, 2, 3]));
    f.append(Uint8Array.from([4, 5]));
    await f.sync();
    assert.equal((await stat(path.join(dir.dir, 'n1', 'wal.log'))).size, 5);
    await f.close();
    const again = await rt.storage.openAppend('wal.log');
    assert.equal(again.sizeBytes, 5);
    again.append(Uint8Array.from([6]));
    await again.sync();
    assert.deepEqual(
      new Uint8Array((await rt.storage.readFile('wal.log'))!),
      Uint8Array.from([1, 2, 3, 4, 5, 6]),
    );
    await again.close();
  });

  void it('truncates a torn tail; appends after the truncate call land after it', async () => {
    const rt = runtime('s', path.join(dir.dir, 'n2'));
    const f = await rt.storage.openAppend('log');
    f.append(new Uint8Array(10).fill(1));
    await f.sync();
    await f.close();
    // Simulate a crash mid-append: a partial record on disk, then truncate it away on recovery.
    await appendFile(path.join(dir.dir, 'n2', 'log'), Uint8Array.from([7, 7, 7]));
    const r = await rt.storage.openAppend('log');
    assert.equal(r.sizeBytes, 13);
    const t = r.truncate(10);
    r.append(Uint8Array.from([2]));
    await t;
    assert.equal(r.sizeBytes, 11);
    await r.sync();
    const content = new Uint8Array((await rt.storage.readFile('log'))!);
    assert.deepEqual(content, Uint8Array.from([...new Array<number>(10).fill(1), 2]));
    // And a torn tail made by cutting the file directly (as a crash between write and fsync could).
    await r.close();
    await truncate(path.join(dir.dir, 'n2', 'log'), 4);
    const r2 = await rt.storage.openAppend('log');
    assert.equal(r2.sizeBytes, 4);
    await r2.close();
  });

  void it('replaces a file atomically and leaves no temp files; list and remove', async () => {
    const rt = runtime('s', path.join(dir.dir, 'n3'));
    assert.equal(await rt.storage.readFile('state.json'), null);
    await rt.storage.writeAtomic('state.json', new TextEncoder().encode('{"v":1}'));
    await rt.storage.writeAtomic('state.json', new TextEncoder().encode('{"v":2}'));
    assert.equal(new TextDecoder().decode(await rt.storage.readFile('state.json')), '{"v":2}');
    await writeFile(path.join(dir.dir, 'n3', '.tmp-state.json-dead'), 'leftover');
    const f = await rt.storage.openAppend('b.log');
    await f.close();
    assert.deepEqual(await rt.storage.list(), ['b.log', 'state.json']);
    assert.ok(
      (await readdir(path.join(dir.dir, 'n3'))).includes('.tmp-state.json-dead'),
      'list hides temp files',
    );
    await rt.storage.remove('b.log');
    await rt.storage.remove('b.log');
    assert.deepEqual(await rt.storage.list(), ['state.json']);
  });

  void it('rejects file names that could escape the data directory', async () => {
    const rt = runtime('s', path.join(dir.dir, 'n4'));
    for (const bad of [
      '',
      '.',
      '..',
      '../x',
      'a/b',
      'a\\b',
      '.hidden',
      '/etc/passwd',
      'x\0y',
      'a'.repeat(201),
    ]) {
      await assert.rejects(rt.storage.readFile(bad), InvalidFileNameError, JSON.stringify(bad));
      await assert.rejects(rt.storage.writeAtomic(bad, new Uint8Array(1)), InvalidFileNameError);
      await assert.rejects(rt.storage.openAppend(bad), InvalidFileNameError);
      await assert.rejects(rt.storage.remove(bad), InvalidFileNameError);
    }
  });
});
