// InfluxDB (1.x API against a real InfluxDB 1.6 from Debian; the 2.x API through a small
// /api/v2/write front that checks org, bucket and token and forwards to the same real server,
// since Debian packages no InfluxDB 2), Redis (real server), Graphite plaintext and StatsD /
// DogStatsD / Telegraf (TCP and UDP receivers the test runs). Values read back equal the results JSON.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from 'node:net';
import { Redis } from 'ioredis';
import { graphiteReporter, influxReporter } from '../../src/reporters/lines.js';
import { redisReporter } from '../../src/reporters/redis.js';
import { ReporterRunner } from '../../src/reporters/runner.js';
import { statsdReporter } from '../../src/reporters/statsd.js';
import type { RunResults } from '../../src/stats/types.js';
import { startInflux, startRedis, waitUntil, type RunningServer } from '../support/servers.js';
import { producedResults, replay, steps } from './support.js';

let influx: RunningServer;
let redis: RunningServer;
let results: RunResults;

before(async () => {
  const [i, r, run] = await Promise.all([startInflux(), startRedis(), producedResults()]);
  influx = i;
  redis = r;
  results = run.results;
  for (const db of ['salvo', 'bucket2']) {
    const res = await fetch(`${influx.url}/query`, {
      method: 'POST',
      body: new URLSearchParams({ q: `CREATE DATABASE ${db}` }),
    });
    assert.equal(res.status, 200, await res.text());
  }
});

after(async () => {
  await Promise.all([influx?.stop(), redis?.stop()]);
});

async function influxQuery(
  db: string,
  q: string,
): Promise<{ tags?: Record<string, string>; values: [string, number][] }[]> {
  const res = await fetch(`${influx.url}/query?${new URLSearchParams({ db, q })}`);
  const body = (await res.json()) as {
    results: {
      series?: { tags?: Record<string, string>; values: [string, number][] }[];
      error?: string;
    }[];
  };
  const first = body.results[0];
  if (first?.error) throw new Error(first.error);
  return first?.series ?? [];
}

async function checkInflux(db: string): Promise<void> {
  const wf = results.workflows[0]!;
  const sums = await influxQuery(db, 'SELECT sum(value) FROM salvo_step_requests GROUP BY step');
  const totals = await influxQuery(
    db,
    'SELECT last(value) FROM salvo_total_step_p99_ms GROUP BY step',
  );
  for (const s of steps(results)) {
    const sum = sums.find((x) => x.tags?.['step'] === s.name)?.values[0]?.[1];
    assert.equal(sum, s.count, `window counts of ${s.name} add up to its total`);
    const p99 = totals.find((x) => x.tags?.['step'] === s.name)?.values[0]?.[1];
    assert.equal(p99, s.p99, `p99 of ${s.name}`);
  }
  const verdicts = await influxQuery(
    db,
    'SELECT last(value) FROM salvo_threshold_passed GROUP BY expression',
  );
  for (const t of wf.thresholds) {
    const v = verdicts.find((x) => x.tags?.['expression'] === t.expression)?.values[0]?.[1];
    assert.equal(v, t.passed ? 1 : 0, t.expression);
  }
}

describe('InfluxDB reporter', () => {
  test('1.x API: line protocol written to a real InfluxDB reads back equal to the results JSON', async () => {
    const outcome = await replay(influxReporter({ url: influx.url, db: 'salvo' }), results);
    assert.equal(outcome.state, 'ok', outcome.error);
    await checkInflux('salvo');
  });

  test('2.x API: /api/v2/write with org, bucket and token lands in the bucket', async () => {
    const seen: string[] = [];
    const front: HttpServer = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push(
          `${url.pathname} org=${url.searchParams.get('org')} auth=${req.headers['authorization']}`,
        );
        if (url.pathname !== '/api/v2/write' || req.headers['authorization'] !== 'Token t0k') {
          res.writeHead(401).end('{"code":"unauthorized"}');
          return;
        }
        const target = `${influx.url}/write?${new URLSearchParams({ db: url.searchParams.get('bucket') ?? '', precision: url.searchParams.get('precision') ?? 'ns' })}`;
        fetch(target, { method: 'POST', body }).then(
          async (r) => res.writeHead(r.status).end(await r.text()),
          (error: unknown) => res.writeHead(502).end(String(error)),
        );
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      const outcome = await replay(
        influxReporter({ url, version: 2, org: 'acme', bucket: 'bucket2', token: 't0k' }),
        results,
      );
      assert.equal(outcome.state, 'ok', outcome.error);
      assert.ok(
        seen.length > 0 && seen.every((s) => s === '/api/v2/write org=acme auth=Token t0k'),
        seen.join('\n'),
      );
      await checkInflux('bucket2');
      const denied = await replay(
        influxReporter({ url, version: 2, bucket: 'bucket2', token: 'wrong' }),
        results,
        { maxAttempts: 1 },
      );
      assert.equal(denied.state, 'failed');
      assert.match(denied.error ?? '', /401/);
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
    }
  });
});

