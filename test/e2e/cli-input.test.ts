// Options and files a user gets wrong, or right in a form the CLI used to refuse: output paths
// checked before the run (never replacing a device, never losing results), .js and .txt
// workflow files, --grace in milliseconds, and `salvo ping host:port` without a scheme.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, runCli, startCli, tempDir } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

function run(extra: string[], file = fixture('plain.js')): ReturnType<typeof runCli> {
  return runCli(['run', file, '--target', target.url, '--workers', '1', '-q', ...extra]);
}

describe('output paths are checked before the run', () => {
  test('--out naming a directory (existing, or with a trailing slash) and --csv naming a directory exit 2 naming the option', async () => {
    const dir = tempDir();
    for (const [option, path] of [
      ['--out', dir],
      ['--out', join(dir, 'results') + '/'],
      ['--csv', dir],
    ] as const) {
      const r = await run([option, path]);
      assert.equal(r.code, 2, `${option} ${path}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${option} .*is a directory; give a file name`));
      assert.doesNotMatch(r.stderr, /running|at .*\.js:\d+/, 'refused before the run, no stack');
    }
  });

  test('--out /dev/null is written into and stays a device', async () => {
    const r = await run(['--out', '/dev/null']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device');
  });

  test('when the results file cannot be written at the end, the results go to a fallback file and the run says where', async () => {
    const dir = tempDir();
    const outDir = join(dir, 'out');
    const proc = startCli([
      'run',
      fixture('constant.ts'),
      '--target',
      target.url,
      '--workers',
      '1',
      '--duration',
      '2s',
      '--out',
      join(outDir, 'r.json'),
    ]);
    await proc.waitFor(/running .* on 1 worker thread/, 30_000);
    rmSync(outDir, { recursive: true, force: true });
    writeFileSync(outDir, 'a file where the directory was'); // the write must now fail
    const r = await proc.done;
    const said = /wrote it to (\S+) instead/.exec(r.stderr);
    assert.ok(said?.[1], r.stderr);
    assert.match(r.stderr, /could not write .*r\.json/);
    assert.ok(r.stdout.includes(`results: ${said[1]}`), 'the summary names the fallback file');
    assert.equal(readResults(said[1]).run.file.endsWith('constant.ts'), true);
    rmSync(said[1]);
  });
});

describe('workflow files', () => {
  test('a .js workflow type-checks (no TS6504) and runs', async () => {
    const r = await run(['--out', join(tempDir(), 'js.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /TS6504/);
  });

  test("import.meta.url is the workflow file's own location, so data files beside it are found", async () => {
    const out = join(tempDir(), 'data.json');
    const r = await run(['--out', out], fixture('data-beside.ts'));
    assert.equal(r.code, 0, r.stderr);
    const w = readResults(out).workflows[0];
    assert.deepEqual(
      w?.checks.map((c) => [c.name, c.passes, c.fails]),
      [['a user from the data file', 3, 0]],
    );
  });

  test('a .txt file is refused with a clear message, not a TypeScript one', async () => {
    const r = await run([], fixture('notes.txt'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /notes\.txt is not a workflow file: expected TypeScript or JavaScript/);
    assert.doesNotMatch(r.stderr, /TS\d{4}/);
  });
});

describe('option forms', () => {
  test('--grace 3000 is accepted as milliseconds, as the help shows its default', async () => {
    const help = await runCli(['run', '--help']);
    assert.match(help.stdout, /--grace <duration>.*\n?.*\(default: 3s\)/);
    const r = await run(['--grace', '3000', '--out', join(tempDir(), 'grace.json')]);
    assert.equal(r.code, 0, r.stderr);
    const bad = await run(['--grace', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--grace.*number of milliseconds/);
  });

  test('salvo ping host:port without a scheme assumes http://', async () => {
    const r = await runCli(['ping', target.url.replace('http://', '')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GET http:\/\/127\.0\.0\.1:\d+\/ → 200/);
  });
});

// Leftover fallback files of interrupted test runs would pile up in the temp dir.
after(() => {
  for (const f of readdirSync(tmpdir()))
    if (/^salvo-.*-r\.json$/.test(f)) rmSync(join(tmpdir(), f));
});
