// FrameDecoder and encodeFrame: CRC32C vectors, round trips split at every chunk boundary,
// oversized bodies skipped byte-exactly, checksum errors, truncation at end of stream, bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  crc32c,
  crc32cUpdate,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_FRAME_BYTES,
  type FrameEvent,
} from '../../src/protocol/framing.js';

function bytes(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs);
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function summary(events: FrameEvent[]): string[] {
  return events.map((e) =>
    e.kind === 'frame'
      ? `frame:${Buffer.from(e.body).toString('hex')}`
      : `error:${e.error.kind}:${e.error.sizeBytes ?? ''}`,
  );
}
function oversizedHeader(size: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(h.buffer).setUint32(0, size);
  return h;
}

void describe('crc32c', () => {
  void it('matches the standard check value and is incremental', () => {
    const data = new TextEncoder().encode('123456789');
    assert.equal(crc32c(data), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    assert.equal(crc32cUpdate(crc32cUpdate(0, data.subarray(0, 4)), data.subarray(4)), 0xe3069283);
    // 32 zero bytes (RFC 3720 B.4 test vector).
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  });
});

void describe('crc32c against a bit-at-a-time reference', () => {
  void it('agrees on every length 0..300 at odd offsets and when split', () => {
    const ref = (b: Uint8Array): number => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = new Uint8Array(400).map((_, i) => (i * 131 + 7) & 0xff);
    for (let len = 0; len <= 300; len++) {
      const slice = data.subarray(3, 3 + len);
      assert.equal(crc32c(slice), ref(slice), `length ${len}`);
      const half = len >> 1;
      assert.equal(crc32cUpdate(crc32c(slice.subarray(0, half)), slice.subarray(half)), ref(slice));
    }
  });
});

void describe('FrameDecoder', () => {
  const frames = [
    bytes(),
    bytes(1),
    bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
    new Uint8Array(300).map((_, i) => i & 0xff),
  ];
  const stream = concat(frames.map(encodeFrame));
  const expected = frames.map((f) => `frame:${Buffer.from(f).toString('hex')}`);

  void it('round-trips frames split at every single chunk boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const ev = [...d.pushAll(stream.subarray(0, cut)), ...d.pushAll(stream.subarray(cut))];
      assert.deepEqual(summary(ev), expected, `cut at ${cut}`);
      assert.equal(d.finish(), null);
    }
  });

  void it('round-trips when fed one byte at a time and at every pair of cuts', () => {
    const d = new FrameDecoder();
    const ev: FrameEvent[] = [];
    for (const b of stream) d.push(bytes(b), (e) => ev.push(e));
    assert.deepEqual(summary(ev), expected);
    const small = concat(frames.slice(0, 3).map(encodeFrame));
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const d2 = new FrameDecoder();
        const out = [small.subarray(0, i), small.subarray(i, j), small.subarray(j)].flatMap((c) =>
          d2.pushAll(c),
        );
        assert.deepEqual(summary(out), expected.slice(0, 3), `cuts ${i},${j}`);
      }
    }
  });

  void it('skips an oversized body byte-exactly and keeps decoding, at every boundary', () => {
    const limit = 16;
    const big = new Uint8Array(40).fill(7);
    const s = concat([encodeFrame(bytes(1)), encodeFrame(big), encodeFrame(bytes(2, 3))]);
    for (let cut = 0; cut <= s.length; cut++) {
      const d = new FrameDecoder(limit);
      const ev = [...d.pushAll(s.subarray(0, cut)), ...d.pushAll(s.subarray(cut))];
      assert.deepEqual(
        summary(ev),
        ['frame:01', 'error:oversized:40', 'frame:0203'],
        `cut at ${cut}`,
      );
      assert.equal(d.stats.skippedBytes, 40);
      assert.ok(d.bufferedBytes <= limit + FRAME_HEADER_BYTES);
    }
  });

  void it('reports size and limit for an oversized frame without buffering it', () => {
    const d = new FrameDecoder();
    const ev = d.pushAll(oversizedHeader(0xffff_fff0));
    assert.equal(ev.length, 1);
    const e = ev[0]!;
    assert.ok(e.kind === 'error');
    assert.equal(e.error.kind, 'oversized');
    assert.equal(e.error.sizeBytes, 0xffff_fff0);
    assert.equal(e.error.limitBytes, MAX_FRAME_BYTES);
    d.pushAll(new Uint8Array(1 << 20));
    assert.equal(d.bufferedBytes, 0);
    assert.equal(d.finish()?.kind, 'truncated');
  });

  void it('drops a frame whose checksum does not match and continues', () => {
    const bad = encodeFrame(bytes(9, 9, 9));
    bad[FRAME_HEADER_BYTES] = 8;
    const s = concat([bad, encodeFrame(bytes(4))]);
    for (let cut = 0; cut <= s.length; cut++) {
      const d = new FrameDecoder();
      const ev = [...d.pushAll(s.subarray(0, cut)), ...d.pushAll(s.subarray(cut))];
      assert.deepEqual(summary(ev), ['error:checksum:3', 'frame:04']);
      assert.equal(d.stats.checksum, 1);
    }
  });

  void it('reports a truncated stream at close (inside header, body, or skip)', () => {
    const f = encodeFrame(bytes(1, 2, 3, 4));
    for (let cut = 1; cut < f.length; cut++) {
      const d = new FrameDecoder();
      assert.deepEqual(d.pushAll(f.subarray(0, cut)), []);
      const err = d.finish();
      assert.equal(err?.kind, 'truncated', `cut at ${cut}`);
      assert.equal(d.finish(), null, 'finish resets');
    }
    const d = new FrameDecoder(4);
    d.pushAll(concat([oversizedHeader(100), new Uint8Array(10)]));
    assert.match(d.finish()?.message ?? '', /skipping an oversized frame \(90 bytes missing\)/);
    assert.equal(new FrameDecoder().finish(), null);
  });

  void it('accepts a body exactly at the limit and rejects one byte over', () => {
    const d = new FrameDecoder(8);
    assert.deepEqual(summary(d.pushAll(encodeFrame(new Uint8Array(8)))), [
      'frame:0000000000000000',
    ]);
    assert.deepEqual(summary(d.pushAll(encodeFrame(new Uint8Array(9)))), ['error:oversized:9']);
  });
});
