// Reporters in a real `salvo run`: several at once from the workflow file and --report, one
// whose server is down, one that is slow and one that throws. The run keeps its schedule and
// its results, the summary names the failed reporters, and everything else is delivered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunResults } from '../../src/stats/types.js';
import { startTargetServer } from '../../src/target/server.js';
import { fixture, readResults, runCli, schemaErrors, startCli, tempDir } from '../support/cli.js';
import { freePort } from '../support/servers.js';

let target: Awaited<ReturnType<typeof startTargetServer>>;
const dir = tempDir('salvo-iso-');

before(async () => {
  target = await startTargetServer({ port: 0, host: '127.0.0.1' });
});
after(() => target.close());

interface LogLine {
  type: string;
  seq?: number;
  workflows?: { name: string; count: number; steps: { name: string; count: number }[] }[];
  results?: RunResults;
}

describe('reporters in a run', () => {
  test('LT-35.2.1 LT-35.2.3 LT-35.3.1 LT-35.3.3 GM-12.3.1 GM-12.3.3 one server down, one reporter slow, one throwing: the run keeps its schedule and results, the summary names the failed ones, JSON, Prometheus and DogStatsD get everything', async () => {
    const down = await freePort(); // nothing listens here: the InfluxDB "server" is down
    const promPort = await freePort();
    const udp: UdpSocket = createSocket('udp4');
    const packets: string[] = [];
    udp.on('message', (m) => packets.push(...m.toString().split('\n')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const out = join(dir, 'lt35.json');
    const jsonl = join(dir, 'lt35.jsonl');
    const copy = join(dir, 'lt35-copy.json');
    const log = join(dir, 'lt35-recorder.jsonl');
    const startedAt = Date.now();
    const proc = startCli(
      [
        'run',
        fixture('reporters-custom.ts'),
        '--target',
        target.url,
        '--workers',
        '2',
        '--no-check',
        '--out',
        out,
        '--report-timeout',
        '4s',
        '--report',
        `influx:url=http://127.0.0.1:${down}`,
        '--report',
        `json:path=${copy}`,
        '--report',
        `jsonl:path=${jsonl}`,
        '--report',
        `prometheus:port=${promPort}`,
        '--report',
        `statsd:port=${udp.address().port},flavor=dogstatsd`,
      ],
      { env: { SALVO_TEST_REPORTER_LOG: log, SALVO_TEST_SLOW: '1' } },
    );
    try {
      // While the run is going: the exposition endpoint serves, and JSON lines are streamed.
      let scraped = '';
      let streamedWhileRunning = false;
      for (let i = 0; i < 200 && proc.child.exitCode === null; i++) {
        await new Promise((r) => setTimeout(r, 50));
        if (!scraped.includes('salvo_step_requests_total')) {
          scraped = await fetch(`http://127.0.0.1:${promPort}/metrics`).then(
            (r) => r.text(),
            () => '',
          );
        }
        if (!streamedWhileRunning && existsSync(jsonl)) {
          streamedWhileRunning = readFileSync(jsonl, 'utf8').includes('"type":"window"');
        }
        if (streamedWhileRunning && scraped.includes('salvo_step_requests_total')) break;
      }
      assert.ok(streamedWhileRunning, 'window lines were written during the run');
      assert.match(scraped, /salvo_step_requests_total\{workflow="shop",step="home"\} \d+/);

      const r = await proc.done;
      const wallMs = Date.now() - startedAt;
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
      // The slow reporter would hold the command for a minute; the deadline bounds it.
      assert.ok(wallMs < 40_000, `the command returned after ${wallMs} ms`);

      const results = readResults(out);
      assert.deepEqual(schemaErrors(results), []);
      const wf = results.workflows[0]!;
      assert.equal(results.run.status, 'completed');
      assert.equal(wf.status, 'completed');
      assert.ok(
        wf.durationMs < 3000 + 2000,
        `the workflow kept its 3 s schedule (${wf.durationMs} ms)`,
      );
      assert.ok(wf.totals.count > 0 && wf.totals.failed === 0);

      // The summary and the results name exactly the failed reporters.
      assert.match(r.stdout, /influx1 FAILED \(.*ECONNREFUSED/);
      assert.match(r.stdout, /slow FAILED \(.*did not finish within 4000 ms/);
      assert.match(r.stdout, /boom FAILED \(.*sink rejected the batch\)/);
      for (const ok of ['recorder', 'json', 'jsonl', 'prometheus', 'statsd-dogstatsd'])
        assert.match(r.stdout, new RegExp(`${ok} ok \\(`), ok);
      const failedNotes = results.run.notes.filter((n) => n.startsWith('reporter '));
      assert.deepEqual(failedNotes.map((n) => /^reporter '([^']+)'/.exec(n)?.[1]).sort(), [
        'boom',
        'influx1',
        'slow',
      ]);

      // The healthy reporters got all of it.
      const copied = readResults(copy);
      assert.deepEqual(copied.workflows, results.workflows);
      const lines = readFileSync(jsonl, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LogLine);
      const summary = lines.at(-1);
      assert.equal(summary?.type, 'summary');
      assert.deepEqual(
        schemaErrors(summary?.results),
        [],
        'the final line is a valid results document',
      );
      const windowCount = lines
        .filter((l) => l.type === 'window')
        .reduce((n, l) => n + (l.workflows?.[0]?.count ?? 0), 0);
      assert.equal(windowCount, wf.totals.count, 'streamed window counts add up to the total');
      const dog = packets
        .map((p) => /^salvo\.step_requests:(\d+)\|c\|#.*step:(\w+)/.exec(p))
        .filter((m) => m !== null);
      for (const s of wf.steps) {
        const sum = dog.filter((m) => m[2] === s.name).reduce((n, m) => n + Number(m[1]), 0);
        assert.equal(sum, s.count, `DogStatsD counter of ${s.name}`);
      }
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      udp.close();
    }
  });

  test('GM-12.1.3 GM-12.2.1 GM-12.2.2 GM-12.2.3 a custom reporter object from the workflow file gets start, every window and the final results, then close', async () => {
    const out = join(dir, 'custom.json');
    const log = join(dir, 'custom.jsonl');
    const r = await runCli(
      [
        'run',
        fixture('reporters-custom.ts'),
        '--target',
        target.url,
        '--workers',
        '2',
        '--no-check',
        '--out',
        out,
      ],
      { env: { SALVO_TEST_REPORTER_LOG: log } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reporters: recorder ok \(\d+ windows\)/);
    const results = readResults(out);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    assert.deepEqual(
      lines.map((l) => l.type).filter((t, i, a) => a.indexOf(t) === i),
      ['start', 'window', 'final', 'close'],
    );
    const windows = lines.filter((l) => l.type === 'window');
    assert.deepEqual(
      windows.map((w) => w.seq),
      windows.map((_, i) => i + 1),
      'consecutive windows',
    );
    assert.equal(windows.length, results.series?.length);
    const final = lines.find((l) => l.type === 'final')?.results;
    assert.ok(final);
    assert.deepEqual(schemaErrors(final), []);
    assert.deepEqual(final.workflows, results.workflows);
    for (const s of results.workflows[0]!.steps) {
      const sum = windows.reduce(
        (n, w) => n + (w.workflows?.[0]?.steps.find((x) => x.name === s.name)?.count ?? 0),
        0,
      );
      assert.equal(sum, s.count, `windows of ${s.name} add up to its total`);
    }
  });

  test('a bad --report kind or option, a dashboard port in use, or a bad reporters entry in the file exits 2 naming what is allowed', async () => {
    const kind = await runCli(['run', fixture('reporters.ts'), '--report', 'kafka:url=x']);
    assert.equal(kind.code, 2);
    assert.match(
      kind.stderr,
      /unknown kind 'kafka'; allowed kinds: json, csv, jsonl, junit, prometheus/,
    );
    const option = await runCli(['run', fixture('reporters.ts'), '--report', 'statsd:flavour=dog']);
    assert.equal(option.code, 2);
    assert.match(
      option.stderr,
      /unknown option 'flavour'; allowed options: host, port, prefix, flavor, critical/,
    );
    const value = await runCli(['run', fixture('reporters.ts'), '--report', 'statsd:flavor=dog']);
    assert.equal(value.code, 2);
    assert.match(value.stderr, /option 'flavor' must be one of statsd, dogstatsd, telegraf/);
    const missing = await runCli(['run', fixture('reporters.ts'), '--report', 'junit']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs option 'path'/);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as AddressInfo).port;
    const dash = await runCli([
      'run',
      fixture('reporters.ts'),
      '--no-check',
      '--dashboard',
      '--dashboard-port',
      String(port),
    ]);
    busy.close();
    assert.equal(dash.code, 2, dash.stderr);
    assert.match(
      dash.stderr,
      new RegExp(`dashboard cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
    );
    const file = await runCli(['run', fixture('reporters-bad.ts'), '--no-check']);
    assert.equal(file.code, 2, file.stderr);
    assert.match(file.stderr, /workflow 'bad': unknown reporter kind "kafka"; allowed kinds: json/);
  });
});
