// Distributed jobs end to end on real processes: `salvo cluster up` starts 2 datacenters (3
// gates, 2 managers and 2 one-core workers per DC) on loopback with TLS; `salvo submit --watch`
// runs examples/quickstart.ts on both DCs and writes a results file that validates, whose request
// total is the sum the workers counted themselves and whose latency histograms (so percentiles)
// are exactly the merge of the workers' own; a failed threshold exits 3; a cancel mid-run ends
// the job cancelled with every worker's acknowledgement.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { summarize } from '../../src/stats/aggregate.js';
import { Histogram } from '../../src/stats/histogram.js';
import type { SparseHistogram } from '../../src/stats/types.js';
import { startTargetServer, type TargetServer } from '../../src/target/server.js';
import { ROOT, fixture, readResults, runCli, schemaErrors, tempDir } from '../support/cli.js';
import {
  startLocalCluster,
  stopLocalCluster,
  submitWatchArgs,
  type LocalCluster,
} from '../support/local-cluster.js';

const dir = tempDir('salvo-cluster-job-');
let cluster: LocalCluster | undefined;
let target: TargetServer;
let client: string[] = [];

interface PartLine {
  msg: string;
  job?: string;
  workflow?: string;
  networkRequests?: number;
  tally?: {
    requests: number;
    steps: Record<string, { count: number; latency: SparseHistogram }>;
  };
}

/** What the workers logged when their parts of `job` ended. */
function workerParts(job: string): PartLine[] {
  const parts: PartLine[] = [];
  const logs = join(dir, 'cluster', 'logs');
  for (const file of readdirSync(logs).filter((f) => f.startsWith('worker-'))) {
    for (const line of readFileSync(join(logs, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as PartLine;
      if (entry.job === job && /^worker: part (completed|failed|cancelled)$/.test(entry.msg)) {
        parts.push(entry);
      }
    }
  }
  return parts;
}

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
  const c = await startLocalCluster(dir, [
    '--dcs',
    '2',
    '--gates',
    '3',
    '--managers',
    '2',
    '--workers',
    '2',
  ]);
  cluster = c;
  client = c.client;
});

after(async () => {
  await stopLocalCluster(cluster);
  await target.close();
});

describe('a 2-DC cluster of real processes with TLS', { timeout: 600_000 }, () => {
  void test('runs the quickstart with submit --watch: one exact result, the sum of what the workers counted', async () => {
    const out = join(dir, 'quickstart.json');
    const submit = await runCli(
      submitWatchArgs(join(ROOT, 'examples', 'quickstart.ts'), client, target.url, out, [
        '--dcs',
        'dc1,dc2',
      ]),
      { cwd: dir, timeoutMs: 240_000 },
    );
    assert.equal(submit.code, 0, submit.stderr + submit.stdout);
    const results = readResults(out);
    assert.deepEqual(schemaErrors(results), []);
    const job = results.distributed?.job ?? '';
    assert.match(job, /^job-/);
    assert.deepEqual(
      Object.entries(results.distributed?.dcs ?? {}).map(([dc, d]) => [dc, d.status]),
      [
        ['dc1', 'completed'],
        ['dc2', 'completed'],
      ],
    );
    const quickstart = results.workflows.find((w) => w.name === 'quickstart');
    assert.ok(quickstart && quickstart.totals.count > 0);

    // Every worker ran a part of the main workflow; their own counts add up to the result.
    const parts = workerParts(job).filter((p) => p.workflow === 'quickstart');
    assert.equal(parts.length, 4, JSON.stringify(parts.map((p) => p.msg)));
    const counted = parts.reduce((n, p) => n + (p.tally?.requests ?? 0), 0);
    assert.equal(quickstart.totals.count, counted);
    const requests = parts.reduce((n, p) => n + (p.networkRequests ?? 0), 0);
    assert.equal(quickstart.network?.requests, requests);

    // Each step's histogram is exactly the merge of the workers' histograms.
    for (const step of quickstart.steps) {
      const merged = new Histogram();
      for (const p of parts) {
        const own = p.tally?.steps[step.name];
        if (own) merged.mergeSparse(own.latency);
      }
      assert.equal(merged.count, step.count, step.name);
      assert.deepEqual(step.histogram, merged.toSparse(), step.name);
      assert.deepEqual(step.latencyMs, summarize(merged, 1000), step.name);
    }
  });

  void test('a failed threshold exits 3, as salvo run does', async () => {
    const out = join(dir, 'strict.json');
    const submit = await runCli(
      submitWatchArgs(fixture('thresholds-fail.ts'), client, target.url, out),
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(submit.code, 3, submit.stderr + submit.stdout);
    const results = readResults(out);
    assert.equal(results.thresholds.failed > 0, true);
    assert.equal(results.run.exitCode, 3);
  });

  void test('a cancel mid-run ends the job cancelled, acknowledged by every worker', async () => {
    const submit = await runCli(
      // 4 VUs: one on each worker of each DC.
      [
        'submit',
        fixture('slow.ts'),
        ...client,
        '--dcs',
        'dc1,dc2',
        '--vus',
        '4',
        '--target',
        target.url,
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(submit.code, 0, submit.stderr);
    const job = /job (job-\S+) accepted/.exec(submit.stdout)?.[1];
    assert.ok(job, submit.stdout);
    // Wait until both DCs run their share.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await runCli(['status', job, ...client, '--json'], { cwd: dir });
      const view = JSON.parse(status.stdout) as { dcs: Record<string, string> };
      if (view.dcs['dc1'] === 'accepted' && view.dcs['dc2'] === 'accepted') break;
      assert.ok(Date.now() < deadline, `the job never ran on both DCs: ${status.stdout}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const cancel = await runCli(['cancel', job, ...client, '--reason', 'test'], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    assert.equal(cancel.code, 0, cancel.stderr + cancel.stdout);
    assert.match(cancel.stdout, /dc1: 2 worker\(s\) acknowledged\n/);
    assert.match(cancel.stdout, /dc2: 2 worker\(s\) acknowledged\n/);
    const watched = await runCli(['watch', job, ...client, '-q', '-o', join(dir, 'slow.json')], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    assert.equal(watched.code, 130, watched.stderr + watched.stdout);
    const status = await runCli(['status', job, ...client, '--json'], { cwd: dir });
    assert.equal((JSON.parse(status.stdout) as { status: string }).status, 'cancelled');
  });
});
