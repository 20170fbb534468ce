// Prometheus reporters on prom-client: an exposition endpoint (/metrics) served during the
// run, pushes to a Pushgateway, and remote-write (prometheus-remote-write: protobuf + snappy).
// All three keep the same registry, fed from the shared samples (samples.ts): window counts
// become `_total` counters, percentiles, VUs and final figures gauges.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { ReporterError } from './errors.js';
import { reportSamples, windowSamples, type Sample } from './samples.js';
import type { Reporter } from './types.js';

const DEFAULT_PREFIX = 'salvo_';

/** A prom-client registry fed with samples; metrics are created on first use of a name. */
export class PromSink {
  readonly registry = new Registry();
  private readonly prefix: string;
  private readonly metrics = new Map<string, Counter | Gauge>();

  constructor(prefix = DEFAULT_PREFIX) {
    this.prefix = prefix.replace(/[^A-Za-z0-9_:]/g, '_');
  }

  apply(samples: readonly Sample[]): void {
    for (const s of samples) {
      const name = `${this.prefix}${s.name}${s.type === 'counter' ? '_total' : ''}`;
      let metric = this.metrics.get(name);
      if (!metric) {
        const config = {
          name,
          help: `salvo ${s.name.replaceAll('_', ' ')}`,
          labelNames: Object.keys(s.labels),
          registers: [this.registry],
        };
        metric = s.type === 'counter' ? new Counter(config) : new Gauge(config);
        this.metrics.set(name, metric);
      }
      if (metric instanceof Counter) metric.inc(s.labels, s.value);
      else metric.set(s.labels, s.value);
    }
  }
}

/** Serves the registry at http://host:port/metrics while the run lasts. */
export function prometheusReporter(options: {
  port?: number;
  host?: string;
  prefix?: string;
}): Reporter & {
  address(): string | undefined;
} {
  const sink = new PromSink(options.prefix);
  let server: Server | undefined;
  return {
    name: 'prometheus',
    address() {
      const a = server?.address() as AddressInfo | null | undefined;
      return a ? `http://${options.host ?? '127.0.0.1'}:${a.port}/metrics` : undefined;
    },
    async start() {
      const s = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end('not found; metrics are at /metrics\n');
          return;
        }
        sink.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': sink.registry.contentType }).end(text),
          (error: unknown) => res.writeHead(500).end(describeError(error)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port ?? 9464, options.host ?? '127.0.0.1', () => resolve());
      });
      server = s;
    },
    windows: (batch) => batch.forEach((w) => sink.apply(windowSamples(w))),
    final: (r) => sink.apply(reportSamples(r)),
    async close() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** Pushes the whole registry (PUT: replaces the group) after every batch and at the end. */
export function pushgatewayReporter(options: {
  url: string;
  job?: string;
  prefix?: string;
}): Reporter {
  const sink = new PromSink(options.prefix);
  const gateway = new Pushgateway(options.url, { timeout: 4000 }, sink.registry);
  const jobName = options.job ?? 'salvo';
  let runId = 'run';
  const push = async (): Promise<void> => {
    const { resp } = await gateway.push({ jobName, groupings: { run: runId } });
    const status = (resp as { statusCode?: number } | undefined)?.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      throw new ReporterError('E_REPORTER_FAILED', `pushgateway answered ${status}`);
    }
  };
  return {
    name: 'pushgateway',
    start(start) {
      runId = start.runId;
    },
    async windows(batch) {
      for (const w of batch) sink.apply(windowSamples(w));
      await push();
    },
    async final(r) {
      sink.apply(reportSamples(r));
      await push();
    },
  };
}

interface Timeseries {
  labels: { __name__: string; [key: string]: string };
  samples: { value: number; timestamp: number }[];
}

/** Every series of the registry as remote-write timeseries stamped `atMs`. */
async function registryTimeseries(registry: Registry, atMs: number): Promise<Timeseries[]> {
  const out: Timeseries[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const labels: Timeseries['labels'] = { __name__: metric.name };
      for (const [k, value] of Object.entries(v.labels)) labels[k] = String(value);
      out.push({ labels, samples: [{ value: v.value, timestamp: atMs }] });
    }
  }
  return out;
}

/** Remote-write: after every batch and at the end, the registry's series at that time. */
export function remoteWriteReporter(options: { url: string; prefix?: string }): Reporter {
  const sink = new PromSink(options.prefix);
  let runId = 'run';
  let lastAtMs = 0;
  const send = async (when: number): Promise<void> => {
    // Samples of a series must not go back in time (the final comes after the last window).
    const atMs = Math.max(when, lastAtMs + 1);
    lastAtMs = atMs;
    const { pushTimeseries } = await import('prometheus-remote-write');
    const series = await registryTimeseries(sink.registry, atMs);
    const result = await pushTimeseries(series, {
      url: options.url,
      labels: { run: runId },
      timeout: 4000,
      fetch: (url, init) =>
        fetch(
          url,
          init && { method: init.method, headers: init.headers, body: init.body as ArrayBuffer },
        ),
    });
    if (result.status < 200 || result.status >= 300) {
      throw new ReporterError(
        'E_REPORTER_FAILED',
        `remote-write answered ${result.status} ${result.statusText}${result.errorMessage ? `: ${result.errorMessage}` : ''}`,
      );
    }
  };
  return {
    name: 'remote-write',
    start(start) {
      runId = start.runId;
    },
    async windows(batch) {
      for (const w of batch) sink.apply(windowSamples(w));
      const last = batch[batch.length - 1];
      if (last) await send(last.atMs);
    },
    async final(r) {
      sink.apply(reportSamples(r));
      await send(Date.parse(r.results.run.endedAt));
    },
  };
}
