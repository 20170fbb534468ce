// The generator's own event-loop delay: every run's results carry it per worker thread and
// merged, and the summary warns when it is above its bound (a step that blocks the loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOOP_DELAY_WARN_P99_MS } from '../../src/stats/loop-delay.js';
import { readResults, runFixture, schemaErrors } from '../support/cli.js';

void test('a step blocking the loop for 50 ms: results carry the delay per thread and merged, and the summary warns', async () => {
  const { cli: r, out } = await runFixture('blocking.ts', { workers: 2, quiet: false });
  assert.equal(r.code, 0, r.stderr);
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), []);
  const eld = results.generator?.eventLoopDelay;
  assert.ok(eld, 'results.generator.eventLoopDelay is present');
  assert.equal(eld.warnP99Ms, LOOP_DELAY_WARN_P99_MS);
  assert.deepEqual(
    eld.threads.map((t) => t.worker),
    [0, 1],
  );
  for (const t of eld.threads) {
    assert.ok(t.samples > 0, `worker ${t.worker} has samples`);
    assert.ok(t.max >= 40, `worker ${t.worker} max ${t.max} ms shows the 50 ms blocks`);
  }
  assert.equal(
    eld.merged.samples,
    eld.threads.reduce((n, t) => n + t.samples, 0),
  );
  assert.equal(eld.histogram.count, eld.merged.samples);
  assert.ok(eld.merged.p99 >= 40, `merged p99 ${eld.merged.p99} ms`);
  assert.equal(eld.exceeded, true);
  assert.match(r.stdout, /load generator itself was delayed: event-loop delay p99 \d/);
});
