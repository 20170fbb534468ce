// The end of a run is a hard bound: at duration + graceful stop, in-flight iterations are
// abandoned and counted as interrupted, a worker thread that does not yield is terminated
// (what it reported is kept), hooks run where they can be stopped, and a workflow that exits
// the process fails the run. Real child processes against the embedded target.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startTargetServer } from '../../src/target/server.js';
import {
  fixture,
  readResults,
  runCli,
  schemaErrors,
  startCli,
  tempDir,
  type CliResult,
} from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

/**
 * A sanity bound, not a timing claim: a run of 3 s with a 1 s graceful stop must have ended
 * long before the 20 s its requests wait or the 60 s a busy loop would have spun.
 */
const ENDED_WELL_BEFORE_MS = 3000 + 1000 + 10_000;

/**
 * Runs a fixture (no -q, so the "running" line shows) and measures from that line, when the
 * run proper starts, to the process's exit: bundling and type-checking are not the run.
 */
async function timed(
  name: string,
  extra: string[] = [],
): Promise<{ cli: CliResult; out: string; elapsedMs: number }> {
  const out = join(tempDir(), `${name.replace(/\.ts$/, '')}.json`);
  const proc = startCli([
    'run',
    fixture(name),
    '--target',
    target.url,
    '--workers',
    '1',
    '--out',
    out,
    ...extra,
  ]);
  const done = proc.done;
  await Promise.race([proc.waitFor(/running .* on 1 worker thread/, 120_000), done]);
  const started = Date.now();
  const cli = await done;
  return { cli, out, elapsedMs: Date.now() - started };
}

describe('a run always ends', () => {
  test('steps waiting on a 20 s response or a promise that never settles are abandoned at duration + gracefulStop and counted as interrupted', async () => {
    const { cli, out, elapsedMs } = await timed('hang-step.ts');
    assert.ok(elapsedMs < ENDED_WELL_BEFORE_MS, `ended after ${elapsedMs}ms`);
    // No iteration of either finished: that is a failed run, not a green one.
    assert.equal(cli.code, 4, cli.stderr);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.run.status, 'failed');
    for (const name of ['slow-service', 'silent']) {
      assert.ok(
        results.run.notes.some((n) => n.includes(`'${name}': no iteration finished`)),
        results.run.notes.join('\n'),
      );
      const w = results.workflows.find((x) => x.name === name);
      assert.equal(w?.status, 'completed', name);
      assert.ok((w?.iterations.interrupted ?? 0) >= 1, `${name}: interrupted iterations counted`);
      assert.equal(w?.iterations.completed, 0, `${name}: no iteration ended by itself`);
    }
    const silent = results.workflows.find((x) => x.name === 'silent');
    assert.ok((silent?.steps.find((s) => s.name === 'quick')?.ok ?? 0) >= 1, 'kept what ran');
  });

  test('a step in a busy loop: its worker thread is terminated, the run ends and what it reported is kept', async () => {
    const { cli, out, elapsedMs } = await timed('spin-step.ts');
    assert.ok(elapsedMs < ENDED_WELL_BEFORE_MS, `ended after ${elapsedMs}ms`);
    assert.equal(cli.code, 4, cli.stderr);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const w = results.workflows[0];
    assert.equal(w?.status, 'failed');
    assert.match(w?.error ?? '', /stopped responding.*terminated/);
    const ok = w?.steps[0]?.ok ?? 0;
    assert.ok(ok >= 1 && ok <= 6, `the requests reported before the loop were kept (${ok})`);
    assert.equal(w?.iterations.interrupted, 1);
  });

  test('a setup hook in a busy loop is stopped by its timeout: the run fails (exit 4) and writes results', async () => {
    const { cli, out, elapsedMs } = await timed('spin-setup.ts');
    assert.ok(elapsedMs < ENDED_WELL_BEFORE_MS, `ended after ${elapsedMs}ms`);
    assert.equal(cli.code, 4, cli.stderr);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.workflows[0]?.status, 'failed');
    assert.match(results.workflows[0]?.error ?? '', /setup .* did not finish within 2s/);
  });

  test('Ctrl-C stops a setup hook in a busy loop at once, and a second Ctrl-C is never needed', async () => {
    const out = join(tempDir(), 'spin-setup.json');
    const proc = startCli(
      ['run', fixture('spin-setup.ts'), '--target', target.url, '--workers', '1', '--out', out],
      { env: { SPIN_SETUP_TIMEOUT: '60s' } },
    );
    await proc.waitFor(/running .* on 1 worker thread/, 30_000);
    await delay(1000);
    const sentAt = Date.now();
    proc.child.kill('SIGINT');
    const r = await proc.done;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(Date.now() - sentAt < 10_000, 'the first Ctrl-C ended the run');
    assert.doesNotMatch(r.stderr, /stopped at once/, 'no second Ctrl-C was sent');
    assert.ok(existsSync(out));
    assert.equal(readResults(out).workflows[0]?.status, 'interrupted');
  });
});

