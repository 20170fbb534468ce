// Unit and property tests of the replay hold of a gate that took a job over: what the DCs send
// again before the replay reaches a workflow is held (per workflow, in arrival order, within a
// bound) and handed on, once each, when the placement runs that workflow on that DC.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DcWindows, DcWorkflowDone } from '../../../src/nodes/jobs/dc-wire.js';
import { ReplayHold, type ReplayTarget } from '../../../src/nodes/gate/replay-hold.js';

/** What the placement was handed, in order: `dc/workflow#seq` for windows, `dc/workflow:done`. */
class Placement implements ReplayTarget {
  readonly runs = new Set<string>();
  readonly got: string[] = [];

  running(workflow: string, dc: string): boolean {
    return this.runs.has(`${dc}/${workflow}`);
  }

  start(workflow: string, dc: string): void {
    this.runs.add(`${dc}/${workflow}`);
  }

  deliverWindows(batch: DcWindows): unknown {
    for (const w of batch.windows) this.got.push(`${batch.dc}/${w.workflow}#${w.seq}`);
    return { merged: batch.windows.length, duplicates: 0, rejected: 0 };
  }

  deliverDone(done: DcWorkflowDone): unknown {
    this.got.push(`${done.dc}/${done.workflow}:done`);
    // The part ends with its end.
    this.runs.delete(`${done.dc}/${done.workflow}`);
    return true;
  }
}

const batch = (dc: string, ...windows: Array<[string, number]>): DcWindows => ({
  t: 'dc.windows',
  job: 'job-1',
  dc,
  fence: 2,
  windows: windows.map(([workflow, seq]) => ({
    source: 'w1#1/0',
    workflow,
    seq,
    window: { workflow, seq },
  })),
});

const done = (dc: string, workflow: string): DcWorkflowDone => ({
  t: 'dc.workflow-done',
  job: 'job-1',
  dc,
  fence: 2,
  workflow,
  outcome: 'completed',
  parts: [],
});

function setUp(maxWindows?: number): { p: Placement; hold: ReplayHold } {
  const p = new Placement();
  const hold = maxWindows === undefined ? new ReplayHold(p) : new ReplayHold(p, maxWindows);
  return { p, hold };
}

/** Hands a batch to the hold as the owned job does (the rest goes to the placement). */
const offer = (p: Placement, hold: ReplayHold, b: DcWindows): unknown =>
  hold.windows(b, (rest) => p.deliverWindows(rest));

/** Hands an end to the hold as the owned job does. */
const end = (p: Placement, hold: ReplayHold, d: DcWorkflowDone): unknown =>
  hold.holdDone(d) || p.deliverDone(d);

test('a mixed batch is split per workflow: what the replay has not reached is held, the rest goes on at once', () => {
  const { p, hold } = setUp();
  hold.expect('a', ['x', 'y', 'ran']);
  p.start('ran', 'a');
  const out = offer(
    p,
    hold,
    batch('a', ['x', 1], ['new', 1], ['y', 1], ['x', 2], ['ran', 1], ['y', 2]),
  );
  assert.deepEqual(out, { merged: 2, duplicates: 0, rejected: 0 }, "the placement's answer");
  assert.deepEqual(p.got, ['a/new#1', 'a/ran#1']);
  assert.equal(hold.size, 2, 'one held item per workflow');
  p.start('y', 'a');
  hold.flush();
  assert.deepEqual(p.got.slice(2), ['a/y#1', 'a/y#2'], 'y goes on alone, in order');
  assert.equal(hold.size, 1);
  p.start('x', 'a');
  hold.flush();
  assert.deepEqual(p.got.slice(4), ['a/x#1', 'a/x#2']);
  assert.equal(hold.size, 0);
  hold.flush();
  assert.equal(p.got.length, 6, 'nothing is delivered twice');
});

test('a batch held whole answers null and the placement is not called', () => {
  const { p, hold } = setUp();
  hold.expect('a', ['x']);
  assert.equal(offer(p, hold, batch('a', ['x', 1], ['x', 2])), null);
  assert.deepEqual(p.got, []);
  // Another DC that did not run x for the lost owner is not held.
  assert.deepEqual(offer(p, hold, batch('b', ['x', 1])), {
    merged: 1,
    duplicates: 0,
    rejected: 0,
  });
  assert.deepEqual(p.got, ['b/x#1']);
});

