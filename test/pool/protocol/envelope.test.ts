// The envelope beyond the seed: the replay digest against a plain BigInt reference, the
// canonical encoding, identity rules, and decodeEnvelope on malformed and random garbage.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  decodeEnvelope,
  sealEnvelope,
  utf8ByteLength,
  validateEnvelope,
  type EnvelopeMeta,
  type PoolEnvelope,
  type PoolOp,
} from '../../../src/pool/protocol/envelope.js';
import { ChannelError, type ChannelErrorKind } from '../../../src/pool/protocol/errors.js';
import { JOB_STATES } from '../../../src/pool/protocol/job-state.js';
import { MAX_TEXT_BYTES, MAX_WORKER_ID_BYTES } from '../../../src/pool/protocol/limits.js';
import { canonicalOpText, computeReplayHash } from '../../../src/pool/protocol/replay-hash.js';
import { SEED, mainEnvelope, pick, randomInt, seededRandom, workerEnvelope } from './helpers.js';

// ─── A plain BigInt reference of the digest, byte for byte from the documented definition ──

const U64 = (1n << 64n) - 1n;
const FNV_PRIME_64 = 0x100000001b3n;

function rotl(value: bigint, bits: bigint): bigint {
  return ((value << bits) | (value >> (64n - bits))) & U64;
}

function referenceReplayHash(meta: EnvelopeMeta, workerId: string | undefined, op: PoolOp): string {
  let hash =
    ((BigInt(meta.messageId) * 0x9e3779b185ebca87n + rotl(BigInt(meta.seqNo), 13n)) & U64) ^
    rotl(BigInt(meta.decisionSeq), 23n) ^
    rotl(BigInt(meta.seed), 29n) ^
    rotl(BigInt(meta.turn), 47n);
  const absorb = (bytes: Uint8Array, rotation: bigint): void => {
    for (const byte of bytes) hash = ((rotl(hash, rotation) ^ BigInt(byte)) * FNV_PRIME_64) & U64;
  };
  const utf8 = new TextEncoder();
  if (workerId !== undefined) absorb(utf8.encode(JSON.stringify(workerId)), 7n);
  absorb(utf8.encode(canonicalOpText(op)), 5n);
  return hash.toString(10);
}

// ─── Random generators ─────────────────────────────────────────────────────────────────────

const TEXT_PIECES = [
  'a',
  'Z',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0000',
  'é',
  '€',
  '😀',
  '\ud800',
  '\udfff',
  '𝄞',
  '{',
];

function randomText(random: () => number, maxPieces = 12): string {
  let out = '';
  const pieces = randomInt(random, maxPieces + 1);
  for (let i = 0; i < pieces; i++) out += pick(random, TEXT_PIECES);
  return out;
}

function randomId(random: () => number): number {
  return pick(random, [
    0,
    1,
    2 ** 31,
    2 ** 32 + 7,
    Number.MAX_SAFE_INTEGER,
    randomInt(random, 1e9),
  ]);
}

