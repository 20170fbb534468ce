// Bounded cost per peer, pure parts: decode limits (depth, values, keys per map, distinct key
// names) checked before decoding, the per-node byte budget and the frame decoder charging partial
// frames to it, the rate-limited rejection log, certified identities (SAN URI) and the binding of
// a hello to the certificate of its link.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RAFT_MESSAGES } from '../../src/cluster/consensus/wire.js';
import { ByteBudget } from '../../src/protocol/budget.js';
import {
  checkDecodeLimits,
  decodeValue,
  encodeValue,
  MAX_DECODE_DEPTH,
  MAX_DECODE_DISTINCT_KEYS,
  MAX_DECODE_MAP_KEYS,
  MAX_DECODE_VALUES,
} from '../../src/protocol/codec.js';
import { encodeFrame, FrameDecoder, type FrameEvent } from '../../src/protocol/framing.js';
import { evaluateHello, helloFor, type LocalIdentity } from '../../src/protocol/handshake.js';
import { identityUri, parseIdentityUri, type PeerIdentity } from '../../src/protocol/identity.js';
import { RateLimitedLog } from '../../src/protocol/log-limit.js';
import { MessageRegistry } from '../../src/protocol/messages.js';
import type { Logger, LogLevel } from '../../src/runtime/types.js';
import { InternalError } from '../../src/errors.js';

function nested(depth: number): Uint8Array {
  // fixarray(1) repeated, then nil: `depth` levels of [[[…]]].
  const out = new Uint8Array(depth + 1).fill(0x91);
  out[depth] = 0xc0;
  return out;
}

void describe('decode limits', () => {
  void it('refuses a 1 MiB frame of nested arrays at the depth limit, without decoding it', () => {
    const r = decodeValue(nested(1 << 20));
    assert.ok(!r.ok);
    assert.match(r.error, new RegExp(`nesting deeper than ${MAX_DECODE_DEPTH} levels`));
    assert.ok(decodeValue(nested(MAX_DECODE_DEPTH)).ok, 'exactly at the limit decodes');
    assert.ok(!decodeValue(nested(MAX_DECODE_DEPTH + 1)).ok);
  });

  void it('refuses a map declaring 65,535 keys from its header alone', () => {
    const frame = new Uint8Array(16);
    frame.set([0xde, 0xff, 0xff]);
    assert.equal(checkDecodeLimits(frame), `a map of 65535 keys (limit ${MAX_DECODE_MAP_KEYS})`);
  });

  void it('refuses more distinct key names per frame than the limit, however they are spread', () => {
    const maps = Array.from({ length: 8 }, (_, j) =>
      Object.fromEntries(Array.from({ length: 64 }, (_, k) => [`k${j}_${k}`, k])),
    );
    const r = decodeValue(encodeValue({ t: 'ping', x: maps }));
    assert.ok(!r.ok);
    assert.match(r.error, new RegExp(`more than ${MAX_DECODE_DISTINCT_KEYS} distinct map keys`));
    // The same names repeated in many maps cost nothing extra and pass.
    const same = Array.from({ length: 2000 }, () => ({ a: 1, b: 2, c: 3 }));
    assert.ok(decodeValue(encodeValue({ t: 'ping', x: same })).ok);
  });

  void it('counts two key names whose hashes collide as two names, however often they repeat', () => {
    // Find two short names with the same 32-bit FNV-1a hash (the pass's cheap identity).
    const fnv = (name: string): number => {
      let h = 0x811c9dc5 ^ name.length;
      for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
      return h;
    };
    const byHash = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const name = `n${i.toString(36)}`;
      const other = byHash.get(fnv(name));
      if (other !== undefined) pair = [other, name];
      else byHash.set(fnv(name), name);
    }
    const [a, b] = pair;
    assert.notEqual(a, b);
    // 2,000 maps holding both names: two distinct names, far below the limit.
    const maps = Array.from({ length: 2000 }, () => ({ [a]: 1, [b]: 2 }));
    assert.ok(decodeValue(encodeValue({ t: 'ping', x: maps })).ok);
    // Colliding names still count toward the limit as themselves.
    const many = Object.fromEntries(
      Array.from({ length: MAX_DECODE_DISTINCT_KEYS }, (_, k) => [`m${k}`, k]),
    );
    const r = checkDecodeLimits(encodeValue({ t: 'ping', x: [many, { [a]: 1, [b]: 2 }] }));
    assert.match(r ?? '', /distinct map keys/);
  });

  void it('refuses more values per frame than the limit', () => {
    const r = decodeValue(encodeValue(Array.from({ length: 40_000 }, () => [1])));
    assert.ok(!r.ok);
    assert.match(r.error, new RegExp(`more than ${MAX_DECODE_VALUES} values`));
  });

  void it('accepts the largest legitimate Raft append (4096 entries) under every limit', () => {
    const registry = new MessageRegistry().register(...RAFT_MESSAGES);
    const entries = Array.from({ length: 4096 }, (_, i) => ({
      index: i + 1,
      term: 3,
      kind: 'normal',
      data: new Uint8Array(16),
    }));
    const bytes = encodeValue({
      t: 'raft.append',
      from: 'n1',
      to: 'n2',
      term: 3,
      prevIndex: 0,
      prevTerm: 0,
      entries,
      commit: 0,
    });
    assert.equal(checkDecodeLimits(bytes), null);
    const r = registry.decode(bytes);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  });

  void it('a malformed body is reported as malformed by the registry, naming the limit', () => {
    const r = new MessageRegistry().decode(nested(1000));
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'malformed');
    assert.match(r.error.message, /nesting deeper/);
  });
});

