// StatsD, DogStatsD and Telegraf over UDP with hot-shots. DogStatsD and Telegraf carry labels
// as tags; plain StatsD has none, so labels become parts of the dotted name
// (`salvo.<workflow>.<step>.step_p99_ms`). Window counts are counters, the rest gauges.
import { StatsD } from 'hot-shots';
import { describeError } from '../errors.js';
import { ReporterError } from './errors.js';
import { reportSamples, pathToken, windowSamples, type Sample } from './samples.js';
import type { Reporter } from './types.js';
import type { OptionsOf } from './config.js';

export type StatsdOptions = OptionsOf<'statsd'>;

export function statsdReporter(options: StatsdOptions): Reporter {
  const flavor = options.flavor ?? 'statsd';
  const prefix = options.prefix ?? 'salvo';
  let client: StatsD | undefined;
  const send = async (samples: readonly Sample[]): Promise<void> => {
    const c = client;
    if (!c) throw new ReporterError('E_REPORTER_FAILED', 'statsd client is not started');
    await Promise.all(
      samples.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            const done = (error?: Error): void =>
              error
                ? reject(
                    new ReporterError('E_REPORTER_FAILED', `statsd send: ${describeError(error)}`),
                  )
                : resolve();
            if (flavor === 'statsd') {
              const path = [prefix, ...Object.values(s.labels).map(pathToken), s.name].join('.');
              if (s.type === 'counter') c.increment(path, s.value, done);
              else c.gauge(path, s.value, done);
            } else {
              const name = `${prefix}.${s.name}`;
              if (s.type === 'counter') c.increment(name, s.value, s.labels, done);
              else c.gauge(name, s.value, s.labels, done);
            }
          }),
      ),
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
        errorHandler: (error) => void error, // each send's callback reports its own failure
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