test('order per (dc, workflow) is kept: what comes once the workflow runs waits behind what is held', () => {
  const { p, hold } = setUp();
  hold.expect('a', ['x']);
  hold.expect('b', ['x']);
  offer(p, hold, batch('a', ['x', 1], ['x', 2]));
  offer(p, hold, batch('b', ['x', 1]));
  offer(p, hold, batch('a', ['x', 3]));
  p.start('x', 'a');
  // The replay reached x on a; a's next window comes before the hold is flushed.
  offer(p, hold, batch('a', ['x', 4]));
  hold.flush();
  assert.deepEqual(p.got, ['a/x#1', 'a/x#2', 'a/x#3', 'a/x#4'], "b's stays held");
  offer(p, hold, batch('a', ['x', 5]));
  assert.deepEqual(p.got.at(-1), 'a/x#5', 'nothing held: straight on');
  p.start('x', 'b');
  hold.flush();
  assert.deepEqual(p.got.slice(5), ['b/x#1']);
  assert.equal(hold.size, 0);
});

test('a workflow end is held behind the held windows of its workflow, and goes on after them', () => {
  const { p, hold } = setUp();
  hold.expect('a', ['x', 'y']);
  offer(p, hold, batch('a', ['x', 1]));
  assert.equal(hold.holdDone(done('a', 'x')), true, 'the replay has not reached x');
  assert.equal(end(p, hold, done('a', 'other')), true, 'not expected: delivered by the caller');
  assert.deepEqual(p.got, ['a/other:done']);
  p.start('x', 'a');
  hold.flush();
  assert.deepEqual(p.got.slice(1), ['a/x#1', 'a/x:done']);
  // Running, with windows still held: the end waits behind them until the flush.
  offer(p, hold, batch('a', ['y', 1]));
  p.start('y', 'a');
  assert.equal(hold.holdDone(done('a', 'y')), true);
  assert.deepEqual(p.got.slice(3), []);
  hold.flush();
  assert.deepEqual(p.got.slice(3), ['a/y#1', 'a/y:done']);
  // Running with nothing held: not the hold's to keep.
  hold.expect('b', ['z']);
  p.start('z', 'b');
  assert.equal(hold.holdDone(done('b', 'z')), false);
  assert.equal(hold.size, 0);
});

test("past maxWindows a batch is refused whole ('full') and nothing of it is held or delivered", () => {
  const { p, hold } = setUp(3);
  hold.expect('a', ['x']);
  assert.equal(offer(p, hold, batch('a', ['x', 1], ['x', 2])), null);
  assert.equal(offer(p, hold, batch('a', ['x', 3], ['new', 1], ['x', 4])), 'full');
  assert.deepEqual(p.got, [], 'the DC sends it all again');
  assert.equal(hold.size, 1);
  assert.equal(offer(p, hold, batch('a', ['x', 3])), null, 'exactly at the bound is held');
  assert.equal(offer(p, hold, batch('a', ['x', 4])), 'full');
  p.start('x', 'a');
  hold.flush();
  assert.deepEqual(p.got, ['a/x#1', 'a/x#2', 'a/x#3']);
  // Delivered windows free their room.
  hold.expect('a', ['x', 'y']);
  assert.equal(offer(p, hold, batch('a', ['y', 1], ['y', 2], ['y', 3])), null);
  assert.equal(hold.size, 1);
});

test('clear lets go of everything held and of what was expected', () => {
  const { p, hold } = setUp(2);
  hold.expect('a', ['x']);
  offer(p, hold, batch('a', ['x', 1], ['x', 2]));
  hold.holdDone(done('a', 'x'));
  hold.clear();
  assert.equal(hold.size, 0);
  hold.flush();
  assert.deepEqual(p.got, []);
  assert.deepEqual(offer(p, hold, batch('a', ['x', 3], ['x', 4])), {
    merged: 2,
    duplicates: 0,
    rejected: 0,
  });
});

