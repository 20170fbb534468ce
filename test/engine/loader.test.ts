// The loader's bundle cache: an unchanged workflow file (same inputs by size and mtime) reuses
// its cached bundle without running esbuild; any change to an input bundles afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflow, importWorkflows } from '../../src/engine/loader.js';
import { WorkflowFileError } from '../../src/errors.js';
import { handledErrors } from '../../src/handled-errors.js';

const source = (label: string): string =>
  `import { workflow } from 'salvo';\nexport default workflow('${label}').step('s', () => 1);\n`;

test('an unchanged file reuses the cached bundle; a changed one is bundled again', async () => {
  process.env['SALVO_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'salvo-loader-cache-'));
  const dir = mkdtempSync(join(tmpdir(), 'salvo-loader-'));
  const file = join(dir, 'w.ts');
  writeFileSync(file, source('aaaa'));
  const when = new Date('2026-01-02T03:04:05Z'); // whole seconds survive utimes exactly
  utimesSync(file, when, when);
  const first = await bundleWorkflow(file);
  assert.deepEqual(
    (await importWorkflows(first)).map((w) => w.name),
    ['aaaa'],
  );

  // Same size, same mtime, different content: the manifest says "unchanged", so the cached
  // bundle (still naming 'aaaa') is reused — proof that esbuild did not run.
  writeFileSync(file, source('bbbb'));
  utimesSync(file, when, when);
  const reused = await bundleWorkflow(file);
  assert.equal(reused.hash, first.hash);

  // A real edit moves the mtime: bundled again, with the new content.
  const later = new Date(when.getTime() + 5000);
  utimesSync(file, later, later);
  const fresh = await bundleWorkflow(file);
  assert.notEqual(fresh.hash, first.hash);
  assert.deepEqual(
    (await importWorkflows(fresh)).map((w) => w.name),
    ['bbbb'],
  );

  // And a syntax error introduced later is still reported, never hidden by the cache.
  writeFileSync(file, `${source('cccc')}const = ;\n`);
  await assert.rejects(
    bundleWorkflow(file),
    (e: unknown) => e instanceof WorkflowFileError && /w\.ts:3:\d+/.test(e.message),
  );
});

test('an unreadable cache manifest is counted as a handled error, and the file is bundled anyway', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'salvo-loader-cache-'));
  process.env['SALVO_CACHE_DIR'] = cache;
  const dir = mkdtempSync(join(tmpdir(), 'salvo-loader-'));
  const file = join(dir, 'w.ts');
  writeFileSync(file, source('dddd'));
  // A directory where the manifest should be: it can be neither read nor replaced.
  const key = createHash('sha256').update(resolve(file)).digest('hex');
  mkdirSync(join(cache, 'bundles', `${key}.json`), { recursive: true });
  const count = (site: string): number => handledErrors().find((e) => e.site === site)?.count ?? 0;
  const before = [
    count('loader: bundle cache manifest unreadable'),
    count('loader: bundle cache manifest not written'),
  ];
  const bundle = await bundleWorkflow(file);
  assert.deepEqual(
    (await importWorkflows(bundle)).map((w) => w.name),
    ['dddd'],
  );
  assert.equal(count('loader: bundle cache manifest unreadable'), before[0]! + 1);
  assert.equal(count('loader: bundle cache manifest not written'), before[1]! + 1);
  assert.match(
    handledErrors().find((e) => e.site === 'loader: bundle cache manifest unreadable')
      ?.lastMessage ?? '',
    /EISDIR/,
  );
});