describe('Redis reporter', () => {
  test('LT-35.3.2 LT-35.3.4 GM-12.3.3 Redis restarted mid-run: windows buffered while it is down are replayed on reconnect, none lost', async () => {
    const own = await startRedis();
    const runner = new ReporterRunner(
      [{ reporter: redisReporter({ url: own.url, prefix: 'rc' }) }],
      {
        backoffBaseMs: 100,
        backoffMaxMs: 400,
        maxAttempts: 40,
      },
    );
    const labels = {};
    const series = results.series ?? [];
    assert.ok(series.length >= 3, 'the run has windows to send');
    runner.start({ runId: 'restart', file: 'x', startedAtMs: 0, workflows: ['shop'], labels });
    const sent = series.length * 3;
    let seq = 0;
    const push = (): void => {
      for (const w of series) runner.push({ ...w, seq: ++seq, labels });
    };
    push();
    await waitUntil('first windows stored', async () => {
      const c = new Redis(own.url);
      try {
        return (await c.xlen('rc:run:restart:windows')) === series.length;
      } finally {
        c.disconnect();
      }
    });
    // Redis goes away (data kept in its dump), windows keep coming, then it is back on the same port.
    const c = new Redis(own.url);
    await c.save();
    c.disconnect();
    const port = own.port;
    const dataDir = own.dir;
    own.child.kill('SIGKILL');
    await new Promise((r) => own.child.once('exit', r));
    push();
    await new Promise((r) => setTimeout(r, 300));
    const back = await startRedis(port, dataDir);
    push();
    try {
      const [outcome] = await runner.finish({ results, series, labels });
      assert.equal(outcome?.state, 'ok', outcome?.error);
      assert.ok((outcome?.retries ?? 0) > 0, 'it had to retry');
      assert.equal(outcome?.delivered, sent);
      assert.equal(outcome?.dropped, 0);
      const client = new Redis(back.url);
      try {
        const entries = await client.xrange('rc:run:restart:windows', '-', '+');
        const seqs = entries.map(([, fields]) => Number(fields[1]));
        assert.deepEqual(
          seqs,
          Array.from({ length: sent }, (_, i) => i + 1),
          'every window once, in order',
        );
      } finally {
        client.disconnect();
      }
    } finally {
      await back.stop();
    }
  });

  test('windows go to a stream, the results and per-step figures to keys, equal to the results JSON', async () => {
    const outcome = await replay(redisReporter({ url: redis.url, prefix: 'lt' }), results);
    assert.equal(outcome.state, 'ok', outcome.error);
    const client = new Redis(redis.url);
    try {
      const key = `lt:run:${results.run.id}`;
      assert.equal(await client.xlen(`${key}:windows`), results.series?.length);
      const stored = JSON.parse((await client.get(`${key}:results`)) ?? 'null') as RunResults;
      assert.deepEqual(stored, results);
      for (const s of steps(results)) {
        const fig = JSON.parse((await client.hget(`${key}:steps`, `shop/${s.name}`)) ?? '{}') as {
          count: number;
          p99Ms: number;
        };
        assert.equal(fig.count, s.count);
        assert.equal(fig.p99Ms, s.p99);
      }
    } finally {
      client.disconnect();
    }
  });
});

/** Sums `|c` counters and keeps the last `|g` gauge per key from StatsD-style lines. */
function statsdValues(
  lines: string[],
  keyOf: (line: string) => { key: string; value: number; type: string } | undefined,
) {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  for (const line of lines) {
    const parsed = keyOf(line);
    if (!parsed) continue;
    if (parsed.type === 'c')
      counters.set(parsed.key, (counters.get(parsed.key) ?? 0) + parsed.value);
    else gauges.set(parsed.key, parsed.value);
  }
  return { counters, gauges };
}

