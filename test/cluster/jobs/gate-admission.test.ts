// Unit tests of the gate's admission cores: the per-client token bucket, authentication by
// certificate or token, the bundle checks, the payload digest, DC selection and the bounded
// retention of ended jobs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../../src/cluster/jobs/rate-limiter.js';
import {
  authenticate,
  canonicalJson,
  checkBundle,
  payloadDigest,
  sha256Hex,
  type AuthConfig,
} from '../../../src/cluster/jobs/submission-check.js';
import { chooseDcs, dcWeights, type DcCapacity } from '../../../src/cluster/jobs/dc-selection.js';
import { EndedRetention } from '../../../src/cluster/jobs/ended-retention.js';
import { JobsConfigError } from '../../../src/cluster/jobs/errors.js';

test('rate limiter: a burst passes, the next is refused with the time until a token is back', () => {
  const rl = new RateLimiter({ burst: 3, perSecond: 2 });
  for (let i = 0; i < 3; i++) assert.equal(rl.take('a', 0).ok, true);
  const refused = rl.take('a', 0);
  assert.deepEqual(refused, { ok: false, retryAfterMs: 500 });
  // Another client has its own bucket.
  assert.equal(rl.take('b', 0).ok, true);
  // Half a second later one token is back, and only one.
  assert.equal(rl.take('a', 500).ok, true);
  assert.equal(rl.take('a', 500).ok, false);
  // Refill is capped at the burst.
  for (let i = 0; i < 3; i++) assert.equal(rl.take('a', 100_000).ok, true);
  assert.equal(rl.take('a', 100_000).ok, false);
});

test('rate limiter: a clock stepping back refills nothing; the client table is bounded', () => {
  const rl = new RateLimiter({ burst: 1, perSecond: 1, maxClients: 2 });
  assert.equal(rl.take('a', 10_000).ok, true);
  assert.equal(rl.take('a', 5_000).ok, false);
  rl.take('b', 0);
  rl.take('c', 0);
  assert.equal(rl.clients, 2);
  assert.throws(() => new RateLimiter({ burst: 0 }), JobsConfigError);
});

const auth: AuthConfig = { tokens: new Map([['s3cret-token', 'ci']]), allowUnauthenticated: false };

test('authentication: certificate identity, configured token, or refusal', () => {
  assert.deepEqual(
    authenticate({ authenticated: true, nodeId: 'alice', role: 'client' }, undefined, auth),
    {
      ok: true,
      client: 'cert:alice',
    },
  );
  assert.deepEqual(
    authenticate({ authenticated: false, nodeId: 'x', role: 'client' }, 's3cret-token', auth),
    {
      ok: true,
      client: 'token:ci',
    },
  );
  const wrong = authenticate({ authenticated: false, nodeId: 'x', role: 'client' }, 'guess', auth);
  assert.equal(wrong.ok, false);
  assert.equal(!wrong.ok && wrong.code, 'E_UNAUTHENTICATED');
  const none = authenticate({ authenticated: false, nodeId: 'x', role: 'client' }, undefined, auth);
  assert.equal(!none.ok && none.code, 'E_UNAUTHENTICATED');
  const open = authenticate({ authenticated: false, nodeId: 'x', role: 'client' }, undefined, {
    ...auth,
    allowUnauthenticated: true,
  });
  assert.deepEqual(open, { ok: true, client: 'anon:x' });
});

test('bundle check: size limit, size and hash must match the source', () => {
  const source = 'export default {};';
  const good = { hash: sha256Hex(source), sizeBytes: Buffer.byteLength(source) };
  assert.deepEqual(checkBundle(good, source, { maxBundleBytes: 100 }), { ok: true, sizeBytes: 18 });
  const big = checkBundle(good, source, { maxBundleBytes: 10 });
  assert.equal(!big.ok && big.code, 'E_BUNDLE_TOO_LARGE');
  const liar = checkBundle({ ...good, hash: sha256Hex('other') }, source, { maxBundleBytes: 100 });
  assert.equal(!liar.ok && liar.code, 'E_INVALID_SUBMISSION');
  const size = checkBundle({ ...good, sizeBytes: 3 }, source, { maxBundleBytes: 100 });
  assert.equal(!size.ok && size.code, 'E_INVALID_SUBMISSION');
});

