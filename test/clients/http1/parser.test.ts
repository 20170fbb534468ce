// Unit tests of the incremental HTTP/1.x response parser: every framing, split at every byte
// boundary, pipelined responses in one buffer, limits and malformed input. No sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  findHeadEnd,
  MAX_HEADER_BYTES,
  PARSE_DONE,
  PARSE_ERROR,
  PARSE_MORE,
  ResponseParser,
  SINGLE_COPY_MAX_BYTES,
} from '../../../src/clients/http1/parser.js';
import { HttpResponse, type HttpTimings } from '../../../src/clients/http1/response.js';

interface Parsed {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
  bodyBytes: number;
  keepAlive: boolean;
}

interface Outcome {
  messages: Parsed[];
  error: string;
  /** The parser state after the last chunk: still waiting for bytes? */
  pending: boolean;
}

const TIMINGS: HttpTimings = {
  dnsMs: 0,
  connectMs: 0,
  tlsMs: 0,
  sendMs: 0,
  waitMs: 0,
  receiveMs: 0,
  ttfbMs: 0,
  totalMs: 0,
  reused: false,
};

function collect(parser: ResponseParser): Parsed {
  const res = new HttpResponse(
    parser.status,
    parser.head,
    parser.body,
    parser.bodyBytes,
    TIMINGS,
    'http://x/',
    'GET',
    0,
  );
  return {
    status: res.status,
    statusText: res.statusText,
    headers: { ...res.headers },
    body: res.text(),
    bodyBytes: res.bodyBytes,
    keepAlive: parser.keepAlive,
  };
}

/**
 * Feeds `chunks` to one parser the way a connection would, except that after a complete
 * message it goes on parsing the bytes that follow (as if another request were outstanding).
 * Each chunk is placed inside a larger buffer full of misleading bytes, to prove the parser
 * never reads outside [start, end).
 */
function run(
  chunks: Buffer[],
  opts: { noBody?: boolean[]; discard?: boolean; eof?: boolean } = {},
): Outcome {
  const parser = new ResponseParser();
  const messages: Parsed[] = [];
  let index = 0;
  parser.reset(opts.noBody?.[0] ?? false, opts.discard ?? false);
  const poison = Buffer.from('\r\n\r\nHTTP/1.1 200 OK\r\n\r\n');
  for (const chunk of chunks) {
    const padded = Buffer.concat([poison, chunk, poison]);
    const start = poison.length;
    const end = start + chunk.length;
    let p = start;
    while (p < end) {
      const r = parser.execute(padded, p, end);
      if (r === PARSE_ERROR) return { messages, error: parser.error, pending: false };
      if (r === PARSE_MORE) {
        assert.equal(parser.pos, end);
        p = end;
        break;
      }
      assert.equal(r, PARSE_DONE);
      messages.push(collect(parser));
      p = parser.pos;
      index++;
      parser.reset(opts.noBody?.[index] ?? false, opts.discard ?? false);
    }
  }
  if (opts.eof === true) {
    const r = parser.finish();
    if (r === PARSE_DONE) {
      messages.push(collect(parser));
      return { messages, error: '', pending: false };
    }
    if (parser.received || messages.length === 0) {
      return { messages, error: parser.error, pending: false };
    }
  }
  return { messages, error: '', pending: parser.received };
}

