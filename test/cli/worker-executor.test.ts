// How a worker keeps a bundle it fetched: checked against the hash it was dispatched with,
// written once into its cache, with the `salvo` import pointed at this installation.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { localizeBundle, storeBundle } from '../../src/cli/worker-executor.js';
import { ROOT } from '../support/cli.js';

const LOCAL_API = pathToFileURL(join(ROOT, 'dist', 'src', 'api', 'index.js')).href;

test("a bundle built elsewhere imports this installation's salvo; other imports are untouched", () => {
  const source = [
    'import { workflow } from "file:///home/someone/salvo/dist/src/api/index.js";',
    "import x from 'file:///elsewhere/lib.js';",
  ].join('\n');
  const local = localizeBundle(source);
  assert.equal(local.split('\n')[0], `import { workflow } from "${LOCAL_API}";`);
  assert.equal(local.split('\n')[1], "import x from 'file:///elsewhere/lib.js';");
});

test('a fetched bundle is kept only if it matches its hash, under that hash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'salvo-bundles-'));
  const source = 'import { workflow } from "file:///x/dist/src/api/index.js";\nexport default 1;\n';
  const hash = createHash('sha256').update(source).digest('hex');
  const ref = { hash, sizeBytes: source.length, file: 'load.ts' };
  const kept = storeBundle(dir, ref, source);
  assert.equal(kept.path, join(dir, `${hash}.mjs`));
  assert.equal(kept.source, 'load.ts');
  const written = readFileSync(kept.path, 'utf8');
  assert.ok(written.includes(LOCAL_API));
  assert.equal(kept.hash, createHash('sha256').update(written).digest('hex'));
  assert.throws(
    () => storeBundle(dir, { ...ref, hash: 'a'.repeat(64) }, source),
    /does not match its hash/,
  );
});
