// Unit tests of a worker's requests for more time: when a part asks (90 % of its deadline window,
// at most once a period, only to the manager leading it), what it sends, and how answers change
// that (no ask again without new progress after a refusal for none, none once nothing is left,
// a new leader's deadline starting afresh, nothing kept of parts that ended).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ExtensionAsks,
  type ExtensionAnswer,
  type PartProgress,
} from '../../../src/nodes/worker/extension-asks.js';

const running = (): boolean => true;

function part(over: Partial<PartProgress> = {}): PartProgress {
  return {
    dispatchId: 'd1',
    leader: 'm1',
    completed: 10,
    total: undefined,
    startedAtMs: 0,
    plannedMs: 60_000,
    ...over,
  };
}

/** Answers one ask of part d1 from manager m1 at `atMs`. */
function answer(a: ExtensionAsks, atMs: number, decision: Partial<ExtensionAnswer>): void {
  a.answered(
    'm1',
    {
      extensions: [
        { dispatchId: 'd1', granted: false, extensionMs: 0, remainingMs: 0, left: 5, ...decision },
      ],
    },
    atMs,
    running,
  );
}

/** Asks with a part whose deadline (told at `toldAtMs`) is 30 s after 60 s of plan. */
function told(): ExtensionAsks {
  const a = new ExtensionAsks(2_000, 1_000);
  a.answered(
    'm1',
    { deadlines: [{ dispatchId: 'd1', remainingMs: 30_000, windowMs: 30_000 }] },
    60_000,
    running,
  );
  return a;
}

test('a part asks its leading manager once 90 % of its window is gone, with its progress and an estimate', () => {
  const a = told();
  assert.deepEqual(a.requests('m1', [part()], 86_999), []);
  assert.deepEqual(
    a.requests('m2', [part()], 87_000),
    [],
    'not to a manager that does not lead it',
  );
  const [q] = a.requests('m1', [part({ completed: 50, total: 100 })], 87_000);
  assert.deepEqual(q, {
    dispatchId: 'd1',
    reason: 'still running 27000 ms past its planned 60000 ms',
    completed: 50,
    total: 100,
    estimatedMs: 87_000,
  });
  assert.deepEqual(a.requests('m1', [part({ completed: 60 })], 87_500), [], 'once a period');
  assert.equal(a.requests('m1', [part({ completed: 60 })], 88_000).length, 1);
  assert.equal(a.counters.asked, 2);
});

test('a part without a deadline from its leader never asks', () => {
  const a = new ExtensionAsks(2_000, 1_000);
  assert.deepEqual(a.requests('m1', [part()], 1_000_000), []);
});

test('after a refusal for no progress a part asks again only once its count rose', () => {
  const a = told();
  assert.equal(a.requests('m1', [part({ completed: 10 })], 87_000).length, 1);
  answer(a, 87_010, { remainingMs: 3_000, code: 'E_NO_PROGRESS' });
  assert.deepEqual(a.requests('m1', [part({ completed: 10 })], 88_000), []);
  assert.equal(a.requests('m1', [part({ completed: 11 })], 88_000).length, 1);
  assert.equal(a.counters.denied, 1);
});

test('a grant moves the deadline; once none is left the part asks no more', () => {
  const a = told();
  a.requests('m1', [part()], 87_000);
  a.answered(
    'm1',
    {
      extensions: [
        { dispatchId: 'd1', granted: true, extensionMs: 15_000, remainingMs: 18_000, left: 0 },
      ],
      deadlines: [{ dispatchId: 'd1', remainingMs: 18_000, windowMs: 15_000 }],
    },
    87_000,
    running,
  );
  assert.deepEqual(a.deadlineOf('d1'), { deadlineAtMs: 105_000, windowMs: 15_000 });
  assert.deepEqual(a.requests('m1', [part({ completed: 99 })], 104_000), []);
  assert.equal(a.counters.granted, 1);
});

test('a new leader tracks the part afresh: it may be asked again', () => {
  const a = told();
  a.requests('m1', [part()], 87_000);
  answer(a, 87_000, { left: 0, code: 'E_EXHAUSTED' });
  a.answered(
    'm2',
    { deadlines: [{ dispatchId: 'd1', remainingMs: 30_000, windowMs: 30_000 }] },
    88_000,
    running,
  );
  assert.equal(a.requests('m2', [part({ leader: 'm2' })], 115_000).length, 1);
});

test('deadlines of parts that no longer run here are not kept', () => {
  const a = new ExtensionAsks(2_000, 1_000);
  a.answered(
    'm1',
    { deadlines: [{ dispatchId: 'gone', remainingMs: 1_000, windowMs: 1_000 }] },
    0,
    () => false,
  );
  assert.equal(a.deadlineOf('gone'), undefined);
  const b = told();
  b.forget('d1');
  assert.equal(b.deadlineOf('d1'), undefined);
});
