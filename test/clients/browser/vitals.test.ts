// Tests for src/clients/browser/vitals.ts: reports from the page are validated, a visit's
// vitals are recorded once when it ends (a new document or finish), nulls are not recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VITAL_METRICS,
  VisitTracker,
  parseVitalsReport,
  type VitalsReport,
} from '../../../src/clients/browser/vitals.js';

const report = (id: number, over: Partial<VitalsReport> = {}): VitalsReport => ({
  id,
  url: `http://x/${id}`,
  ttfbMs: 5,
  fcpMs: 20,
  lcpMs: 30,
  cls: 0.1,
  loadMs: 40,
  ...over,
});

void test('parseVitalsReport keeps well-formed reports and refuses anything else', () => {
  assert.deepEqual(parseVitalsReport(report(1)), report(1));
  assert.deepEqual(parseVitalsReport(report(1, { fcpMs: null, lcpMs: null })), {
    ...report(1),
    fcpMs: null,
    lcpMs: null,
  });
  for (const bad of [
    null,
    'x',
    { ...report(1), cls: -1 },
    { ...report(1), ttfbMs: 'fast' },
    { ...report(1), lcpMs: Number.NaN },
    { ...report(1), url: 3 },
    { ...report(1), id: null },
  ]) {
    assert.equal(parseVitalsReport(bad), null, JSON.stringify(bad));
  }
});

void test('a visit is recorded once, when a new document reports or on finish; nulls are skipped', () => {
  const got: [string, number][] = [];
  const t = new VisitTracker((name, value) => got.push([name, value]));
  t.report(report(1, { lcpMs: 10 }));
  t.report(report(1, { lcpMs: 25, cls: 0.2 })); // same document: replaces
  assert.equal(got.length, 0);
  t.report(report(2, { fcpMs: null }));
  assert.equal(t.recorded, 1);
  assert.deepEqual(got, [
    [VITAL_METRICS.ttfbMs, 5],
    [VITAL_METRICS.fcpMs, 20],
    [VITAL_METRICS.lcpMs, 25],
    [VITAL_METRICS.cls, 0.2],
    [VITAL_METRICS.loadMs, 40],
  ]);
  got.length = 0;
  t.finish();
  t.finish(); // nothing left to record
  assert.equal(t.recorded, 2);
  assert.deepEqual(
    got.map(([n]) => n),
    [VITAL_METRICS.ttfbMs, VITAL_METRICS.lcpMs, VITAL_METRICS.cls, VITAL_METRICS.loadMs],
  );
  assert.equal(t.latest, null);
});