test('over any arrival order: each window and end reaches the placement once, in order per (dc, workflow), never before the replay runs it, and ends after their windows', () => {
  const pairs = [
    ['a', 'x'],
    ['a', 'y'],
    ['b', 'x'],
    ['b', 'z'],
  ] as const;
  type Step =
    | { kind: 'batch'; dc: 'a' | 'b'; picks: number[] }
    | { kind: 'done'; pair: number }
    | { kind: 'start'; pair: number }
    | { kind: 'flush' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('batch' as const),
        dc: fc.constantFrom('a' as const, 'b' as const),
        picks: fc.array(fc.nat({ max: 1 }), { minLength: 1, maxLength: 5 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('done' as const), pair: fc.nat({ max: 3 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('start' as const), pair: fc.nat({ max: 3 }) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  );
  fc.assert(
    fc.property(
      fc.array(step, { maxLength: 40 }),
      fc.integer({ min: 2, max: 12 }),
      (steps, max) => {
        const { p, hold } = setUp(max);
        // a ran x and y for the lost owner, b ran x (z on b is new to the replay).
        hold.expect('a', ['x', 'y']);
        hold.expect('b', ['x']);
        const expected = new Set(['a/x', 'a/y', 'b/x']);
        const started = new Set<string>();
        const sent = new Map<string, string[]>(); // per pair, what was taken, in order
        const ended = new Set<string>();
        let seq = 0;
        const seen = new Set<string>();
        const check = (): void => {
          for (const item of p.got.slice(seen.size)) {
            assert.ok(!seen.has(item), `${item} delivered twice`);
            seen.add(item);
            const pair = item.replace(/[#:].*$/, '');
            if (expected.has(pair))
              assert.ok(started.has(pair), `${item} before the replay ran it`);
          }
        };
        for (const s of steps) {
          if (s.kind === 'batch') {
            const dcPairs = pairs.filter(([dc, wf]) => dc === s.dc && !ended.has(`${dc}/${wf}`));
            if (dcPairs.length === 0) continue;
            const windows = s.picks.map((i): [string, number] => [
              dcPairs[i % dcPairs.length]![1],
              ++seq,
            ]);
            const out = offer(p, hold, batch(s.dc, ...windows));
            if (out !== 'full') {
              for (const [wf, n] of windows) {
                const k = `${s.dc}/${wf}`;
                sent.set(k, [...(sent.get(k) ?? []), `${k}#${n}`]);
              }
            }
          } else if (s.kind === 'done') {
            const [dc, wf] = pairs[s.pair]!;
            const k = `${dc}/${wf}`;
            // A DC ends a workflow it runs, once; the replay runs it by then or later.
            if (ended.has(k) || (!expected.has(k) && !started.has(k))) continue;
            ended.add(k);
            sent.set(k, [...(sent.get(k) ?? []), `${k}:done`]);
            end(p, hold, done(dc, wf));
          } else if (s.kind === 'start') {
            const [dc, wf] = pairs[s.pair]!;
            const k = `${dc}/${wf}`;
            if (started.has(k)) continue;
            started.add(k);
            p.start(wf, dc);
          } else hold.flush();
          check();
        }
        // The replay reaches everything at last.
        for (const [dc, wf] of pairs) {
          if (!started.has(`${dc}/${wf}`)) {
            started.add(`${dc}/${wf}`);
            p.start(wf, dc);
          }
        }
        hold.flush();
        check();
        assert.equal(hold.size, 0, 'nothing is left held');
        for (const [k, items] of sent) {
          assert.deepEqual(
            p.got.filter((g) => g.startsWith(`${k}#`) || g === `${k}:done`),
            items,
            `${k}: each once, in arrival order, the end last`,
          );
        }
      },
    ),
    { numRuns: 500, seed: 29 },
  );
});

test('for a resumed job, what a DC sends before its answer to the handover is held until the replay runs the workflow; once the DC answers, only its listed workflows wait', () => {
  const p = new Placement();
  const hold = new ReplayHold(p, 100, true);
  // The DC resends before its dc.adopted answer came back: nothing is known yet, so it waits.
  assert.equal(offer(p, hold, batch('a', ['wf1', 1], ['wf1', 2])), null);
  assert.deepEqual(p.got, []);
  hold.expect('a', ['wf1']);
  hold.flush();
  assert.deepEqual(p.got, [], 'still held: the replay has not reached wf1');
  p.start('wf1', 'a');
  hold.flush();
  assert.deepEqual(p.got, ['a/wf1#1', 'a/wf1#2']);
  // A workflow the DC did not list goes straight on.
  offer(p, hold, batch('a', ['wf9', 1]));
  assert.deepEqual(p.got.at(-1), 'a/wf9#1');
  // Without holdUnknown (a job that was not resumed) nothing is held for an unknown DC.
  const q = new Placement();
  const plain = new ReplayHold(q, 100);
  offer(q, plain, batch('b', ['wf1', 1]));
  assert.deepEqual(q.got, ['b/wf1#1']);
});
