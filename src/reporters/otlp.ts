// OpenTelemetry metrics over OTLP/HTTP (JSON) with the official SDK: a MeterProvider whose
// periodic reader is flushed after every window batch and at the end, so each flush is one
// export the runner can retry. Window counts are Counters (cumulative), the rest Gauges.
import type { Counter, Gauge, Meter } from '@opentelemetry/api';
import type { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { reportSamples, windowSamples, type Sample } from './samples.js';
import type { Reporter } from './types.js';

/** The reader's own timer is effectively off: exports happen on flush. */
const EXPORT_INTERVAL_MS = 3_600_000;

export function otlpReporter(options: { url: string; service?: string }): Reporter {
  let provider: MeterProvider | undefined;
  let reader: PeriodicExportingMetricReader | undefined;
  let meter: Meter | undefined;
  const instruments = new Map<string, Counter | Gauge>();
  const record = (samples: readonly Sample[]): void => {
    if (!meter) return;
    for (const s of samples) {
      const name = `salvo.${s.name}`;
      let inst = instruments.get(name);
      if (!inst) {
        inst = s.type === 'counter' ? meter.createCounter(name) : meter.createGauge(name);
        instruments.set(name, inst);
      }
      if (s.type === 'counter') (inst as Counter).add(s.value, s.labels);
      else (inst as Gauge).record(s.value, s.labels);
    }
  };
  const flush = async (): Promise<void> => {
    await reader?.forceFlush();
  };
  return {
    name: 'otlp',
    async start(start) {
      const sdk = await import('@opentelemetry/sdk-metrics');
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
      const { resourceFromAttributes } = await import('@opentelemetry/resources');
      reader = new sdk.PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: options.url, timeoutMillis: 4000 }),
        exportIntervalMillis: EXPORT_INTERVAL_MS,
        exportTimeoutMillis: 4000,
      });
      provider = new sdk.MeterProvider({
        resource: resourceFromAttributes({
          'service.name': options.service ?? 'salvo',
          'salvo.run.id': start.runId,
        }),
        readers: [reader],
      });
      meter = provider.getMeter('salvo');
    },
    async windows(batch) {
      for (const w of batch) record(windowSamples(w));
      await flush();
    },
    async final(r) {
      record(reportSamples(r));
      await flush();
    },
    async close() {
      const p = provider;
      provider = undefined;
      await p?.shutdown();
    },
  };
}
