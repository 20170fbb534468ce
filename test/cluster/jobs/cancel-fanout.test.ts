// Unit tests of the cancellation fan-out: completion on the last acknowledgement, or at the
// deadline naming the workers that did not answer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelFanout } from '../../../src/cluster/jobs/cancel-fanout.js';

test('a cancellation completes when every worker acknowledged', () => {
  const f = new CancelFanout();
  const s = f.start('job', undefined, ['w2', 'w1'], 0, 1_000);
  assert.ok(s.ok && s.done === null);
  assert.equal(f.ack(s.cancelId, 'w1'), null);
  assert.equal(f.ack(s.cancelId, 'w1'), null, 'a repeated ack changes nothing');
  assert.deepEqual(f.ack(s.cancelId, 'w2'), {
    cancelId: s.cancelId,
    job: 'job',
    workflow: undefined,
    acknowledged: ['w1', 'w2'],
    unanswered: [],
  });
  assert.equal(f.openCount, 0);
});

test('MW-14.4.2 MW-14.4.3 at the deadline a cancellation ends naming who did not answer', () => {
  const f = new CancelFanout();
  const s = f.start('job', 'wf', ['w1', 'w2', 'w3'], 0, 1_000);
  assert.ok(s.ok);
  f.ack(s.cancelId, 'w2');
  assert.deepEqual(f.expire(999), []);
  assert.deepEqual(f.expire(1_000), [
    {
      cancelId: s.cancelId,
      job: 'job',
      workflow: 'wf',
      acknowledged: ['w2'],
      unanswered: ['w1', 'w3'],
    },
  ]);
  assert.equal(f.ack(s.cancelId, 'w1'), null, 'late acks are ignored');
});

test('with no worker to ask a cancellation is done at once; open cancellations are bounded', () => {
  const f = new CancelFanout({ maxOpen: 1 });
  const none = f.start('job', undefined, [], 0, 10);
  assert.ok(none.ok && none.done !== null && none.done.unanswered.length === 0);
  assert.ok(f.start('job', undefined, ['w1'], 0, 10).ok);
  const full = f.start('job2', undefined, ['w1'], 0, 10);
  assert.equal(!full.ok && full.code, 'E_TOO_MANY');
});