void describe('per-node byte budget', () => {
  void it('reserves up to its limit, counts refusals and peaks, and rejects over-release', () => {
    const b = new ByteBudget(100);
    assert.ok(b.tryReserve(60));
    assert.ok(!b.tryReserve(41));
    assert.equal(b.refusals, 1);
    assert.ok(b.tryReserve(40));
    assert.equal(b.free, 0);
    b.release(100);
    assert.equal(b.used, 0);
    assert.equal(b.peak, 100);
    assert.throws(() => b.release(1), InternalError);
  });

  void it('the frame decoder charges a partial frame until it completes, and stops when refused', () => {
    const budget = new ByteBudget(1000);
    const d = new FrameDecoder(4096, budget);
    const frame = encodeFrame(new Uint8Array(600).fill(7));
    const events: FrameEvent[] = [];
    d.push(frame.subarray(0, 100), (e) => events.push(e));
    assert.equal(budget.used, 600, 'the partial body is held against the budget');
    d.push(frame.subarray(100), (e) => events.push(e));
    assert.equal(budget.used, 0, 'released once the frame is whole');
    assert.equal(events.length, 1);
    // Two partial 600-byte bodies at once do not fit a 1000-byte budget.
    const other = new FrameDecoder(4096, budget);
    d.push(frame.subarray(0, 50), () => undefined);
    const refused: FrameEvent[] = [];
    other.push(frame.subarray(0, 50), (e) => refused.push(e));
    assert.deepEqual(
      refused.map((e) => e.kind === 'error' && e.error.kind),
      ['over_budget'],
    );
    assert.ok(other.isStopped);
    other.push(frame, (e) => refused.push(e));
    assert.equal(refused.length, 1, 'a stopped decoder reads nothing more');
    assert.equal(d.finish()?.kind, 'truncated');
    assert.equal(budget.used, 0, 'finish() returns a partial frame to the budget');
  });
});

class CaptureLog implements Logger {
  readonly lines: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level, message, ...(fields !== undefined ? { fields } : {}) });
  }
  child(): Logger {
    return this;
  }
}

