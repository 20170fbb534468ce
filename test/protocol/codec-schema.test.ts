// Codec (MessagePack, fixed configuration) and schema validation: bad bytes and bad shapes become
// structured errors naming the message type and field; unknown fields are ignored; registry rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeValue, encodeValue } from '../../src/protocol/codec.js';
import {
  CORE_MESSAGES,
  defineMessage,
  MessageRegistry,
  type MessageOf,
} from '../../src/protocol/messages.js';
import { s, validate } from '../../src/protocol/schema.js';

const Append = defineMessage('test.append', {
  term: s.uint(),
  entries: s.array(s.object({ index: s.uint(), data: s.bytes({ maxBytes: 16 }) }), { maxItems: 4 }),
  leader: s.string({ minLength: 1, maxLength: 8 }),
  hint: s.optional(s.enum('a', 'b')),
  ratio: s.nullable(s.number({ min: 0, max: 1 })),
});
type AppendMsg = MessageOf<typeof Append>;

function registry(): MessageRegistry {
  return new MessageRegistry().register(Append);
}

void describe('codec', () => {
  void it('round-trips plain values; every frame decodes on its own', () => {
    const v = {
      t: 'x',
      n: 1,
      big: 2 ** 40,
      neg: -3,
      f: 1.5,
      s: 'é',
      b: Uint8Array.from([1, 2]),
      a: [1, 'two'],
      o: { k: null },
    };
    const r = decodeValue(encodeValue(v));
    assert.ok(r.ok);
    assert.deepEqual(r.value, v);
    // A second, different object does not depend on the first (no shared structures).
    const r2 = decodeValue(encodeValue({ t: 'x', other: true }));
    assert.deepEqual(r2.ok && r2.value, { t: 'x', other: true });
  });

  void it('turns bad bytes into error values', () => {
    assert.deepEqual(decodeValue(new Uint8Array(0)), { ok: false, error: 'empty body' });
    assert.equal(decodeValue(Uint8Array.from([0x92, 0x01])).ok, false, 'truncated array');
    assert.equal(decodeValue(Uint8Array.from([0x01, 0x02])).ok, false, 'trailing bytes');
    assert.equal(
      decodeValue(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff])).ok,
      false,
      'huge array header',
    );
    assert.equal(decodeValue(new Uint8Array(200_000).fill(0x91)).ok, false, 'absurd nesting');
  });
});

void describe('schema', () => {
  void it('validates scalars with bounds and names the path', () => {
    assert.deepEqual(validate(s.uint({ max: 5 }), 6), {
      ok: false,
      issue: { path: '', expected: 'integer(0..5)', actual: 'number 6' },
    });
    assert.equal(validate(s.int(), 1.5).ok, false);
    assert.equal(validate(s.number(), Number.NaN).ok, false);
    assert.equal(validate(s.string({ maxLength: 2 }), 'abc').ok, false);
    assert.equal(validate(s.boolean(), 0).ok, false);
    assert.equal(validate(s.bytes({ maxBytes: 1 }), Uint8Array.from([1, 2])).ok, false);
    assert.equal(validate(s.enum('a', 'b'), 'c').ok, false);
    assert.equal(validate(s.array(s.uint(), { maxItems: 1 }), [1, 2]).ok, false);
    assert.equal(validate(s.record(s.uint(), { maxKeys: 1 }), { a: 1, b: 2 }).ok, false);
    const r = validate(s.object({ xs: s.array(s.object({ v: s.uint() })) }), {
      xs: [{ v: 1 }, { v: 'no' }],
    });
    assert.deepEqual(r, {
      ok: false,
      issue: { path: 'xs[1].v', expected: 'integer(0..9007199254740991)', actual: 'string(2)' },
    });
  });

  void it('strips unknown fields and rejects non-plain objects', () => {
    const r = validate(s.object({ a: s.uint(), b: s.optional(s.uint()) }), {
      a: 1,
      extra: 'x',
      b: null,
    });
    assert.deepEqual(r, { ok: true, value: { a: 1 } });
    assert.equal(validate(s.object({}), new Date()).ok, false);
    assert.equal(validate(s.object({}), [1]).ok, false);
  });
});

