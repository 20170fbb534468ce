// The small commands as a user types them: --help everywhere, `salvo new` (and running what
// it wrote), `salvo ping` against a live and a dead address, `salvo serve` until Ctrl-C.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpClient } from '../../src/clients/http1/index.js';
import { startTargetServer } from '../../src/target/server.js';
import { readResults, runCli, schemaErrors, startCli, tempDir } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

describe('--help', () => {
  for (const command of ['', 'run', 'new', 'ping', 'serve', 'demo']) {
    test(`salvo ${command} --help exits 0 and describes the options`, async () => {
      const r = await runCli([...(command ? [command] : []), '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: salvo/);
      if (command === 'run') {
        for (const option of ['--vus', '--duration', '--workers', '--out', '--csv', '--quiet'])
          assert.ok(r.stdout.includes(option), option);
        assert.match(r.stdout, /Exit codes:[\s\S]*130/);
      }
    });
  }
});

describe('salvo new', () => {
  test('writes a commented starter that type-checks and runs against the target', async () => {
    const dir = tempDir();
    const file = join(dir, 'load.ts');
    const r = await runCli(['new', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(file, 'utf8'), /^\/\/ A Salvo workflow/);
    const again = await runCli(['new', file]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; use --force/);
    const out = join(dir, 'r.json');
    const run = await runCli([
      'run',
      file,
      '--target',
      target.url,
      '--duration',
      '1s',
      '--vus',
      '2',
      '--workers',
      '1',
      '-q',
      '--out',
      out,
    ]);
    const w = readResults(out).workflows[0];
    // The starter's latency threshold (p99 < 250ms) is the user's to tune: on a loaded machine
    // it may fail (exit 3); every other threshold, and every request, must pass.
    const failed = (w?.thresholds ?? []).filter((t) => !t.passed).map((t) => t.target);
    assert.ok(
      run.code === 0 || (run.code === 3 && failed.length > 0 && failed.every((t) => t === 'home')),
      `exit ${run.code}, failed thresholds ${failed.join(', ')}: ${run.stderr}`,
    );
    assert.ok((w?.totals.count ?? 0) > 0);
    assert.equal(w?.totals.failed, 0);
  });
});

describe('salvo ping', () => {
  test('shows the status, headers, timings and body of one request', async () => {
    const r = await runCli(['ping', `${target.url}/json`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GET .*\/json → 200/);
    assert.match(r.stdout, /content-type: application\/json/);
    assert.match(
      r.stdout,
      /timings: dns [\d.]+ms {2}connect [\d.]+ms {2}tls [\d.]+ms {2}first byte [\d.]+ms {2}total [\d.]+ms/,
    );
  });

  test('a 5xx exits 4; a refused connection names the error kind and exits 4', async () => {
    const bad = await runCli(['ping', `${target.url}/status/503`]);
    assert.equal(bad.code, 4);
    assert.match(bad.stdout, /→ 503/);
    const dead = await runCli(['ping', 'http://127.0.0.1:9/']);
    assert.equal(dead.code, 4);
    assert.match(dead.stderr, /failed \(connect_refused\)/);
  });

  test('a URL with a scheme salvo does not speak is refused with the accepted forms', async () => {
    const r = await runCli(['ping', 'gopher://example.invalid/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /scheme must be one of http, https, h2, h2c, ws/);
  });
});

describe('salvo serve', () => {
  test('serves the target routes until Ctrl-C, then says how many requests it served', async () => {
    const proc = startCli(['serve', '--port', '0']);
    await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output().stdout)?.[1];
    assert.ok(url);
    const client = new HttpClient({ baseUrl: url });
    for (const path of ['/', '/json', '/status/204']) await client.get(path);
    client.close();
    proc.child.kill('SIGINT');
    const r = await proc.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/delay\/:ms/);
    assert.match(r.stdout, /served 3 requests/);
  });

  test('a port in use is refused with a clear message', async () => {
    const r = await runCli(['serve', '--port', String(target.port)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(String(target.port)));
  });
});

describe('salvo demo', () => {
  test('runs the quickstart against the embedded target and writes schema-valid results', async () => {
    const cwd = tempDir();
    const r = await runCli(['demo', '--duration', '2s', '--workers', '1'], { cwd });
    // The quickstart's latency thresholds decide between 0 and 3; on a loaded machine a p99
    // can exceed them, so the exit code is not a timing assertion here: both mean it ran.
    assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}: ${r.stderr}`);
    const path = /results: (\S+\.json)/.exec(r.stdout)?.[1];
    assert.ok(path, r.stdout);
    const results = readResults(join(cwd, path));
    assert.deepEqual(schemaErrors(results), []);
    const quickstart = results.workflows.find((w) => w.name === 'quickstart');
    assert.ok((quickstart?.totals.count ?? 0) > 0);
    assert.equal(quickstart?.thresholds.length, 3, 'all 3 thresholds were evaluated');
    assert.ok(quickstart?.thresholds.every((t) => t.actual !== null));
    assert.equal(
      quickstart?.steps.reduce((n, s) => n + s.failed, 0),
      0,
      'no step failed',
    );
    assert.match(
      r.stdout,
      /all 3 thresholds passed|1 of 3 thresholds failed|2 of 3 thresholds failed/,
    );
  });
});
