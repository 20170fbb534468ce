// Unit tests of a worker's work slots: core allocation, fences, states, window numbering.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkSlots } from '../../../src/cluster/jobs/work-slots.js';

const q = (dispatchId: string, fence: number, threads = 1, workflow = 'wf') => ({
  dispatchId,
  job: 'j',
  workflow,
  fence,
  threads,
});

test('MW-8.1.2 MW-8.1.3 an accepted part takes the lowest free cores and is tracked', () => {
  const s = new WorkSlots({ cores: 4 });
  const r = s.accept(q('d1', 10, 3));
  assert.ok(r.ok && !r.duplicate);
  assert.deepEqual(r.part.cores, [0, 1, 2]);
  assert.equal(s.freeCores, 1);
  assert.equal(s.activeCount, 1);
  assert.equal(s.part('d1')!.state, 'accepted');
  s.started('d1');
  assert.equal(s.part('d1')!.state, 'running');
  const again = s.accept(q('d1', 10, 3));
  assert.ok(again.ok && again.duplicate, 'a resent dispatch is the same part');
  assert.equal(s.freeCores, 1);
});

test('MW-20.2.3 more threads than free cores are refused and nothing is taken', () => {
  const s = new WorkSlots({ cores: 2 });
  s.accept(q('d1', 1, 1, 'a'));
  const r = s.accept(q('d2', 1, 2, 'b'));
  assert.equal(!r.ok && r.code, 'E_NO_CORES');
  assert.equal(s.freeCores, 1);
});

test("a part's fence must be above the last one seen for its workflow", () => {
  const s = new WorkSlots({ cores: 4 });
  s.accept(q('d1', 5));
  const stale = s.accept(q('d2', 5));
  assert.equal(!stale.ok && stale.code, 'E_STALE_FENCE');
  assert.ok(s.accept(q('d3', 5, 1, 'other')).ok, 'fences are per workflow');
  assert.ok(s.accept(q('d4', 6)).ok);
  s.drain();
  const draining = s.accept(q('d5', 9, 1, 'x'));
  assert.equal(!draining.ok && draining.code, 'E_DRAINING');
});

test('MW-8.1.4 MW-14.2.1 MW-8.5.1 MW-8.5.2 cancel marks parts cancelling; finishing frees cores (cancelled wins); forget drops the part', () => {
  const s = new WorkSlots({ cores: 2 });
  s.accept(q('d1', 1, 2));
  s.started('d1');
  assert.deepEqual(s.cancel('j'), ['d1']);
  assert.equal(s.part('d1')!.state, 'cancelling');
  const f = s.finish('d1', 'completed');
  assert.ok(f.ok);
  assert.equal(f.part.outcome, 'cancelled');
  assert.equal(s.freeCores, 2);
  assert.equal(s.activeCount, 0);
  s.forget('d1');
  assert.equal(s.part('d1'), undefined);
});

test('MW-9.1.1 windows are numbered per thread 1, 2, 3… without gaps', () => {
  const s = new WorkSlots({ cores: 2 });
  s.accept(q('d1', 1, 2));
  assert.deepEqual(
    [s.nextSeq('d1', 0), s.nextSeq('d1', 0), s.nextSeq('d1', 1), s.nextSeq('d1', 0)],
    [1, 2, 1, 3],
  );
  assert.equal(s.nextSeq('d1', 2), null);
  assert.equal(s.nextSeq('nope', 0), null);
  assert.equal(s.health, 'busy');
});
