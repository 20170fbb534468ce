// Unit tests of the DC state replicated in Raft: fences, dispatch records, duplicates,
// cancellation, snapshots, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DcJobState, encodeDcCommand, type DcCommand } from '../../../src/cluster/jobs/dc-state.js';

const dispatch = (fence: number, attempt = 1, workflow = 'wf'): DcCommand => ({
  op: 'dispatch',
  job: 'j',
  fence,
  ownerGate: 'g1',
  ownerAddress: { host: 'g', port: 1 },
  workflow,
  attempt,
  managerFence: 2 ** 32 + 1,
  parts: [{ dispatchId: 'd1', worker: 'w1', fence: 2 ** 32 + 1, threads: 2 }],
});

test('a dispatch with a fence older than one seen for its job is refused by every replica alike', () => {
  const s = new DcJobState();
  assert.deepEqual(s.apply(dispatch(5)), { ok: true });
  const stale = s.apply(dispatch(4, 2, 'other'));
  assert.equal(!stale.ok && stale.code, 'E_STALE_FENCE');
  assert.equal(!s.checkFence('j', 4).ok, true);
  assert.deepEqual(s.checkFence('j', 5), { ok: true });
  assert.equal(s.job('j')!.workflows['other'], undefined);
});

test('a known attempt is a duplicate; a cancel records the newer fence; the end is recorded once', () => {
  const s = new DcJobState();
  s.apply(dispatch(1));
  const dup = s.apply(dispatch(1));
  assert.equal(!dup.ok && dup.code, 'E_DUPLICATE');
  assert.deepEqual(s.apply({ op: 'cancel', job: 'j', fence: 3 }), { ok: true });
  assert.equal(s.job('j')!.cancelled, true);
  assert.equal(s.job('j')!.fence, 3);
  assert.deepEqual(
    s.apply({ op: 'workflow-end', job: 'j', workflow: 'wf', outcome: 'cancelled' }),
    { ok: true },
  );
  const again = s.apply({ op: 'workflow-end', job: 'j', workflow: 'wf', outcome: 'completed' });
  assert.equal(!again.ok && again.code, 'E_DUPLICATE');
});

test('snapshot and restore carry the whole state; bad bytes are a rejection', () => {
  const s = new DcJobState();
  s.applyBytes(encodeDcCommand(dispatch(2)));
  const t = new DcJobState();
  t.restore(s.snapshot());
  assert.deepEqual(t.job('j'), s.job('j'));
  const bad = t.applyBytes(new TextEncoder().encode('{nope'));
  assert.equal(!bad.ok && bad.code, 'E_BAD_COMMAND');
  const noop = t.applyBytes(new TextEncoder().encode('{"op":"x"}'));
  assert.equal(!noop.ok && noop.code, 'E_BAD_COMMAND');
});

test('past maxJobs the oldest ended job is evicted first', () => {
  const s = new DcJobState(2);
  s.apply({ ...dispatch(1), job: 'a' });
  s.apply({ ...dispatch(1), job: 'b' });
  s.apply({ op: 'workflow-end', job: 'b', workflow: 'wf', outcome: 'completed' });
  s.apply({ ...dispatch(1), job: 'c' });
  assert.equal(s.jobCount, 2);
  assert.ok(s.job('a') && s.job('c') && !s.job('b'));
});
