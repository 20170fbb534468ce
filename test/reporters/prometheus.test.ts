// Prometheus reporters against a real Prometheus (scraping the exposition endpoint, receiving
// remote-write) and a real Pushgateway, both from Debian's packages; OTLP against an OTLP/HTTP
// receiver the test runs. Values read back must equal the results JSON of a real run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { otlpReporter } from '../../src/reporters/otlp.js';
import {
  prometheusReporter,
  pushgatewayReporter,
  remoteWriteReporter,
} from '../../src/reporters/prometheus.js';
import type { RunResults } from '../../src/stats/types.js';
import {
  freePort,
  promQuery,
  startPrometheus,
  startPushgateway,
  waitUntil,
  type RunningServer,
} from '../support/servers.js';
import { producedResults, replay, steps } from './support.js';

let prometheus: RunningServer;
let pushgateway: RunningServer;
let exposition: number;
let results: RunResults;

before(async () => {
  exposition = await freePort();
  const [p, g, r] = await Promise.all([
    startPrometheus([`127.0.0.1:${exposition}`]),
    startPushgateway(),
    producedResults(),
  ]);
  prometheus = p;
  pushgateway = g;
  results = r.results;
});

after(async () => {
  await Promise.all([prometheus?.stop(), pushgateway?.stop()]);
});

describe('Prometheus reporters', () => {
  test('exposition endpoint: Prometheus scrapes the per-step totals and window counters of the run', async () => {
    const reporter = prometheusReporter({ port: exposition });
    const expected = steps(results);
    const scraped = async (): Promise<boolean> => {
      const totals = await promQuery(prometheus.url, 'salvo_total_step_requests{job="salvo"}');
      return expected.every(
        (s) => totals.find((t) => t.metric['step'] === s.name)?.value === s.count,
      );
    };
    // The endpoint stays up until Prometheus has scraped the final figures.
    const outcome = await replay(
      {
        ...reporter,
        close: async () => (await waitUntil('final scrape', scraped, 20_000), reporter.close?.()),
      },
      results,
      { callTimeoutMs: 25_000 },
    );
    assert.equal(outcome.state, 'ok', outcome.error);
    for (const s of expected) {
      const [counter] = await promQuery(
        prometheus.url,
        `salvo_step_requests_total{step="${s.name}"}`,
      );
      assert.equal(counter?.value, s.count, `counter of ${s.name}`);
      const [p99] = await promQuery(prometheus.url, `salvo_total_step_p99_ms{step="${s.name}"}`);
      assert.equal(p99?.value, s.p99, `p99 of ${s.name}`);
    }
    const verdicts = await promQuery(prometheus.url, 'salvo_threshold_passed');
    const wf = results.workflows[0]!;
    assert.equal(verdicts.length, wf.thresholds.length);
    for (const t of wf.thresholds) {
      const v = verdicts.find((x) => x.metric['expression'] === t.expression);
      assert.equal(v?.value, t.passed ? 1 : 0, t.expression);
    }
  });

  test('remote-write: Prometheus stores the series pushed to its receiver', async () => {
    const outcome = await replay(
      remoteWriteReporter({ url: `${prometheus.url}/api/v1/write`, prefix: 'rw_' }),
      results,
    );
    assert.equal(outcome.state, 'ok', outcome.error);
    assert.equal(outcome.finalDelivered, true);
    for (const s of steps(results)) {
      const [total] = await promQuery(
        prometheus.url,
        `rw_total_step_requests{step="${s.name}",run="${results.run.id}"}`,
      );
      assert.equal(total?.value, s.count, `total of ${s.name}`);
      const [counter] = await promQuery(prometheus.url, `rw_step_requests_total{step="${s.name}"}`);
      assert.equal(counter?.value, s.count, `cumulative counter of ${s.name}`);
    }
  });

  test('pushgateway: the run group holds the final figures', async () => {
    const outcome = await replay(
      pushgatewayReporter({ url: pushgateway.url, prefix: 'pgw_' }),
      results,
    );
    assert.equal(outcome.state, 'ok', outcome.error);
    const text = await (await fetch(`${pushgateway.url}/metrics`)).text();
    for (const s of steps(results)) {
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('pgw_total_step_requests{') &&
            l.includes(`step="${s.name}"`) &&
            l.includes(`run="${results.run.id}"`),
        );
      assert.ok(line, `pushed total of ${s.name} in:\n${text.slice(0, 2000)}`);
      assert.equal(Number(line.split(' ').pop()), s.count);
    }
  });

  test('pushgateway down: the reporter fails after its retries and says why', async () => {
    const port = await freePort();
    const outcome = await replay(
      pushgatewayReporter({ url: `http://127.0.0.1:${port}` }),
      results,
      {
        maxAttempts: 2,
        backoffBaseMs: 10,
      },
    );
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.error ?? '', /ECONNREFUSED|connect/);
  });
});

interface OtlpPoint {
  attributes: { key: string; value: { stringValue?: string } }[];
  asDouble?: number;
  asInt?: string | number;
}
interface OtlpMetric {
  name: string;
  gauge?: { dataPoints: OtlpPoint[] };
  sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean };
}
interface OtlpBody {
  resourceMetrics: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeMetrics: { metrics: OtlpMetric[] }[];
  }[];
}

describe('OTLP reporter', () => {
  let receiver: Server;
  const bodies: OtlpBody[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        if (req.url !== '/v1/metrics' || !String(req.headers['content-type']).includes('json')) {
          res.writeHead(415).end();
          return;
        }
        bodies.push(JSON.parse(text) as OtlpBody);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  });
  after(() => new Promise<void>((r) => receiver.close(() => r())));

  test('OTLP/HTTP: the receiver gets per-step gauges and cumulative counters equal to the results JSON', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const outcome = await replay(
      otlpReporter({ url: `http://127.0.0.1:${port}/v1/metrics`, service: 'shop-test' }),
      results,
    );
    assert.equal(outcome.state, 'ok', outcome.error);
    const last = bodies[bodies.length - 1];
    assert.ok(last, 'at least one export');
    const resource = last.resourceMetrics[0]?.resource.attributes ?? [];
    assert.equal(resource.find((a) => a.key === 'service.name')?.value.stringValue, 'shop-test');
    const metrics = last.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const point = (name: string, step: string, kind: 'gauge' | 'sum'): number | undefined => {
      const m = metrics.find((x) => x.name === name);
      const p = m?.[kind]?.dataPoints.find((d) =>
        d.attributes.some((a) => a.key === 'step' && a.value.stringValue === step),
      );
      return p ? Number(p.asDouble ?? p.asInt) : undefined;
    };
    for (const s of steps(results)) {
      assert.equal(point('salvo.total_step_requests', s.name, 'gauge'), s.count);
      assert.equal(point('salvo.total_step_p99_ms', s.name, 'gauge'), s.p99);
      assert.equal(point('salvo.step_requests', s.name, 'sum'), s.count, 'cumulative counter');
    }
    assert.ok(bodies.length >= 2, 'windows were exported during the run, then the final');
  });
});
