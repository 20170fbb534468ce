// Unit tests of the manager↔worker wire: schemas at the boundary and version negotiation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CORE_MESSAGES, encodeValue, MessageRegistry } from '../../../src/protocol/index.js';
import { negotiateWork, WORK_MESSAGES } from '../../../src/nodes/jobs/work-wire.js';

const registry = new MessageRegistry(CORE_MESSAGES).register(...WORK_MESSAGES);

test('a well-formed worker.register decodes; a bad one is a schema error naming the field', () => {
  const good = {
    t: 'worker.register',
    worker: 'w1',
    dc: 'a',
    incarnation: 1,
    cores: 4,
    memoryBytes: 0,
    version: { major: 1, minor: 0 },
    capabilities: ['work.cancel'],
    build: 'x',
  };
  assert.equal(registry.check(good).ok, true);
  const bad = registry.check({ ...good, cores: 0 });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'schema');
  assert.match(!bad.ok ? JSON.stringify(bad.error) : '', /cores/);
  const undecodable = registry.decode(encodeValue({ t: 'work.dispatch', dispatchId: 'd' }));
  assert.equal(undecodable.ok, false);
});

test('MW-17.1.3 MW-17.2.2 same major: the session uses the lower minor and the capabilities both list', () => {
  const r = negotiateWork({ major: 1, minor: 3 }, ['a', 'b', 'c'], { major: 1, minor: 1 }, [
    'c',
    'b',
    'z',
    'b',
  ]);
  assert.deepEqual(r, { ok: true, version: { major: 1, minor: 1 }, capabilities: ['b', 'c'] });
});

test('an unsupported major version is refused with a message naming both versions', () => {
  const r = negotiateWork({ major: 1, minor: 0 }, [], { major: 2, minor: 0 }, []);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : '', /2\.0 is not supported.*major version 1/);
});

test('a heartbeat may carry extension requests (reason, progress, total, estimate), bounded; a heartbeat without them still decodes', () => {
  const beat = {
    t: 'worker.heartbeat',
    worker: 'w1',
    incarnation: 1,
    health: 'busy',
    freeCores: 0,
    activeWork: 2,
  };
  assert.equal(registry.check(beat).ok, true);
  const ask = {
    dispatchId: 'd1',
    reason: 'still running 27000 ms past its planned 60000 ms',
    completed: 120,
    total: 200,
    estimatedMs: 40_000,
  };
  assert.equal(registry.check({ ...beat, extensions: [ask] }).ok, true);
  for (const [bad, field] of [
    [{ ...ask, completed: -1 }, /completed/],
    [{ ...ask, reason: 'x'.repeat(257) }, /reason/],
    [{ ...ask, dispatchId: '' }, /dispatchId/],
  ] as const) {
    const r = registry.check({ ...beat, extensions: [bad] });
    assert.equal(r.ok, false);
    assert.match(!r.ok ? JSON.stringify(r.error) : '', field);
  }
  const ack = {
    t: 'worker.heartbeat-ack',
    known: true,
    extensions: [
      { dispatchId: 'd1', granted: true, extensionMs: 15_000, remainingMs: 17_500, left: 4 },
      {
        dispatchId: 'd2',
        granted: false,
        extensionMs: 0,
        remainingMs: 900,
        left: 5,
        code: 'E_NO_PROGRESS',
        reason: 'no progress',
      },
    ],
    deadlines: [{ dispatchId: 'd1', remainingMs: 17_500, windowMs: 15_000 }],
  };
  assert.equal(registry.check(ack).ok, true);
  const fractional = registry.check({
    ...ack,
    deadlines: [{ dispatchId: 'd1', remainingMs: 1.5, windowMs: 1 }],
  });
  assert.equal(fractional.ok, false, 'whole milliseconds only');
});