function randomBytes(random: () => number, maxLength: number): Uint8Array {
  const bytes = new Uint8Array(randomInt(random, maxLength + 1));
  for (let i = 0; i < bytes.length; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

function randomOp(random: () => number): PoolOp {
  const jobId = randomId(random);
  switch (randomInt(random, 16)) {
    case 0:
      return { type: 'bootstrap_ready', workerId: randomText(random) + 'w' };
    case 1:
      return {
        type: 'bootstrap_failed',
        workerId: 'w' + randomText(random),
        reason: randomText(random),
      };
    case 2:
      return {
        type: 'spawn_job',
        jobId,
        regionId: randomId(random),
        taskId: randomId(random),
        obligationId: randomId(random),
        payload: randomBytes(random, 64),
      };
    case 3:
      return { type: 'poll_status', jobId };
    case 4:
      return random() < 0.5
        ? { type: 'status_snapshot', jobId, state: pick(random, JOB_STATES) }
        : { type: 'status_snapshot', jobId, state: 'running', detail: randomText(random) };
    case 5:
      return {
        type: 'job_completed',
        jobId,
        outcome: pick(random, [
          { status: 'ok', payload: randomBytes(random, 32) },
          { status: 'err', code: randomText(random), message: randomText(random) },
          { status: 'cancelled', reason: randomText(random) },
          { status: 'panicked', message: randomText(random) },
        ] as const),
      };
    case 6:
      return { type: 'cancel_job', jobId, reason: randomText(random) };
    case 7:
      return { type: 'cancel_acknowledged', jobId };
    case 8:
      return { type: 'drain_job', jobId };
    case 9:
      return { type: 'drain_completed', jobId };
    case 10:
      return { type: 'finalize_job', jobId };
    case 11:
      return { type: 'finalize_completed', jobId };
    case 12:
      return { type: 'shutdown_worker', reason: randomText(random) };
    case 13:
      return { type: 'shutdown_completed' };
    case 14:
      return {
        type: 'diagnostic',
        level: pick(random, ['info', 'warn', 'error'] as const),
        category: randomText(random),
        message: randomText(random),
        ...(random() < 0.5 ? {} : { metadata: randomText(random) }),
      };
    default:
      return {
        type: 'stats_window',
        jobId,
        windowSeq: randomId(random),
        payload: randomBytes(random, 64),
      };
  }
}

function randomMeta(random: () => number): EnvelopeMeta {
  return {
    messageId: randomId(random),
    seqNo: randomId(random),
    decisionSeq: randomId(random),
    seed: randomId(random),
    turn: randomId(random),
  };
}

/** A valid envelope: worker id exactly when the op is worker-originated (as sealEnvelope's callers do). */
function randomValidEnvelope(random: () => number): PoolEnvelope {
  const op = randomOp(random);
  const workerId =
    op.type === 'bootstrap_ready' || op.type === 'bootstrap_failed'
      ? op.workerId
      : 'worker-' + randomInt(random, 9);
  const mainOnly = [
    'spawn_job',
    'poll_status',
    'cancel_job',
    'drain_job',
    'finalize_job',
    'shutdown_worker',
  ];
  return sealEnvelope(randomMeta(random), op, mainOnly.includes(op.type) ? undefined : workerId);
}

/** The digest of the fixed envelope below; changing the encoding or the digest changes it. */
const PINNED_HASH = '16241344759961494696';

void describe('replay hash', () => {
  void test('equals the plain BigInt reference on 500 random envelopes', () => {
    const random = seededRandom(0x5a1f0);
    for (let i = 0; i < 500; i++) {
      const meta = randomMeta(random);
      const op = randomOp(random);
      const workerId = random() < 0.3 ? undefined : randomText(random) || 'w';
      assert.equal(
        computeReplayHash(meta, workerId, op),
        referenceReplayHash(meta, workerId, op),
        `case ${i}`,
      );
    }
  });

  void test('equals the reference on a maximum-size payload', () => {
    const random = seededRandom(7);
    const op: PoolOp = {
      type: 'stats_window',
      jobId: 3,
      windowSeq: 9,
      payload: randomBytes(random, MAX_PAYLOAD_BYTES).fill(0xff, 0, 1024),
    };
    const meta = randomMeta(random);
    assert.equal(computeReplayHash(meta, 'w', op), referenceReplayHash(meta, 'w', op));
  });

  void test('is pinned for a fixed envelope, so a change to the encoding cannot go unnoticed', () => {
    const env = workerEnvelope('worker-7', 3, 5, 2, {
      type: 'job_completed',
      jobId: 11,
      outcome: { status: 'ok', payload: Uint8Array.from([0, 1, 254, 255]) },
    });
    assert.equal(env.replayHash, PINNED_HASH);
  });

  void test('covers every metadata field, the worker id and the operation', () => {
    const base = workerEnvelope('w', 1, 2, 3, { type: 'cancel_acknowledged', jobId: 4 });
    const variants: PoolEnvelope[] = [
      { ...base, messageId: 9 },
      { ...base, seqNo: 9 },
      { ...base, decisionSeq: 9 },
      { ...base, seed: SEED + 1 },
      { ...base, turn: 9 },
      { ...base, workerId: 'v' },
      { ...base, op: { type: 'cancel_acknowledged', jobId: 5 } },
      { ...base, op: { type: 'drain_completed', jobId: 4 } },
    ];
    assert.equal(validateEnvelope(base), null);
    for (const variant of variants) {
      assert.equal(
        validateEnvelope(variant)?.kind,
        'replay_hash_mismatch',
        JSON.stringify(variant),
      );
    }
    const { workerId: _dropped, ...withoutWorker } = base;
    assert.notEqual(
      computeReplayHash(base, undefined, base.op),
      computeReplayHash(base, 'w', base.op),
    );
    assert.equal(validateEnvelope(withoutWorker)?.kind, 'replay_hash_mismatch');
  });

  void test('survives structured clone and JSON, since it is a decimal string', () => {
    const env = workerEnvelope('w', 1, 1, 0, {
      type: 'diagnostic',
      level: 'warn',
      category: 'c',
      message: 'm',
    });
    assert.match(env.replayHash, /^[0-9]+$/);
    assert.ok(BigInt(env.replayHash) <= U64);
    assert.equal(structuredClone(env).replayHash, env.replayHash);
    assert.equal((JSON.parse(JSON.stringify(env)) as PoolEnvelope).replayHash, env.replayHash);
  });
});

void describe('canonical encoding', () => {
  void test('sorts keys, writes bytes as lowercase hex and omits absent optional fields', () => {
    assert.equal(
      canonicalOpText({
        type: 'stats_window',
        windowSeq: 2,
        payload: Uint8Array.from([0, 15, 16, 255]),
        jobId: 1,
      }),
      '{"jobId":1,"payload":"000f10ff","type":"stats_window","windowSeq":2}',
    );
    assert.equal(
      canonicalOpText({
        type: 'job_completed',
        jobId: 1,
        outcome: { status: 'err', code: 'E"1', message: 'é' },
      }),
      '{"jobId":1,"outcome":{"code":"E\\"1","message":"é","status":"err"},"type":"job_completed"}',
    );
    assert.equal(
      canonicalOpText({ type: 'status_snapshot', jobId: 1, state: 'running', detail: undefined }),
      canonicalOpText({ type: 'status_snapshot', jobId: 1, state: 'running' }),
    );
  });

  void test('does not depend on the order fields were written in', () => {
    const a: PoolOp = { type: 'cancel_job', jobId: 1, reason: 'r' };
    const b = JSON.parse('{"reason":"r","jobId":1,"type":"cancel_job"}') as PoolOp;
    assert.equal(canonicalOpText(a), canonicalOpText(b));
    assert.equal(
      computeReplayHash({ messageId: 1, seqNo: 1, decisionSeq: 1, seed: 1, turn: 1 }, undefined, b),
      computeReplayHash({ messageId: 1, seqNo: 1, decisionSeq: 1, seed: 1, turn: 1 }, undefined, a),
    );
  });

  void test('tells a worker id apart from the start of the operation', () => {
    const meta = { messageId: 1, seqNo: 1, decisionSeq: 1, seed: 1, turn: 1 };
    const op: PoolOp = { type: 'shutdown_completed' };
    assert.notEqual(computeReplayHash(meta, '', op), computeReplayHash(meta, undefined, op));
  });
});

void describe('validateEnvelope identity rules', () => {
  void test('a bootstrap operation must name the envelope worker', () => {
    const env = workerEnvelope('a', 1, 1, 0, { type: 'bootstrap_ready', workerId: 'b' });
    assert.deepEqual(validateEnvelope(env)?.detail, {
      kind: 'worker_identity_mismatch',
      expected: 'b',
      actual: 'a',
    });
    const failed = workerEnvelope('a', 1, 1, 0, {
      type: 'bootstrap_failed',
      workerId: 'b',
      reason: 'x',
    });
    assert.equal(validateEnvelope(failed)?.kind, 'worker_identity_mismatch');
  });

  void test('main-originated operations must not carry a worker id', () => {
    const env = workerEnvelope('a', 1, 1, 0, { type: 'drain_job', jobId: 1 });
    assert.deepEqual(validateEnvelope(env)?.detail, {
      kind: 'unexpected_worker_session_identity',
      op: 'drain_job',
      workerId: 'a',
    });
  });

  void test('every worker-originated operation must carry one', () => {
    const random = seededRandom(99);
    let checked = 0;
    for (let i = 0; i < 200; i++) {
      const env = randomValidEnvelope(random);
      assert.equal(validateEnvelope(env), null, JSON.stringify(env.op));
      if (env.workerId === undefined) continue;
      const { workerId: _dropped, ...rest } = env;
      const bare = sealEnvelope(rest, rest.op);
      assert.equal(validateEnvelope(bare)?.kind, 'missing_worker_session_identity');
      checked++;
    }
    assert.ok(checked > 50);
  });

  void test('limits oversized text as well as payloads', () => {
    const reason = 'é'.repeat(MAX_TEXT_BYTES / 2 + 1);
    const env = mainEnvelope(1, 1, 0, { type: 'shutdown_worker', reason });
    assert.deepEqual(validateEnvelope(env)?.detail, {
      kind: 'payload_too_large',
      field: 'op.reason',
      sizeBytes: MAX_TEXT_BYTES + 2,
      maxBytes: MAX_TEXT_BYTES,
    });
  });
});

void describe('utf8ByteLength', () => {
  void test('agrees with TextEncoder, lone surrogates included', () => {
    const random = seededRandom(3);
    const encoder = new TextEncoder();
    for (let i = 0; i < 300; i++) {
      const text = randomText(random, 30);
      assert.equal(utf8ByteLength(text), encoder.encode(text).length, JSON.stringify(text));
    }
  });
});

// ─── decodeEnvelope ──────────────────────────────────────────────────────────────────────────

function expectRejected(value: unknown, kind: ChannelErrorKind, path?: string): ChannelError {
  const result = decodeEnvelope(value);
  assert.equal(result.ok, false, 'garbage was accepted');
  if (result.ok) throw new Error('unreachable');
  assert.ok(result.error instanceof ChannelError);
  assert.equal(result.error.kind, kind, result.error.message);
  if (path !== undefined) {
    assert.ok(
      result.error.detail.kind === 'malformed_envelope' ||
        result.error.detail.kind === 'payload_too_large',
    );
    assert.equal(
      result.error.detail.kind === 'malformed_envelope'
        ? result.error.detail.path
        : result.error.detail.field,
      path,
    );
  }
  return result.error;
}

function validSpawn(): PoolEnvelope {
  return mainEnvelope(1, 1, 0, {
    type: 'spawn_job',
    jobId: 1,
    regionId: 2,
    taskId: 3,
    obligationId: 4,
    payload: Uint8Array.from([1, 2]),
  });
}

function withField(record: object, key: string, value: unknown): Record<string, unknown> {
  return { ...(record as Record<string, unknown>), [key]: value };
}

function withoutField(record: object, key: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  delete copy[key];
  return copy;
}

void describe('decodeEnvelope', () => {
  void test('accepts every valid envelope after structured clone and returns an equal fresh object', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 200; i++) {
      const env = randomValidEnvelope(random);
      const copy = structuredClone(env);
      const result = decodeEnvelope(copy);
      assert.ok(result.ok, result.ok ? '' : result.error.message);
      assert.deepEqual(result.envelope, env);
      assert.notEqual(result.envelope, copy);
    }
  });

  void test('treats an undefined optional field as absent and accepts a Buffer as bytes', () => {
    const env = workerEnvelope('w', 1, 1, 0, {
      type: 'status_snapshot',
      jobId: 1,
      state: 'queued',
    });
    const result = decodeEnvelope({ ...env, op: { ...env.op, detail: undefined } });
    assert.ok(result.ok);
    assert.equal(Object.hasOwn(result.envelope.op, 'detail'), false);
    const spawnEnv = validSpawn();
    const buffered = decodeEnvelope({
      ...spawnEnv,
      op: { ...spawnEnv.op, payload: Buffer.from([1, 2]) },
    });
    assert.ok(buffered.ok);
    assert.equal(validateEnvelope(buffered.envelope), null);
  });

  void test('rejects non-objects', () => {
    for (const garbage of [
      null,
      undefined,
      'envelope',
      42,
      0n,
      true,
      [],
      [validSpawn()],
      Symbol('x'),
      () => validSpawn(),
      new Uint8Array(4),
    ]) {
      expectRejected(garbage, 'malformed_envelope', '');
    }
  });

  void test('checks the version before anything else', () => {
    expectRejected({ version: 2 }, 'version_mismatch');
    expectRejected({ ...validSpawn(), version: 0, op: 'not an op' }, 'version_mismatch');
    expectRejected(withoutField(validSpawn(), 'version'), 'malformed_envelope', 'version');
    expectRejected({ ...validSpawn(), version: '1' }, 'malformed_envelope', 'version');
    expectRejected({ ...validSpawn(), version: 1.5 }, 'malformed_envelope', 'version');
  });

  void test('names the offending field', () => {
    const spawnEnv = validSpawn();
    const cases: [unknown, ChannelErrorKind, string][] = [
      [withoutField(spawnEnv, 'seqNo'), 'malformed_envelope', 'seqNo'],
      [withField(spawnEnv, 'seqNo', -1), 'malformed_envelope', 'seqNo'],
      [withField(spawnEnv, 'messageId', 1.5), 'malformed_envelope', 'messageId'],
      [withField(spawnEnv, 'seed', 2 ** 53), 'malformed_envelope', 'seed'],
      [withField(spawnEnv, 'turn', '3'), 'malformed_envelope', 'turn'],
      [withField(spawnEnv, 'decisionSeq', NaN), 'malformed_envelope', 'decisionSeq'],
      [withField(spawnEnv, 'replayHash', 12), 'malformed_envelope', 'replayHash'],
      [withField(spawnEnv, 'replayHash', '-1'), 'malformed_envelope', 'replayHash'],
      [withField(spawnEnv, 'replayHash', '1'.repeat(21)), 'malformed_envelope', 'replayHash'],
      [withField(spawnEnv, 'replayHash', '007'), 'malformed_envelope', 'replayHash'],
      [withField(spawnEnv, 'workerId', null), 'malformed_envelope', 'workerId'],
      [withField(spawnEnv, 'workerId', ''), 'malformed_envelope', 'workerId'],
      [
        withField(spawnEnv, 'workerId', 'w'.repeat(MAX_WORKER_ID_BYTES + 1)),
        'payload_too_large',
        'workerId',
      ],
      [withField(spawnEnv, 'extra', 1), 'malformed_envelope', 'extra'],
      [withoutField(spawnEnv, 'op'), 'malformed_envelope', 'op'],
      [withField(spawnEnv, 'op', null), 'malformed_envelope', 'op'],
      [withField(spawnEnv, 'op', { type: 'launch_missiles' }), 'malformed_envelope', 'op.type'],
      [withField(spawnEnv, 'op', { type: 7 }), 'malformed_envelope', 'op.type'],
      [withField(spawnEnv, 'op', { type: 'toString' }), 'malformed_envelope', 'op.type'],
      [withField(spawnEnv, 'op', { type: '__proto__' }), 'malformed_envelope', 'op.type'],
      [
        withField(spawnEnv, 'op', withField(spawnEnv.op, 'payload', [1, 2])),
        'malformed_envelope',
        'op.payload',
      ],
      [
        withField(spawnEnv, 'op', withField(spawnEnv.op, 'payload', new Uint16Array(2))),
        'malformed_envelope',
        'op.payload',
      ],
      [
        withField(
          spawnEnv,
          'op',
          withField(spawnEnv.op, 'payload', new Uint8Array(MAX_PAYLOAD_BYTES + 1)),
        ),
        'payload_too_large',
        'op.payload',
      ],
      [
        withField(spawnEnv, 'op', withoutField(spawnEnv.op, 'taskId')),
        'malformed_envelope',
        'op.taskId',
      ],
      [
        withField(spawnEnv, 'op', withField(spawnEnv.op, 'jobId', 2n)),
        'malformed_envelope',
        'op.jobId',
      ],
      [
        withField(spawnEnv, 'op', withField(spawnEnv.op, 'extra', 'x')),
        'malformed_envelope',
        'op.extra',
      ],
      [
        withField(spawnEnv, 'op', { type: 'status_snapshot', jobId: 1, state: 'exploded' }),
        'malformed_envelope',
        'op.state',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'status_snapshot',
          jobId: 1,
          state: 'running',
          detail: 5,
        }),
        'malformed_envelope',
        'op.detail',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'diagnostic',
          level: 'fatal',
          category: 'c',
          message: 'm',
        }),
        'malformed_envelope',
        'op.level',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'job_completed',
          jobId: 1,
          outcome: { status: 'maybe' },
        }),
        'malformed_envelope',
        'op.outcome.status',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'job_completed',
          jobId: 1,
          outcome: { status: 'err', code: 'E' },
        }),
        'malformed_envelope',
        'op.outcome.message',
      ],
      [
        withField(spawnEnv, 'op', { type: 'job_completed', jobId: 1, outcome: 'ok' }),
        'malformed_envelope',
        'op.outcome',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'job_completed',
          jobId: 1,
          outcome: { status: 'ok', payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) },
        }),
        'payload_too_large',
        'op.outcome.payload',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'stats_window',
          jobId: 1,
          windowSeq: 1,
          payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1),
        }),
        'payload_too_large',
        'op.payload',
      ],
      [
        withField(spawnEnv, 'op', { type: 'stats_window', jobId: 1, payload: new Uint8Array(1) }),
        'malformed_envelope',
        'op.windowSeq',
      ],
      [
        withField(spawnEnv, 'op', {
          type: 'cancel_job',
          jobId: 1,
          reason: 'x'.repeat(MAX_TEXT_BYTES + 1),
        }),
        'payload_too_large',
        'op.reason',
      ],
      [
        withField(spawnEnv, 'op', { type: 'shutdown_completed', reason: 'x' }),
        'malformed_envelope',
        'op.reason',
      ],
    ];
    for (const [value, kind, path] of cases) expectRejected(value, kind, path);
  });

  void test('never throws on hostile objects', () => {
    const throwingGetter = Object.defineProperty({ ...validSpawn() }, 'version', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expectRejected(throwingGetter, 'malformed_envelope', '');
    // Every field looks present and equal to 1, but listing the keys throws.
    const throwingProxy = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => ({
          value: 1,
          configurable: true,
          enumerable: true,
          writable: true,
        }),
        get: () => 1,
        ownKeys() {
          throw new Error('no keys for you');
        },
      },
    );
    const error = expectRejected(throwingProxy, 'malformed_envelope', '');
    assert.match(error.message, /no keys for you/);
    const protoKey = JSON.parse('{"__proto__": {"version": 1}}') as unknown;
    expectRejected(protoKey, 'malformed_envelope', 'version');
    const inherited: unknown = Object.create(validSpawn()) as unknown;
    expectRejected(inherited, 'malformed_envelope', 'version');
  });

  void test('rejects 3000 seeded random garbage values and mutated envelopes without throwing', () => {
    const random = seededRandom(0xdecade);
    // None of these is a valid value for any field kind (undefined is valid for optional ones).
    const invalidAnywhere: readonly unknown[] = [
      null,
      [],
      {},
      true,
      NaN,
      -1,
      1.5,
      Infinity,
      2 ** 53,
      10n,
      new Date(0),
      new Map(),
      new Float64Array(1),
      Symbol('s'),
      () => 1,
    ];
    const randomGarbage = (depth: number): unknown => {
      const choice = randomInt(random, depth > 2 ? 4 : 7);
      switch (choice) {
        case 0:
          return pick(random, invalidAnywhere);
        case 1:
          return randomText(random);
        case 2:
          return randomInt(random, 1000) - 500;
        case 3:
          return randomBytes(random, 8);
        case 4:
          return Array.from({ length: randomInt(random, 4) }, () => randomGarbage(depth + 1));
        default: {
          const record: Record<string, unknown> = {};
          const keys = ['version', 'op', 'type', 'jobId', 'payload', randomText(random, 3)];
          for (let i = randomInt(random, 5); i > 0; i--)
            record[pick(random, keys)] = randomGarbage(depth + 1);
          return record;
        }
      }
    };
    const kinds = new Map<ChannelErrorKind, number>();
    for (let i = 0; i < 3000; i++) {
      const env = randomValidEnvelope(random) as unknown as Record<string, unknown>;
      const op = env.op as Record<string, unknown>;
      const opKeys = Object.keys(op).filter((key) => key !== 'type' && op[key] !== undefined);
      const envelopeKeys = [
        'version',
        'messageId',
        'seqNo',
        'decisionSeq',
        'seed',
        'turn',
        'replayHash',
        'op',
      ];
      let garbage: unknown;
      switch (randomInt(random, 6)) {
        case 0:
          garbage = randomGarbage(0);
          break;
        case 1: // a required envelope field truncated away
          garbage = withoutField(env, pick(random, envelopeKeys));
          break;
        case 2: // an envelope field replaced by garbage
          garbage = withField(
            env,
            pick(random, [...envelopeKeys, 'workerId']),
            pick(random, invalidAnywhere),
          );
          break;
        case 3: // an op field replaced by garbage, or the op's type
          garbage = withField(
            env,
            'op',
            withField(
              op,
              opKeys.length > 0 ? pick(random, opKeys) : 'type',
              pick(random, invalidAnywhere),
            ),
          );
          break;
        case 4: // an unknown field at either level
          garbage =
            random() < 0.5
              ? withField(env, 'x' + randomText(random, 2), 1)
              : withField(env, 'op', withField(op, 'x' + randomText(random, 2), 1));
          break;
        default: // a valid envelope with a payload or text just over its limit
          garbage = withField(env, 'op', {
            type: 'stats_window',
            jobId: 1,
            windowSeq: 1,
            payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1 + randomInt(random, 100)),
          });
      }
      let result: ReturnType<typeof decodeEnvelope>;
      try {
        result = decodeEnvelope(garbage);
      } catch (error) {
        assert.fail(`decodeEnvelope threw on case ${i}: ${String(error)}`);
      }
      assert.equal(result.ok, false, `case ${i} was accepted`);
      if (result.ok) continue;
      assert.ok(result.error instanceof ChannelError);
      kinds.set(result.error.kind, (kinds.get(result.error.kind) ?? 0) + 1);
    }
    assert.deepEqual([...kinds.keys()].sort(), [
      'malformed_envelope',
      'payload_too_large',
      'version_mismatch',
    ]);
  });

  void test('a decoded envelope still needs validateEnvelope for digest and identity', () => {
    const env = validSpawn();
    const tampered = decodeEnvelope({ ...env, seqNo: env.seqNo + 1 });
    assert.ok(tampered.ok);
    assert.equal(validateEnvelope(tampered.envelope)?.kind, 'replay_hash_mismatch');
    assert.equal(PROTOCOL_VERSION, 1);
  });
});