describe('StatsD reporters', () => {
  let udp: UdpSocket;
  const packets: string[] = [];
  before(async () => {
    udp = createSocket('udp4');
    udp.on('message', (m) =>
      packets.push(
        ...m
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  });
  after(() => new Promise<void>((r) => udp.close(() => r())));

  const port = (): number => udp.address().port;
  /** Waits until the final gauges (sent last) have arrived, up to 5 s. */
  const settle = async (marker: RegExp): Promise<void> => {
    for (let i = 0; i < 250 && !packets.some((p) => marker.test(p)); i++)
      await new Promise((r) => setTimeout(r, 20));
  };

  test('plain StatsD: labels in the dotted name; counters add up to the totals', async () => {
    packets.length = 0;
    const outcome = await replay(statsdReporter({ port: port(), prefix: 'ld' }), results);
    assert.equal(outcome.state, 'ok', outcome.error);
    await settle(/threshold_passed/);
    const { counters, gauges } = statsdValues(packets, (l) => {
      const m = /^([^:]+):([\d.]+)\|([cg])$/.exec(l);
      return m ? { key: m[1]!, value: Number(m[2]), type: m[3]! } : undefined;
    });
    for (const s of steps(results)) {
      assert.equal(counters.get(`ld.shop.${s.name}.step_requests`), s.count, s.name);
      assert.equal(gauges.get(`ld.shop.${s.name}.total_step_p99_ms`), s.p99, s.name);
    }
  });

  test('DogStatsD: tags after |#; Telegraf: tags in the name', async () => {
    for (const flavor of ['dogstatsd', 'telegraf'] as const) {
      packets.length = 0;
      const outcome = await replay(statsdReporter({ port: port(), flavor }), results);
      assert.equal(outcome.state, 'ok', outcome.error);
      await settle(/threshold_passed/);
      const { counters, gauges } = statsdValues(packets, (l) => {
        const m =
          flavor === 'dogstatsd'
            ? /^([^:]+):([\d.]+)\|([cg])\|#(.*)$/.exec(l)
            : /^([^,:]+),([^:]*):([\d.]+)\|([cg])$/.exec(l);
        if (!m) return undefined;
        if (flavor === 'dogstatsd') {
          const step = /(?:^|,)step:([^,]+)/.exec(m[4]!)?.[1] ?? '';
          return { key: `${m[1]}/${step}`, value: Number(m[2]), type: m[3]! };
        }
        const step = /(?:^|,)step=([^,]+)/.exec(m[2]!)?.[1] ?? '';
        return { key: `${m[1]}/${step}`, value: Number(m[3]), type: m[4]! };
      });
      for (const s of steps(results)) {
        assert.equal(counters.get(`salvo.step_requests/${s.name}`), s.count, `${flavor} ${s.name}`);
        assert.equal(gauges.get(`salvo.total_step_p99_ms/${s.name}`), s.p99, `${flavor} ${s.name}`);
      }
    }
  });
});

describe('Graphite reporter', () => {
  test('plaintext lines over TCP: window counters add up to the totals, final p99 equal', async () => {
    let text = '';
    let ended!: () => void;
    const closed = new Promise<void>((r) => (ended = r));
    const server: TcpServer = createTcpServer((socket) => {
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => ended());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const outcome = await replay(
        graphiteReporter({ port: (server.address() as AddressInfo).port, prefix: 'gr' }),
        results,
      );
      assert.equal(outcome.state, 'ok', outcome.error);
      await closed; // close() ends the connection once everything is written
      const lines = text.trim().split('\n');
      for (const l of lines) assert.match(l, /^[\w.-]+ -?[\d.e+-]+ \d{10}$/);
      for (const s of steps(results)) {
        const sum = lines
          .filter((l) => l.startsWith(`gr.shop.${s.name}.step_requests `))
          .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
        assert.equal(sum, s.count);
        const p99 = lines.find((l) => l.startsWith(`gr.shop.${s.name}.total_step_p99_ms `));
        assert.equal(Number(p99?.split(' ')[1]), s.p99);
      }
    } finally {
      server.close();
    }
  });
});