test('payload digest: key order does not matter; bundle, plan and targets do', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
  const base = { bundleHash: 'ab'.repeat(32), plan: { x: 1, y: [1, 2] }, dcs: null, dcCount: null };
  const d = payloadDigest(base);
  assert.equal(payloadDigest({ ...base, plan: { y: [1, 2], x: 1 } }), d);
  assert.notEqual(payloadDigest({ ...base, plan: { x: 2, y: [1, 2] } }), d);
  assert.notEqual(payloadDigest({ ...base, bundleHash: 'cd'.repeat(32) }), d);
  assert.notEqual(payloadDigest({ ...base, dcs: ['a'] }), d);
});

const cap = (workers: number, healthy: number, total: number, free: number): DcCapacity => ({
  workers,
  healthyWorkers: healthy,
  totalCores: total,
  freeCores: free,
});

test('DC selection: named DCs must exist and have workers; otherwise the best by capacity', () => {
  const known = ['a', 'b', 'c'];
  const capacity = new Map([
    ['a', cap(2, 2, 8, 2)],
    ['b', cap(3, 3, 12, 12)],
    ['c', cap(0, 0, 0, 0)],
  ]);
  assert.deepEqual(chooseDcs({ named: ['b', 'a'], count: 1 }, known, capacity), {
    ok: true,
    dcs: ['b', 'a'],
  });
  const unknown = chooseDcs({ named: ['z'], count: 1 }, known, capacity);
  assert.equal(!unknown.ok && unknown.code, 'E_UNKNOWN_DC');
  const empty = chooseDcs({ named: ['c'], count: 1 }, known, capacity);
  assert.equal(!empty.ok && empty.code, 'E_NO_WORKERS');
  const silent = chooseDcs({ named: ['a'], count: 1 }, known, new Map());
  assert.equal(!silent.ok && silent.code, 'E_NO_WORKERS');
  assert.deepEqual(chooseDcs({ named: null, count: 1 }, known, capacity), { ok: true, dcs: ['b'] });
  assert.deepEqual(chooseDcs({ named: null, count: 5 }, known, capacity), {
    ok: true,
    dcs: ['b', 'a'],
  });
  const none = chooseDcs({ named: null, count: 1 }, known, new Map([['c', cap(0, 0, 0, 0)]]));
  assert.equal(!none.ok && none.code, 'E_NO_WORKERS');
  assert.deepEqual(dcWeights(['a', 'b', 'z'], capacity), [8, 12, 1]);
  // Free cores first: a full DC loses to one with room, whatever its worker count.
  const full = new Map([
    ['a', cap(5, 5, 20, 0)],
    ['b', cap(1, 1, 4, 1)],
  ]);
  assert.deepEqual(chooseDcs({ named: null, count: 1 }, ['a', 'b'], full), {
    ok: true,
    dcs: ['b'],
  });
  // When no DC has room, the one with the most healthy workers.
  full.set('b', cap(1, 1, 4, 0));
  assert.deepEqual(chooseDcs({ named: null, count: 1 }, ['a', 'b'], full), {
    ok: true,
    dcs: ['a'],
  });
});

test('ended retention: bounded by count (oldest first) and by age', () => {
  const r = new EndedRetention<string>({ maxEntries: 2, maxAgeMs: 1000 });
  assert.deepEqual(r.put('j1', 'r1', 0), []);
  assert.deepEqual(r.put('j2', 'r2', 100), []);
  assert.deepEqual(r.put('j3', 'r3', 200), ['j1']);
  assert.equal(r.get('j1'), undefined);
  assert.equal(r.get('j3'), 'r3');
  assert.deepEqual(r.sweep(1100), ['j2']);
  assert.equal(r.size, 1);
  assert.deepEqual(r.sweep(1200), ['j3']);
  assert.equal(r.size, 0);
});
