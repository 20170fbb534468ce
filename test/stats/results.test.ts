// Tests for src/stats/results.ts and schema/salvo.results.v1.json: a results document built
// from an aggregate validates against the schema, broken ones do not; CSV quoting; file writing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { WorkflowAggregate } from '../../src/stats/aggregate.js';
import { WorkflowRecorder } from '../../src/stats/recorder.js';
import {
  buildRunResults,
  csvField,
  defaultResultsPath,
  resultsToCsv,
  writeResultsCsv,
  writeResultsJson,
  type RunMeta,
} from '../../src/stats/results.js';
import { parseThreshold } from '../../src/stats/thresholds.js';
import type { RunResults } from '../../src/stats/types.js';

/** The schema file, found by walking up from this test (works from test/ and dist/test/). */
function loadSchema(): object {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schema', 'salvo.results.v1.json');
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8')) as object;
    const parent = dirname(dir);
    assert.notEqual(parent, dir, 'schema/salvo.results.v1.json not found');
    dir = parent;
  }
}

// ajv is CommonJS: under NodeNext its default export arrives as `.default`.
const ajv = new Ajv2020.default({ allErrors: true, strict: true });
const validate = ajv.compile<RunResults>(loadSchema());

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

const META: RunMeta = {
  id: 'run-1',
  file: 'examples/shop.ts',
  startedAt: new Date(T0).toISOString(),
  endedAt: new Date(T0 + 10_000).toISOString(),
  durationMs: 10_000,
  status: 'completed',
  exitCode: 3,
  workers: 4,
  salvoVersion: '0.1.0',
  nodeVersion: process.version,
  host: { platform: 'linux', arch: 'x64', cpus: 4, hostname: 'ci' },
  notes: ['teardown hook took 2s'],
};

function sampleResults(): RunResults {
  const agg = new WorkflowAggregate('shop, "main"', {
    type: 'constant-vus',
    vus: 4,
    duration: '10s',
  });
  agg.markStarted(T0);
  for (const thread of [0, 1]) {
    const rec = new WorkflowRecorder('shop, "main"', T0);
    const home = rec.step('home');
    const cart = rec.step('add to cart,\n"fast"');
    for (let i = 0; i < 50; i++) home.ok(1000 + i * 37, 200);
    cart.ok(2500, 201);
    cart.fail(30_000_000, 'timeout', 'no response in 30s');
    cart.fail(100, 'check:status is 201', 'got 500', 500);
    rec.check('home', 'status is 200', true);
    rec.counter('orders').add(3);
    rec.gauge('queue').set(thread + 2);
    rec.rate('cache_hit').add(thread === 0);
    rec.trend('ttfb').add(12.5);
    rec.iterationStarted();
    rec.iterationCompleted(true);
    rec.setVus(2, 2);
    agg.applyWindow(`thread-${thread}`, rec.takeWindow(T0 + 5000));
  }
  agg.markEnded(T0 + 10_000);
  const wf = agg.toResult([
    parseThreshold('home', 'p95 < 500ms'),
    parseThreshold('errors', 'rate < 1%'),
    parseThreshold('nope', 'count > 1'),
  ]);
  const skipped = new WorkflowAggregate('later', { type: 'shared-iterations' });
  skipped.setStatus('skipped', 'depends on a workflow that failed');
  return buildRunResults(META, [wf, skipped.toResult()]);
}

void test('results built from an aggregate validate against salvo.results.v1.json', () => {
  const results = sampleResults();
  const roundTripped = JSON.parse(JSON.stringify(results)) as unknown;
  assert.equal(validate(roundTripped), true, JSON.stringify(validate.errors, null, 2));
  assert.equal(results.schema, 'salvo.results/v1');
  assert.deepEqual(results.thresholds, { total: 3, passed: 1, failed: 2 });
  const wf = results.workflows[0]!;
  assert.equal(wf.thresholds[2]!.actual, null);
  assert.equal(results.workflows[1]!.startedAt, null);
});