void describe('MessageRegistry', () => {
  void it('decodes a valid registered message and ignores unknown fields', () => {
    const msg = {
      t: 'test.append',
      id: 7,
      term: 3,
      entries: [{ index: 1, data: Uint8Array.from([1]), junk: 1 }],
      leader: 'n1',
      ratio: null,
      future: { x: 1 },
    };
    const r = registry().decode(encodeValue(msg));
    assert.ok(r.ok, JSON.stringify(r));
    const m = r.message as AppendMsg;
    assert.equal(m.t, 'test.append');
    assert.equal(m.id, 7);
    assert.equal(m.term, 3);
    assert.equal(m.ratio, null);
    assert.deepEqual(Object.keys(m.entries[0]!), ['index', 'data']);
    assert.equal('future' in m, false);
  });

  void it('reports malformed bodies', () => {
    const reg = registry();
    for (const body of [
      Uint8Array.from([0xc1]),
      encodeValue([1, 2]),
      encodeValue('hello'),
      encodeValue({ x: 1 }),
      encodeValue({ t: 5 }),
      encodeValue({ t: '' }),
    ]) {
      const r = reg.decode(body);
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'malformed', Buffer.from(body).toString('hex'));
      assert.equal(r.error.t, 'error');
    }
  });

  void it('reports an unknown type with the request id to answer', () => {
    const r = registry().decode(encodeValue({ t: 'nope', id: 12 }));
    assert.ok(!r.ok);
    assert.deepEqual(r.error, {
      t: 'error',
      code: 'unknown_type',
      message: 'unknown message type "nope"',
      details: { type: 'nope' },
      re: 12,
    });
  });

  void it('reports schema errors naming the type and the field', () => {
    const r = registry().decode(
      encodeValue({
        t: 'test.append',
        id: 3,
        term: 1,
        entries: [{ index: -1, data: Uint8Array.from([]) }],
        leader: 'x',
        ratio: 0,
      }),
    );
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'schema');
    assert.equal(r.error.re, 3);
    assert.deepEqual(r.error.details, {
      type: 'test.append',
      field: 'entries[0].index',
      expected: 'integer(0..9007199254740991)',
      actual: 'number -1',
    });
    assert.match(r.error.message, /message "test.append": field "entries\[0\].index" must be/);
    const missing = registry().decode(
      encodeValue({ t: 'test.append', term: 1, entries: [], ratio: 0 }),
    );
    assert.ok(!missing.ok);
    assert.equal(missing.error.details?.field, 'leader');
    assert.equal(missing.error.details?.actual, 'missing');
  });

  void it('rejects bad envelope ids', () => {
    for (const id of [0, -1, 1.5, 'x', 2 ** 32]) {
      const r = registry().decode(encodeValue({ t: 'ping', id }));
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'schema');
      assert.equal(r.error.details?.field, 'id');
    }
    const re = registry().decode(encodeValue({ t: 'ping', re: 'x' }));
    assert.ok(!re.ok && re.error.details?.field === 're');
  });

  void it('registers module types; duplicates of the same definition are fine, conflicts throw', () => {
    const reg = new MessageRegistry();
    assert.deepEqual(reg.types(), CORE_MESSAGES.map((d) => d.type).sort());
    reg.register(Append).register(Append);
    assert.ok(reg.has('test.append'));
    assert.throws(() => reg.register(defineMessage('test.append', {})), /already registered/);
    assert.throws(() => defineMessage('x', { id: s.uint() }), /reserved/);
  });

  void it('refuses to encode an invalid outgoing message', () => {
    const r = registry().encode({ t: 'test.append', term: -1 });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'schema');
    assert.match(r.error.message, /refusing to send/);
    const ok = registry().encode({
      t: 'test.append',
      term: 1,
      entries: [],
      leader: 'a',
      ratio: 0.5,
    });
    assert.ok(ok.ok);
  });
});
