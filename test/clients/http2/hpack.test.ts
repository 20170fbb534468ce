// HPACK and its Huffman code, pure: the examples of RFC 7541 Appendix C, every byte value
// through the Huffman code, the decoder's errors, and the request encoder read back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, HpackError } from '../../../src/clients/http2/hpack.js';
import {
  HuffmanError,
  huffmanDecode,
  huffmanEncode,
  huffmanLength,
} from '../../../src/clients/http2/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function encode(value: string): Buffer {
  const out = Buffer.alloc(huffmanLength(value));
  const end = huffmanEncode(value, out, 0);
  assert.equal(end, out.length);
  return out;
}

function decodeBlock(d: HpackDecoder, block: Buffer): [string, string][] {
  const flat: string[] = [];
  d.decode(block, 0, block.length, flat);
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return pairs;
}

describe('Huffman code (RFC 7541 §5.2, Appendix B)', () => {
  test('the Appendix C.4 strings encode and decode to the RFC bytes', () => {
    const cases: [string, string][] = [
      ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
      ['no-cache', 'a8eb 1064 9cbf'],
      ['custom-key', '25a8 49e9 5ba9 7d7f'],
      ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
    ];
    for (const [text, bytes] of cases) {
      assert.deepEqual(encode(text), hex(bytes), text);
      const b = hex(bytes);
      assert.equal(huffmanDecode(b, 0, b.length), text);
    }
  });

  test('every byte value survives encode then decode', () => {
    let all = '';
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    const b = encode(all);
    assert.equal(huffmanDecode(b, 0, b.length), all);
    for (let i = 0; i < 256; i++) {
      const one = encode(String.fromCharCode(i).repeat(3));
      assert.equal(huffmanDecode(one, 0, one.length), String.fromCharCode(i).repeat(3));
    }
  });

  test('EOS inside a string, long padding and padding of zeros are errors', () => {
    // EOS is 30 ones: 4 bytes of ones hold it whole.
    assert.throws(() => huffmanDecode(hex('ffffffff'), 0, 4), HuffmanError);
    // 'a' (00011) then a full byte of ones as padding: 11 bits of padding.
    assert.throws(() => huffmanDecode(hex('1fff'), 0, 2), HuffmanError);
    // 'a' then padding 000 instead of 111.
    assert.throws(() => huffmanDecode(hex('18'), 0, 1), HuffmanError);
    assert.equal(huffmanDecode(hex('1f'), 0, 1), 'a');
  });
});

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  test('C.3: three requests without Huffman share one dynamic table', () => {
    const d = new HpackDecoder();
    assert.deepEqual(decodeBlock(d, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decodeBlock(d, hex('8286 84be 5808 6e6f 2d63 6163 6865')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(
      decodeBlock(
        d,
        hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'),
      ),
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        [':authority', 'www.example.com'],
        ['custom-key', 'custom-value'],
      ],
    );
    assert.equal(d.entries, 3);
  });

  test('C.4: the same requests with Huffman strings', () => {
    const d = new HpackDecoder();
    assert.deepEqual(decodeBlock(d, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decodeBlock(d, hex('8286 84be 5886 a8eb 1064 9cbf')).at(-1), [
      'cache-control',
      'no-cache',
    ]);
  });

  test('a size update evicts, and bad blocks are HpackErrors', () => {
    const d = new HpackDecoder();
    decodeBlock(d, hex('4003 6162 6303 7879 7a')); // abc: xyz, indexed
    assert.equal(d.entries, 1);
    assert.deepEqual(decodeBlock(d, hex('be')), [['abc', 'xyz']]);
    decodeBlock(d, hex('20')); // table size 0: everything evicted
    assert.equal(d.entries, 0);
    assert.throws(() => decodeBlock(d, hex('be')), HpackError, 'index past the table');
    assert.throws(() => decodeBlock(d, hex('80')), HpackError, 'index 0');
    assert.throws(
      () => decodeBlock(d, hex('3fe21f')),
      HpackError,
      'size update to 4097, above 4096',
    );
    assert.throws(() => decodeBlock(d, hex('82 20')), HpackError, 'size update after a field');
    assert.throws(() => decodeBlock(d, hex('400a 6162')), HpackError, 'truncated string');
    assert.throws(() => decodeBlock(d, hex('ff ff ff ff ff 0f')), HpackError, 'integer overflow');
  });

  test('the request encoder reads back through the decoder', () => {
    const e = new HpackEncoder();
    const fields: [string, string][] = [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'localhost:8443'],
      [':path', '/items/1?x=2'],
      ['accept-encoding', 'gzip, deflate'],
      ['content-type', 'application/json'],
      ['x-custom', 'v'.repeat(300)],
    ];
    for (const [n, v] of fields) e.add(n, v);
    const block = Buffer.from(e.buf.subarray(0, e.len));
    assert.deepEqual(decodeBlock(new HpackDecoder(), block), fields);
    assert.equal(block[0], 0x82, ':method GET is static index 2');
  });
});
