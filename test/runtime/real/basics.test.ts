// Real runtime basics: clocks, timers (after/every/cancel, a throwing callback is logged and
// counted), the seeded PRNG (same seed ⇒ same sequence; stable forks), the JSON-lines logger.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonLineLogger, SeededRng } from '../../../src/runtime/real/index.js';
import { runtime, tempDir, waitFor } from './support.js';
import { InternalError } from '../../../src/errors.js';

void describe('real runtime basics', () => {
  void it('clocks: monotonic never goes backwards; wall is epoch ms', async () => {
    const dir = await tempDir('basics');
    const rt = runtime('n', dir.dir);
    const a = rt.clock.monotonicMs();
    const b = rt.clock.monotonicMs();
    assert.ok(b >= a);
    assert.ok(Math.abs(rt.clock.wallMs() - Date.now()) < 1000);
    await rt.close();
    await dir.cleanup();
  });

  void it('timers fire, repeat, cancel; a throwing callback is logged and counted', async () => {
    const dir = await tempDir('timers');
    const rt = runtime('n', dir.dir);
    const fired: string[] = [];
    rt.timers.after(5, () => fired.push('after'));
    rt.timers.after(5, () => fired.push('cancelled')).cancel();
    let n = 0;
    const every = rt.timers.every(2, () => {
      n++;
    });
    rt.timers.after(1, () => {
      throw new Error('boom');
    });
    await waitFor(() => fired.length === 1 && n >= 3 && rt.timerFailures() === 1);
    every.cancel();
    every.cancel();
    const stopped = n;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(n, stopped);
    assert.deepEqual(fired, ['after']);
    assert.ok(rt.lines.some((l) => l.includes('timer callback failed') && l.includes('boom')));
    await rt.close();
    await dir.cleanup();
  });

  void it('rng: same seed, same sequence; forks are stable and independent of parent use', () => {
    const a = new SeededRng(7);
    const b = new SeededRng(7);
    const seqA = Array.from({ length: 20 }, () => a.next());
    assert.deepEqual(
      seqA,
      Array.from({ length: 20 }, () => b.next()),
    );
    assert.ok(seqA.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(
      seqA,
      Array.from({ length: 20 }, () => new SeededRng(8).next()),
    );
    const f1 = new SeededRng(7).fork('swim');
    const used = new SeededRng(7);
    used.next();
    const f2 = used.fork('swim');
    assert.deepEqual([f1.next(), f1.next()], [f2.next(), f2.next()]);
    assert.notEqual(new SeededRng(7).fork('raft').next(), new SeededRng(7).fork('swim').next());
    const r = new SeededRng(1);
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[r.int(4)]!++;
    assert.ok(
      counts.every((c) => c > 800),
      `roughly uniform: ${counts.join(',')}`,
    );
    assert.throws(() => r.int(0), InternalError);
  });

  void it('logger: JSON lines, level filter, child fields, errors serialised', () => {
    const lines: string[] = [];
    const log = new JsonLineLogger('info', { node: 'n1' }, (l) => lines.push(l));
    log.log('debug', 'hidden');
    log.child({ component: 'raft' }).log('warn', 'slow', { ms: 5, err: new Error('x') });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    log.log('error', 'circular', { circular });
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first.level, 'warn');
    assert.equal(first.msg, 'slow');
    assert.equal(first.node, 'n1');
    assert.equal(first.component, 'raft');
    assert.equal((first.err as { message: string }).message, 'x');
    assert.match(lines[1]!, /fields not serialisable/);
  });
});