/** Every way to cut `bytes` into two pieces, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push([...bytes].map((b) => Buffer.from([b])));
  return out;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function assertEverySplit(
  raw: string,
  check: (o: Outcome) => void,
  opts: { noBody?: boolean[]; discard?: boolean; eof?: boolean } = {},
): void {
  for (const chunks of splits(b(raw))) {
    const outcome = run(chunks, opts);
    try {
      check(outcome);
    } catch (error) {
      throw new Error(`split into ${chunks.map((c) => c.length).join('+')}: ${String(error)}`, {
        cause: error,
      });
    }
  }
}

void describe('ResponseParser', () => {
  void it('parses a content-length response split at every boundary', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Multi: a\r\nx-multi: b\r\n\r\nhello';
    assertEverySplit(raw, (o) => {
      assert.equal(o.error, '');
      assert.equal(o.messages.length, 1);
      const m = o.messages[0];
      assert.equal(m?.status, 200);
      assert.equal(m?.statusText, 'OK');
      assert.equal(m?.body, 'hello');
      assert.equal(m?.headers['x-multi'], 'a, b');
      assert.equal(m?.headers['content-length'], '5');
      assert.equal(m?.keepAlive, true);
    });
  });

  void it('parses chunked bodies with extensions and trailers, at every boundary', () => {
    const raw =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=value\r\nhello\r\n' +
      '1\r\n \r\n' +
      'A ; ext="q"\r\n0123456789\r\n' +
      '0\r\nX-Trailer: t\r\nOther: u\r\n\r\n';
    assertEverySplit(raw, (o) => {
      assert.equal(o.error, '');
      assert.equal(o.messages.length, 1);
      assert.equal(o.messages[0]?.body, 'hello 0123456789');
      assert.equal(o.messages[0]?.bodyBytes, 16);
      assert.equal(o.messages[0]?.keepAlive, true);
    });
  });

  void it('parses a chunked body without trailers and an empty chunked body', () => {
    const one = run([
      b('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
    ]);
    assert.equal(one.messages[0]?.body, 'abc');
    const empty = run([b('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n')]);
    assert.equal(empty.messages[0]?.body, '');
  });

  void it('attributes two pipelined responses in one buffer correctly, at every boundary', () => {
    const raw =
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none' +
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nthree';
    assertEverySplit(raw, (o) => {
      assert.equal(o.error, '');
      assert.deepEqual(
        o.messages.map((m) => [m.status, m.body]),
        [
          [200, 'one'],
          [201, 'two'],
          [204, ''],
          [202, 'three'],
        ],
      );
    });
  });

  void it('stops exactly at the end of a message (pos points at the next one)', () => {
    const parser = new ResponseParser();
    parser.reset(false, false);
    const data = b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n');
    assert.equal(parser.execute(data, 0, data.length), PARSE_DONE);
    assert.equal(data.toString('latin1', parser.pos, parser.pos + 8), 'HTTP/1.1');
  });

  void it('skips 1xx informational responses', () => {
    const raw =
      'HTTP/1.1 100 Continue\r\n\r\n' +
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    assertEverySplit(raw, (o) => {
      assert.equal(o.error, '');
      assert.equal(o.messages.length, 1);
      assert.equal(o.messages[0]?.status, 200);
      assert.equal(o.messages[0]?.body, 'ok');
      assert.equal(o.messages[0]?.headers['link'], undefined);
    });
  });

  void it('rejects 101 Switching Protocols (never asked for)', () => {
    const o = run([b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n')]);
    assert.match(o.error, /101/);
  });

  void it('treats Content-Length: 0 as an empty body', () => {
    assertEverySplit(
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
      (o) => {
        assert.deepEqual(
          o.messages.map((m) => m.body),
          ['', 'x'],
        );
      },
    );
  });

  void it('gives 204 and 304 no body, whatever their headers say', () => {
    const raw =
      'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: "x"\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext';
    assertEverySplit(raw, (o) => {
      assert.deepEqual(
        o.messages.map((m) => [m.status, m.body]),
        [
          [204, ''],
          [304, ''],
          [200, 'next'],
        ],
      );
    });
  });

  void it('gives a response to HEAD no body', () => {
    const raw =
      'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc';
    const o = run([b(raw)], { noBody: [true, false] });
    assert.deepEqual(
      o.messages.map((m) => [m.status, m.body, m.headers['content-length']]),
      [
        [200, '', '1000'],
        [200, 'abc', '3'],
      ],
    );
  });

  void it('reads a body without length until the connection closes', () => {
    assertEverySplit(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
      (o) => {
        assert.equal(o.error, '');
        assert.equal(o.messages.length, 1);
        assert.equal(o.messages[0]?.body, 'until the end');
        assert.equal(o.messages[0]?.keepAlive, false);
      },
      { eof: true },
    );
    const pending = run([b('HTTP/1.1 200 OK\r\n\r\npartial')]);
    assert.equal(pending.messages.length, 0);
    assert.equal(pending.pending, true);
  });

  void it('reads until close when transfer-encoding is not chunked', () => {
    const o = run([b('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz')], { eof: true });
    assert.equal(o.messages[0]?.body, 'zzz');
    assert.equal(o.messages[0]?.keepAlive, false);
  });

  void it('decides keep-alive from the version and the Connection header', () => {
    const cases: [string, boolean][] = [
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', true],
      ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', false],
      ['HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n', true],
      [
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
        false,
      ],
    ];
    for (const [raw, keepAlive] of cases) {
      const o = run([b(raw)]);
      assert.equal(o.error, '', raw);
      assert.equal(o.messages[0]?.keepAlive, keepAlive, raw);
    }
  });

  void it('accepts a head just under the size limit and rejects one over it', () => {
    const start = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: ';
    const end = '\r\n\r\nok';
    const make = (total: number): string =>
      start + 'v'.repeat(total - start.length - end.length + 2) + end;
    const atLimit = make(MAX_HEADER_BYTES);
    assert.equal(atLimit.length - 2, MAX_HEADER_BYTES);
    for (const chunks of [
      [b(atLimit)],
      [b(atLimit.slice(0, 1000)), b(atLimit.slice(1000))],
      chunked(b(atLimit), 1400),
    ]) {
      const o = run(chunks);
      assert.equal(o.error, '');
      assert.equal(o.messages[0]?.body, 'ok');
      assert.equal(o.messages[0]?.headers['x-big']?.length, MAX_HEADER_BYTES - start.length - 4);
    }
    const over = make(MAX_HEADER_BYTES + 1);
    for (const chunks of [[b(over)], chunked(b(over), 1400), chunked(b(over), 65536)]) {
      const o = run(chunks);
      assert.match(o.error, /exceeds/);
    }
    // A head that never ends is cut off at the limit too.
    const endless = run(chunked(b('HTTP/1.1 200 OK\r\nX: ' + 'y'.repeat(200_000)), 4096));
    assert.match(endless.error, /exceeds/);
  });

  void it('rejects garbage as soon as the first bytes arrive', () => {
    const o = run([b('SSH-2.0-OpenSSH')]);
    assert.match(o.error, /HTTP\/1\./);
    const byByte = run([b('H'), b('T'), b('X')]);
    assert.match(byByte.error, /HTTP\/1\./);
  });

  void it('rejects malformed heads and framing', () => {
    const bad = [
      'HTTP/1.1 2x0 OK\r\n\r\n',
      'HTTP/1.1 099 Low\r\n\r\n',
      'HTTP/1.2 200 OK\r\n\r\n',
      'HTTP/1.1 200OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\n: empty name\r\n\r\n',
      'HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\n folded: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;' + 'e'.repeat(5000) + '\r\n',
    ];
    for (const raw of bad) {
      const o = run([b(raw)]);
      assert.notEqual(o.error, '', `should reject ${JSON.stringify(raw)}`);
      assert.equal(o.messages.length, 0);
    }
  });

  void it('accepts repeated identical content-length values', () => {
    const o = run([b('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\ncontent-length: 2\r\n\r\nok')]);
    assert.equal(o.messages[0]?.body, 'ok');
  });

  void it('accepts a status line without a reason phrase', () => {
    const o = run([b('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n')]);
    assert.equal(o.messages[0]?.status, 404);
    assert.equal(o.messages[0]?.statusText, '');
  });

  void it('counts but does not keep a discarded body', () => {
    for (const raw of [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    ]) {
      const o = run([b(raw)], { discard: true });
      assert.equal(o.messages[0]?.body, '');
      assert.equal(o.messages[0]?.bodyBytes, 5);
    }
  });

  void it('reports an early end of stream as an error and says whether bytes arrived', () => {
    const parser = new ResponseParser();
    parser.reset(false, false);
    assert.equal(parser.finish(), PARSE_ERROR);
    assert.equal(parser.received, false);
    assert.match(parser.error, /before any response byte/);

    parser.reset(false, false);
    const data = b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    assert.equal(parser.execute(data, 0, data.length), PARSE_MORE);
    assert.equal(parser.finish(), PARSE_ERROR);
    assert.equal(parser.received, true);
    assert.match(parser.error, /before the response was complete/);
  });

  void it('keeps the bytes of a body that spans many reads', () => {
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const raw = Buffer.concat([
      b(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    const parser = new ResponseParser();
    parser.reset(false, false);
    let result = PARSE_MORE as number;
    for (const chunk of chunked(raw, 7919)) result = parser.execute(chunk, 0, chunk.length);
    assert.equal(result, PARSE_DONE);
    assert.ok(parser.body.equals(body));
  });

  void it('copies a response that arrived whole out of the read buffer in one piece', () => {
    const wire = b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello');
    const readBuffer = Buffer.alloc(256, 0x7e);
    wire.copy(readBuffer, 10);
    const parser = new ResponseParser();
    parser.reset(false, false);
    assert.equal(parser.execute(readBuffer, 10, 10 + wire.length), PARSE_DONE);
    assert.equal(parser.bodyInRaw, true, 'head and body share one copy');
    assert.equal(parser.raw.length, wire.length);
    readBuffer.fill(0x21); // the next read overwrites the shared buffer
    const res = new HttpResponse(
      parser.status,
      parser.raw,
      null,
      parser.bodyBytes,
      TIMINGS,
      'http://x/',
      'GET',
      0,
      parser.headLength,
    );
    assert.equal(res.text(), 'hello');
    assert.equal(res.header('x-a'), '1');
    assert.deepEqual(res.rawHeaders, ['Content-Length', '5', 'X-A', '1']);
    assert.equal(res.statusText, 'OK');
  });

  void it('a head repeated on the connection parses the same under the same flags only', () => {
    const parser = new ResponseParser();
    const parse = (
      wire: string,
      noBody = false,
      discard = false,
    ): [number, string, number, number, boolean] => {
      parser.reset(noBody, discard);
      const data = b(wire);
      assert.equal(parser.execute(data, 0, data.length), PARSE_DONE, wire);
      return [
        parser.status,
        parser.body.toString('latin1'),
        parser.bodyBytes,
        parser.pos,
        parser.keepAlive,
      ];
    };
    const five = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n';
    assert.deepEqual(parse(five + 'hello'), [200, 'hello', 5, five.length + 5, true]);
    assert.deepEqual(parse(five + 'world'), [200, 'world', 5, five.length + 5, true]);
    assert.deepEqual(parse(five, true), [200, '', 0, five.length, true], 'HEAD: no body');
    assert.deepEqual(parse(five + 'again'), [200, 'again', 5, five.length + 5, true]);
    assert.deepEqual(parse(five + 'skip!', false, true), [200, '', 5, five.length + 5, true]);
    const chunked = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (const body of ['abc', 'xyz']) {
      const wire = `${chunked}3\r\n${body}\r\n0\r\n\r\n`;
      assert.deepEqual(parse(wire), [201, body, 3, wire.length, true]);
    }
    const six = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n';
    assert.deepEqual(parse(six + 'hello!'), [200, 'hello!', 6, six.length + 6, true]);
    const closing = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n';
    assert.deepEqual(parse(closing + 'bye...'), [200, 'bye...', 6, closing.length + 6, false]);
    assert.deepEqual(parse(closing + 'bye!!!'), [200, 'bye!!!', 6, closing.length + 6, false]);
  });

  void it('keeps a body bigger than the single-copy limit in its own buffer', () => {
    const body = Buffer.alloc(SINGLE_COPY_MAX_BYTES + 1, 0x61);
    const wire = Buffer.concat([
      b(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    const parser = new ResponseParser();
    parser.reset(false, false);
    assert.equal(parser.execute(wire, 0, wire.length), PARSE_DONE);
    assert.equal(parser.bodyInRaw, false);
    assert.ok(parser.body.equals(body));
    assert.equal(parser.head.toString('latin1').endsWith('\r\n\r\n'), true);
  });
});

function chunked(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

void describe('findHeadEnd', () => {
  void it('finds the first CRLFCRLF inside [from, end), like indexOf restricted to the range', () => {
    const bytes = fc.constantFrom(0x0d, 0x0a, 0x61);
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 40 }), fc.nat(), fc.nat(), (arr, a, z) => {
        const buf = Buffer.from(arr);
        const from = arr.length === 0 ? 0 : a % (arr.length + 1);
        const end = from + (arr.length - from === 0 ? 0 : z % (arr.length - from + 1));
        const idx = buf.indexOf('\r\n\r\n', from, 'latin1');
        const expected = idx !== -1 && idx + 4 <= end ? idx : -1;
        assert.equal(findHeadEnd(buf, from, end), expected);
      }),
      { numRuns: 5000 },
    );
  });
});