test('Ctrl-C during a step in a busy loop ends the run soon after --grace, with partial results', async () => {
  const out = join(tempDir(), 'spin-interrupted.json');
  const proc = startCli([
    'run',
    fixture('spin-step.ts'),
    '--target',
    target.url,
    '--workers',
    '1',
    '--duration',
    '60s',
    '--grace',
    '1s',
    '--out',
    out,
  ]);
  await proc.waitFor(/running .* on 1 worker thread/, 30_000);
  await delay(3000); // six 300 ms requests, then the loop
  const sentAt = Date.now();
  proc.child.kill('SIGINT');
  const r = await proc.done;
  assert.equal(r.code, 130, r.stderr);
  // Before, a silent worker was waited for 10 s and then 3 s more at shutdown.
  assert.ok(Date.now() - sentAt < 8000, `ended ${Date.now() - sentAt}ms after Ctrl-C`);
  const w = readResults(out).workflows[0];
  assert.ok((w?.steps[0]?.ok ?? 0) >= 1, 'what the worker reported before the loop is kept');
});

describe('a workflow that exits the process fails the run', () => {
  test('process.exit(0) in setup: exit 4, results written, the message says what happened', async () => {
    const { cli, out } = await timed('exit-setup.ts');
    assert.equal(cli.code, 4, cli.stderr);
    const w = readResults(out).workflows[0];
    assert.equal(w?.status, 'failed');
    assert.match(w?.error ?? '', /setup .* called process\.exit\(0\)/);
  });

  test('process.exit(0) in a step: exit 4, what ran before is kept, the message says what happened', async () => {
    const { cli, out } = await timed('exit-step.ts');
    assert.equal(cli.code, 4, cli.stderr);
    const w = readResults(out).workflows[0];
    assert.equal(w?.status, 'failed');
    assert.match(w?.error ?? '', /process\.exit\(\)/);
    assert.ok((w?.iterations.started ?? 0) >= 0);
  });
});

describe('workflow output is bounded', () => {
  test('100 kB of console.log per iteration: what cannot be shown is dropped, counted and reported', async () => {
    const out = join(tempDir(), 'chatty.json');
    const r = await runCli([
      'run',
      fixture('chatty.ts'),
      '--target',
      target.url,
      '--workers',
      '1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const iterations = results.workflows[0]?.iterations.completed ?? 0;
    const dropped = results.run.droppedOutput;
    assert.ok(dropped && dropped.bytes > 0, 'some output was dropped');
    // Every iteration's line was shown or counted as dropped (all but at most the 1 MiB, ten
    // lines, that may still be on its way when the thread is stopped).
    const shown = r.stdout.split('\n').filter((l) => l.startsWith('xxxx')).length;
    assert.ok(shown + dropped.writes <= iterations, `${shown} + ${dropped.writes} ≤ ${iterations}`);
    assert.ok(
      shown + dropped.writes >= iterations - 10,
      `${shown} + ${dropped.writes} ≥ ${iterations} − 10`,
    );
    assert.match(r.stdout, /workflow output: dropped [\d,]+ writes \([\d.]+ [KMG]iB\)/);
  });
});
