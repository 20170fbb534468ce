// Redis reporter on ioredis: every window is an entry of the run's stream
// (`<prefix>:run:<id>:windows`, capped), the final results a JSON string
// (`<prefix>:run:<id>:results`) and a hash of per-step figures (`<prefix>:run:<id>:steps`).
// ioredis reconnects by itself; commands fail fast while it is away so the runner's retries
// and buffer take over.
import { Redis } from 'ioredis';
import { ReporterError } from './errors.js';
import type { Reporter } from './types.js';
import { recordHandled } from '../handled-errors.js';

/** Stream entries kept per run (XADD MAXLEN ~). */
const MAX_STREAM_ENTRIES = 100_000;

export function redisReporter(options: { url: string; prefix?: string }): Reporter {
  const prefix = options.prefix ?? 'salvo';
  let client: Redis | undefined;
  let key = `${prefix}:run:unknown`;
  const redis = (): Redis => {
    if (!client) throw new ReporterError('E_REPORTER_FAILED', 'redis client is not started');
    return client;
  };
  return {
    name: 'redis',
    async start(start) {
      key = `${prefix}:run:${start.runId}`;
      client ??= new Redis(options.url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 3000,
        retryStrategy: (times) => Math.min(2000, 100 * times),
      });
      // Connection errors surface through the failing commands; the event only needs a listener.
      client.on('error', (error: unknown) => {
        recordHandled('redis reporter: connection error (the failing command reports it)', error);
      });
      if (client.status === 'wait') await client.connect();
      await client.set(`${key}:start`, JSON.stringify(start));
    },
    async windows(batch) {
      const pipe = redis().pipeline();
      for (const w of batch) {
        pipe.xadd(
          `${key}:windows`,
          'MAXLEN',
          '~',
          MAX_STREAM_ENTRIES,
          '*',
          'seq',
          String(w.seq),
          'window',
          JSON.stringify(w),
        );
      }
      const replies = (await pipe.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
    },
    async final(r) {
      const steps: Record<string, string> = {};
      for (const wf of r.results.workflows) {
        for (const s of wf.steps) {
          steps[`${wf.name}/${s.name}`] = JSON.stringify({
            count: s.count,
            ok: s.ok,
            failed: s.failed,
            rps: s.rps,
            p50Ms: s.latencyMs.p50,
            p90Ms: s.latencyMs.p90,
            p99Ms: s.latencyMs.p99,
          });
        }
      }
      const pipe = redis().multi();
      pipe.set(`${key}:results`, JSON.stringify(r.results));
      if (Object.keys(steps).length > 0) pipe.hset(`${key}:steps`, steps);
      const replies = (await pipe.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
    },
    async close() {
      const c = client;
      client = undefined;
      if (!c) return;
      if (c.status === 'ready') await c.quit();
      else c.disconnect();
    },
  };
}
