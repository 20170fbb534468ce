// The README's own workflow example, extracted from README.md as printed, runs against the
// embedded target started with `salvo serve` (only the port and the duration are overridden).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readResults, runCli, schemaErrors, startCli, tempDir } from '../support/cli.js';

function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## A workflow\n'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match?.[1], 'README.md has a ```ts block under "## A workflow"');
  return match[1];
}

test('the README workflow example type-checks and runs as printed against `salvo serve`', async () => {
  const dir = tempDir();
  const file = join(dir, 'shop.ts');
  writeFileSync(file, readmeExample());
  const serve = startCli(['serve', '--port', '0']);
  try {
    await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 30_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.output().stdout)?.[1];
    assert.ok(url);
    const out = join(dir, 'shop.json');
    const r = await runCli(
      ['run', file, '--target', url, '--duration', '2s', '--workers', '1', '--out', out],
      { cwd: dir },
    );
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const byName = Object.fromEntries(results.workflows.map((w) => [w.name, w]));
    assert.equal(byName['login']?.status, 'completed');
    assert.equal(byName['shop']?.status, 'completed');
    for (const step of byName['shop']?.steps ?? []) {
      assert.ok(step.count > 0, `step ${step.name} ran`);
      assert.equal(step.failed, 0, `step ${step.name}: ${JSON.stringify(step.errorSamples)}`);
    }
    assert.equal(
      byName['shop']?.steps.find((s) => s.name === 'order')?.statuses['201'] !== undefined,
      true,
    );
    // Only a latency threshold may fail on a busy machine; everything else passes.
    const failed = results.workflows.flatMap((w) => w.thresholds.filter((t) => !t.passed));
    assert.ok(
      failed.every((t) => t.target === 'home'),
      JSON.stringify(failed),
    );
    assert.equal(r.code, failed.length === 0 ? 0 : 3, r.stderr);
  } finally {
    serve.child.kill('SIGINT');
    await serve.done;
  }
});