void test('broken results documents fail schema validation', () => {
  const mutate = (f: (r: RunResults) => void): unknown => {
    const r = JSON.parse(JSON.stringify(sampleResults())) as RunResults;
    f(r);
    return r;
  };
  const loose = (o: object): Record<string, unknown> => o as Record<string, unknown>;
  const broken: [string, unknown][] = [
    ['wrong schema tag', mutate((r) => (loose(r).schema = 'salvo.results/v2'))],
    ['missing run', mutate((r) => delete loose(r).run)],
    ['extra top-level field', mutate((r) => (loose(r).extra = 1))],
    ['negative count', mutate((r) => (r.workflows[0]!.steps[0]!.count = -1))],
    ['string latency', mutate((r) => (loose(r.workflows[0]!.steps[0]!.latencyMs).p99 = '5ms'))],
    ['unknown status', mutate((r) => (loose(r.workflows[0]!).status = 'done'))],
    ['bad threshold unit', mutate((r) => (loose(r.workflows[0]!.thresholds[0]!).unit = 'sec'))],
    ['metric kind mismatch', mutate((r) => (r.workflows[0]!.metrics[0]!.kind = 'gauge'))],
    ['bad timestamp', mutate((r) => (r.run.startedAt = 'yesterday'))],
    ['missing histogram', mutate((r) => delete loose(r.workflows[0]!.steps[1]!).histogram)],
    ['executor without type', mutate((r) => (loose(r.workflows[0]!).executor = { vus: 3 }))],
    ['fractional bucket', mutate((r) => (r.workflows[0]!.steps[0]!.histogram.buckets[0] = 1.5))],
  ];
  for (const [name, doc] of broken) assert.equal(validate(doc), false, name);
});

void test('CSV: one row per step, RFC 4180 quoting, errors as kind=n;kind=n', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\r'), '"cr\r"');
  assert.equal(csvField(1.5), '1.5');
  const csv = resultsToCsv(sampleResults());
  assert.ok(
    csv.startsWith(
      'workflow,step,count,ok,failed,rps,min_ms,mean_ms,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,stdev_ms,errors\r\n',
    ),
  );
  const lines = csv.split('\r\n');
  assert.equal(lines.length, 4, 'header, two steps, trailing empty');
  assert.match(lines[1]!, /^"shop, ""main""",home,100,100,0,10,1,/);
  assert.ok(
    lines[2]!.startsWith('"shop, ""main""","add to cart,\n""fast""",6,2,4,0.6,0.1,'),
    lines[2],
  );
  assert.ok(lines[2]!.endsWith(',timeout=2;check:status is 201=2'), lines[2]);
});

void test('writeResultsJson and writeResultsCsv create directories and leave no temp files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'salvo-results-'));
  try {
    const results = sampleResults();
    const jsonPath = join(dir, 'nested', 'deeper', 'run.json');
    await writeResultsJson(jsonPath, results);
    const text = readFileSync(jsonPath, 'utf8');
    assert.ok(text.includes('\n  "schema": "salvo.results/v1"'), 'pretty printed');
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(results)));
    await writeResultsJson(jsonPath, {
      ...results,
      thresholds: { total: 0, passed: 0, failed: 0 },
    });
    assert.equal((JSON.parse(readFileSync(jsonPath, 'utf8')) as RunResults).thresholds.total, 0);
    const csvPath = join(dir, 'nested', 'run.csv');
    await writeResultsCsv(csvPath, results);
    assert.equal(readFileSync(csvPath, 'utf8'), resultsToCsv(results));
    assert.deepEqual(readdirSync(join(dir, 'nested', 'deeper')), ['run.json']);
    assert.deepEqual(readdirSync(join(dir, 'nested')).sort(), ['deeper', 'run.csv']);
    await assert.rejects(writeResultsJson(join(dir, 'nested', 'deeper'), results));
    assert.deepEqual(
      readdirSync(join(dir, 'nested')).sort(),
      ['deeper', 'run.csv'],
      'no temp left',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('defaultResultsPath: <dir>/<workflow>-<YYYYMMDD-HHMMSS>.json with a sanitised name', () => {
  const date = new Date(2025, 0, 2, 3, 4, 5);
  assert.equal(defaultResultsPath('out', 'shop', date), join('out', 'shop-20250102-030405.json'));
  assert.equal(
    defaultResultsPath('out', '../../etc/pass wd', date),
    join('out', 'etc_pass_wd-20250102-030405.json'),
  );
  assert.equal(defaultResultsPath('out', '', date), join('out', 'workflow-20250102-030405.json'));
  assert.equal(
    defaultResultsPath('/r', 'Ünïcode ✓', date),
    join('/r', 'n_code_-20250102-030405.json'),
  );
  const long = defaultResultsPath('o', 'x'.repeat(500), date);
  assert.ok(long.length < 130);
});
