// Sim tests of a cluster job's reporters on its owner gate, with real files and real sockets:
// a two-DC job's file reporters write once under <reports dir>/<job>/ with per-DC rows whose
// sum is the merged total, an InfluxDB-lines reporter gets `dc`-labelled samples, a reporter
// that cannot reach its endpoint leaves the job completed and is reported failed, paths that
// escape the report directory are refused, and `salvo report` renders the DC and worker rows.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RpcReply } from '../../../src/protocol/index.js';
import type { ReporterOutcome } from '../../../src/reporters/types.js';
import type { RunResults } from '../../../src/stats/types.js';
import { runCli, tempDir } from '../../support/cli.js';
import { freePort } from '../../support/servers.js';
import { submission } from './support/gate-cluster.js';
import { cluster, resultOf } from './support/reporting-job.js';

/** Quick retries so a failing reporter is given up on in well under a second of real time. */
const POLICY = { maxAttempts: 2, backoffBaseMs: 5, backoffMaxMs: 10, finishTimeoutMs: 10_000 };

/** An HTTP receiver of InfluxDB 1.x writes: keeps every body posted to /write. */
async function influxReceiver(): Promise<{ url: string; bodies: string[]; server: Server }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url?.startsWith('/write') === true) bodies.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, server };
}

function lines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('GM-12.1.2 GM-12.1.3 GM-12.2.2: a two-DC job runs its file and InfluxDB reporters once on the owner gate, one final file per reporter under reports/<job>/, per-DC rows summing to the merged totals', async () => {
  const dir = tempDir('salvo-gate-reports-');
  const influx = await influxReceiver();
  try {
    const s = await cluster({ reportsDir: dir, policy: POLICY });
    const body = {
      ...submission({ dcs: ['a', 'b'] }),
      reports: [
        { kind: 'json', path: 'results.json' },
        { kind: 'jsonl', path: 'out/windows.jsonl' },
        { kind: 'influx', url: influx.url },
      ],
    };
    const job = await s.client.submitAndWatch(body);
    const result = await resultOf(s, job);
    assert.equal(result.status, 'completed');
    assert.equal(result.exitCode, 0);

    // Every reporter ran and delivered its final report; the outcomes travel with the result.
    const outcomes = result.reporters as ReporterOutcome[];
    assert.deepEqual(
      outcomes.map((o) => [o.name, o.state, o.finalDelivered]),
      [
        ['json', 'ok', true],
        ['jsonl', 'ok', true],
        ['influx1', 'ok', true],
      ],
    );

    // Exactly the configured files, under this job's directory only.
    assert.deepEqual(readdirSync(dir), [job]);
    assert.deepEqual(readdirSync(join(dir, job)).sort(), ['out', 'results.json']);
    assert.deepEqual(readdirSync(join(dir, job, 'out')), ['windows.jsonl']);

    // The JSON file is the job's results: merged totals = a's 3×10 + b's 2×10, per DC and worker.
    const saved = JSON.parse(readFileSync(join(dir, job, 'results.json'), 'utf8')) as RunResults;
    assert.equal(saved.workflows[0]?.totals.count, 50);
    const dcs = saved.distributed?.dcs ?? {};
    assert.deepEqual(Object.keys(dcs).sort(), ['a', 'b']);
    assert.equal(dcs.a?.requests, 30);
    assert.equal(dcs.b?.requests, 20);
    assert.equal((dcs.a?.requests ?? 0) + (dcs.b?.requests ?? 0), saved.workflows[0]?.totals.count);
    assert.equal(dcs.a?.status, 'completed');
    assert.deepEqual(Object.keys(dcs.a?.workers ?? {}), ['a-w1#1/0']);
    assert.equal(dcs.a?.workers['a-w1#1/0']?.requests, 30);
    // The series the report charts: windows of the whole job (bounded), counting every request.
    const series = saved.series ?? [];
    assert.ok(series.length >= 1);
    const counted = series.reduce((n, w) => n + (w.workflows[0]?.count ?? 0), 0);
    assert.equal(counted, 50);
    // Each DC's steps (from its own histograms) and its own series count that DC's requests.
    for (const [dc, n] of [
      ['a', 30],
      ['b', 20],
    ] as const) {
      assert.equal(
        dcs[dc]?.steps?.reduce((sum, st) => sum + st.count, 0),
        n,
        `${dc} steps`,
      );
      assert.ok(dcs[dc]?.steps?.every((st) => st.latencyMs.p99 >= st.latencyMs.p50));
      const own = dcs[dc]?.series ?? [];
      assert.equal(
        own.reduce((sum, w) => sum + (w.workflows[0]?.count ?? 0), 0),
        n,
        `${dc} series`,
      );
    }
    // The client's copy of the results is the same document.
    const sent = result.results as RunResults;
    assert.deepEqual(sent.distributed, saved.distributed);

    // JSON lines: start, windows of the whole job (dc=*) and of each DC, one summary at the end.
    const rows = lines(join(dir, job, 'out', 'windows.jsonl'));
    assert.equal(rows[0]?.type, 'start');
    assert.equal(rows.filter((r) => r.type === 'summary').length, 1);
    assert.equal(rows.at(-1)?.type, 'summary');
    const windows = rows.filter((r) => r.type === 'window') as unknown as {
      labels: Record<string, string>;
      workflows: { count: number }[];
    }[];
    const countBy = (dc: string): number =>
      windows
        .filter((w) => w.labels.dc === dc)
        .reduce((n, w) => n + (w.workflows[0]?.count ?? 0), 0);
    assert.deepEqual(
      { all: countBy('*'), a: countBy('a'), b: countBy('b') },
      { all: 50, a: 30, b: 20 },
    );
    assert.ok(windows.every((w) => w.labels.job === job));

    // InfluxDB lines: the final totals per DC carry a dc tag; the merged one dc=*.
    const text = influx.bodies.join('');
    const total = (dc: string): number | undefined => {
      const re = new RegExp(
        `^salvo_total_requests,dc=${dc.replace('*', '\\*')},job=${job},workflow=wf1 value=(\\d+) `,
        'm',
      );
      const m = re.exec(text);
      return m === null ? undefined : Number(m[1]);
    };
    assert.deepEqual({ all: total('*'), a: total('a'), b: total('b') }, { all: 50, a: 30, b: 20 });
    assert.match(text, /^salvo_requests,dc=a,job=/m);
  } finally {
    influx.server.close();
  }
});

