// Unit and property tests of part deadlines: the base deadline, grants by the logarithmic rule,
// refusals (no progress, cap reached, overload, past the deadline, unknown part, bad input) that
// change nothing, expiry with its reason, release of an early finisher, when a worker should
// ask, and invariants over random request sequences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  grantMs,
  PartDeadlines,
  wantsExtension,
  type ExtensionDecision,
} from '../../../src/cluster/jobs/part-deadlines.js';

const granted = (d: ExtensionDecision): number => {
  assert.ok(d.ok, `expected a grant, got ${d.ok ? '' : `${d.code}: ${d.message}`}`);
  return d.extensionMs;
};
const code = (d: ExtensionDecision): string => (d.ok ? 'granted' : d.code);

test('a part is due at its planned end plus the base, not before', () => {
  const p = new PartDeadlines();
  assert.ok(p.track('d1', 1_000, 10_000, 1_000));
  assert.equal(p.deadlineOf('d1')?.deadlineMs, 41_000);
  assert.deepEqual(p.due(40_999), []);
  const [e] = p.due(41_000);
  assert.equal(e?.dispatchId, 'd1');
  assert.match(e.reason, /^timed out: .*planned 10000 ms \+ base 30000 ms \+ no extension/);
  assert.equal(p.size, 0, 'an expired part is forgotten (returned once)');
  assert.deepEqual(p.due(100_000), []);
});

test('a part a new leader first sees late still gets the base from then', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 10_000, 50_000);
  assert.equal(p.deadlineOf('d1')?.deadlineMs, 80_000);
});

test('LT-41.22.1 extensions with rising progress follow the logarithmic rule and move the deadline', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 0, 0);
  const sizes: number[] = [];
  let deadline = 30_000;
  for (let n = 0; n < 5; n++) {
    const now = deadline - 500;
    const d = p.request('d1', { completed: (n + 1) * 10 }, now, false);
    sizes.push(granted(d));
    deadline += sizes[n]!;
    assert.equal(d.ok && d.deadlineMs, deadline, 'the grant is added to the deadline');
    assert.equal(d.ok && d.left, 4 - n);
  }
  assert.deepEqual(sizes, [15_000, 7_500, 3_750, 1_875, 1_000]);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((n) => grantMs(n, { baseMs: 30_000, minGrantMs: 1_000 })),
    [15_000, 7_500, 3_750, 1_875, 1_000, 1_000],
  );
});

test('LT-41.22.2 a request without rising progress is refused, spends nothing, and the part times out at its deadline', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 0, 0);
  granted(p.request('d1', { completed: 5 }, 29_000, false));
  const d = p.request('d1', { completed: 5 }, 44_000, false);
  assert.equal(code(d), 'E_NO_PROGRESS');
  assert.equal(!d.ok && d.deadlineMs, 45_000, 'the deadline did not move');
  assert.equal(p.deadlineOf('d1')?.extensions, 1, 'nothing spent');
  // Progress resumes before the deadline: it may ask again.
  granted(p.request('d1', { completed: 6 }, 44_500, false));
  assert.equal(code(p.request('d1', { completed: 6 }, 52_000, false)), 'E_NO_PROGRESS');
  const [e] = p.due(52_500);
  assert.equal(e?.extensions, 2);
  assert.match(
    e.reason,
    /2 extension\(s\) of 22500 ms in all\); last extension refused: no progress: 6 iteration\(s\) finished, not above 6/,
  );
});

test('progress must rise within the window: what was done before it began does not count', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 10_000, 0);
  p.observe('d1', 40, 9_000); // before the window: ignored
  p.observe('d1', 50, 10_000); // the window's baseline
  p.observe('d1', 60, 11_000); // later counts change nothing
  assert.equal(code(p.request('d1', { completed: 50 }, 37_000, false)), 'E_NO_PROGRESS');
  assert.equal(granted(p.request('d1', { completed: 51 }, 37_500, false)), 15_000);
  // After a grant the next window starts from the grant's progress.
  p.observe('d1', 45, 40_000); // the manager's count lags: the grant's 51 still holds
  assert.equal(code(p.request('d1', { completed: 51 }, 54_000, false)), 'E_NO_PROGRESS');
  granted(p.request('d1', { completed: 52 }, 54_100, false));
});

test('LT-41.22.3 once the cap is reached further requests are refused', () => {
  const p = new PartDeadlines({ maxExtensions: 2 });
  p.track('d1', 0, 0, 0);
  granted(p.request('d1', { completed: 1 }, 0, false));
  granted(p.request('d1', { completed: 2 }, 0, false));
  const d = p.request('d1', { completed: 3 }, 0, false);
  assert.equal(code(d), 'E_EXHAUSTED');
  assert.equal(!d.ok && d.left, 0);
  assert.equal(p.deadlineOf('d1')?.deadlineMs, 30_000 + 15_000 + 7_500);
});

