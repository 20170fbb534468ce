// `abortOnFail` on a real local run: the embedded target answers 503, the error-rate threshold
// marked abortOnFail fails after its delay, and the run stops early with exit 3, the results
// naming the threshold, the dependent workflow skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTargetServer } from '../../src/target/server.js';
import { readResults, runFixture, schemaErrors } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

void test('a failing abortOnFail threshold stops a 5-minute run early: exit 3, results name the threshold', async () => {
  const { cli, out } = await runFixture('abort-on-fail.ts', {
    target: target.url,
    workers: 2,
    quiet: false,
  });
  assert.equal(cli.code, 3, cli.stderr);
  assert.match(cli.stdout, /stopped early: threshold 'errors: rate < 10%'/);
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), []);
  const abortedBy = results.run.abortedBy;
  assert.ok(abortedBy, 'run.abortedBy is set');
  assert.equal(abortedBy.workflow, 'failing');
  assert.equal(abortedBy.target, 'errors');
  assert.equal(abortedBy.expression, 'rate < 10%');
  assert.equal(abortedBy.actual, 100);
  assert.ok(abortedBy.afterMs >= 1000, `not before delayAbortEval (${abortedBy.afterMs}ms)`);
  const failing = results.workflows.find((w) => w.name === 'failing');
  assert.ok(failing);
  // Planned for 5 minutes; stopped within a minute even on a loaded machine.
  assert.ok(failing.durationMs < 60_000, `stopped early (${failing.durationMs}ms)`);
  assert.ok(failing.totals.count > 0);
  const errors = failing.thresholds.find((t) => t.target === 'errors');
  assert.equal(errors?.passed, false);
  assert.equal(errors?.abortOnFail, true);
  assert.equal(errors?.abortedRun, true);
  const latency = failing.thresholds.find((t) => t.target === 'unavailable');
  assert.equal(latency?.abortedRun, undefined);
  const dependent = results.workflows.find((w) => w.name === 'after');
  assert.equal(dependent?.status, 'skipped');
  assert.match(dependent?.error ?? '', /stopped early/);
  assert.equal(results.thresholds.failed, 1);
});