test('GM-12.3.1 LT-35.2.3: a reporter whose endpoint is unreachable fails alone: the job completes, the other reporter writes its file, the failure is in the result and the notes', async () => {
  const dir = tempDir('salvo-gate-reports-');
  const closed = await freePort();
  const s = await cluster({ reportsDir: dir, policy: POLICY });
  const job = await s.client.submitAndWatch({
    ...submission({ dcs: ['a', 'b'] }),
    reports: [
      { kind: 'influx', url: `http://127.0.0.1:${closed}` },
      { kind: 'json', path: 'results.json' },
    ],
  });
  const result = await resultOf(s, job);
  assert.equal(result.status, 'completed');
  assert.equal(result.exitCode, 0);
  const outcomes = result.reporters as ReporterOutcome[];
  const influx = outcomes.find((o) => o.name === 'influx1');
  assert.equal(influx?.state, 'failed');
  assert.equal(influx?.finalDelivered, false);
  assert.match(influx?.error ?? '', /ECONNREFUSED|fetch failed/);
  assert.deepEqual(
    outcomes.filter((o) => o.name === 'json').map((o) => [o.state, o.finalDelivered]),
    [['ok', true]],
  );
  const doc = result.results as RunResults;
  assert.ok(
    doc.run.notes.some((n) => n.startsWith("reporter 'influx1' failed:")),
    doc.run.notes.join('\n'),
  );
  const saved = JSON.parse(readFileSync(join(dir, job, 'results.json'), 'utf8')) as RunResults;
  assert.equal(saved.workflows[0]?.totals.count, 50);
});