void describe('rate-limited rejection log', () => {
  void it('passes a burst, suppresses the flood and reports how many lines it suppressed', () => {
    const sink = new CaptureLog();
    const log = new RateLimitedLog(sink, 3, 2);
    for (let i = 0; i < 100; i++) log.write('warn', 'refused', { i });
    assert.equal(sink.lines.length, 3);
    assert.equal(log.suppressedTotal, 97);
    log.refill(1000); // two tokens: one reports the suppressed count at once
    assert.equal(sink.lines.length, 4);
    assert.equal(sink.lines[3]!.fields?.suppressed, 97);
    log.write('warn', 'refused', { i: 100 });
    assert.equal(sink.lines.length, 5);
    assert.equal(sink.lines[4]!.fields?.suppressed, undefined);
  });
});

const N2: PeerIdentity = { nodeId: 'n2', role: 'manager', clusterId: 'c1', datacenter: 'dc-a' };

void describe('certified identities', () => {
  void it('round-trips the SAN URI and rejects malformed ones', () => {
    assert.equal(identityUri(N2), 'salvo://c1/dc-a/manager/n2');
    assert.deepEqual(parseIdentityUri(identityUri(N2)), N2);
    for (const bad of [
      'salvo://c1/dc-a/boss/n2',
      'salvo://c1/dc-a/manager',
      'salvo://c1/dc-a/manager/n2/x',
      'https://c1/dc-a/manager/n2',
      'salvo://c1/dc a/manager/n2',
    ]) {
      assert.equal(parseIdentityUri(bad), null, bad);
    }
    assert.throws(() => identityUri({ ...N2, nodeId: 'a/b' }), InternalError);
  });

  const local: LocalIdentity = {
    nodeId: 'n1',
    role: 'manager',
    clusterId: 'c1',
    environment: 'default',
    capabilities: [],
  };
  const secure = (certified: PeerIdentity | null) => ({ secure: true, certified });

  void it('takes the identity from the certificate; a hello claiming another is refused', () => {
    const honest = helloFor({ ...local, nodeId: 'n2', datacenter: 'dc-a' });
    const ok = evaluateHello(local, honest, 'inbound', secure(N2));
    assert.ok(ok.ok);
    assert.equal(ok.session.remoteNodeId, 'n2');
    assert.equal(ok.session.remoteDatacenter, 'dc-a');
    assert.equal(ok.session.authenticated, true);
    // A client certificate whose hello claims to be member n2.
    const mallory: PeerIdentity = { ...N2, nodeId: 'mallory', role: 'client' };
    const forged = evaluateHello(local, honest, 'inbound', secure(mallory));
    assert.ok(!forged.ok);
    assert.equal(forged.error.code, 'identity_mismatch');
    assert.deepEqual(forged.error.details, {
      field: 'nodeId',
      declared: 'n2',
      certified: 'mallory',
    });
    const wrongDc = evaluateHello(local, { ...honest, datacenter: 'dc-b' }, 'inbound', secure(N2));
    assert.equal(!wrongDc.ok && wrongDc.error.code, 'identity_mismatch');
  });

  void it('refuses a secure link without a certified identity, and a plain link when required', () => {
    const hello = helloFor({ ...local, nodeId: 'n2' });
    const none = evaluateHello(local, hello, 'inbound', secure(null));
    assert.equal(!none.ok && none.error.code, 'unauthenticated');
    const plain = evaluateHello(local, hello, 'inbound', {
      secure: false,
      certified: null,
      required: true,
    });
    assert.equal(!plain.ok && plain.error.code, 'unauthenticated');
    const insecure = evaluateHello(local, hello, 'inbound');
    assert.ok(insecure.ok);
    assert.equal(insecure.session.authenticated, false);
  });

  void it('a dialled peer must be the member expected at that address', () => {
    const hello = helloFor({ ...local, nodeId: 'n3', datacenter: 'dc-a' });
    const n3 = { ...N2, nodeId: 'n3' };
    const wrong = evaluateHello(local, hello, 'outbound', { ...secure(n3), expectNodeId: 'n2' });
    assert.equal(!wrong.ok && wrong.error.code, 'identity_mismatch');
    const right = evaluateHello(local, hello, 'outbound', { ...secure(n3), expectNodeId: 'n3' });
    assert.ok(right.ok);
  });
});
