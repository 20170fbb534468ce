// The reporter runner on its own: delivery order and batching, bounded buffers and budgets,
// priorities, timeouts, retries with backoff, failure isolation, abort and cleanup. Reporters
// here are plain objects; the real sinks have their own files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReporterRunner, type ReporterEntry } from '../../src/reporters/runner.js';
import type { FinalReport, Reporter, ReportWindow } from '../../src/reporters/types.js';
import type { RunResults } from '../../src/stats/types.js';

const START = { runId: 'r1', file: 'load.ts', startedAtMs: 0, workflows: ['w'], labels: {} };

function win(seq: number): ReportWindow {
  return {
    seq,
    atMs: seq * 1000,
    elapsedMs: seq * 1000,
    intervalMs: 1000,
    workflows: [],
    labels: {},
  };
}

const FINAL: FinalReport = {
  results: { run: { id: 'r1' } } as unknown as RunResults,
  series: [],
  labels: {},
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A reporter that records what it got; `delayMs` per call, `failFirst` calls throw. */
function recorder(
  name: string,
  opts: { delayMs?: number; failFirst?: number; hangWindows?: boolean } = {},
) {
  const got = { starts: 0, batches: [] as number[][], finals: 0, closes: 0, calls: 0 };
  let failures = opts.failFirst ?? 0;
  const maybeFail = async (): Promise<void> => {
    got.calls++;
    if (opts.delayMs) await sleep(opts.delayMs);
    if (failures > 0) {
      failures--;
      throw new Error(`${name} is down`);
    }
  };
  const reporter: Reporter = {
    name,
    async start() {
      await maybeFail();
      got.starts++;
    },
    async windows(batch) {
      if (opts.hangWindows) await new Promise(() => undefined);
      await maybeFail();
      got.batches.push(batch.map((w) => w.seq));
    },
    async final() {
      await maybeFail();
      got.finals++;
    },
    close() {
      got.closes++;
    },
  };
  return { reporter, got };
}

const seqs = (got: { batches: number[][] }): number[] => got.batches.flat();

describe('ReporterRunner', () => {
  test('GM-12.1.1 GM-12.1.2 one lane per configured reporter, duplicate names made unique', () => {
    const runner = new ReporterRunner([
      { reporter: { name: 'json' } },
      { reporter: { name: 'prometheus' } },
      { reporter: { name: 'json' } },
    ]);
    assert.deepEqual(runner.names, ['json', 'prometheus', 'json#2']);
    runner.add({ reporter: { name: 'dashboard' } });
    assert.equal(runner.size, 4);
  });

  test('GM-12.1.3 GM-12.2.1 GM-12.2.2 a reporter gets start, every window in order, then the final, then close', async () => {
    const { reporter, got } = recorder('r');
    const runner = new ReporterRunner([{ reporter }]);
    runner.start(START);
    for (let i = 1; i <= 5; i++) runner.push(win(i));
    const [outcome] = await runner.finish(FINAL);
    assert.deepEqual(seqs(got), [1, 2, 3, 4, 5]);
    assert.deepEqual([got.starts, got.finals, got.closes], [1, 1, 1]);
    assert.deepEqual(outcome, {
      name: 'r',
      state: 'ok',
      delivered: 5,
      dropped: 0,
      retries: 0,
      finalDelivered: true,
    });
  });

  test('LT-35.1.1 LT-35.1.2 10 000 windows pushed at once all arrive, in order, in batches', async () => {
    const { reporter, got } = recorder('fast', { delayMs: 1 });
    const runner = new ReporterRunner([{ reporter }], {
      maxBufferedWindows: 10_000,
      maxBatch: 500,
    });
    runner.start(START);
    for (let i = 1; i <= 10_000; i++) runner.push(win(i));
    const [outcome] = await runner.finish(FINAL);
    const all = seqs(got);
    assert.equal(all.length, 10_000);
    assert.ok(
      all.every((s, i) => s === i + 1),
      'in order, no duplicates',
    );
    assert.ok(got.batches.length <= 25, `batched: ${got.batches.length} calls`);
    assert.ok(
      got.batches.every((b) => b.length <= 500),
      'no batch over maxBatch',
    );
    assert.equal(outcome?.dropped, 0);
  });

  test('LT-35.1.3 LT-35.2.4 a reporter slower than the windows keeps at most its quota; the oldest are dropped and counted; a fast one loses nothing', async () => {
    const slow = recorder('slow', { delayMs: 30 });
    const fast = recorder('fast');
    const runner = new ReporterRunner([{ reporter: slow.reporter }, { reporter: fast.reporter }], {
      maxBufferedWindows: 10,
      maxBatch: 5,
    });
    runner.start(START);
    for (let i = 1; i <= 100; i++) {
      runner.push(win(i));
      assert.ok(runner.buffered() <= 20, 'never more than the quotas');
      if (i % 10 === 0) await sleep(1);
    }
    const [s, f] = await runner.finish(FINAL);
    assert.equal(f?.delivered, 100);
    assert.equal(f?.dropped, 0);
    assert.ok((s?.dropped ?? 0) > 0, 'the slow one dropped windows');
    assert.equal((s?.delivered ?? 0) + (s?.dropped ?? 0), 100, 'every window delivered or counted');
    assert.deepEqual(seqs(slow.got).slice(-1), [100], 'the newest window is delivered');
    assert.equal(s?.finalDelivered, true);
  });

  test('LT-35.1.4 LT-35.2.2 over the shared budget, normal reporters give up windows before critical ones', async () => {
    const critical = recorder('critical', { hangWindows: true });
    const normal = recorder('normal', { hangWindows: true });
    const entries: ReporterEntry[] = [
      { reporter: critical.reporter, critical: true },
      { reporter: normal.reporter },
    ];
    const runner = new ReporterRunner(entries, {
      maxBufferedWindows: 100,
      maxBufferedTotal: 120,
      callTimeoutMs: 60_000,
      finishTimeoutMs: 50,
    });
    runner.start(START);
    await sleep(5);
    for (let i = 1; i <= 100; i++) runner.push(win(i));
    assert.equal(runner.buffered(), 120, 'the budget holds');
    const [c, n] = runner.outcomes();
    assert.equal(c?.dropped, 0, 'critical kept everything');
    assert.ok((n?.dropped ?? 0) >= 79, `normal dropped ${n?.dropped}`);
    await runner.abort('test over');
  });

  test('GM-12.3.1 LT-35.2.3 LT-35.3.1 a reporter that keeps failing is marked failed with its error; the others get everything', async () => {
    const down = recorder('down', { failFirst: 1000 });
    const ok = recorder('ok');
    const runner = new ReporterRunner(
      [{ reporter: down.reporter }, { reporter: ok.reporter }],
      { maxAttempts: 3, backoffBaseMs: 5 },
      () => 0.5,
    );
    runner.start(START);
    for (let i = 1; i <= 20; i++) runner.push(win(i));
    const [d, o] = await runner.finish(FINAL);
    assert.equal(d?.state, 'failed');
    assert.match(d?.error ?? '', /start failed 3 times; last: down is down/);
    assert.equal(d?.retries, 2);
    assert.equal(d?.dropped, 20, 'buffered windows of a failed reporter are dropped and counted');
    assert.equal(d?.finalDelivered, false);
    assert.equal(down.got.closes, 1, 'a failed reporter is still closed');
    assert.equal(o?.state, 'ok');
    assert.deepEqual(
      seqs(ok.got),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal(ok.got.finals, 1);
  });

  test('a reporter that fails a few times recovers: retries counted, nothing lost, state ok', async () => {
    const flaky = recorder('flaky', { failFirst: 2 });
    const runner = new ReporterRunner([{ reporter: flaky.reporter }], {
      maxAttempts: 4,
      backoffBaseMs: 5,
    });
    runner.start(START);
    for (let i = 1; i <= 3; i++) runner.push(win(i));
    const [o] = await runner.finish(FINAL);
    assert.equal(o?.state, 'ok');
    assert.equal(o?.retries, 2);
    assert.deepEqual(seqs(flaky.got), [1, 2, 3]);
  });

  test('GM-12.3.2 LT-35.3.3 a call that hangs times out, is retried, and the reporter is failed with a timeout', async () => {
    const hung = recorder('hung', { hangWindows: true });
    const runner = new ReporterRunner([{ reporter: hung.reporter }], {
      callTimeoutMs: 30,
      maxAttempts: 2,
      backoffBaseMs: 5,
    });
    runner.start(START);
    runner.push(win(1));
    const [o] = await runner.finish(FINAL);
    assert.equal(o?.state, 'failed');
    assert.match(
      o?.error ?? '',
      /windows failed 2 times; last: reporter 'hung' windows timed out after 30 ms/,
    );
  });

  test('a reporter still busy at the finish deadline is failed, named, and closed; the run gets its outcomes', async () => {
    const slow = recorder('slow', { delayMs: 10_000 });
    const runner = new ReporterRunner([{ reporter: slow.reporter }], {
      callTimeoutMs: 60_000,
      finishTimeoutMs: 100,
    });
    runner.start(START);
    const [o] = await runner.finish(FINAL);
    assert.equal(o?.state, 'failed');
    assert.match(o?.error ?? '', /did not finish within 100 ms after the run/);
    assert.equal(slow.got.closes, 1);
  });

  test('GM-12.4.1 GM-12.4.2 abort stops every reporter: buffers dropped, close called once each, nothing delivered after', async () => {
    const a = recorder('a', { delayMs: 20 });
    const b = recorder('b', { hangWindows: true });
    const runner = new ReporterRunner([{ reporter: a.reporter }, { reporter: b.reporter }], {
      callTimeoutMs: 60_000,
    });
    runner.start(START);
    for (let i = 1; i <= 10; i++) runner.push(win(i));
    await sleep(30);
    const outcomes = await runner.abort('job cancelled');
    const calls = a.got.calls;
    runner.push(win(11));
    await sleep(60);
    assert.equal(a.got.calls, calls, 'no call starts after abort');
    assert.ok(!seqs(a.got).includes(11), 'a window pushed after abort is ignored');
    assert.deepEqual([a.got.closes, b.got.closes], [1, 1]);
    assert.deepEqual([a.got.finals, b.got.finals], [0, 0]);
    for (const o of outcomes) assert.equal(o.delivered + o.dropped <= 10, true);
    assert.ok(outcomes.every((o) => (o.error ?? '').includes('job cancelled')));
  });
});
