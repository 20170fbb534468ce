// Bad input gets a clear message and the documented exit code, and whatever results exist are
// still written: missing file, syntax and type errors (file:line:col), bad options, cycles,
// a bad executor, a throwing file, hook failures and an unreachable target.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, runCli, runFixture, schemaErrors, tempDir } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
const dir = tempDir();

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

async function expectBadInput(args: string[], message: RegExp): Promise<void> {
  const r = await runCli(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}\n${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for bad input');
}

describe('bad workflow files', () => {
  test('a missing file is named', async () => {
    await expectBadInput(
      ['run', 'no/such/file.ts'],
      /salvo: workflow file not found: no\/such\/file\.ts/,
    );
  });

  test('a syntax error names file:line:col and shows the line', async () => {
    await expectBadInput(
      ['run', fixture('syntax-error.ts')],
      /syntax-error\.ts:5:\d+: .*\n.*thresholds/,
    );
  });

  test('a type error names file:line:col and the TypeScript message', async () => {
    await expectBadInput(
      ['run', fixture('type-error.ts')],
      /type-error\.ts:5:\d+: error TS2367: .*'number' and 'string'/,
    );
  });

  test('a step `after` a step declared later gets a type error that says so in words', async () => {
    const r = await runCli(['run', fixture('after-later.ts'), '-q']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /after-later\.ts:5:\d+: error TS\d+/);
    assert.match(
      r.stderr,
      /step 'price' must be declared \(with \.step\) before the steps that run after it/,
    );
    assert.doesNotMatch(r.stderr, /not assignable to type 'never'/);
  });

  test('--no-check skips type checking (and the run then proceeds)', async () => {
    const out = join(dir, 'nocheck.json');
    const r = await runCli([
      'run',
      fixture('type-error.ts'),
      '--no-check',
      '--duration',
      '1s',
      '--target',
      target.url,
      '-q',
      '--workers',
      '1',
      '--out',
      out,
    ]);
    assert.notEqual(r.code, 2, r.stderr);
    assert.ok(existsSync(out));
  });

  test('a step cycle is rejected before the run with the cycle named', async () => {
    await expectBadInput(
      ['run', fixture('step-cycle.ts')],
      /workflow 'cyclic': steps form a cycle: ([abc]) → [abc] → [abc] → \1/,
    );
  });

  test('a workflow cycle is rejected with the cycle named', async () => {
    await expectBadInput(
      ['run', fixture('workflow-cycle.ts')],
      /workflows form a cycle: (first|second) → (first|second) → \1/,
    );
  });

  test('an invalid executor option names the file and line, the field and the accepted values', async () => {
    await expectBadInput(
      ['run', fixture('bad-config.ts')],
      /bad-config\.ts:4:\d+: constant-vus: 'vus' must be a whole number ≥ 1, got -3/,
    );
  });

  test('a file that throws while loading names the file and line', async () => {
    await expectBadInput(
      ['run', fixture('load-throws.ts')],
      /load-throws\.ts:5:\d+: the workflow file threw while loading: settings\.target is not set/,
    );
  });
});

describe('bad options', () => {
  test('an unknown option is named, with a suggestion', async () => {
    await expectBadInput(
      ['run', fixture('shared.ts'), '--vu', '3'],
      /unknown option '--vu'[\s\S]*--vus/,
    );
  });

  test('negative VUs name the option and the accepted values', async () => {
    await expectBadInput(
      ['run', fixture('shared.ts'), '--vus=-1'],
      /--vus <n>.*-1.*whole number from 1/,
    );
  });

  test('--duration 5parsecs names the option and the accepted forms', async () => {
    await expectBadInput(
      ['run', fixture('shared.ts'), '--duration', '5parsecs'],
      /--duration <duration>.*5parsecs.*use a number with a unit: us, ms, s, m or h/,
    );
  });

  test('--rate on a closed-model workflow says why', async () => {
    await expectBadInput(
      ['run', fixture('shared.ts'), '--rate', '10'],
      /--rate applies to arrival-rate executors, but workflow 'shared' uses shared-iterations/,
    );
  });

  test('an unknown command and no arguments print help and exit 2', async () => {
    const r = await runCli(['launch']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'launch'/);
    const bare = await runCli([]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /Usage: salvo/);
  });
});

describe('failures during the run', () => {
  test('a setup hook that times out fails the workflow with exit 4, and results are still written', async () => {
    const out = join(dir, 'hook.json');
    const r = await runCli([
      'run',
      fixture('hook-timeout.ts'),
      '--target',
      target.url,
      '--workers',
      '1',
      '--out',
      out,
    ]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /setup of workflow 'slow-setup' did not finish within 300ms/);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    assert.equal(results.workflows[0]?.status, 'failed');
    assert.match(results.workflows[0]?.error ?? '', /did not finish within 300ms/);
    assert.equal(results.run.exitCode, 4);
  });

  test('a teardown that throws fails the run (exit 4) after the iterations were recorded', async () => {
    const { cli: r, out } = await runFixture('teardown-fails.ts', {
      target: target.url,
      workers: 1,
    });
    assert.equal(r.code, 4, r.stderr);
    const w = readResults(out).workflows[0];
    assert.equal(w?.status, 'failed');
    assert.match(
      w?.error ?? '',
      /teardown of workflow 'teardown-fails' failed: cleanup went wrong/,
    );
    assert.equal(w?.steps[0]?.ok, 3, 'setup data reached the steps');
  });

  test('an unreachable target: every error counted by kind, the run continues, the summary says so, exit 4', async () => {
    const out = join(dir, 'unreachable.json');
    const r = await runCli(['run', fixture('unreachable.ts'), '--workers', '1', '--out', out]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /connect_refused/);
    assert.match(r.stdout, /unreachable/i);
    const results = readResults(out);
    const step = results.workflows[0]?.steps[0];
    assert.equal(step?.count, 10);
    assert.equal(step?.errors['connect_refused'], 10);
    assert.ok(results.run.notes.some((n) => /target reachable/.test(n)));
  });

  test('a threshold on a step or metric that does not exist is rejected before the run, naming the known targets', async () => {
    const { cli: r, out } = await runFixture('threshold-unknown.ts', { target: target.url });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /a threshold names 'hom', which is no step or custom metric/);
    assert.match(
      r.stderr,
      /known targets: '\*' \(all steps\), 'errors', step 'home', metric 'orders'/,
    );
    assert.doesNotMatch(r.stderr, /running /);
    assert.equal(existsSync(out), false, 'no run, no results');
  });

  test('thresholds that fail exit 3 and are listed as failed', async () => {
    const { cli: r, out } = await runFixture('thresholds-fail.ts', {
      target: target.url,
      workers: 1,
    });
    assert.equal(r.code, 3, r.stderr);
    const t = readResults(out).workflows[0]?.thresholds ?? [];
    assert.deepEqual(
      t.map((x) => [x.target, x.passed]),
      [
        ['home', false],
        ['errors', true],
      ],
    );
  });
});
