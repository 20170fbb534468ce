// Ctrl-C: the first SIGINT stops VUs, waits a short grace for in-flight requests, writes
// partial results and exits 130; a second SIGINT exits at once (still writing what it has).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, schemaErrors, startCli, tempDir } from '../support/cli.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await target.close();
});

test('Ctrl-C (a real SIGINT to a child process) writes partial results and exits 130', async () => {
  const out = join(tempDir(), 'partial.json');
  const proc = startCli([
    'run',
    fixture('constant.ts'),
    '--target',
    target.url,
    '--workers',
    '2',
    '--grace',
    '1s',
    '--out',
    out,
  ]);
  await proc.waitFor(/running .* on 2 worker threads/, 30_000);
  await delay(2000);
  const sentAt = Date.now();
  proc.child.kill('SIGINT');
  const r = await proc.done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - sentAt < 20_000, 'it stopped well before the 30s duration');
  const results = readResults(out);
  assert.deepEqual(schemaErrors(results), []);
  assert.equal(results.run.status, 'interrupted');
  assert.equal(results.run.exitCode, 130);
  const w = results.workflows[0];
  assert.equal(w?.status, 'interrupted');
  assert.ok((w?.totals.count ?? 0) > 0, 'partial statistics were kept');
  assert.match(r.stdout, /interrupted/i);
});

test('a second Ctrl-C exits at once and still writes what it has', async () => {
  const out = join(tempDir(), 'abrupt.json');
  const proc = startCli([
    'run',
    fixture('slow.ts'),
    '--target',
    target.url,
    '--workers',
    '1',
    '--grace',
    '20s',
    '--out',
    out,
  ]);
  await proc.waitFor(/running .* on 1 worker thread/, 30_000);
  await delay(1500);
  proc.child.kill('SIGINT'); // in-flight /delay/5000 requests would hold the drain for seconds
  await delay(300);
  const sentAt = Date.now();
  proc.child.kill('SIGINT');
  const r = await proc.done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - sentAt < 3000, 'the second Ctrl-C did not wait for the drain');
  assert.match(r.stderr, /stopped at once/);
  assert.ok(existsSync(out));
  assert.equal(readResults(out).run.status, 'interrupted');
});
