// Unit tests of gate pieces that need no network: the ledger as a Raft state machine (events,
// bad entries, snapshot round trip), the leader hint of an E_NOT_LEADER answer, and the schemas
// of the client-gate messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobsInvariantError } from '../../../src/cluster/jobs/errors.js';
import type { LedgerEvent } from '../../../src/cluster/jobs/ledger-types.js';
import { MessageRegistry } from '../../../src/protocol/index.js';
import { CLIENT_MESSAGES, clientError } from '../../../src/nodes/jobs/client-wire.js';
import { leaderHint } from '../../../src/nodes/gate/dc-link.js';
import { LedgerMachine } from '../../../src/nodes/gate/ledger-machine.js';

const enc = new TextEncoder();
const entry = (index: number, command: unknown) => ({
  index,
  term: 1,
  data: enc.encode(typeof command === 'string' ? command : JSON.stringify(command)),
});
const submit = (jobId: string, key: string | null) => ({
  type: 'submit',
  atMs: 1000,
  jobId,
  client: 'cert:alice',
  idempotencyKey: key,
  payloadDigest: 'd',
  ownerGate: 'g1',
  fence: 1,
  targetDcs: ['a'],
});

test('ledger machine: applies committed entries, tells listeners, answers bad entries', () => {
  const m = new LedgerMachine();
  const seen: LedgerEvent[] = [];
  m.onEvents((events) => seen.push(...events));
  const r = m.apply(entry(1, submit('job-1', 'k')));
  assert.equal(r.ok, true);
  assert.deepEqual(seen, [{ type: 'job-submitted', jobId: 'job-1' }]);
  // The same key again: the original answer, no event.
  const dup = m.apply(entry(2, submit('job-2', 'k')));
  assert.ok(dup.ok);
  assert.equal(dup.answer?.jobId, 'job-1');
  assert.equal(seen.length, 1);
  const bad = m.apply(entry(3, '{not json'));
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, 'E_INVALID_COMMAND');
  assert.equal(m.badEntries, 1);
  assert.equal(m.ledger.size, 1);
});

test('GM-16.1.3: a ledger snapshot applied to a gate restores an equal ledger; a broken one stops the node', () => {
  const m = new LedgerMachine();
  m.apply(entry(1, submit('job-1', 'k1')));
  m.apply(entry(2, submit('job-2', null)));
  m.apply(entry(3, { type: 'dc-accepted', atMs: 1100, jobId: 'job-1', dc: 'a', fence: 1 }));
  const other = new LedgerMachine();
  let restored = 0;
  other.onRestore(() => restored++);
  other.restore(m.snapshot());
  assert.equal(restored, 1);
  assert.deepEqual([...other.ledger.views()], [...m.ledger.views()]);
  assert.equal(other.ledger.jobForKey('cert:alice', 'k1'), 'job-1');
  assert.deepEqual(other.ledger.answerFor('job-1'), m.ledger.answerFor('job-1'));
  assert.throws(() => other.restore(enc.encode('{"version":9}')), JobsInvariantError);
});

test('leader hint: the address an E_NOT_LEADER answer names, in the forms managers send', () => {
  const address = { host: 'a/m2', port: 7000 };
  assert.deepEqual(leaderHint({ leader: { nodeId: 'm2', address } }), address);
  assert.deepEqual(leaderHint({ leader: address }), address);
  assert.deepEqual(leaderHint({ leaderAddress: address }), address);
  assert.equal(leaderHint({ leader: null }), null);
  assert.equal(leaderHint({ leader: { nodeId: 'm2' } }), null);
  assert.equal(leaderHint(undefined), null);
});

test('client wire: job messages are schema-checked; errors carry their details', () => {
  const registry = new MessageRegistry().register(...CLIENT_MESSAGES);
  const good = registry.check({
    t: 'job.submit',
    id: 1,
    bundle: { hash: 'a'.repeat(64), sizeBytes: 3, file: 'x.ts' },
    source: 'abc',
    plan: { version: 1 },
    idempotencyKey: 'k',
  });
  assert.equal(good.ok, true);
  const short = registry.check({
    t: 'job.submit',
    id: 2,
    bundle: { hash: 'abc', sizeBytes: 3, file: 'x.ts' },
    source: 'abc',
    plan: null,
  });
  assert.equal(short.ok, false);
  assert.equal(!short.ok && short.error.code, 'schema');
  assert.equal(!short.ok && short.error.details?.field, 'bundle.hash');
  const status = registry.check({ t: 'job.cancel', id: 3, job: '' });
  assert.equal(status.ok, false);
  assert.deepEqual(clientError('E_RATE_LIMITED', 'slow down', { retryAfterMs: 250 }), {
    t: 'error',
    code: 'E_RATE_LIMITED',
    message: 'slow down',
    details: { retryAfterMs: 250 },
  });
});
