// Unit tests of the DC state replicated in Raft: fences, dispatch records, duplicates,
// cancellation, moving a job to a new owner gate, snapshots, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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

const owner = (fence: number, ownerGate: string, job = 'j'): DcCommand => ({
  op: 'owner',
  job,
  fence,
  ownerGate,
  ownerAddress: { host: ownerGate, port: fence },
});

function refusedWith(r: ReturnType<DcJobState['apply']>, code: string, message: string): void {
  assert.equal(r.ok, false, 'expected a rejection');
  assert.equal(!r.ok && r.code, code);
  assert.equal(!r.ok && r.message, message);
}

test('owner: a higher fence moves the job to the new gate and keeps its workflows', () => {
  const s = new DcJobState();
  s.apply(dispatch(2));
  const workflows = structuredClone(s.job('j')!.workflows);
  assert.deepEqual(s.applyBytes(encodeDcCommand(owner(3, 'g2'))), { ok: true });
  const j = s.job('j')!;
  assert.equal(j.fence, 3);
  assert.equal(j.ownerGate, 'g2');
  assert.deepEqual(j.ownerAddress, { host: 'g2', port: 3 });
  assert.deepEqual(j.workflows, workflows);
  assert.equal(j.cancelled, false);
  // What the old owner sends now is stale; the new owner dispatches on.
  refusedWith(
    s.apply(dispatch(2, 1, 'next')),
    'E_STALE_FENCE',
    "fence 2 of job 'j' is older than the fence 3 this DC has seen",
  );
  assert.deepEqual(s.apply({ ...dispatch(3, 1, 'next'), ownerGate: 'g2' } as DcCommand), {
    ok: true,
  });
  // A snapshot carries the new owner.
  const t = new DcJobState();
  t.restore(s.snapshot());
  assert.deepEqual(t.job('j'), s.job('j'));
});

test('owner: the same fence again is a duplicate from its gate and stale from any other; a lower one is stale', () => {
  const s = new DcJobState();
  s.apply(dispatch(2));
  assert.deepEqual(s.apply(owner(5, 'g2')), { ok: true });
  const before = structuredClone(s.job('j'));
  refusedWith(s.apply(owner(5, 'g2')), 'E_DUPLICATE', "job 'j' is owned by g2 already");
  refusedWith(s.apply(owner(5, 'g3')), 'E_STALE_FENCE', "fence 5 of job 'j' belongs to g2");
  refusedWith(
    s.apply(owner(4, 'g3')),
    'E_STALE_FENCE',
    "fence 4 of job 'j' is older than the fence 5 this DC has seen",
  );
  refusedWith(
    s.apply(owner(2, 'g1')),
    'E_STALE_FENCE',
    "fence 2 of job 'j' is older than the fence 5 this DC has seen",
  );
  assert.deepEqual(s.job('j'), before, 'a refused move changes nothing');
  // The submission's own gate at its own fence, after the move: stale too.
  refusedWith(
    s.apply(owner(2, 'g1')),
    'E_STALE_FENCE',
    "fence 2 of job 'j' is older than the fence 5 this DC has seen",
  );
});

test("owner: a job with no dispatch on this DC yet is recorded with its new owner, so an older owner's late dispatch is refused", () => {
  const s = new DcJobState();
  s.apply(dispatch(1));
  assert.deepEqual(s.apply(owner(9, 'g2', 'other')), { ok: true });
  assert.equal(s.job('other')?.ownerGate, 'g2');
  assert.equal(s.job('other')?.fence, 9);
  assert.deepEqual(s.job('other')?.workflows, {});
  assert.equal(s.jobCount, 2);
  refusedWith(
    s.apply({ ...dispatch(1), job: 'other' }),
    'E_STALE_FENCE',
    "fence 1 of job 'other' is older than the fence 9 this DC has seen",
  );
  const later = { ...dispatch(9), job: 'other' } as Extract<DcCommand, { op: 'dispatch' }>;
  assert.deepEqual(s.apply({ ...later, ownerGate: 'g2' }), { ok: true });
});

test('owner: a cancelled job moves too, and stays cancelled', () => {
  const s = new DcJobState();
  s.apply(dispatch(1));
  s.apply({ op: 'cancel', job: 'j', fence: 1 });
  assert.deepEqual(s.apply(owner(2, 'g2')), { ok: true });
  assert.equal(s.job('j')!.cancelled, true);
  assert.equal(s.job('j')!.ownerGate, 'g2');
});

test('owner moves applied in log order: replicas agree, the fence never goes down, and the owner changes only with a higher fence', () => {
  const cmd: fc.Arbitrary<DcCommand> = fc.oneof(
    fc
      .tuple(
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('g1', 'g2', 'g3'),
        fc.constantFrom('j', 'k'),
      )
      .map(([f, g, job]) => owner(f, g, job)),
    fc
      .tuple(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('a', 'b'),
      )
      .map(([f, attempt, wf]) => dispatch(f, attempt, wf)),
    fc.integer({ min: 0, max: 6 }).map((f): DcCommand => ({ op: 'cancel', job: 'j', fence: f })),
  );
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 60 }), (cmds) => {
      const a = new DcJobState();
      const b = new DcJobState();
      for (const c of cmds) {
        const before = structuredClone(a.job(c.job));
        const ra = a.apply(c);
        assert.deepEqual(b.applyBytes(encodeDcCommand(c)), ra, 'replicas answer alike');
        const after = a.job(c.job);
        if (before === undefined || after === undefined) continue;
        assert.ok(after.fence >= before.fence, 'the fence never goes down');
        if (c.op === 'owner' && after.ownerGate !== before.ownerGate) {
          assert.ok(ra.ok && c.fence > before.fence, 'the owner moved only with a higher fence');
        }
        // (A duplicate dispatch at a higher fence still records that fence: not checked here.)
        if (!ra.ok && c.op !== 'dispatch') {
          assert.deepEqual(after, before, 'a refused move or cancel changes nothing');
        }
      }
      assert.deepEqual(b.snapshot(), a.snapshot());
    }),
    { numRuns: 300, seed: 21 },
  );
});
