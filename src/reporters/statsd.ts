// StatsD, DogStatsD and Telegraf over UDP with hot-shots, several metrics per datagram. DogStatsD and Telegraf carry labels
// as tags; plain StatsD has none, so labels become parts of the dotted name
// (`salvo.<workflow>.<step>.step_p99_ms`). Window counts are counters, the rest gauges.
import { StatsD } from 'hot-shots';
import { describeError } from '../errors.js';
import { ReporterError } from './errors.js';
import { reportSamples, pathToken, windowSamples, type Sample } from './samples.js';
import type { Reporter } from './types.js';
import type { OptionsOf } from './config.js';

interface Flushable {
  flushQueue(callback: (error?: Error) => void): void;
}

/** Several metrics per datagram, under a typical loopback/Ethernet MTU. */
const MAX_DATAGRAM_BYTES = 1400;

export type StatsdOptions = OptionsOf<'statsd'>;

export function statsdReporter(options: StatsdOptions): Reporter {
  const flavor = options.flavor ?? 'statsd';
  const prefix = options.prefix ?? 'salvo';
  let client: StatsD | undefined;
  /** A failure of a datagram sent while filling the buffer, reported by the next flush. */
  let pending: Error | undefined;
  const send = async (samples: readonly Sample[]): Promise<void> => {
    const c = client;
    if (!c) throw new ReporterError('E_REPORTER_FAILED', 'statsd client is not started');
    for (const s of samples) {
      if (flavor === 'statsd') {
        const path = [prefix, ...Object.values(s.labels).map(pathToken), s.name].join('.');
        if (s.type === 'counter') c.increment(path, s.value);
        else c.gauge(path, s.value);
      } else {
        const name = `${prefix}.${s.name}`;
        if (s.type === 'counter') c.increment(name, s.value, s.labels);
        else c.gauge(name, s.value, s.labels);
      }
    }
    // Metrics are packed into datagrams of at most MAX_DATAGRAM_BYTES; send the last one now.
    await new Promise<void>((resolve, reject) =>
      // flushQueue is hot-shots' public buffer flush; its type declarations omit it.
      (c as unknown as Flushable).flushQueue((error?: Error) => {
        const failure = error ?? pending;
        pending = undefined;
        if (failure)
          reject(new ReporterError('E_REPORTER_FAILED', `statsd send: ${describeError(failure)}`));
        else resolve();
      }),
    );
  };
  return {
    name: `statsd${flavor === 'statsd' ? '' : `-${flavor}`}`,
    start() {
      client = new StatsD({
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 8125,
        protocol: 'udp',
        telegraf: flavor === 'telegraf',
        maxBufferSize: MAX_DATAGRAM_BYTES,
        bufferFlushInterval: 3_600_000, // flushed after every batch instead
        errorHandler: (error) => {
          pending = error;
        },
      });
    },
    windows: async (batch) => {
      for (const w of batch) await send(windowSamples(w));
    },
    final: (r) => send(reportSamples(r)),
    close: () =>
      new Promise<void>((resolve) => {
        const c = client;
        client = undefined;
        if (!c) return resolve();
        c.close(() => resolve());
      }),
  };
}