test('LT-41.22.5 the manager refuses while overloaded, and grants once the load is gone', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 0, 0);
  const d = p.request('d1', { completed: 3 }, 28_000, true);
  assert.equal(code(d), 'E_OVERLOADED');
  assert.equal(p.deadlineOf('d1')?.extensions, 0);
  assert.equal(granted(p.request('d1', { completed: 3 }, 28_500, false)), 15_000);
});

test('refusals: unknown part, past the deadline, bad progress', () => {
  const p = new PartDeadlines();
  assert.equal(code(p.request('nope', { completed: 1 }, 0, false)), 'E_UNKNOWN_PART');
  p.track('d1', 0, 0, 0);
  assert.equal(code(p.request('d1', { completed: 1 }, 30_000, false)), 'E_PAST_DEADLINE');
  assert.equal(code(p.request('d1', { completed: -1 }, 0, false)), 'E_INVALID');
  assert.equal(code(p.request('d1', { completed: 1.5 }, 0, false)), 'E_INVALID');
  assert.equal(code(p.request('d1', { completed: 5, total: 4 }, 0, false)), 'E_INVALID');
  assert.equal(p.counters.denied, 5);
  assert.equal(p.counters.granted, 0);
});

test('LT-41.22.4 a part is timed out at its base deadline plus exactly what was granted', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 20_000, 0);
  granted(p.request('d1', { completed: 1 }, 49_000, false));
  granted(p.request('d1', { completed: 2 }, 64_000, false));
  assert.deepEqual(p.due(50_000 + 22_500 - 1), []);
  assert.equal(p.due(72_500)[0]?.extendedMs, 22_500);
});

test('LT-49.2 a part that finishes early after an extension releases it', () => {
  const p = new PartDeadlines();
  p.track('d1', 0, 0, 0);
  granted(p.request('d1', { completed: 1 }, 29_000, false));
  assert.ok(p.release('d1'));
  assert.equal(p.size, 0);
  assert.deepEqual(p.due(1_000_000), []);
  assert.equal(code(p.request('d1', { completed: 2 }, 30_000, false)), 'E_UNKNOWN_PART');
});

test('the tracker is bounded and refuses bad config naming the field', () => {
  const p = new PartDeadlines({ maxParts: 2 });
  assert.ok(p.track('a', 0, 0, 0));
  assert.ok(p.track('b', 0, 0, 0));
  assert.ok(!p.track('c', 0, 0, 0));
  assert.ok(p.track('a', 0, 0, 0), 'a tracked part stays as it is');
  assert.equal(p.counters.refusedFull, 1);
  assert.throws(() => new PartDeadlines({ baseMs: 0 }), /baseMs must be an integer ≥ 1/);
  assert.throws(() => new PartDeadlines({ maxExtensions: -1 }), /maxExtensions/);
});

test('LT-31.2.1 a worker asks once 90 % of the deadline window has passed (or only a lead is left)', () => {
  // Window 30 s: asks from 27 s on.
  assert.equal(wantsExtension(26_999, 0, 30_000, 2_000), false);
  assert.equal(wantsExtension(27_000, 0, 30_000, 2_000), true);
  assert.equal(wantsExtension(30_000, 0, 30_000, 2_000), false, 'too late: past the deadline');
  // Window 1 s: 10 % is 100 ms, less than the lead, so it asks 2 s before.
  assert.equal(wantsExtension(98_000, 99_000, 100_000, 2_000), true);
  assert.equal(wantsExtension(97_999, 99_000, 100_000, 2_000), false);
});

test('property: grants never exceed the cap, the deadline only moves by the grants, refusals change nothing', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          completed: fc.integer({ min: -1, max: 50 }),
          overloaded: fc.boolean(),
          advance: fc.integer({ min: 0, max: 20_000 }),
        }),
        { maxLength: 30 },
      ),
      fc.integer({ min: 1_000, max: 60_000 }),
      fc.integer({ min: 0, max: 6 }),
      (steps, baseMs, maxExtensions) => {
        const p = new PartDeadlines({ baseMs, maxExtensions });
        p.track('d', 0, 0, 0);
        let now = 0;
        let lastProgress = 0;
        let sum = 0;
        let grants = 0;
        for (const s of steps) {
          now += s.advance;
          const before = p.deadlineOf('d');
          if (before === undefined) break;
          const d = p.request('d', { completed: s.completed }, now, s.overloaded);
          const after = p.deadlineOf('d')!;
          if (d.ok) {
            assert.ok(s.completed > lastProgress && !s.overloaded && now < before.deadlineMs);
            assert.equal(d.extensionMs, grantMs(grants, p.cfg));
            lastProgress = s.completed;
            sum += d.extensionMs;
            grants++;
          } else assert.deepEqual(after, before, 'a refusal changes nothing');
          assert.ok(grants <= maxExtensions);
          assert.equal(after.deadlineMs, baseMs + sum);
          if (p.due(now).length > 0) break;
        }
      },
    ),
  );
});