function refusal(reply: RpcReply): { code: string; message: string } {
  assert.equal(reply.ok, false, JSON.stringify(reply));
  if (reply.ok) throw new Error('unreachable');
  return { code: reply.error.code, message: reply.error.message };
}

test('a reporter path outside the job directory, a bad config, too many reporters, or reporters on a gate without a report directory are refused with clear errors', async () => {
  const dir = tempDir('salvo-gate-reports-');
  const s = await cluster({ reportsDir: dir, policy: POLICY });
  const submit = (reports: unknown[]): Promise<RpcReply> =>
    s.client.ask('g1', { ...submission({ dcs: ['a', 'b'] }), reports });

  for (const path of ['../../escape.json', '/etc/salvo.json', 'a/../../b.json', '..']) {
    const r = refusal(await submit([{ kind: 'json', path }]));
    assert.equal(r.code, 'E_INVALID_SUBMISSION');
    assert.match(r.message, /reports\[0\].*outside the job's report directory/);
  }
  const bad = refusal(await submit([{ kind: 'jsonl', path: 'ok.jsonl' }, { kind: 'influx' }]));
  assert.equal(bad.code, 'E_INVALID_SUBMISSION');
  assert.match(bad.message, /reports\[1\]: reporter 'influx' needs option 'url'/);
  const unknown = refusal(await submit([{ kind: 'datadog' }]));
  assert.match(unknown.message, /unknown reporter kind "datadog"; allowed kinds: json, csv/);
  const many = refusal(
    await submit(Array.from({ length: 17 }, (_, i) => ({ kind: 'json', path: `r${i}.json` }))),
  );
  assert.equal(many.code, 'E_INVALID_SUBMISSION');
  assert.equal(many.message, 'a job carries at most 16 reporters, got 17');
  // Nothing was written anywhere, and no job was created by the refusals.
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(s.cluster.gate('g1').ownedJobs.size, 0);

  const without = await cluster(undefined, 8);
  const none = refusal(
    await without.client.ask('g1', {
      ...submission({ dcs: ['a'] }),
      reports: [{ kind: 'json', path: 'r.json' }],
    }),
  );
  assert.equal(none.code, 'E_INVALID_SUBMISSION');
  assert.match(none.message, /runs no reporters/);
});

test('salvo report on a cluster job’s results renders a row per datacenter and per worker, and the total', async () => {
  const dir = tempDir('salvo-gate-reports-');
  const s = await cluster({ reportsDir: dir, policy: POLICY });
  const job = await s.client.submitAndWatch({
    ...submission({ dcs: ['a', 'b'] }),
    reports: [{ kind: 'json', path: 'results.json' }],
  });
  await resultOf(s, job);
  const file = join(dir, job, 'results.json');
  const out = join(dir, 'report.html');
  const r = await runCli(['report', file, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  const html = readFileSync(out, 'utf8');
  const row = (attr: string): string[] => {
    const m = new RegExp(`<tr ${attr}>(.*?)</tr>`).exec(html);
    assert.ok(m, `no row ${attr}`);
    return [...(m[1] ?? '').matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1] ?? '');
  };
  // dc, status, requests, ok, failed, error %, iterations, iterations failed, windows
  assert.deepEqual(row('data-dc="a"').slice(0, 5), ['a', 'completed', '30', '30', '0']);
  assert.deepEqual(row('data-dc="b"').slice(0, 5), ['b', 'completed', '20', '20', '0']);
  assert.deepEqual(row('data-dc="\\*"').slice(2, 5), ['50', '50', '0']);
  assert.deepEqual(row('data-worker="a/a-w1#1/0" class="muted"').slice(1, 3), ['worker', '30']);
  assert.deepEqual(row('data-worker="b/b-w1#1/0" class="muted"').slice(1, 3), ['worker', '20']);
});
