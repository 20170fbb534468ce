// `salvo submit`'s reporter list: the workflows' built-in reporter configs then `--report`,
// custom reporter objects left out with a warning, and clear errors past 16 reporters, for a
// config the gate would refuse, and for a file path that leaves the job's report directory.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workflow } from '../../src/api/index.js';
import { jobReports } from '../../src/cli/job-commands.js';
import { OptionError } from '../../src/errors.js';
import { parseReportOption } from '../../src/reporters/config.js';

test('salvo submit sends the workflows’ reporter configs and --report, not custom reporters', () => {
  const shared = { kind: 'junit', path: 'junit.xml' } as const;
  const a = workflow('a', {
    reporters: [shared, { name: 'mine', final: () => undefined }],
  }).step('s', () => 1);
  const b = workflow('b', { reporters: [shared] }).step('s', () => 1);
  const warnings: string[] = [];
  const reports = jobReports(
    [a, b],
    [parseReportOption('prometheus:port=0')],
    (line) => void warnings.push(line),
  );
  assert.deepEqual(reports, [
    { kind: 'junit', path: 'junit.xml' },
    { kind: 'prometheus', port: 0 },
  ]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /custom reporter 'mine' is not sent to the cluster/);
});

test('salvo submit refuses more than 16 reporters, a bad workflow config and an escaping path', () => {
  const many = Array.from({ length: 17 }, (_, i) => parseReportOption(`json:path=r${i}.json`));
  assert.throws(
    () => jobReports([], many, () => undefined),
    (e: unknown) =>
      e instanceof OptionError &&
      /at most 16 reporters \(workflow reporters and --report together\), got 17/.test(e.message),
  );
  const bad = workflow('w', { reporters: [{ kind: 'influx' } as never] }).step('s', () => 1);
  assert.throws(
    () => jobReports([bad], [], () => undefined),
    (e: unknown) =>
      e instanceof OptionError &&
      /workflow 'w': reporter 'influx' needs option 'url'/.test(e.message),
  );
  assert.throws(
    () => jobReports([], [parseReportOption('json:path=../up.json')], () => undefined),
    (e: unknown) =>
      e instanceof OptionError &&
      /path '\.\.\/up\.json' is outside the job's report directory/.test(e.message),
  );
});
