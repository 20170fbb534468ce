// Text line protocols over HTTP and TCP: InfluxDB line protocol (1.x `/write` and 2.x
// `/api/v2/write`, both plain HTTP POSTs, so no client library is needed: the official 2.x
// client does not speak the 1.x API) and the Graphite plaintext protocol over TCP.
import { connect, type Socket } from 'node:net';
import { ReporterError } from './errors.js';
import { reportSamples, pathToken, windowSamples, type Sample } from './samples.js';
import type { Reporter } from './types.js';
import type { OptionsOf } from './config.js';

const escapeTag = (s: string): string => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const escapeMeasurement = (s: string): string => s.replace(/[, \\]/g, (c) => `\\${c}`);

/**
 * Line protocol: one line per (sample name, label set); the measurement is `<prefix>_<name>`,
 * labels are tags, the field is `value`. Timestamps in milliseconds (precision=ms).
 */
export function influxLines(samples: readonly Sample[], atMs: number, prefix = 'salvo'): string {
  return samples
    .map((s) => {
      const tags = Object.entries(s.labels)
        .filter(([, v]) => v !== '')
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `,${escapeTag(k)}=${escapeTag(v)}`)
        .join('');
      return `${escapeMeasurement(`${prefix}_${s.name}`)}${tags} value=${s.value} ${Math.round(atMs)}\n`;
    })
    .join('');
}

export type InfluxOptions = OptionsOf<'influx'>;

export function influxReporter(options: InfluxOptions): Reporter {
  const version = options.version ?? 1;
  const base = options.url.replace(/\/+$/, '');
  const target =
    version === 1
      ? `${base}/write?${new URLSearchParams({ db: options.db ?? 'salvo', precision: 'ms' })}`
      : `${base}/api/v2/write?${new URLSearchParams({ org: options.org ?? '', bucket: options.bucket ?? 'salvo', precision: 'ms' })}`;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (options.token) headers['authorization'] = `Token ${options.token}`;
  const write = async (body: string): Promise<void> => {
    if (body === '') return;
    const res = await fetch(target, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(4000),
    });
    if (res.status !== 204 && res.status !== 200) {
      throw new ReporterError(
        'E_REPORTER_FAILED',
        `influx ${version}.x write answered ${res.status}: ${(await res.text()).slice(0, 200)}`,
      );
    }
  };
  const prefix = options.measurement ?? 'salvo';
  return {
    name: `influx${version}`,
    windows: (batch) =>
      write(batch.map((w) => influxLines(windowSamples(w), w.atMs, prefix)).join('')),
    final: (r) => write(influxLines(reportSamples(r), Date.parse(r.results.run.endedAt), prefix)),
  };
}

/** Graphite plaintext: `<prefix>.<label values…>.<name> <value> <epoch seconds>` per sample. */
export function graphiteLines(samples: readonly Sample[], atMs: number, prefix = 'salvo'): string {
  const seconds = Math.floor(atMs / 1000);
  return samples
    .map((s) => {
      const path = [prefix, ...Object.values(s.labels).map(pathToken), s.name].join('.');
      return `${path} ${s.value} ${seconds}\n`;
    })
    .join('');
}

export function graphiteReporter(options: OptionsOf<'graphite'>): Reporter {
  let socket: Socket | undefined;
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 2003 });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => {
          // A broken connection is noticed by the next write, which reconnects.
          if (socket === s) socket = undefined;
        });
        s.on('close', () => {
          if (socket === s) socket = undefined;
        });
        resolve(s);
      });
      s.once('error', reject);
    });
  const send = async (text: string): Promise<void> => {
    socket ??= await open();
    const s = socket;
    await new Promise<void>((resolve, reject) =>
      s.write(text, (error) => {
        if (!error) return resolve();
        if (socket === s) socket = undefined;
        s.destroy();
        reject(error);
      }),
    );
  };
  const prefix = options.prefix ?? 'salvo';
  return {
    name: 'graphite',
    windows: (batch) =>
      send(batch.map((w) => graphiteLines(windowSamples(w), w.atMs, prefix)).join('')),
    final: (r) => send(graphiteLines(reportSamples(r), Date.parse(r.results.run.endedAt), prefix)),
    close: () =>
      new Promise<void>((resolve) => {
        const s = socket;
        socket = undefined;
        if (!s) return resolve();
        s.end(() => resolve());
      }),
  };
}
